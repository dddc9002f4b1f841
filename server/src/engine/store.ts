// The run store: one directory per run. Whole files are replaced atomically (temp + rename); JSONL files are only
// appended whole lines, and readers ignore a torn last line, so a killed run always leaves readable files. Every
// file is read as untrusted input (a run directory can come from anywhere): regular files only, within a size limit,
// every record checked against its schema (records.ts) and the logs' cycle numbers checked in order.
import { appendFile, copyFile, mkdir, readdir, rename, rm, stat, statfs, writeFile } from "node:fs/promises";
import { realpathSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, isAbsolute } from "node:path";
import {
  CYCLES_IN_ORDER,
  checkCandidate,
  checkCycleRecord,
  checkExternalRow,
  checkRunConfig,
  checkStoredTasks,
  linesInOrder,
  type Checked,
  type ExternalRow,
  type LineOrder,
  type RunConfigRecord,
} from "./records";
import { lockRunDir, type RunLock } from "./runLock";
import type { Candidate, CycleRecord, TaskItem } from "./types";
import { readRegularFileAsync, RefusedFileError } from "../util/regularFile";

export const FILES = {
  config: "config.json",
  tasks: "tasks.json",
  cycles: "cycles.jsonl",
  examples: "examples.jsonl",
  external: "external.jsonl",
  adapters: "adapters",
  checkpoints: "checkpoints",
} as const;

/**
 * `mkdir -p` one level at a time. Node's recursive mkdir retries for ever where a parent exists but refuses new
 * entries (/proc, /sys): this fails at once with the reason instead.
 */
export async function makeDirs(dir: string): Promise<void> {
  const target = resolve(dir);
  const parent = dirname(target);
  if (parent !== target) {
    const st = await stat(parent).catch(() => null);
    if (!st) await makeDirs(parent);
    else if (!st.isDirectory()) throw new Error(`Cannot create ${target}: ${parent} is not a directory.`);
  }
  try {
    await mkdir(target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST" && (await stat(target)).isDirectory()) return;
    throw new Error(`Cannot create the directory ${target} (${code ?? (err as Error).message}).`);
  }
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await replaceFile(path, `${path}.${process.pid}.${Date.now()}.tmp`, JSON.stringify(value, null, 2) + "\n");
}

/** Writes `text` to `tmp`, then renames it over `path`; a failed write (a full disk) removes `tmp` at once. */
async function replaceFile(path: string, tmp: string, text: string): Promise<void> {
  try {
    await writeFile(tmp, text);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw naming(err, tmp);
  }
}

/** A failed write's error with the file it was writing (Node names the file only when the open fails). */
function naming(err: unknown, path: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === "object" && e.code && !e.path) e.path = path;
  return err;
}

export async function appendJsonl(path: string, rows: unknown[]): Promise<void> {
  if (rows.length === 0) return;
  // One write call per batch: a kill leaves at most one torn line at the end, which readers drop.
  await appendFile(path, rows.map((r) => JSON.stringify(r)).join("\n") + "\n").catch((err: unknown) => {
    throw naming(err, path);
  });
}

async function rewriteJsonl(path: string, rows: unknown[]): Promise<void> {
  await replaceFile(path, `${path}.${process.pid}.tmp`, rows.map((r) => JSON.stringify(r) + "\n").join(""));
}

/** How large a run's files may be read: far above real runs, far below what a string of text can hold. */
const MAX_CONFIG_BYTES = 1024 * 1024;
export const MAX_RUN_FILE_BYTES = 256 * 1024 * 1024;

/**
 * A file of a run directory as text, or null when it does not exist: regular files only, at most maxBytes (a FIFO
 * named cycles.jsonl would hold a file-system thread for ever, /dev/zero would never end). Throws naming the file.
 */
export async function readRunFile(file: string, maxBytes = MAX_RUN_FILE_BYTES): Promise<string | null> {
  try {
    return (await readRegularFileAsync(file, maxBytes)).toString("utf8");
  } catch (err) {
    if (err instanceof RefusedFileError && err.code === "ENOENT") return null;
    throw new Error(`${file} cannot be read: ${(err as Error).message}. The file is left as it is.`);
  }
}

