// Records read back from a run directory are checked, not cast: a run's config.json carries the record version of
// all its files, and every line of cycles.jsonl / examples.jsonl is checked for the fields the readers use.
import type { Candidate, CycleRecord, TaskItem } from "./types";

/**
 * The version of the files a run directory holds; written into config.json as `version`. Version 2 renamed the
 * phase stats' `accepted` (examples in `selection`, tasks elsewhere) to `acceptedExamples` / `acceptedTasks`;
 * version 1 lines are read with the new names, so older runs still report and resume.
 */
export const RUN_RECORD_VERSION = 2;
const OLDEST_READABLE_VERSION = 1;

/** What a record check returns: the record, or why it is not one. */
export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

type FieldType = "number" | "string" | "boolean" | "object" | "array";
type Field = FieldType | `${FieldType}|null`;

function typeOf(v: unknown): FieldType | "null" | "other" {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  const t = typeof v;
  return t === "number" || t === "string" || t === "boolean" || t === "object" ? t : "other";
}

function checkFields<T>(value: unknown, fields: Record<string, Field>): Checked<T> {
  if (typeOf(value) !== "object") return { ok: false, reason: "not a JSON object" };
  const o = value as Record<string, unknown>;
  for (const [name, want] of Object.entries(fields)) {
    const got = typeOf(o[name]);
    if (!want.split("|").includes(got)) return { ok: false, reason: `field "${name}" should be ${want.replace("|", " or ")}, is ${o[name] === undefined ? "missing" : got}` };
  }
  return { ok: true, value: value as T };
}

const PHASE_STATS: Record<string, Field> = { candidates: "number", acceptedTasks: "number", acceptanceRate: "number", meanScore: "number", distinctCommands: "number", distinctPrograms: "number" };

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

function checkAll<T>(...results: Checked<unknown>[]): Checked<T> {
  for (const r of results) if (!r.ok) return r;
  return results[0] as Checked<T>;
}

export function checkCycleRecord(stored: unknown): Checked<CycleRecord> {
  const value = upgradeCycleV1(stored);
  const top = checkFields<CycleRecord>(value, {
    cycle: "number",
    startedAt: "string",
    seed: "number",
    tasks: "object",
    selection: "object",
    before: "object",
    after: "object|null",
    train: "object|null",
    external: "object|null",
    adapterPath: "string|null",
    timings: "object",
  });
  if (!top.ok) return top;
  const r = top.value;
  return checkAll(
    top,
    checkFields(r.tasks, { train: "number", heldOut: "number" }),
    checkFields(r.selection, { ...PHASE_STATS, acceptedExamples: "number" }),
    checkFields(r.before, PHASE_STATS),
    r.after ? checkFields(r.after, PHASE_STATS) : top,
    r.train ? checkFields(r.train, { lossFirst: "number", lossLast: "number", lossMean: "number", steps: "number", tokensPerSecond: "number", outPath: "string" }) : top,
  );
}

export function checkCandidate(value: unknown): Checked<Candidate> {
  const top = checkFields<Candidate>(value, {
    cycle: "number",
    phase: "string",
    taskId: "string",
    task: "string",
    command: "string",
    reconstruction: "string",
    score: "object",
    gates: "array",
    accepted: "boolean",
  });
  if (!top.ok) return top;
  return checkAll(top, checkFields(top.value.score, { scorer: "string", value: "number" }));
}

/** A line of external.jsonl, as far as its readers use it. */
export type ExternalRow = { cycle: number; prediction: string };

export function checkExternalRow(value: unknown): Checked<ExternalRow> {
  return checkFields(value, { cycle: "number", prediction: "string" });
}

/** A run's config.json: an object of the record version this build reads. */
export function checkRunConfig<T>(value: unknown): Checked<T> {
  const top = checkFields<T & { version: number }>(value, { version: "number" });
  if (!top.ok) return { ok: false, reason: `not an Inversion run configuration (${top.reason})` };
  const version = top.value.version;
  if (version > RUN_RECORD_VERSION) return { ok: false, reason: `written by a newer Inversion (record version ${version}; this one reads ${RUN_RECORD_VERSION})` };
  if (version < OLDEST_READABLE_VERSION) return { ok: false, reason: `written by an older Inversion (record version ${version}; this one reads ${OLDEST_READABLE_VERSION} to ${RUN_RECORD_VERSION})` };
  return top;
}

/** tasks.json: the held-out tasks a run measures every cycle on, and every training task used so far. */
export function checkStoredTasks(value: unknown): Checked<{ heldOut: TaskItem[]; seen: string[] }> {
  const top = checkFields<{ heldOut: TaskItem[]; seen: string[] }>(value, { heldOut: "array", seen: "array" });
  if (!top.ok) return top;
  for (const [i, task] of top.value.heldOut.entries()) {
    const item = checkFields<TaskItem>(task, { id: "string", text: "string", source: "string" });
    if (!item.ok) return { ok: false, reason: `heldOut[${i}]: ${item.reason}` };
  }
  const notText = top.value.seen.findIndex((t) => typeof t !== "string");
  return notText >= 0 ? { ok: false, reason: `seen[${notText}] is not a string` } : top;
}
