// Warm start: the one place human-written (task, command) pairs enter. A tiny story model knows no commands, so
// self-improvement from it shows nothing; this fine-tunes it on the training split of a pairs file first.
// The held-out split (the same seeded split `--eval` uses) is excluded, and the record says so.
import { writeFile } from "node:fs/promises";
import type { Trainer, TrainExample, TrainProgress, TrainResult } from "./types";
import { loadEvalSet } from "./external";
import { answerText, forwardPrompt, inversePrompt } from "./prompts";
import { mulberry32, shuffled } from "../util/random";

export interface WarmStartOptions {
  modelPath: string;
  pairsFile: string;
  /** The new model (mode full) or adapter (mode lora). */
  out: string;
  mode: "full" | "lora";
  /** Size of the held-out split to exclude; must match the runs' --eval-size and --seed. */
  evalSize: number;
  seed: number;
  maxPairs: number;
  epochs: number;
  learningRate: number;
  rank: number;
  alpha: number;
  threads: number;
  signal?: AbortSignal;
  onProgress?: (p: TrainProgress) => void;
}

export interface WarmStartRecord {
  kind: "warm-start";
  createdAt: string;
  baseModel: string;
  pairsFile: string;
  heldOutExcluded: { size: number; sha256: string; seed: number };
  trainPairs: number;
  examples: number;
  directions: string;
  result: TrainResult & { trainer: string };
}

/** Sidecar record next to the warm-started model or adapter; runs copy it into their config. */
export function warmStartRecordPath(modelOrAdapter: string): string {
  return `${modelOrAdapter}.warmstart.json`;
}

/** Pairs short enough to fit a training window whatever the tokenizer, and plain ASCII (byte-fallback inflates). */
function fits(task: string, command: string): boolean {
  return task.length + command.length <= 200 && /^[\x20-\x7e]*$/.test(task + command);
}

export function warmStartExamples(pairs: { task: string; command: string }[]): TrainExample[] {
  // Both directions: the frozen base judges by reading commands back into tasks, so it must learn that too.
  return pairs.flatMap(({ task, command }) => [
    { prompt: forwardPrompt(task).plain, completion: `${answerText(command)}\n` },
    { prompt: inversePrompt(command).plain, completion: `${answerText(task)}\n` },
  ]);
}

export async function warmStart(opts: WarmStartOptions, trainer: Trainer): Promise<WarmStartRecord> {
  const set = loadEvalSet(opts.pairsFile, { seed: opts.seed, size: opts.evalSize });
  const usable = set.train.filter((p) => fits(p.task, p.command));
  const chosen = shuffled(usable, mulberry32(opts.seed)).slice(0, opts.maxPairs);
  if (chosen.length === 0) throw new Error(`${opts.pairsFile} has no training pairs left after the held-out split.`);
  const examples = shuffled(warmStartExamples(chosen), mulberry32(opts.seed + 1));
  const result = await trainer.train({
    baseModelPath: opts.modelPath,
    examples,
    outPath: opts.out,
    mode: opts.mode,
    rank: opts.rank,
    alpha: opts.alpha,
    targets: ["attn_q", "attn_k", "attn_v", "attn_output"],
    learningRate: opts.learningRate,
    epochs: opts.epochs,
    batchSize: 8,
    contextSize: 256,
    threads: opts.threads,
    seed: opts.seed,
    signal: opts.signal,
    onProgress: opts.onProgress,
  });
  const record: WarmStartRecord = {
    kind: "warm-start",
    createdAt: new Date().toISOString(),
    baseModel: opts.modelPath,
    pairsFile: opts.pairsFile,
    heldOutExcluded: { size: set.pairs.length, sha256: set.hash, seed: opts.seed },
    trainPairs: chosen.length,
    examples: examples.length,
    directions: "task→command and command→task",
    result: { ...result, trainer: trainer.name },
  };
  await writeFile(warmStartRecordPath(opts.out), JSON.stringify(record, null, 2) + "\n");
  return record;
}
