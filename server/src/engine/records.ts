// Records read back from a run directory are checked, not cast. Each record's schema is declared once here
// (common/schema.ts): every field's type and range, every line on every read. The writers' types (engine/types.ts,
// RunOptions) are tested against these schemas at compile time (`Conforms` below), so a field added to a record
// without its schema fails to build. A run's config.json carries the record version of all its files.
import * as S from "../../../common/schema";
import type { Checked, Conforms, Infer, Schema } from "../../../common/schema";
import { RUN_PARAM_KEYS, paramProblem, withCurrentNames, type RunParamKey, type RunParams } from "../../../common/runParams";
import type { Candidate, CycleRecord, ExternalEval, GroundingStats, PhaseStats, TaskItem } from "./types";
import type { ExternalItem } from "./external";
import type { RunOptions } from "./loop";

export type { Checked };

/**
 * The version of the files a run directory holds; written into config.json as `version`. Version 2 renamed the
 * phase stats' `accepted` (examples in `selection`, tasks elsewhere) to `acceptedExamples` / `acceptedTasks`.
 * Version 3 named the `original` scorer's fields after it (they said `seed`, its old name: `meanSeedScore`,
 * `meanSeed`, `spearmanSeed`, an external row's `seed`) and the judge `policy` became `learner`. Older lines and
 * configurations are read with today's names, so older runs still report and resume.
 */
export const RUN_RECORD_VERSION = 3;
const OLDEST_READABLE_VERSION = 1;

// Field kinds ------------------------------------------------------------------------------------------------------

const count = S.integer({ min: 0 });
const fraction = S.number({ min: 0, max: 1 });
/** A statistic that may be NaN (a mean of nothing, a correlation of constant values), which JSON writes as null. */
const statistic = (range: S.Range): Schema<number | null> => S.nullable(S.number(range));
/** A cycle number: cycles count from 1 (0 is the starting weights, in external.jsonl only). */
const cycleNumber = S.integer({ min: 1 });

// cycles.jsonl -----------------------------------------------------------------------------------------------------

const PHASE_STATS = S.object({
  candidates: count,
  acceptedTasks: count,
  acceptanceRate: fraction,
  meanScore: fraction,
  meanOriginalScore: S.optional(fraction),
  distinctCommands: count,
  distinctPrograms: count,
});

const nlc2cmd = { min: -1, max: 1 };
const EXTERNAL_EVAL = S.object({
  dataset: S.string,
  datasetHash: S.string,
  n: count,
  nlc2cmd: statistic(nlc2cmd),
  nlc2cmdCi: S.pair(statistic(nlc2cmd)),
  exactMatch: statistic({ min: 0, max: 1 }),
  exactMatchCi: S.pair(statistic({ min: 0, max: 1 })),
  templateMatch: statistic({ min: 0, max: 1 }),
  templateMatchCi: S.pair(statistic({ min: 0, max: 1 })),
  meanLift: statistic({ min: 0, max: 1 }),
  distinctPredictions: S.optional(count),
  spearmanLift: statistic({ min: -1, max: 1 }),
  meanOriginal: S.optional(statistic({ min: 0, max: 1 })),
  spearmanOriginal: S.optional(statistic({ min: -1, max: 1 })),
});

const GROUNDING_STATS = S.object({
  examples: count,
  flags: count,
  unaccountedFlags: count,
  withUnaccountedFlags: count,
  withUnexplainedActions: count,
  ungrounded: count,
  accepted: count,
  acceptedUngrounded: count,
});

// any finite number: an external trainer reports its own objective
const loss = S.number();
const TRAINING = S.object({
  outPath: S.string,
  mode: S.oneOf("lora", "full"),
  masking: S.string,
  lossFirst: loss,
  lossLast: loss,
  lossMean: loss,
  steps: count,
  tokens: count,
  tokensPerSecond: S.number({ min: 0 }),
  seconds: S.number({ min: 0 }),
  trainer: S.string,
  examples: count,
  policy: S.string,
});

export const CYCLE_RECORD = S.object({
  cycle: cycleNumber,
  startedAt: S.string,
  seed: S.integer({ min: 0, max: 2 ** 31 - 1 }),
  tasks: S.object({ train: count, heldOut: count }),
  selection: S.object({ ...PHASE_STATS.fields, acceptedExamples: count }),
  before: PHASE_STATS,
  after: S.nullable(PHASE_STATS),
  train: S.nullable(TRAINING),
  trainSkipped: S.optional(S.string),
  external: S.nullable(EXTERNAL_EVAL),
  externalBefore: S.optional(S.nullable(EXTERNAL_EVAL)),
  grounding: S.optional(GROUNDING_STATS),
  adapterPath: S.nullable(S.string),
  // clock steps can make a duration negative, so only finiteness is checked
  timings: S.record(S.number()),
});

// examples.jsonl ---------------------------------------------------------------------------------------------------

const SCORE = S.object({
  scorer: S.string,
  value: fraction,
  // a log-probability of -Infinity is written as null
  parts: S.record(S.nullable(S.number())),
  explanation: S.string,
});

