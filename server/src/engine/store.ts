// The run store: one directory per run. Whole files are replaced atomically (temp + rename); JSONL files are only
// appended whole lines, and readers ignore a torn last line, so a killed run always leaves readable files.
import { appendFile, mkdir, readFile, readdir, rename, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Candidate, CycleRecord, TaskItem } from "./types";

export const FILES = {
  config: "config.json",
  tasks: "tasks.json",
  cycles: "cycles.jsonl",
  examples: "examples.jsonl",
  external: "external.jsonl",
  adapters: "adapters",
} as const;

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

export async function readJsonl<T>(path: string): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return [];
  }
  const out: T[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // a torn line from a killed run
    }
  }
  return out;
}

export interface StoredTasks {
  heldOut: TaskItem[];
  /** Every training task used so far, so later cycles never repeat or overlap the held-out set. */
  seen: string[];
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
    await mkdir(this.path(FILES.adapters), { recursive: true });
    await writeJsonAtomic(this.path(FILES.config), config);
  }

  async readConfig<T>(): Promise<T> {
    try {
      return JSON.parse(await readFile(this.path(FILES.config), "utf8")) as T;
    } catch (err) {
      throw new Error(`${this.dir} is not a readable run directory (${(err as Error).message}).`);
    }
  }

  async writeTasks(tasks: StoredTasks): Promise<void> {
    await writeJsonAtomic(this.path(FILES.tasks), tasks);
  }

  async readTasks(): Promise<StoredTasks | null> {
    try {
      return JSON.parse(await readFile(this.path(FILES.tasks), "utf8")) as StoredTasks;
    } catch {
      return null;
    }
  }

  async cycles(): Promise<CycleRecord[]> {
    return readJsonl<CycleRecord>(this.path(FILES.cycles));
  }

  async appendCycle(record: CycleRecord): Promise<void> {
    await appendJsonl(this.path(FILES.cycles), [record]);
  }

  async appendExamples(candidates: Candidate[]): Promise<void> {
    await appendJsonl(this.path(FILES.examples), candidates);
  }

  async examples(): Promise<Candidate[]> {
    return readJsonl<Candidate>(this.path(FILES.examples));
  }

  /**
   * Before a resume appends again: drops torn lines from both logs, and examples of the cycle that never completed.
   * Returns the last complete cycle.
   */
  async repairForResume(): Promise<number> {
    const cycles = await this.cycles();
    const last = cycles.length ? cycles[cycles.length - 1]!.cycle : 0;
    await rewriteJsonl(this.path(FILES.cycles), cycles);
    await rewriteJsonl(this.path(FILES.examples), (await this.examples()).filter((c) => c.cycle <= last));
    const external = await readJsonl<{ cycle: number }>(this.path(FILES.external));
    if (external.length) await rewriteJsonl(this.path(FILES.external), external.filter((x) => x.cycle <= last && last > 0));
    return last;
  }

  adapterPath(cycle: number): string {
    // A unique name per write: node-llama-cpp caches adapters by path.
    return this.path(join(FILES.adapters, `cycle-${String(cycle).padStart(3, "0")}-${Date.now().toString(36)}.gguf`));
  }
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

/** The adapter of the cycle with the best held-out score after training. */
export async function bestAdapter(runDir: string): Promise<string | null> {
  const cycles = await new RunStore(runDir).cycles();
  let best: CycleRecord | null = null;
  for (const c of cycles) {
    if (!c.adapterPath || !c.after) continue;
    if (!best || c.after.meanScore > best.after!.meanScore) best = c;
  }
  return best?.adapterPath ? resolve(runDir, best.adapterPath) : null;
}
