// The extension's commands as a table (rust-analyzer's `editors/code` style): each entry builds its handler from
// the shared context, and `activate` registers them all.
import * as vscode from "vscode";
import { isRemoteModelRef } from "../../common/modelRef";
import { ReloadModelRequest, ScoreCommandRequest, StopRunRequest, type CommandScore, type RunOverrides } from "../../common/protocol";
import type { Ctx } from "./ctx";
import { ProgressPanel } from "./panel";
import { runCycles } from "./runCycles";

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
  const r = await ctx.client.sendRequest(StopRunRequest.type);
  if (!r.stopped) void vscode.window.setStatusBarMessage("Inversion: no run in progress", 3000);
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
  const model = typeof value === "string" ? value : await pickModel();
  if (model === undefined) return undefined;
  // The user's settings: a workspace's value would wait for the workspace-settings question (trust.ts).
  await vscode.workspace.getConfiguration("inversion").update("model", model, vscode.ConfigurationTarget.Global);
  ctx.shownMissing.delete(model);
  ctx.shownError.delete(model);
  if (ctx.client.isRunning()) await ctx.client.sendRequest(ReloadModelRequest.type);
  return model;
}

/** A local .gguf from a file dialog, or an hf:/https: URI typed in. */
async function pickModel(): Promise<string | undefined> {
  const choice = await vscode.window.showQuickPick(
    [
      { label: "$(file) Choose a .gguf file…", id: "file" },
      { label: "$(cloud-download) Enter a Hugging Face URI (hf:user/repo/file.gguf)…", id: "hf" },
    ],
    { title: "Inversion: select model" },
  );
  if (!choice) return undefined;
  if (choice.id === "file") {
    const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { "GGUF model": ["gguf"] }, title: "Select a GGUF model" });
    return picked?.[0]?.fsPath;
  }
  const uri = await vscode.window.showInputBox({
    title: "Inversion: model URI",
    prompt: "node-llama-cpp model URI; downloaded once into the model cache",
    placeHolder: "hf:user/repo/model.Q4_K_M.gguf",
    validateInput: (v) => (isRemoteModelRef(v) ? undefined : "Start with hf: or https://"),
  });
  return uri?.trim() || undefined;
}
