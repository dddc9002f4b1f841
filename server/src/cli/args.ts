// Command-line options: parsing, validation and the run settings they make.
import { parseArgs } from "node:util";
import { DEFAULT_RUN_OPTIONS, type RunOptions } from "../engine/api";
import type { ProgressLine } from "./progress";

export class UsageError extends Error {}

export const options = {
  model: { type: "string" },
  out: { type: "string" },
  resume: { type: "boolean" },
  cycles: { type: "string" },
  tasks: { type: "string" },
  candidates: { type: "string" },
  threshold: { type: "string" },
  temperature: { type: "string" },
  seed: { type: "string" },
  train: { type: "string" },
  lr: { type: "string" },
  "lora-rank": { type: "string" },
  "lora-alpha": { type: "string" },
  epochs: { type: "string" },
  "batch-size": { type: "string" },
  "continue-adapter": { type: "boolean" },
  scorer: { type: "string" },
  "compare-scorers": { type: "boolean" },
  select: { type: "string" },
  compare: { type: "boolean" },
  judge: { type: "string" },
  "held-out": { type: "string" },
  topics: { type: "string" },
  commands: { type: "string" },
  eval: { type: "string" },
  pairs: { type: "string" },
  mode: { type: "string" },
  masking: { type: "string" },
  "max-pairs": { type: "string" },
  "eval-size": { type: "string" },
  gpu: { type: "string" },
  threads: { type: "string" },
  adapter: { type: "string" },
  json: { type: "boolean" },
  svg: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>["values"];

export function num(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} needs a number, got "${v}".`);
  return n;
}

export function oneOf<T extends string>(v: string | undefined, name: string, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`--${name} must be one of ${allowed.join(", ")}; got "${v}".`);
  return v as T;
}

export function modelOf(v: Values): string {
  const model = v.model ?? process.env.INVERSION_MODEL;
  if (!model) throw new UsageError("No model: pass --model /path/to/model.gguf (or set INVERSION_MODEL).");
  return model;
}

export function runOptions(v: Values, modelPath: string, out: string): RunOptions {
  const d = DEFAULT_RUN_OPTIONS;
  return {
    ...d,
    modelPath,
    out,
    cycles: num(v.cycles, "cycles", d.cycles),
    tasks: num(v.tasks, "tasks", d.tasks),
    candidates: num(v.candidates, "candidates", d.candidates),
    threshold: num(v.threshold, "threshold", d.threshold),
    temperature: num(v.temperature, "temperature", d.temperature),
    seed: num(v.seed, "seed", d.seed),
    train: oneOf(v.train, "train", ["lora", "none"] as const, d.train),
    learningRate: num(v.lr, "lr", d.learningRate),
    loraRank: num(v["lora-rank"], "lora-rank", d.loraRank),
    loraAlpha: num(v["lora-alpha"], "lora-alpha", d.loraAlpha),
    epochs: num(v.epochs, "epochs", d.epochs),
    batchSize: num(v["batch-size"], "batch-size", d.batchSize),
    policy: v["continue-adapter"] ? "continue" : "retrain",
    scorer: oneOf(v.scorer, "scorer", ["lift", "seed"] as const, d.scorer),
    selection: oneOf(v.select, "select", ["best", "all"] as const, d.selection),
    compareScorers: v["compare-scorers"] ?? false,
    judge: oneOf(v.judge, "judge", ["base", "policy"] as const, d.judge),
    heldOutTasks: num(v["held-out"], "held-out", d.heldOutTasks),
    gpu: oneOf(v.gpu, "gpu", ["auto", "off"] as const, d.gpu),
    threads: v.threads ? num(v.threads, "threads", 0) : undefined,
    topics: v.topics ? v.topics.split(",").map((s) => s.trim()).filter(Boolean) : d.topics,
    commandsFile: v.commands,
    evalSet: v.eval,
    evalSize: num(v["eval-size"], "eval-size", d.evalSize),
    resume: v.resume ?? false,
  };
}

/** Ctrl-C aborts the work at the next safe point; a second Ctrl-C exits at once. */
export function interruptSignal(progress: ProgressLine): AbortSignal {
  const ac = new AbortController();
  process.on("SIGINT", () => {
    if (ac.signal.aborted) process.exit(130);
    progress.message("Stopping after the current step (Ctrl-C again to quit now)…");
    ac.abort();
  });
  return ac.signal;
}