/** A line in the middle of a run's JSONL file that is not a valid record: refused, never silently dropped. */
export class CorruptRunError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
    advice = `\`inversion repair ${dirname(file)}\` cuts the run back to its last complete cycle before that line (the original files are kept beside it).`,
  ) {
    super(`${file} line ${line} is corrupt (${reason}). The file is left as it is. ${advice}`);
    this.name = "CorruptRunError";
  }
}

/** Why a run whose tasks.json is lost or damaged cannot continue: it would measure later cycles on other tasks. */
const TASKS_ADVICE = "A resume must measure every cycle on the held-out tasks it started with: restore tasks.json, or start a new run.";

/** How a log's lines are read: each line's record check, and the order their cycle numbers keep. */
export interface LogRules<T> {
  check: (v: unknown) => Checked<T>;
  order?: LineOrder;
}

/**
 * Reads a JSONL file of records. Only the last line may be torn (a killed append); it is skipped. Any other line
 * that is not a valid record, or whose cycle breaks the file's order, throws CorruptRunError naming the file and line.
 */
export async function readJsonl<T extends { cycle: number }>(path: string, rules: LogRules<T>): Promise<T[]> {
  const out: T[] = [];
  for (const line of scanJsonl((await readRunFile(path)) ?? "", rules)) {
    if (line.record.ok) out.push(line.record.value);
    else if (!line.torn) throw new CorruptRunError(path, line.number, line.record.reason);
  }
  return out;
}

interface ScannedLine<T> {
  /** 1-based. */
  number: number;
  record: Checked<T>;
  /** The unterminated last line of the file: what a killed append leaves. */
  torn: boolean;
}

function scanJsonl<T extends { cycle: number }>(text: string, rules: LogRules<T>): ScannedLine<T>[] {
  const lines = text.split("\n");
  const out: ScannedLine<T>[] = [];
  let previous: number | undefined;
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    const record = inOrder(parseLine(line, rules.check), previous, rules.order);
    if (record.ok) previous = record.value.cycle;
    out.push({ number: i + 1, record, torn: i === lines.length - 1 });
  }
  return out;
}

/** The record, unless its cycle cannot follow the previous good line's. */
function inOrder<T extends { cycle: number }>(record: Checked<T>, previous: number | undefined, order?: LineOrder): Checked<T> {
  const problem = record.ok && order ? order(record.value.cycle, previous) : null;
  return problem ? { ok: false, reason: problem } : record;
}

function parseLine<T>(line: string, check: (v: unknown) => Checked<T>): Checked<T> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  return check(value);
}

export interface StoredTasks {
  heldOut: TaskItem[];
  /** Every training task used so far, so later cycles never repeat or overlap the held-out set. */
  seen: string[];
}

/** The records of a run's three logs. */
export interface RunLogs {
  cycles: CycleRecord[];
  examples: Candidate[];
  external: ExternalRow[];
}

export class RunStore {
  constructor(readonly dir: string) {}

  path(name: string): string {
    return join(this.dir, name);
  }

  async exists(): Promise<boolean> {
    try {
      await stat(this.path(FILES.config));
      return true;
    } catch {
      return false;
    }
  }

  async init(config: unknown): Promise<void> {
    await makeDirs(this.path(FILES.adapters));
    await writeJsonAtomic(this.path(FILES.config), config);
  }

