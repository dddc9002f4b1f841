// Reads the `inversion.*` settings and resolves paths (model, runs directory, adapter) for the server.
import * as vscode from "vscode";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { DEFAULT_SETTINGS, type InversionSettings } from "../../common/protocol";
import { isRemoteModelRef, modelRefProblem } from "../../common/modelRef";
import { RUN_PARAMS, SETTING_PARAM_KEYS, settingName } from "../../common/runParams";
import { restrictedSetting } from "./trust";

function workspaceRoot(scope?: vscode.Uri): string | undefined {
  const folder = (scope && vscode.workspace.getWorkspaceFolder(scope)) ?? vscode.workspace.workspaceFolders?.[0];
  return folder?.uri.scheme === "file" ? folder.uri.fsPath : undefined;
}

/** Expands ~ and ${workspaceFolder}; makes relative paths relative to the workspace folder. URIs stay as they are. */
export function resolvePath(p: string, scope?: vscode.Uri): string {
  let v = p.trim();
  if (!v) return v;
  if (isRemoteModelRef(v) || modelRefProblem(v)) return v;
  const root = workspaceRoot(scope);
  v = v.replace(/\$\{workspaceFolder\}/g, root ?? "").replace(/^~(?=$|[\\/])/, homedir());
  if (!isAbsolute(v) && root) v = resolve(root, v);
  return v;
}

export function readSettings(storage: vscode.Uri, scope?: vscode.Uri): InversionSettings {
  const c = vscode.workspace.getConfiguration("inversion", scope);
  const d = DEFAULT_SETTINGS;
  const get = <T>(key: string, def: T): T => c.get<T>(key, def);
  const runsSetting = restrictedSetting(c, "runsDirectory", "");
  // Runs go to the extension's storage unless a directory is chosen: never into the user's project unasked.
  const runsDirectory = runsSetting ? resolvePath(runsSetting, scope) : join(storage.fsPath, "runs");
  const hoverAdapter = restrictedSetting(c, "hoverAdapter", d.hoverAdapter);
  // The run parameters come from their one declaration; the server checks their values.
  const runParams = Object.fromEntries(SETTING_PARAM_KEYS.map((key) => [key, get(settingName(key).slice("inversion.".length), RUN_PARAMS[key].default as unknown)]));
  return {
    ...d,
    ...(runParams as Partial<InversionSettings>),
    model: resolvePath(restrictedSetting(c, "model", d.model), scope),
    hoverAdapter: hoverAdapter === "best" || hoverAdapter === "base" ? hoverAdapter : resolvePath(hoverAdapter, scope),
    diagnostics: {
      enabled: get("diagnostics.enabled", d.diagnostics.enabled),
      maxCommandsPerPass: get("diagnostics.maxCommandsPerPass", d.diagnostics.maxCommandsPerPass),
      debounceMs: get("diagnostics.debounceMs", d.diagnostics.debounceMs),
    },
    runsDirectory,
    maxFileBytes: get("maxFileBytes", d.maxFileBytes),
    // machine-scoped, and read from the user's (or remote machine's) settings only: never a workspace's
    backend: c.inspect<string>("backend")?.globalValue?.trim() ?? d.backend,
  };
}