export const CANDIDATE = S.object({
  cycle: cycleNumber,
  phase: S.oneOf("before", "after"),
  taskId: S.string,
  task: S.string,
  command: S.string,
  raw: S.string,
  example: S.optional(S.object({ task: S.string })),
  given: S.optional(S.literal(true)),
  reconstruction: S.string,
  score: SCORE,
  altScores: S.optional(S.record(SCORE)),
  gates: S.array(S.object({ gate: S.string, pass: S.boolean, reason: S.string })),
  accepted: S.boolean,
  rejectReason: S.optional(S.string),
});

// external.jsonl ---------------------------------------------------------------------------------------------------

export const EXTERNAL_ROW = S.object({
  /** 0: the starting weights, measured in cycle 1. */
  cycle: S.integer({ min: 0 }),
  id: S.string,
  task: S.string,
  reference: S.string,
  prediction: S.string,
  nlc2cmd: S.number(nlc2cmd),
  exact: S.boolean,
  template: S.boolean,
  lift: fraction,
  original: S.optional(fraction),
});

/** A line of external.jsonl. */
export type ExternalRow = Infer<typeof EXTERNAL_ROW>;

// tasks.json -------------------------------------------------------------------------------------------------------

const TASK_ITEM = S.object({ id: S.string, text: S.string, source: S.oneOf("model", "backtranslation", "file"), origin: S.optional(S.string) });

/** tasks.json: the held-out tasks a run measures every cycle on, and every training task used so far. */
export const STORED_TASKS = S.object({ heldOut: S.array(TASK_ITEM), seen: S.array(S.string) });

// config.json ------------------------------------------------------------------------------------------------------

/** A run parameter as recorded, checked by its one declaration (common/runParams.ts). */
function runParam<K extends RunParamKey>(key: K): Schema<RunParams[K] | undefined> & { optional: true } {
  return S.optional(S.custom<RunParams[K]>(`a valid ${key}`, (v) => paramProblem(key, v)));
}

type RecordedParams = { [K in RunParamKey]: ReturnType<typeof runParam<K>> };
const RUN_PARAM_FIELDS = Object.fromEntries(RUN_PARAM_KEYS.map((key) => [key, runParam(key)])) as RecordedParams;

/** What a run records beside its options. */
const RUN_STAMP = {
  version: S.integer({ min: OLDEST_READABLE_VERSION, max: RUN_RECORD_VERSION }),
  startedAt: S.string,
  evalHash: S.nullable(S.string),
  evalPairs: count,
  /** The warm start's record, when the model was warm-started on human-written pairs. */
  warmStart: S.nullable(S.object({})),
};

/**
 * config.json: the run's options (its parameters optional, so a run recorded before a parameter existed still reads)
 * and the stamp. The files a run loads are recorded to be compared, never loaded (engine/loop.ts).
 */
export const RUN_CONFIG = S.object({
  ...RUN_PARAM_FIELDS,
  modelPath: S.string,
  out: S.string,
  contextSize: S.optional(S.integer({ min: 1 })),
  topics: S.array(S.string),
  commandsFile: S.optional(S.string),
  evalSet: S.optional(S.string),
  trainCommand: S.optional(S.string),
  backend: S.optional(S.string),
  ...RUN_STAMP,
});

export type RunConfigRecord = Infer<typeof RUN_CONFIG>;

// The writers' types against the schemas (compile time) ------------------------------------------------------------

// A compile error on one of these lines ("Type 'true' is not assignable to type 'false'") means the writer's type has
// a field its schema does not name, or names with another type: declare it in the schema above.
type Stamp = { [K in keyof typeof RUN_STAMP]: Infer<(typeof RUN_STAMP)[K]> };
export const CYCLE_RECORD_CONFORMS: Conforms<CycleRecord, Infer<typeof CYCLE_RECORD>> = true;
export const PHASE_STATS_CONFORM: Conforms<PhaseStats, Infer<typeof PHASE_STATS>> = true;
export const EXTERNAL_EVAL_CONFORMS: Conforms<ExternalEval, Infer<typeof EXTERNAL_EVAL>> = true;
export const GROUNDING_STATS_CONFORM: Conforms<GroundingStats, Infer<typeof GROUNDING_STATS>> = true;
export const CANDIDATE_CONFORMS: Conforms<Candidate, Infer<typeof CANDIDATE>> = true;
export const EXTERNAL_ROW_CONFORMS: Conforms<{ cycle: number } & ExternalItem, ExternalRow> = true;
export const STORED_TASKS_CONFORM: Conforms<{ heldOut: TaskItem[]; seen: string[] }, Infer<typeof STORED_TASKS>> = true;
export const RUN_CONFIG_CONFORMS: Conforms<RunOptions & Stamp, RunConfigRecord> = true;

// Checks -----------------------------------------------------------------------------------------------------------

type Stats = Record<string, unknown> | null | undefined;
const isV1 = (stats: Stats): stats is Record<string, unknown> => typeof stats === "object" && stats !== null && "accepted" in stats && !("acceptedTasks" in stats);