  /** config.json, every field checked (records.ts); T is what the caller reads it as (RunOptions for a resume). */
  async readConfig<T = RunConfigRecord>(): Promise<T> {
    const text = await readRunFile(this.path(FILES.config), MAX_CONFIG_BYTES);
    if (text === null) throw new Error(`${this.dir} is not a run directory (it holds no ${FILES.config}).`);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new Error(`${this.dir} is not a readable run directory (${FILES.config}: ${(err as Error).message}).`);
    }
    const config = checkRunConfig(value);
    if (!config.ok) throw new Error(`${this.path(FILES.config)}: ${config.reason}. The file is left as it is.`);
    return config.value as T;
  }

  /** Records a resume's new total cycle count in config.json, every other field left as written (older names too). */
  async recordCycleCount(cycles: number): Promise<void> {
    if ((await this.readConfig()).cycles === cycles) return;
    const written = JSON.parse((await readRunFile(this.path(FILES.config), MAX_CONFIG_BYTES))!) as Record<string, unknown>;
    await writeJsonAtomic(this.path(FILES.config), { ...written, cycles });
  }

  /** Takes the run directory's exclusive lock (creating the directory); refuses while another process holds it. */
  async lock(): Promise<RunLock> {
    await makeDirs(this.dir);
    return lockRunDir(this.dir);
  }

  /**
   * Temporary files of writers that died or failed before their rename (a full disk), the trainer's checkpoint
   * writes included. Only call while holding the lock: the next writer, or a writer that failed, before it lets go.
   */
  async removeStaleTempFiles(): Promise<string[]> {
    const removed: string[] = [];
    const checkpoints = await readdir(this.path(FILES.checkpoints)).catch(() => [] as string[]);
    for (const sub of [".", FILES.adapters, ...checkpoints.map((name) => join(FILES.checkpoints, name))]) {
      const names = await readdir(this.path(sub)).catch(() => [] as string[]);
      for (const name of names.filter((n) => n.endsWith(".tmp"))) {
        await rm(this.path(join(sub, name)), { force: true });
        removed.push(join(sub, name));
      }
    }
    return removed;
  }

  async writeTasks(tasks: StoredTasks): Promise<void> {
    await writeJsonAtomic(this.path(FILES.tasks), tasks);
  }

  /** The run's tasks, or null when it has none yet; a damaged file is refused (never silently replaced). */
  async readTasks(): Promise<StoredTasks | null> {
    const file = this.path(FILES.tasks);
    const text = await readRunFile(file);
    if (text === null) return null;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new CorruptRunError(file, 1, `not JSON: ${(err as Error).message}`, TASKS_ADVICE);
    }
    const checked = checkStoredTasks(value);
    if (!checked.ok) throw new CorruptRunError(file, 1, checked.reason, TASKS_ADVICE);
    return checked.value;
  }

  /** The tasks a resumed run continues with: a run with complete cycles and no tasks.json is refused. */
  async tasksForResume(completeCycles: number): Promise<StoredTasks | null> {
    const tasks = await this.readTasks();
    if (!tasks && completeCycles > 0) throw new CorruptRunError(this.path(FILES.tasks), 1, `missing, though ${completeCycles} cycle(s) are complete`, TASKS_ADVICE);
    return tasks;
  }

  /** cycles.jsonl, checked: numbered 1, 2, 3, … in order. */
  async cycles(): Promise<CycleRecord[]> {
    return readJsonl(this.path(FILES.cycles), { check: checkCycleRecord, order: CYCLES_IN_ORDER });
  }

  async appendCycle(record: CycleRecord): Promise<void> {
    await appendJsonl(this.path(FILES.cycles), [record]);
  }

  async appendExamples(candidates: Candidate[]): Promise<void> {
    await appendJsonl(this.path(FILES.examples), candidates);
  }

  async examples(): Promise<Candidate[]> {
    return readJsonl(this.path(FILES.examples), { check: checkCandidate, order: linesInOrder() });
  }

  /**
   * Every log of the run, each line checked: a bad line anywhere but a torn last line, or a cycle number out of
   * order or past the cycle after cycles.jsonl's last, throws CorruptRunError naming the file and line. What a resume
   * and `inversion report` read, so both stop at the same damage.
   */
  async logs(): Promise<RunLogs> {
    const cycles = await this.cycles();
    const order = linesInOrder(cycles.at(-1)?.cycle ?? 0);
    const examples = await readJsonl(this.path(FILES.examples), { check: checkCandidate, order });
    const external = await readJsonl(this.path(FILES.external), { check: checkExternalRow, order });
    return { cycles, examples, external };
  }

  /**
   * Before a resume appends again: takes out of the logs what no complete cycle owns (a torn last line, the lines of
   * the cycle that never completed), after copying each file it changes aside and saying so; removes the adapter a
   * cycle trained before it was killed, which no record names. Returns the last complete cycle.
   */
  async repairForResume(log: (message: string) => void = () => undefined): Promise<number> {
    const logs = await this.logs();
    const last = logs.cycles.at(-1)?.cycle ?? 0;
    const kept = {
      [FILES.cycles]: logs.cycles,
      [FILES.examples]: logs.examples.filter((c) => c.cycle <= last),
      [FILES.external]: logs.external.filter((x) => x.cycle <= last && last > 0),
    };
    for (const [file, rows] of Object.entries(kept)) await this.keepOnly(file, rows, last, log);
    for (const { name, cycle } of await this.unreferencedAdapters(logs.cycles, last)) {
      await rm(this.path(join(FILES.adapters, name)), { force: true });
      log(`Removed ${join(FILES.adapters, name)}: cycle ${cycle} trained it but was stopped before its record was written, and no record names it (the cycle is redone).`);
    }
    return last;
  }

  /** Rewrites a log to `rows` when that drops lines, after copying it aside; says what was dropped and where the copy is. */
  private async keepOnly(file: string, rows: unknown[], last: number, log: (message: string) => void): Promise<void> {
    const text = await readRunFile(this.path(file));
    const lines = text ? text.split("\n").filter((l) => l.trim()).length : 0;
    if (lines === rows.length) {
      // nothing to take out; a last line written whole but without its newline gets one before the next append
      if (text && !text.endsWith("\n")) await rewriteJsonl(this.path(file), rows);
      return;
    }
    const copy = await this.copyAside(file, "before-resume");
    await rewriteJsonl(this.path(file), rows);
    log(`${file}: kept ${rows.length} line(s) of cycles up to ${last}; ${lines - rows.length} line(s) of an unfinished cycle or a torn write were taken out (the file as it was: ${copy}).`);
  }

  /** Copies a file of the run beside itself as `<file>.<why>-<time>`; returns the copy's path. */
  async copyAside(file: string, why: string): Promise<string> {
    const copy = `${this.path(file)}.${why}-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    await copyFile(this.path(file), copy);
    return copy;
  }

  /**
   * Adapters of cycles after `last` that no cycle record names: what a kill between training and the record leaves.
   * One named by a copy of cycles.jsonl kept aside (`inversion repair`, an earlier resume) is kept with it.
   */
  private async unreferencedAdapters(cycles: CycleRecord[], last: number): Promise<{ name: string; cycle: number }[]> {
    const named = cycles.flatMap((c) => [c.adapterPath, c.train?.outPath]).filter((p): p is string => !!p).map((p) => resolve(this.dir, p));
    const copies = await this.copiesAside(FILES.cycles);
    const names = await readdir(this.path(FILES.adapters)).catch(() => [] as string[]);
    return names.flatMap((name) => {
      const cycle = Number(ADAPTER_NAME.exec(name)?.[1] ?? NaN);
      const unnamed = !named.includes(this.path(join(FILES.adapters, name))) && !copies.some((text) => text.includes(name));
      return cycle > last && unnamed ? [{ name, cycle }] : [];
    });
  }

  /** The text of every copy of a log kept aside (`<file>.before-…`). */
  private async copiesAside(file: string): Promise<string[]> {
    const names = (await readdir(this.dir).catch(() => [] as string[])).filter((n) => n.startsWith(`${file}.before-`));
    return Promise.all(names.map(async (name) => (await readRunFile(this.path(name))) ?? ""));
  }

  /**
   * The error a run that failed ends with (call while holding the lock). The temporary files its failed writes left
   * are removed; a write that failed for lack of space becomes a DiskFullError that says so, what the run kept and
   * how to go on (before, a full disk read "failed to write adapter file …tmp" and the .tmp stayed until a resume).
   */
  async failed(err: unknown): Promise<unknown> {
    await this.removeStaleTempFiles().catch(() => undefined);
    const file = await unwrittenForLackOfSpace(err, this.dir);
    if (file === null) return err;
    const free = await statfs(this.dir).then((s) => s.bavail * s.bsize, () => null);
    const cycles = await this.cycles().catch(() => null);
    return new DiskFullError(this.dir, file, free, cycles ? (cycles.at(-1)?.cycle ?? 0) : null, err);
  }

  /** Where cycle N's training keeps its checkpoint until the cycle's adapter is written. */
  async trainingCheckpointDir(cycle: number): Promise<string> {
    const dir = this.path(join(FILES.checkpoints, `cycle-${String(cycle).padStart(3, "0")}`));
    await makeDirs(dir);
    return dir;
  }

  async removeTrainingCheckpoint(cycle: number): Promise<void> {
    await rm(this.path(join(FILES.checkpoints, `cycle-${String(cycle).padStart(3, "0")}`)), { recursive: true, force: true });
  }

  adapterPath(cycle: number): string {
    // A unique name per write: node-llama-cpp caches adapters by path.
    return this.path(join(FILES.adapters, `cycle-${String(cycle).padStart(3, "0")}-${Date.now().toString(36)}.gguf`));
  }
}

/** A run stopped by a full disk: the file that could not be written, the space left, and what the run kept. */
export class DiskFullError extends Error {
  constructor(
    readonly dir: string,
    readonly file: string,
    readonly freeBytes: number | null,
    /** The last complete cycle, kept in the run's files (null when they could not be read back). */
    readonly keptCycles: number | null,
    readonly cause: unknown,
  ) {
    const free = freeBytes === null ? "" : ` (${(freeBytes / 1024 / 1024).toFixed(1)} MB free)`;
    const kept = keptCycles === null ? "what its files hold" : keptCycles === 0 ? "no complete cycle yet" : `cycle${keptCycles > 1 ? `s 1 to ${keptCycles}` : " 1"}, complete`;
    super(
      `The disk holding ${dir} is full${free}: ${file} could not be written. The run kept ${kept}; its temporary files ` +
        "were removed, and what the unfinished cycle wrote is set aside when the run resumes. Free some space, then resume the run.",
    );
    this.name = "DiskFullError";
  }
}

/** What a full file system refuses to hold: under this much free space, a failed write is put down to it. */
const NEARLY_FULL_BYTES = 64 * 1024 * 1024;

/**
 * The file (relative to the run) a failed write could not hold for lack of space, or null when the error is not that:
 * Node's ENOSPC / EDQUOT, or the trainer's "failed to write …" (it does not say why) on a nearly full file system.
 */
async function unwrittenForLackOfSpace(err: unknown, dir: string): Promise<string | null> {
  const e = err as NodeJS.ErrnoException;
  const shortened = (path: string): string => (isInside(dir, path) ? relative(dir, path) : path);
  if (e?.code === "ENOSPC" || e?.code === "EDQUOT") return shortened(e.path ?? "a file");
  // the trainer's "failed to write adapter file PATH", "failed to write the checkpoint state in DIR (disk full?)", …
  const trainer = /failed to (?:write|move)\b.*?(\/\S*)/.exec(typeof e?.message === "string" ? e.message : "");
  if (!trainer) return null;
  const free = await statfs(dir).then((s) => s.bavail * s.bsize, () => Infinity);
  return free < NEARLY_FULL_BYTES ? shortened(trainer[1]!) : null;
}

/** The names adapterPath gives, with the cycle. */
const ADAPTER_NAME = /^cycle-(\d+)-[0-9a-z]+\.gguf$/;

export interface RepairResult {
  /** The last complete cycle kept. */
  keptCycles: number;
  /** Copies of the files as they were, beside them. */
  backups: string[];
  /** Per log: lines kept and taken out. */
  files: { file: string; kept: number; dropped: number }[];
}

/** The last cycle whose records lie wholly before the first corrupt line of a file (Infinity when none is corrupt). */
function lastIntactCycle<T extends { cycle: number }>(lines: ScannedLine<T>[], ownLines: boolean): number {
  const bad = lines.findIndex((l) => !l.record.ok && !l.torn);
  if (bad < 0) return Infinity;
  const cycleAt = (l: ScannedLine<T> | undefined): number => (l?.record.ok ? l.record.value.cycle : Infinity);
  // cycles.jsonl: everything before the bad line is whole. Other logs: the neighbours' cycles may be damaged too.
  if (ownLines) return bad === 0 ? 0 : cycleAt(lines[bad - 1]);
  return Math.max(0, Math.min(cycleAt(lines[bad - 1]), cycleAt(lines[bad + 1])) - 1);
}

type AnyLog = LogRules<{ cycle: number }> & { file: string; own: boolean };

/**
 * The explicit repair of a run whose logs hold a corrupt line (`inversion repair`): cuts cycles, examples and
 * external rows back to the last cycle complete before the first damage, after copying each file aside. A log that
 * cannot be read (not a regular file, unreadable) stops the repair with its name: it is never taken for empty.
 */
export async function repairRun(store: RunStore): Promise<RepairResult> {
  const logs: AnyLog[] = [
    { file: FILES.cycles, check: checkCycleRecord, order: CYCLES_IN_ORDER, own: true },
    { file: FILES.examples, check: checkCandidate, order: linesInOrder(), own: false },
    { file: FILES.external, check: checkExternalRow, order: linesInOrder(), own: false },
  ];
  const scanned = [];
  for (const log of logs) scanned.push({ ...log, lines: scanJsonl((await readRunFile(store.path(log.file))) ?? "", log) });
  const lastCycle = scanned[0]!.lines.reduce((last, l) => (l.record.ok ? l.record.value.cycle : last), 0);
  const keptCycles = Math.min(lastCycle, ...scanned.map((s) => lastIntactCycle(s.lines, s.own)));
  const result: RepairResult = { keptCycles, backups: [], files: [] };
  for (const s of scanned) {
    if (s.lines.length === 0) continue;
    result.backups.push(await store.copyAside(s.file, "before-repair"));
    const kept = s.lines.flatMap((l) => (l.record.ok && l.record.value.cycle <= keptCycles ? [l.record.value] : []));
    await rewriteJsonl(store.path(s.file), kept);
    result.files.push({ file: s.file, kept: kept.length, dropped: s.lines.length - kept.length });
  }
  return result;
}

/** The newest run directory under `root` (by config.json time), or null. */
export async function latestRun(root: string): Promise<string | null> {
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch {
    return null;
  }
  let best: { dir: string; time: number } | null = null;
  for (const name of entries) {
    try {
      const st = await stat(join(root, name, FILES.config));
      if (!best || st.mtimeMs > best.time) best = { dir: join(root, name), time: st.mtimeMs };
    } catch {
      // not a run
    }
  }
  return best?.dir ?? null;
}

/** Whether `path` lies inside `dir` (after resolving `..`). */
export function isInside(dir: string, path: string): boolean {
  const rel = relative(resolve(dir), resolve(dir, path));
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}

/**
 * `path`'s real path when it is a regular file whose real path lies inside `realDir` (a directory's real path: no
 * symbolic link in it), else why not. Symbolic links are followed, so a link cannot lead out of the directory.
 */
export function realFileInside(realDir: string, path: string): Checked<string> {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (err) {
    return { ok: false, reason: `it cannot be resolved (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
  if (!isInside(realDir, real)) return { ok: false, reason: `its real path ${real} is outside ${realDir}` };
  if (!statSync(real).isFile()) return { ok: false, reason: `${real} is not a regular file` };
  return { ok: true, value: real };
}

/**
 * The real path of an adapter a run's records name. A run directory can come from anywhere (a cloned workspace), so
 * its records must not point the model or the trainer at other files: only a regular file inside the run's own
 * adapters/ directory (real paths on both sides) is accepted; anything else throws, naming the file and the run.
 */
export function runAdapterPath(runDir: string, recorded: string): string {
  const adapters = join(realpathSync(runDir), FILES.adapters);
  const adapter = realFileInside(adapters, resolve(runDir, recorded));
  if (adapter.ok) return adapter.value;
  throw new Error(
    `The adapter ${recorded} named in ${join(runDir, FILES.cycles)} is refused: ${adapter.reason}. ` +
      `A run's records may name only files in its own ${FILES.adapters}/ directory: check where this run came from, or start a new run.`,
  );
}

/** The cycle with the best held-out score after training among those that wrote an adapter, or null. */
export function bestAdapterCycle(cycles: CycleRecord[]): CycleRecord | null {
  let best: CycleRecord | null = null;
  for (const c of cycles) {
    if (!c.adapterPath || !c.after) continue;
    if (!best || c.after.meanScore > best.after!.meanScore) best = c;
  }
  return best;
}

/** The real path of the best cycle's adapter (runAdapterPath: refused unless inside the run), or null when none was trained. */
export async function bestAdapter(runDir: string): Promise<string | null> {
  const best = bestAdapterCycle(await new RunStore(runDir).cycles());
  return best?.adapterPath ? runAdapterPath(runDir, best.adapterPath) : null;
}
