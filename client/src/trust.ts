// Settings that choose which files and URLs the extension loads. A workspace that is not trusted cannot set them
// (package.json lists the same keys under capabilities.untrustedWorkspaces.restrictedConfigurations). A trusted one
// can, once the user allowed it: its values are asked about once (Allow / Use my settings), and the answer is
// remembered per workspace for exactly those values. Until answered, the user's values apply.
import * as vscode from "vscode";
import { decideWorkspaceSettings, type RememberedAnswer, type ScopedValue } from "./workspaceSettingsDecision";

export const RESTRICTED_SETTINGS = ["model", "hoverAdapter", "runsDirectory"] as const;
export type RestrictedSetting = (typeof RESTRICTED_SETTINGS)[number];

const ANSWER_KEY = "inversion.workspaceSettingsAnswer";
let workspaceValuesAllowed = false;

/** A restricted setting: the user's (or the default) value unless this workspace's values were allowed. */
export function restrictedSetting(config: vscode.WorkspaceConfiguration, key: RestrictedSetting, fallback: string): string {
  if (workspaceValuesAllowed && vscode.workspace.isTrusted) return config.get<string>(key, fallback);
  const values = config.inspect<string>(key);
  return values?.globalValue ?? values?.defaultValue ?? fallback;
}

/** Reviews the workspace's values now and whenever they or the trust change; `changed` is called when the answer does. */
export function watchWorkspaceSettings(state: vscode.Memento, changed: () => void): vscode.Disposable[] {
  const review = (): void => void reviewWorkspaceSettings(state).then((differs) => differs && changed());
  review();
  return [
    vscode.workspace.onDidGrantWorkspaceTrust(review),
    vscode.workspace.onDidChangeConfiguration((e) => RESTRICTED_SETTINGS.some((k) => e.affectsConfiguration(`inversion.${k}`)) && review()),
  ];
}

async function reviewWorkspaceSettings(state: vscode.Memento): Promise<boolean> {
  const decision = decideWorkspaceSettings(vscode.workspace.isTrusted, scopedValues(), state.get<RememberedAnswer>(ANSWER_KEY));
  let allow = decision.useWorkspaceValues;
  if (decision.ask) {
    const list = decision.asking.map((v) => `inversion.${v.name} = ${JSON.stringify(v.workspace)}`).join("\n");
    const detail = `${list}\n\nThese settings choose which model and adapter Inversion downloads and loads, and where runs are written.`;
    const pick = await vscode.window.showWarningMessage("This workspace sets Inversion's model settings. Use its values?", { modal: true, detail }, "Allow", "Use my settings");
    allow = pick === "Allow";
    if (pick) await state.update(ANSWER_KEY, { allow, values: decision.fingerprint } satisfies RememberedAnswer);
  }
  const differs = allow !== workspaceValuesAllowed;
  workspaceValuesAllowed = allow;
  return differs;
}

/** The workspace's and each folder's value of every restricted setting, next to the user's. */
function scopedValues(): ScopedValue[] {
  const values: ScopedValue[] = [];
  for (const key of RESTRICTED_SETTINGS) {
    const all = vscode.workspace.getConfiguration("inversion").inspect<string>(key);
    values.push({ name: key, user: all?.globalValue, workspace: all?.workspaceValue });
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      const inFolder = vscode.workspace.getConfiguration("inversion", folder.uri).inspect<string>(key);
      // A single-folder workspace reports its .vscode/settings.json both ways: once is enough.
      if (inFolder?.workspaceFolderValue === all?.workspaceValue) continue;
      values.push({ name: `${key} (${folder.name})`, user: all?.globalValue, workspace: inFolder?.workspaceFolderValue });
    }
  }
  return values;
}