/** A version-1 cycle line with version 2's names (recognised by its fields, since a resumed run mixes both). */
function upgradeCycleV1(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  const r = value as Record<string, Stats>;
  const tasksOf = (stats: Stats): Stats => {
    if (!isV1(stats)) return stats;
    const { accepted, ...rest } = stats;
    return { ...rest, acceptedTasks: accepted };
  };
  let selection = r.selection;
  if (isV1(selection)) {
    // Version 1 counted examples in `selection.accepted`; its tasks are what the acceptance rate was computed from.
    const { accepted, ...rest } = selection;
    const trainTasks = (r.tasks as { train?: unknown } | undefined)?.train;
    const acceptedTasks = typeof trainTasks === "number" && typeof rest.acceptanceRate === "number" ? Math.round(rest.acceptanceRate * trainTasks) : accepted;
    selection = { ...rest, acceptedExamples: accepted, acceptedTasks };
  }
  return { ...r, selection, before: tasksOf(r.before), after: tasksOf(r.after) };
}

/** `value` with its field `old` named `current` (a line written before the rename; a resumed run mixes both). */
function renamed(value: unknown, old: string, current: string): unknown {
  if (typeof value !== "object" || value === null || !(old in value) || current in value) return value;
  const { [old]: moved, ...rest } = value as Record<string, unknown>;
  return { ...rest, [current]: moved };
}

/** A cycle line before version 3 with the `original` scorer's fields under its name instead of `seed`. */
function upgradeCycleV2(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  const r = value as Record<string, unknown>;
  const phase = (stats: unknown) => renamed(stats, "meanSeedScore", "meanOriginalScore");
  const external = (e: unknown) => renamed(renamed(e, "meanSeed", "meanOriginal"), "spearmanSeed", "spearmanOriginal");
  return {
    ...r,
    selection: phase(r.selection),
    before: phase(r.before),
    after: phase(r.after),
    external: external(r.external),
    ...("externalBefore" in r ? { externalBefore: external(r.externalBefore) } : {}),
  };
}

export function checkCycleRecord(stored: unknown): Checked<CycleRecord> {
  return S.check(CYCLE_RECORD, upgradeCycleV2(upgradeCycleV1(stored))) as Checked<CycleRecord>;
}

export function checkCandidate(value: unknown): Checked<Candidate> {
  return S.check(CANDIDATE, value) as Checked<Candidate>;
}

export function checkExternalRow(value: unknown): Checked<ExternalRow> {
  return S.check(EXTERNAL_ROW, renamed(value, "seed", "original"));
}

/** A run's config.json: an object of the record version this build reads, every field checked (older names read as today's). */
export function checkRunConfig(value: unknown): Checked<RunConfigRecord> {
  const version = typeof value === "object" && value !== null ? (value as { version?: unknown }).version : undefined;
  if (typeof version !== "number") return { ok: false, reason: `not an Inversion run configuration (field "version" should be a number, is ${S.shown(version)})` };
  if (version > RUN_RECORD_VERSION) return { ok: false, reason: `written by a newer Inversion (record version ${version}; this one reads ${RUN_RECORD_VERSION})` };
  if (version < OLDEST_READABLE_VERSION) return { ok: false, reason: `written by an older Inversion (record version ${version}; this one reads ${OLDEST_READABLE_VERSION} to ${RUN_RECORD_VERSION})` };
  return S.check(RUN_CONFIG, withCurrentNames(value as Partial<Record<RunParamKey, unknown>>));
}

export function checkStoredTasks(value: unknown): Checked<{ heldOut: TaskItem[]; seen: string[] }> {
  return S.check(STORED_TASKS, value);
}

// The order of a log's lines ---------------------------------------------------------------------------------------

/** Why a line's cycle cannot follow the cycle of the line before it (undefined for the first line), or null. */
export type LineOrder = (cycle: number, previous: number | undefined) => string | null;

/** cycles.jsonl: one line per cycle, numbered 1, 2, 3, … in order. */
export const CYCLES_IN_ORDER: LineOrder = (cycle, previous) => {
  const expected = (previous ?? 0) + 1;
  if (cycle === expected) return null;
  const before = previous === undefined ? "the first line must hold cycle 1" : `the line before holds cycle ${previous}`;
  return `field "cycle" is ${cycle}, but ${before}: cycles are numbered 1, 2, 3, … in order`;
};

/**
 * examples.jsonl and external.jsonl: lines grouped by cycle in order, never past the cycle after the last complete
 * one (`lastCycle`, when known; that cycle's lines are what a kill before its record leaves).
 */
export function linesInOrder(lastCycle?: number): LineOrder {
  return (cycle, previous) => {
    if (previous !== undefined && cycle < previous) return `field "cycle" is ${cycle}, but the line before holds cycle ${previous}: lines are in cycle order`;
    if (lastCycle !== undefined && cycle > lastCycle + 1) return `field "cycle" is ${cycle}, but cycles.jsonl ends at cycle ${lastCycle}`;
    return null;
  };
}
