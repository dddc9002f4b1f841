// The run store: one directory per run. Whole files are replaced atomically (temp + rename); JSONL files are only
// appended whole lines, and readers ignore a torn last line, so a killed run always leaves readable files.
import { appendFile, copyFile, mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { realpathSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, isAbsolute } from "node:path";
import { checkCandidate, checkCycleRecord, checkExternalRow, checkRunConfig, checkStoredTasks, type Checked, type ExternalRow } from "./records";
import { lockRunDir, type RunLock } from "./runLock";
import type { Candidate, CycleRecord, TaskItem } from "./types";

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
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, JSON.stringify(value, null, 2) + "\n");
  await rename(tmp, path);
}

export async function appendJsonl(path: string, rows: unknown[]): Promise<void> {
  if (rows.length === 0) return;
  // One write call per batch: a kill leaves at most one torn line at the end, which readers drop.
  await appendFile(path, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
}

async function rewriteJsonl(path: string, rows: unknown[]): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, rows.map((r) => JSON.stringify(r) + "\n").join(""));
  await rename(tmp, path);
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

/**
 * Reads a JSONL file of records. Only the last line may be torn (a killed append); it is skipped. Any other line
 * that is not a valid record throws CorruptRunError naming the file and line.
 */
export async function readJsonl<T>(path: string, check: (v: unknown) => Checked<T>): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const out: T[] = [];
  for (const line of scanJsonl(text, check)) {
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

function scanJsonl<T>(text: string, check: (v: unknown) => Checked<T>): ScannedLine<T>[] {
  const lines = text.split("\n");
  const out: ScannedLine<T>[] = [];
  for (const [i, line] of lines.entries()) {
    if (line.trim()) out.push({ number: i + 1, record: parseLine(line, check), torn: i === lines.length - 1 });
  }
  return out;
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

  async readConfig<T>(): Promise<T> {
    let value: unknown;
    try {
      value = JSON.parse(await readFile(this.path(FILES.config), "utf8"));
    } catch (err) {
      throw new Error(`${this.dir} is not a readable run directory (${(err as Error).message}).`);
    }
    const config = checkRunConfig<T>(value);
    if (!config.ok) throw new Error(`${this.path(FILES.config)}: ${config.reason}.`);
    return config.value;
  }

  /** Takes the run directory's exclusive lock (creating the directory); refuses while another process holds it. */
  async lock(): Promise<RunLock> {
    await makeDirs(this.dir);
    return lockRunDir(this.dir);
  }

  /** Temporary files of writers that died before their rename (only call while holding the lock). */
  async removeStaleTempFiles(): Promise<string[]> {
    const removed: string[] = [];
    for (const sub of [".", FILES.adapters]) {
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
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
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

  async cycles(): Promise<CycleRecord[]> {
    return readJsonl(this.path(FILES.cycles), checkCycleRecord);
  }

  async appendCycle(record: CycleRecord): Promise<void> {
    await appendJsonl(this.path(FILES.cycles), [record]);
  }

  async appendExamples(candidates: Candidate[]): Promise<void> {
    await appendJsonl(this.path(FILES.examples), candidates);
  }

  async examples(): Promise<Candidate[]> {
    return readJsonl(this.path(FILES.examples), checkCandidate);
  }

  /**
   * Every log of the run, each line checked: a bad line anywhere but a torn last line throws CorruptRunError naming
   * the file and line. What a resume and `inversion report` read, so both stop at the same damage.
   */
  async logs(): Promise<RunLogs> {
    return { cycles: await this.cycles(), examples: await this.examples(), external: await readJsonl(this.path(FILES.external), checkExternalRow) };
  }

  /**
   * Before a resume appends again: drops torn lines from the logs, and examples of the cycle that never completed.
   * Returns the last complete cycle.
   */
  async repairForResume(): Promise<number> {
    const { cycles, examples, external } = await this.logs();
    const last = cycles.length ? cycles[cycles.length - 1]!.cycle : 0;
    await rewriteJsonl(this.path(FILES.cycles), cycles);
    await rewriteJsonl(this.path(FILES.examples), examples.filter((c) => c.cycle <= last));
    if (external.length) await rewriteJsonl(this.path(FILES.external), external.filter((x) => x.cycle <= last && last > 0));
    return last;
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

export interface RepairResult {
  /** The last complete cycle kept. */
  keptCycles: number;
  /** Copies of the files as they were, beside them. */
  backups: string[];
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

/**
 * The explicit repair of a run whose logs hold a corrupt line (`inversion repair`): cuts cycles, examples and
 * external rows back to the last cycle complete before the first damage, after copying each file aside.
 */
export async function repairRun(store: RunStore): Promise<RepairResult> {
  const logs = [
    { file: FILES.cycles, check: checkCycleRecord as (v: unknown) => Checked<{ cycle: number }>, own: true },
    { file: FILES.examples, check: checkCandidate as (v: unknown) => Checked<{ cycle: number }>, own: false },
    { file: FILES.external, check: checkExternalRow as (v: unknown) => Checked<{ cycle: number }>, own: false },
  ];
  const scanned = await Promise.all(
    logs.map(async (log) => ({ ...log, lines: scanJsonl(await readFile(store.path(log.file), "utf8").catch(() => ""), log.check) })),
  );
  const cycleLines = scanned[0]!.lines.filter((l) => l.record.ok);
  const lastCycle = cycleLines.length ? Math.max(...cycleLines.map((l) => (l.record as { value: { cycle: number } }).value.cycle)) : 0;
  const keptCycles = Math.min(lastCycle, ...scanned.map((s) => lastIntactCycle(s.lines, s.own)));
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const backups: string[] = [];
  for (const s of scanned) {
    if (s.lines.length === 0) continue;
    const backup = `${store.path(s.file)}.before-repair-${stamp}`;
    await copyFile(store.path(s.file), backup);
    backups.push(backup);
    const kept = s.lines.flatMap((l) => (l.record.ok && l.record.value.cycle <= keptCycles ? [l.record.value] : []));
    await rewriteJsonl(store.path(s.file), kept);
  }
  return { keptCycles, backups };
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
