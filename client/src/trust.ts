// Settings that choose which files and URLs the extension loads (model, hover adapter, runs directory). A workspace
// that is not trusted cannot set them (package.json lists them under capabilities.untrustedWorkspaces). A trusted one
// can once the user allowed it: its values are asked about once (Allow / Use my settings), and the answer is
// remembered per workspace for exactly those values. Until answered, the user's values apply.
import * as vscode from "vscode";
import { decideWorkspaceSettings, type RememberedAnswer, type ScopedValue, type WorkspaceSettingsDecision } from "./workspaceSettingsDecision";

export const RESTRICTED_SETTINGS = ["model", "hoverAdapter", "runsDirectory"] as const;
export type RestrictedSetting = (typeof RESTRICTED_SETTINGS)[number];

const ANSWER_KEY = "inversion.workspaceSettingsAnswer";
const ALLOW = "Allow";
const USE_MINE = "Use my settings";

/** Whether this workspace's values of the restricted settings apply: written only by the gate below. */
let workspaceValuesAllowed = false;

/** A restricted setting: the user's (or the default) value unless this workspace's values were allowed. */
export function restrictedSetting(config: vscode.WorkspaceConfiguration, key: RestrictedSetting, fallback: string): string {
  if (workspaceValuesAllowed && vscode.workspace.isTrusted) return config.get<string>(key, fallback);
  const values = config.inspect<string>(key);
  return values?.globalValue ?? values?.defaultValue ?? fallback;
}

/** Asks about, remembers and applies the answer for this workspace's values. `changed`: which values apply changed. */
export class WorkspaceSettingsGate implements vscode.Disposable {
  /** The values a modal is open for (one question per set of values). */
  private asking: string | null = null;
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly state: vscode.Memento, private readonly changed: () => void) {
    const review = (): void => void this.review();
    this.subscriptions = [
      vscode.workspace.onDidGrantWorkspaceTrust(review),
      vscode.workspace.onDidChangeConfiguration((e) => RESTRICTED_SETTINGS.some((k) => e.affectsConfiguration(`inversion.${k}`)) && review()),
    ];
    review();
  }

  /**
   * "Inversion: Workspace model settings": answers for the current workspace values without the modal ("allow" or
   * "mine"; without an argument, a quick pick). Returns whether the workspace's values now apply, or undefined when
   * the workspace sets none of them differently or nothing was picked.
   */
  async choose(answer?: string): Promise<boolean | undefined> {
    const d = this.decide();
    if (d.asking.length === 0) {
      void vscode.window.showInformationMessage("Inversion: this workspace does not set the model, hover adapter or runs directory differently from your settings.");
      return undefined;
    }
    const allow = answer === "allow" ? true : answer === "mine" ? false : await this.pick(d);
    if (allow === undefined) return undefined;
    await this.remember(allow, d.fingerprint);
    return workspaceValuesAllowed;
  }

  private decide(): WorkspaceSettingsDecision {
    return decideWorkspaceSettings(vscode.workspace.isTrusted, scopedValues(), this.state.get<RememberedAnswer>(ANSWER_KEY));
  }

  private async review(): Promise<void> {
    const d = this.decide();
    this.apply(d.useWorkspaceValues);
    if (!d.ask || this.asking === d.fingerprint) return;
    this.asking = d.fingerprint;
    const detail = `${describe(d)}\n\nThese settings choose which model and adapter Inversion downloads and loads, and where runs are written. Until you answer, your own settings apply.`;
    const pick = await vscode.window.showWarningMessage("This workspace sets Inversion's model settings. Use its values?", { modal: true, detail }, ALLOW, USE_MINE);
    if (this.asking === d.fingerprint) this.asking = null;
    if (pick) await this.remember(pick === ALLOW, d.fingerprint);
  }

  private async pick(d: WorkspaceSettingsDecision): Promise<boolean | undefined> {
    const items = [
      { label: "Use this workspace's values", detail: describe(d), allow: true },
      { label: "Use my settings", allow: false },
    ];
    return (await vscode.window.showQuickPick(items, { title: "Inversion: workspace model settings" }))?.allow;
  }

  private async remember(allow: boolean, fingerprint: string): Promise<void> {
    await this.state.update(ANSWER_KEY, { allow, values: fingerprint } satisfies RememberedAnswer);
    await this.review();
  }

  private apply(allow: boolean): void {
    if (allow === workspaceValuesAllowed) return;
    workspaceValuesAllowed = allow;
    this.changed();
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
  }
}

function describe(d: WorkspaceSettingsDecision): string {
  return d.asking.map((v) => `inversion.${v.name} = ${JSON.stringify(v.workspace)}`).join("\n");
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
