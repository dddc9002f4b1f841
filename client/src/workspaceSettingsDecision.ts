// Whether the values a workspace gives the settings that choose what is downloaded and loaded (inversion.model,
// hoverAdapter, runsDirectory) are used. Pure: client/src/trust.ts gathers the values, asks and remembers the answer.

/** One restricted setting as the workspace (or one of its folders) and the user set it. */
export interface ScopedValue {
  /** The setting, with the folder's name for a folder value: `model`, `hoverAdapter (api)`. */
  name: string;
  user: string | undefined;
  workspace: string | undefined;
}

/** The user's answer for this workspace, with the workspace values it was given for. */
export interface RememberedAnswer {
  allow: boolean;
  values: string;
}

export interface WorkspaceSettingsDecision {
  useWorkspaceValues: boolean;
  /** Ask the user (Allow / Use my settings) about `asking`; until then the user's values apply. */
  ask: boolean;
  /** The workspace values that differ from the user's: what is asked about, and what an answer is remembered for. */
  asking: ScopedValue[];
  fingerprint: string;
}

/**
 * Untrusted: the user's values, never a question (VS Code's restrictedConfigurations say the same). Trusted: when the
 * workspace sets none of them differently from the user, nothing to ask; otherwise the remembered answer for exactly
 * these values, or a question. A changed workspace value is asked about again.
 */
export function decideWorkspaceSettings(trusted: boolean, values: ScopedValue[], remembered: RememberedAnswer | undefined): WorkspaceSettingsDecision {
  const asking = values.filter((v) => v.workspace !== undefined && v.workspace !== v.user);
  const fingerprint = JSON.stringify(asking.map((v) => [v.name, v.workspace]));
  if (!trusted || asking.length === 0) return { useWorkspaceValues: false, ask: false, asking, fingerprint };
  if (remembered?.values === fingerprint) return { useWorkspaceValues: remembered.allow, ask: false, asking, fingerprint };
  return { useWorkspaceValues: false, ask: true, asking, fingerprint };
}
