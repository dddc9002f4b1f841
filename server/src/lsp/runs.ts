// Self-improvement runs started from the editor: one at a time, cancellable (LSP cancellation, work-done cancel
// and the stop request all abort the same AbortController that the engine and trainer observe).
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { DEFAULT_RUN_OPTIONS, runLoop, type ResumeOptions, type RunOptions } from "../engine/api";
import type { CycleRecord, RunEvent } from "../engine/types";
import type { InversionSettings, RunInfo, RunOverrides } from "../../../common/protocol";
import { RUN_PARAMS, SETTING_PARAM_KEYS, checkRunParams, type RunParamKey, type RunParams } from "../../../common/runParams";

export function runName(date = new Date()): string {
  return `run-${date.toISOString().replace(/[:.]/g, "-").replace("T", "_").slice(0, 23)}`;
}

/** The fields of a `inversion/runCycles` request (RunCyclesRequest.Params), and of its overrides besides the run parameters. */
const REQUEST_FIELDS: ReadonlySet<string> = new Set(["overrides", "workDoneToken"]);
const OVERRIDE_EXTRAS: ReadonlySet<string> = new Set(["out", "resume"]);

/** A run parameter's name, by own property only: `constructor`, `__proto__` or `toString` are not parameters. */
const isRunParamKey = (key: string): key is RunParamKey => Object.hasOwn(RUN_PARAMS, key);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function refuseUnknown(value: Record<string, unknown>, known: (key: string) => boolean, what: string): void {
  const unknown = Object.keys(value).filter((key) => !known(key));
  if (unknown.length) throw new Error(`${what}: ${unknown.join(", ")}.`);
}

/**
 * The overrides of a `inversion/runCycles` request, the whole request checked against its one schema (the fields
 * above, every run parameter's declaration in common/runParams.ts) before anything starts: a request that is not an
 * object, an unknown field (own properties only) or a bad value is refused with the reason.
 */
export function runOverridesOf(params: unknown): RunOverrides {
  if (params === undefined || params === null) return {};
  if (!isObject(params)) throw new Error("The run request's parameters must be an object.");
  refuseUnknown(params, (key) => REQUEST_FIELDS.has(key), "Unknown fields of the run request");
  const token = params.workDoneToken;
  if (token !== undefined && typeof token !== "string" && typeof token !== "number") throw new Error("workDoneToken must be a string or a number.");
  const overrides = params.overrides;
  if (overrides === undefined || overrides === null) return {};
  if (!isObject(overrides)) throw new Error("overrides must be an object.");
  refuseUnknown(overrides, (key) => isRunParamKey(key) || OVERRIDE_EXTRAS.has(key), "Unknown run overrides");
  checkRunParams(overrides, (key) => `overrides.${key}`);
  if (overrides.out !== undefined && (typeof overrides.out !== "string" || !overrides.out)) throw new Error("overrides.out must be a directory path.");
  if (overrides.resume !== undefined && typeof overrides.resume !== "boolean") throw new Error("overrides.resume must be true or false.");
  if (overrides.resume) refuseResumeChanges(overrides);
  return { ...overrides } as RunOverrides;
}

/** A resume names its run and may give its new total cycle count; every other parameter is the recorded one. */
function refuseResumeChanges(overrides: Record<string, unknown>): void {
  const changes = Object.keys(overrides).filter((key) => isRunParamKey(key) && key !== "cycles");
  if (changes.length) throw new Error(`A resume continues a run with the parameters it recorded; of the overrides it takes only cycles (its new total), not ${changes.join(", ")}.`);
}

/** The run a request asks for: a new run from the settings and overrides, or the resume of the run in `overrides.out`. */
export function runFromSettings(settings: InversionSettings, overrides: RunOverrides = {}): RunOptions | ResumeOptions {
  return overrides.resume ? resumeFromSettings(settings, overrides) : runOptionsFromSettings(settings, overrides);
}

/** A new run's options: the settings' run parameters, then the request's overrides (already checked). */
export function runOptionsFromSettings(settings: InversionSettings, overrides: Omit<RunOverrides, "resume"> = {}): RunOptions {
  if (!settings.runsDirectory && !overrides.out) throw new Error("No runs directory is set (inversion.runsDirectory) and no workspace folder is open.");
  const fromSettings = Object.fromEntries(SETTING_PARAM_KEYS.map((key) => [key, settings[key as keyof InversionSettings]]));
  // a `resume` among them never reaches the options: that would make them a resume (runFromSettings makes those)
  const { out, resume: _resume, ...params }: RunOverrides = overrides;
  return {
    ...DEFAULT_RUN_OPTIONS,
    ...(fromSettings as Partial<RunParams>),
    ...params,
    ...filesFromSettings(settings),
    out: out ?? join(settings.runsDirectory, runName()),
  };
}

/**
 * "Resume run": the recorded run continues to its recorded total, never the settings' cycle count; only a request's
 * explicit `cycles` override gives a new total. The model and backend come from the settings, as for a new run.
 */
export function resumeFromSettings(settings: InversionSettings, overrides: RunOverrides): ResumeOptions {
  if (!overrides.out) throw new Error("overrides.resume needs overrides.out: the run directory to continue.");
  return { ...filesFromSettings(settings), out: overrides.out, resume: overrides.cycles === undefined ? {} : { cycles: overrides.cycles } };
}

function filesFromSettings(settings: InversionSettings): Pick<RunOptions, "modelPath" | "backend"> {
  // where the model runs: only ever the user's setting (never a request's override or a workspace's)
  return { modelPath: settings.model, backend: settings.backend || undefined };
}

export interface ActiveRun {
  runDir: string;
  abort: AbortController;
  promise: Promise<{ runDir: string; cycles: CycleRecord[]; cancelled: boolean }>;
}

/** After a stop, how long a run may take to end before its slot is given up (a run stuck in the file system). */
const STOP_GRACE_MS = 10_000;

/** The one run slot: freed when the run ends in any way, or a grace period after a stop it does not answer. */
export class RunManager {
  active: ActiveRun | null = null;

  constructor(private readonly stopGraceMs = STOP_GRACE_MS) {}

  start(opts: RunOptions | ResumeOptions, onEvent: (e: RunEvent) => void): ActiveRun {
    if (this.active) throw new Error(`A run is already in progress (${this.active.runDir}); stop it first.`);
    const abort = new AbortController();
    const promise = runLoop(opts, { signal: abort.signal, onEvent }).finally(() => {
      if (this.active?.abort === abort) this.active = null;
    });
    this.active = { runDir: opts.out, abort, promise };
    return this.active;
  }

  stop(): boolean {
    const run = this.active;
    if (!run) return false;
    if (!run.abort.signal.aborted) run.abort.abort();
    setTimeout(() => {
      if (this.active === run) this.active = null;
    }, this.stopGraceMs).unref();
    return true;
  }
}

export async function listRuns(root: string): Promise<RunInfo[]> {
  if (!root) return [];
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return [];
  }
  const runs: RunInfo[] = [];
  for (const name of names) {
    try {
      const st = await stat(join(root, name, "config.json"));
      runs.push({ runDir: join(root, name), name, time: st.mtimeMs });
    } catch {
      // not a run
    }
  }
  return runs.sort((a, b) => b.time - a.time);
}
