// Settings that choose which files and URLs the extension loads: a workspace that is not trusted cannot set them.
// package.json lists the same keys under capabilities.untrustedWorkspaces.restrictedConfigurations, so VS Code
// already ignores workspace values there; reading them through here keeps that true for every caller.
import * as vscode from "vscode";

export const RESTRICTED_SETTINGS = ["model", "hoverAdapter", "runsDirectory"] as const;
export type RestrictedSetting = (typeof RESTRICTED_SETTINGS)[number];

/** A restricted setting: the user's (or the default) value unless the workspace is trusted. */
export function restrictedSetting(config: vscode.WorkspaceConfiguration, key: RestrictedSetting, fallback: string): string {
  if (vscode.workspace.isTrusted) return config.get<string>(key, fallback);
  const values = config.inspect<string>(key);
  return values?.globalValue ?? values?.defaultValue ?? fallback;
}
