// The extension's commands as a table (rust-analyzer's `editors/code` style): each entry builds its handler from
// the shared context, and `activate` registers them all.
import * as vscode from "vscode";
import { isRemoteModelRef } from "../../common/modelRef";
import { ReloadModelRequest, ScoreCommandRequest, StopRunRequest, type CommandScore, type RunOverrides } from "../../common/protocol";
import type { Ctx } from "./ctx";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { DEFAULT_MODEL_FILE } from "../../common/shipped";
import { BROWSE_URL, HF_EXAMPLE, MODEL_DIRECTORIES, foundModels, modelChoices } from "./modelChoices";
import { ProgressPanel } from "./panel";
import { runCycles } from "./runCycles";
import { modelName } from "./statusBar";

type Handler = (...args: never[]) => unknown;

export const COMMANDS: Record<string, (ctx: Ctx) => Handler> = {
  "inversion.runCycles": (ctx) => (overrides?: RunOverrides) => runCycles(ctx, overrides),
  "inversion.resumeRun": (ctx) => (runDir?: string) => resumeRun(ctx, runDir),
  "inversion.stopRun": (ctx) => () => stopRun(ctx),
  "inversion.showPanel": (ctx) => (runDir?: string) => ProgressPanel.show(ctx.extension.extensionUri, ctx.backend, typeof runDir === "string" ? runDir : undefined),
  "inversion.openRun": (ctx) => (runDir?: string) => openRun(ctx, runDir),
  "inversion.scoreAtCursor": (ctx) => () => scoreAtCursor(ctx),
  "inversion.selectModel": (ctx) => (value?: string) => selectModel(ctx, value),
  "inversion.workspaceSettings": (ctx) => (answer?: string) => ctx.workspaceSettings.choose(answer),
  "inversion.showLog": (ctx) => () => ctx.output.show(true),
  "inversion.restartServer": (ctx) => () => ctx.client.restart(),
};

export function registerCommands(ctx: Ctx): vscode.Disposable[] {
  return Object.entries(COMMANDS).map(([id, make]) => vscode.commands.registerCommand(id, make(ctx)));
}

/** Continues a run after its last complete cycle (e.g. after a cancel). */
async function resumeRun(ctx: Ctx, runDir?: string): Promise<unknown> {
  const dir = typeof runDir === "string" ? runDir : await pickRun(ctx, "Resume an Inversion run");
  return dir ? runCycles(ctx, { out: dir, resume: true }) : undefined;
}

async function stopRun(ctx: Ctx): Promise<StopRunRequest.Result> {
  // The run this window started is stopped through its own cancel: the stop then follows the run request to the
  // server even when the request is not out yet (before, a Stop run during "Activating Extensions…" was lost).
  if (ctx.activeRunCancel) {
    ctx.activeRunCancel.cancel();
    return { stopped: true };
  }
  const r = await ctx.client.sendRequest(StopRunRequest.type);
  if (!r.stopped) void vscode.window.showInformationMessage("Inversion: no run is in progress.");
  return r;
}

async function openRun(ctx: Ctx, runDir?: string): Promise<ProgressPanel | undefined> {
  const dir = typeof runDir === "string" ? runDir : await pickRun(ctx, "Open an Inversion run");
  return dir ? ProgressPanel.show(ctx.extension.extensionUri, ctx.backend, dir) : undefined;
}

async function pickRun(ctx: Ctx, title: string): Promise<string | undefined> {
  const { runs } = await ctx.backend.listRuns();
  if (runs.length === 0) {
    void vscode.window.showInformationMessage("Inversion: no runs yet in the runs directory.");
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    runs.map((r) => ({ label: r.name, description: new Date(r.time).toLocaleString(), detail: r.runDir, runDir: r.runDir })),
    { title },
  );
  return pick?.runDir;
}

async function scoreAtCursor(ctx: Ctx): Promise<CommandScore | null> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.languageId !== "shellscript") {
    void vscode.window.setStatusBarMessage("Inversion: open a shell script and place the cursor on a command", 4000);
    return null;
  }
  const pos = editor.selection.active;
  const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: "Inversion: scoring" }, (_p, token) =>
    ctx.client.sendRequest(ScoreCommandRequest.type, { uri: editor.document.uri.toString(), position: { line: pos.line, character: pos.character } }, token),
  );
  if (!r) {
    void vscode.window.setStatusBarMessage(ctx.lastStatus?.model === "ready" ? "Inversion: no command at the cursor" : `Inversion: model ${ctx.lastStatus?.model ?? "not ready"}`, 4000);
    return null;
  }
  ctx.output.appendLine(`Score: ${r.command}\n  reading: ${r.reading}\n  fidelity: ${r.fidelity?.value ?? "n/a"}\n  agreement: ${r.agreement?.value ?? "n/a"}${r.intent ? ` (comment: ${r.intent})` : ""}`);
  // The result is cached now: the hover at the cursor shows it in full.
  await vscode.commands.executeCommand("editor.action.showHover");
  return r;
}

async function selectModel(ctx: Ctx, value?: string): Promise<string | undefined> {
  const model = typeof value === "string" ? value.trim() : await pickModel();
  if (model === undefined) return undefined;
  // The user's settings: a workspace's value would wait for the workspace-settings question (trust.ts). "" is the
  // shipped model: the user's value is removed, not set to "".
  await vscode.workspace.getConfiguration("inversion").update("model", model || undefined, vscode.ConfigurationTarget.Global);
  ctx.shownMissing.delete(model);
  ctx.shownError.delete(model);
  if (ctx.client.isRunning()) await ctx.client.sendRequest(ReloadModelRequest.type);
  return model;
}

/** The shipped model (""), a model found on this machine, a .gguf from a file dialog, or an hf:/https: URI typed in. */
async function pickModel(): Promise<string | undefined> {
  const current = vscode.workspace.getConfiguration("inversion").inspect<string>("model")?.globalValue?.trim() ?? "";
  const found = foundModels();
  const choice = await vscode.window.showQuickPick(
    modelChoices({ current, defaultName: modelName(DEFAULT_MODEL_FILE), found, downloads: "~/.node-llama-cpp/models" }),
    { title: "Inversion: select model", matchOnDescription: true, matchOnDetail: true },
  );
  switch (choice?.id) {
    case undefined:
      return undefined;
    case "default":
      return "";
    case "found":
      return choice.path;
    case "file": {
      const start = [...MODEL_DIRECTORIES, homedir()].find((d) => existsSync(d));
      const picked = await vscode.window.showOpenDialog({
        canSelectMany: false,
        defaultUri: start ? vscode.Uri.file(start) : undefined,
        filters: { "GGUF model": ["gguf"] },
        openLabel: "Use this model",
        title: "Select a GGUF model (.gguf)",
      });
      return picked?.[0]?.fsPath;
    }
    case "browse":
      await vscode.env.openExternal(vscode.Uri.parse(BROWSE_URL));
      return enterUri();
    case "hf":
      return enterUri();
  }
}

async function enterUri(): Promise<string | undefined> {
  const uri = await vscode.window.showInputBox({
    title: "Inversion: model URI",
    prompt: "A Hugging Face URI (hf:user/repo/file.gguf) or an https:// URL of a .gguf file: downloaded once into ~/.node-llama-cpp/models",
    placeHolder: HF_EXAMPLE,
    ignoreFocusOut: true,
    validateInput: (v) => (isRemoteModelRef(v) ? undefined : "Start with hf: or https://"),
  });
  return uri?.trim() || undefined;
}
