// One quiet status-bar item instead of pop-ups: the model's state (the server's status), and the run's state and the
// last cycle's score (the newest run view).
import * as vscode from "vscode";
import type { RunView, ServerStatus } from "../../common/protocol";

export type ClientState = "starting" | "running" | "stopped";

/** The model file's name without directory or extension: what the status bar shows. */
export function modelName(modelPath: string): string {
  return modelPath.split(/[\\/]/).pop()!.replace(/\.gguf$/i, "");
}

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("inversion.status", vscode.StatusBarAlignment.Right, 100);
  private status: ServerStatus | null = null;
  private client: ClientState = "starting";
  private run: RunView | null = null;

  /** `defaultModelPath`: the model the server uses when inversion.model is empty (the status bar says so). */
  constructor(private readonly defaultModelPath: string) {
    this.item.name = "Inversion";
    this.render();
    this.item.show();
  }

  setClient(state: ClientState): void {
    this.client = state;
    this.render();
  }

  setStatus(s: ServerStatus): void {
    this.status = s;
    this.render();
  }

  /** The newest view of the run started from this window, or null before one. */
  setRun(view: RunView | null): void {
    this.run = view;
    this.render();
  }

  private render(): void {
    const s = this.status;
    const parts: string[] = [];
    let icon = "$(beaker)";
    let command = "inversion.showPanel";
    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendMarkdown("**Inversion**\n\n");
    if (this.client !== "running") {
      icon = this.client === "starting" ? "$(loading~spin)" : "$(debug-disconnect)";
      parts.push(this.client === "starting" ? "starting" : "server stopped");
      command = "inversion.showLog";
    } else if (s) {
      switch (s.model) {
        case "none":
          // A model is set but loads only when first needed.
          if (s.modelPath) {
            parts.push(this.modelLabel(s.modelPath));
            break;
          }
          icon = "$(circle-slash)";
          parts.push("no model");
          command = "inversion.selectModel";
          break;
        case "missing":
          icon = "$(warning)";
          parts.push("model not found");
          command = "inversion.selectModel";
          break;
        case "loading":
          icon = "$(loading~spin)";
          if (s.modelPath) parts.push(this.modelLabel(s.modelPath));
          parts.push(s.progress !== undefined ? `loading ${Math.round(s.progress * 100)}%` : "loading");
          break;
        case "error":
          icon = "$(error)";
          parts.push("model error");
          command = "inversion.showLog";
          break;
        case "ready":
          icon = s.selfCheck && !s.selfCheck.fit ? "$(circle-large-outline)" : "$(check)";
          if (s.modelPath) parts.push(this.modelLabel(s.modelPath));
          // the hollow circle alone says nothing: name what it means
          if (s.selfCheck && !s.selfCheck.fit) parts.push("comment checks off");
          break;
      }
      const run = this.run;
      const lastCycle = run?.points.at(-1)?.cycle;
      if (run?.state === "running") {
        icon = "$(sync~spin)";
        parts.push(run.status);
        command = "inversion.showPanel";
      } else if (run?.state === "stopping") parts.push("stopping run");
      else if (lastCycle !== undefined) parts.push(`last run: cycle ${lastCycle}`);
      tip.appendMarkdown(`Model: ${s.model}${s.modelPath ? ` — \`${s.modelPath}\`` : ""}\n\n`);
      if (s.modelPath === this.defaultModelPath) tip.appendMarkdown("This is the default model shipped with Inversion, a small shell model; set `inversion.model` to use your own.\n\n");
      tip.appendMarkdown(`Hovers read with: ${s.adapterPath ? `the model and the adapter \`${s.adapterPath}\`` : "the model alone (no adapter)"}\n\n`);
      tip.appendMarkdown(`${s.selfCheck ? s.selfCheck.summary : "Comment checks: measuring themselves."}\n\n`);
      if (s.message) tip.appendMarkdown(`${s.message.replace(/\n/g, " ")}\n\n`);
      if (run) tip.appendMarkdown(`Run: ${run.state} — \`${run.runDir}\`\n\n`);
      if (run && lastCycle !== undefined) tip.appendMarkdown(`Last cycle: ${lastCycle}, ${run.heldOut} (the run's own held-out tasks, before → after the cycle's learning)\n\n`);
      tip.appendMarkdown(`Language server process ${s.pid}`);
    }
    this.item.text = `${icon} Inversion${parts.length ? ": " + parts.join(" · ") : ""}`;
    this.item.tooltip = tip;
    this.item.command = command;
    this.item.backgroundColor = s?.model === "error" || s?.model === "missing" ? new vscode.ThemeColor("statusBarItem.warningBackground") : undefined;
  }

  private modelLabel(modelPath: string): string {
    return modelPath === this.defaultModelPath ? `${modelName(modelPath)} (default model)` : modelName(modelPath);
  }

  dispose(): void {
    this.item.dispose();
  }
}
