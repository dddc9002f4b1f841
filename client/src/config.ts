// Reads the `inversion.*` settings and resolves paths (model, runs directory, adapter) for the server.
import * as vscode from "vscode";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { DEFAULT_SETTINGS, type InversionSettings } from "../../common/protocol";

function workspaceRoot(scope?: vscode.Uri): string | undefined {
  const folder = (scope && vscode.workspace.getWorkspaceFolder(scope)) ?? vscode.workspace.workspaceFolders?.[0];
  return folder?.uri.scheme === "file" ? folder.uri.fsPath : undefined;
}

/** Expands ~ and ${workspaceFolder}; makes relative paths relative to the workspace folder. URIs stay as they are. */
export function resolvePath(p: string, scope?: vscode.Uri): string {
  let v = p.trim();
  if (!v) return v;
  if (/^(hf:|huggingface:|https?:)/i.test(v)) return v;
  const root = workspaceRoot(scope);
  v = v.replace(/\$\{workspaceFolder\}/g, root ?? "").replace(/^~(?=$|[\\/])/, homedir());
  if (!isAbsolute(v) && root) v = resolve(root, v);
  return v;
}

export function readSettings(storage: vscode.Uri, scope?: vscode.Uri): InversionSettings {
  const c = vscode.workspace.getConfiguration("inversion", scope);
  const d = DEFAULT_SETTINGS;
  const get = <T>(key: string, def: T): T => c.get<T>(key, def);
  const root = workspaceRoot(scope);
  const runsSetting = get("runsDirectory", "");
  const runsDirectory = runsSetting ? resolvePath(runsSetting, scope) : root ? join(root, ".inversion", "runs") : join(storage.fsPath, "runs");
  const hoverAdapter = get("hoverAdapter", d.hoverAdapter);
  return {
    model: resolvePath(get("model", d.model), scope),
    gpu: get("gpu", d.gpu),
    threads: get("threads", d.threads),
    cycles: get("cycles", d.cycles),
    tasks: get("tasks", d.tasks),
    candidates: get("candidates", d.candidates),
    threshold: get("threshold", d.threshold),
    temperature: get("temperature", d.temperature),
    learningRate: get("learningRate", d.learningRate),
    loraRank: get("loraRank", d.loraRank),
    train: get("train", d.train),
    seed: get("seed", d.seed),
    hoverAdapter: hoverAdapter === "best" || hoverAdapter === "base" ? hoverAdapter : resolvePath(hoverAdapter, scope),
    diagnostics: {
      enabled: get("diagnostics.enabled", d.diagnostics.enabled),
      threshold: get("diagnostics.threshold", d.diagnostics.threshold),
      maxCommandsPerPass: get("diagnostics.maxCommandsPerPass", d.diagnostics.maxCommandsPerPass),
      debounceMs: get("diagnostics.debounceMs", d.diagnostics.debounceMs),
    },
    runsDirectory,
    maxFileBytes: get("maxFileBytes", d.maxFileBytes),
  };
}
