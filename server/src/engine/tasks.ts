// Tasks without human labels: written by the model from topics, or read back from real commands.
import type { TaskItem } from "./types";
import { isPending, type InferenceSession } from "./model";
import { inversePrompt, taskWriterPrompt } from "./prompts";
import { cleanCommand, cleanSentence, jaccard, normalizeTask } from "./text";
import { deriveSeed, mulberry32, shuffled } from "../util/random";
import { throwIfAborted } from "./session";
import { NO_SHOTS, type ShotSource } from "./shots";
import type { ShellParser } from "../shell/parser";
import { READING_TOKENS } from "./candidates";

export const MAX_TASK_CHARS = 500;
/** Tasks at least this similar (word-set Jaccard) to a kept one are near-duplicates. */
export const NEAR_DUPLICATE = 0.8;

/** Rejects empty and oversized tasks with a clear message. */
export function validateTask(task: string): string {
  const t = task.replace(/\s+/g, " ").trim();
  if (!t) throw new RangeError("The task is empty.");
  if (t.length > MAX_TASK_CHARS) throw new RangeError(`The task is ${t.length} characters long; the limit is ${MAX_TASK_CHARS}.`);
  return t;
}

export class TaskPool {
  private readonly kept: string[] = [];

  constructor(existing: Iterable<string> = []) {
    for (const t of existing) this.kept.push(normalizeTask(t));
  }

  /** Adds the task unless it is empty, too long or a near-duplicate of one already kept. */
  tryAdd(task: string): boolean {
    const norm = normalizeTask(task);
    if (norm.split(" ").length < 2 || task.length > MAX_TASK_CHARS) return false;
    if (this.kept.some((k) => k === norm || jaccard(k, norm) >= NEAR_DUPLICATE)) return false;
    this.kept.push(norm);
    return true;
  }
}

export interface WriteTasksOptions {
  count: number;
  topics: string[];
  seed: number;
  idPrefix: string;
  pool: TaskPool;
  temperature?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** The model writes `count` distinct tasks; gives up after 4× as many attempts, returning what it has. */
export async function writeTasks(session: InferenceSession, opts: WriteTasksOptions): Promise<TaskItem[]> {
  const rand = mulberry32(opts.seed);
  const out: TaskItem[] = [];
  const maxAttempts = opts.count * 4;
  let attempt = 0;
  while (out.length < opts.count && attempt < maxAttempts) {
    throwIfAborted(opts.signal);
    const batch = Math.min(session.parallelism, maxAttempts - attempt);
    const topics = Array.from({ length: batch }, () => opts.topics[Math.floor(rand() * opts.topics.length)]!);
    const texts = await Promise.all(
      topics.map((topic, i) =>
        session.complete(taskWriterPrompt(topic), {
          temperature: opts.temperature ?? 0.9,
          seed: deriveSeed(opts.seed, "task", attempt + i),
          maxTokens: 40,
          signal: opts.signal,
        }),
      ),
    );
    attempt += batch;
    for (const raw of texts) {
      const text = cleanSentence(raw);
      if (out.length < opts.count && opts.pool.tryAdd(text)) {
        out.push({ id: `${opts.idPrefix}-${out.length}`, text, source: "model" });
        opts.onProgress?.(out.length, opts.count);
      }
    }
  }
  return out;
}

/** Back-translation: real commands are read back into tasks, so the command side is never hallucinated. */
export async function tasksFromCommands(
  session: InferenceSession,
  commands: string[],
  opts: { idPrefix: string; pool: TaskPool; signal?: AbortSignal; shots?: ShotSource },
): Promise<TaskItem[]> {
  const out: TaskItem[] = [];
  const shots = opts.shots ?? NO_SHOTS;
  const readings = await Promise.all(
    commands.map(async (command) => {
      const fitted = session.withShots((s) => inversePrompt(command, s), shots.forCommand(command), READING_TOKENS);
      const prompt = isPending(fitted) ? await fitted : fitted;
      return { command, text: cleanSentence(await session.complete(prompt, { maxTokens: READING_TOKENS, signal: opts.signal })) };
    }),
  );
  for (const { command, text } of readings) {
    if (opts.pool.tryAdd(text)) out.push({ id: `${opts.idPrefix}-${out.length}`, text, source: "backtranslation", origin: command });
  }
  return out;
}

/**
 * A commands file's seeded split: `heldOut` commands measure the run (their tasks are read back once, never trained
 * on); the rest teach, `count` a cycle, each taught once before any is taught again.
 */
export function splitCommands(commands: readonly string[], heldOut: number, seed: number): { heldOut: string[]; teaching: string[] } {
  const order = shuffled([...new Set(commands)], mulberry32(deriveSeed(seed, "commands")));
  const cut = Math.min(heldOut, Math.floor(order.length / 2));
  return { heldOut: order.slice(0, cut), teaching: order.slice(cut) };
}

/** The teaching commands of one cycle (1-based): the next `count` of the seeded order, wrapping round. */
export function teachingSlice(teaching: readonly string[], cycle: number, count: number): string[] {
  if (teaching.length === 0) return [];
  const n = Math.min(count, teaching.length);
  const start = ((cycle - 1) * n) % teaching.length;
  return Array.from({ length: n }, (_, i) => teaching[(start + i) % teaching.length]!);
}

/**
 * The commands of a shell script or a file of commands, as the script parser finds them: comments (above a command
 * or after it) are never part of a command, so a task read back from one cannot echo its comment.
 */
export function commandsFromText(text: string, parser: Pick<ShellParser, "parseScript">): string[] {
  return parser
    .parseScript(text)
    .map((c) => cleanCommand(c.text.replace(/\\\n/g, " ").replace(/\s+/g, " ")))
    .filter((l) => l.length > 0 && l.length <= 300);
}
