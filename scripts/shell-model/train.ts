// Trains the shell model from scratch with our own trainer, in chunks: each chunk trains for
// --chunk-seconds (checkpointing weights and AdamW state as it goes), then the checkpoint is scored on the
// held-out split and a line is appended to DIR/curve.jsonl. Killed at any point, the same command resumes
// from the last checkpoint (at most --checkpoint-every seconds lost), also in a later session.
//
//   node --import tsx scripts/shell-model/train.ts --dir /work/shell-train    (defaults: the shipped model's settings)
//   node --import tsx scripts/shell-model/train.ts --dir /work/shell-train --measure 60   (tokens/s only)
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runNativeTraining, type NativeProgress, sharesTaskOrCommand } from "../../server/src/engine/api";
import { evaluateShellModel, type ShotsFor } from "./evaluate";
import { trainingIndex, validationSplit } from "./grounded";
import { loadShellSplit } from "./split";

// Defaults are the shipped model's settings. lr 8e-4 diverged within 400 steps here; 1 thread, because ggml's
// spinning thread barrier made 2 threads 2.6x slower than 1 (146 vs 375 tok/s) while other work shared the 2 cores.
const { values: args } = parseArgs({
  options: {
    dir: { type: "string" },
    model: { type: "string" },
    epochs: { type: "string", default: "5" },
    lr: { type: "string", default: "1e-3" },
    "min-lr": { type: "string", default: "1e-4" },
    warmup: { type: "string", default: "300" },
    ctx: { type: "string", default: "256" },
    threads: { type: "string", default: "2" },
    seed: { type: "string", default: "1" },
    "chunk-seconds": { type: "string", default: "900" },
    "checkpoint-every": { type: "string", default: "180" },
    "eval-size": { type: "string", default: "300" },
    measure: { type: "string" },
    /** Score checkpoints with this many retrieved examples in each prompt (grounded.ts's stage). */
    shots: { type: "string", default: "0" },
  },
});

const dir = args.dir ?? fail("--dir DIR is required (made by scripts/shell-model/build.ts)");
const modelInit = args.model ?? join(dir, "model-init.gguf");
const examples = readFileSync(join(dir, "examples.jsonl"), "utf8")
  .split("\n")
  .filter((line) => line.trim())
  .map((line) => JSON.parse(line) as { prompt: string; completion: string });
const heldOutFile = join(dir, "heldout.jsonl");
const curveFile = join(dir, "curve.jsonl");
const checkpointDir = join(dir, "checkpoint");
const finalPath = join(dir, "model-trained.gguf");

function fail(message: string): never {
  console.error(`train: ${message}`);
  process.exit(2);
}

function trainOptions(maxSeconds: number, resume: boolean) {
  return {
    baseModelPath: modelInit,
    examples,
    outPath: finalPath,
    mode: "full" as const,
    rank: 0,
    alpha: 0,
    targets: [],
    learningRate: Number(args.lr),
    minLearningRate: Number(args["min-lr"]),
    warmupSteps: Number(args.warmup),
    epochs: Number(args.epochs),
    batchSize: 0,
    contextSize: Number(args.ctx),
    threads: Number(args.threads),
    seed: Number(args.seed),
    masking: "none" as const,
    packing: "stream" as const,
    checkpointDir,
    checkpointEverySeconds: Number(args["checkpoint-every"]),
    resume,
    maxSeconds,
    lossWindows: -1,
  };
}

async function measure(seconds: number): Promise<void> {
  const scratch = join(dir, `measure-${Date.now()}`);
  mkdirSync(scratch, { recursive: true });
  const losses: number[] = [];
  const result = await runNativeTraining(
    { ...trainOptions(seconds, false), checkpointDir: scratch, outPath: join(scratch, "unused.gguf") },
    { onProgress: (p) => losses.push(p.loss) },
  );
  console.log(JSON.stringify({ model: modelInit, ctx: Number(args.ctx), threads: Number(args.threads), steps: result.steps,
    windows: result.windows, seconds: result.seconds, tokensPerSecond: result.tokensPerSecond,
    epochHours: (result.windows * Number(args.ctx)) / result.tokensPerSecond / 3600,
    lossFirst: losses[0], lossLast: losses.at(-1) }));
}

/** Shots for the checkpoint scores: from the training pairs the grounded corpus trains on, never the pair itself. */
function checkpointShots(): ShotsFor | undefined {
  const k = Number(args.shots);
  if (!k) return undefined;
  const index = trainingIndex(validationSplit(loadShellSplit("../shared/data/tldr-pages").train).fit);
  return (pair) => index.byTask(pair.task, { k, exclude: sharesTaskOrCommand(pair) }).map((h) => ({ task: h.example.description, command: h.example.command }));
}

async function chunk(): Promise<boolean> {
  const started = Date.now();
  const progress: NativeProgress[] = [];
  const resume = existsSync(join(checkpointDir, "state.bin"));
  mkdirSync(checkpointDir, { recursive: true });
  const result = await runNativeTraining(trainOptions(Number(args["chunk-seconds"]), resume), {
    onProgress: (p) => {
      progress.push(p);
      if (p.step % 50 === 0) console.log(`step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)} lr ${p.learningRate.toExponential(2)} ${p.tokensPerSecond.toFixed(0)} tok/s`);
    },
  });
  const weights = result.paused ? result.checkpointWeights : finalPath;
  const evaluation = await evaluateShellModel(weights, heldOutFile, {
    size: Number(args["eval-size"]),
    threads: Number(args.threads),
    shotsFor: checkpointShots(),
  });
  const losses = progress.map((p) => p.loss);
  const record = {
    at: new Date().toISOString(),
    step: result.steps,
    totalSteps: progress.at(-1)?.totalSteps ?? result.steps,
    epoch: progress.at(-1)?.epoch ?? 0,
    trainLossMean: losses.length ? losses.reduce((a, b) => a + b, 0) / losses.length : null,
    trainLossLast: losses.at(-1) ?? null,
    learningRate: progress.at(-1)?.learningRate ?? null,
    tokensPerSecond: result.tokensPerSecond,
    wallSeconds: (Date.now() - started) / 1000,
    ...evaluation,
  };
  appendFileSync(curveFile, JSON.stringify(record) + "\n");
  console.log(JSON.stringify(record));
  return !result.paused;
}

async function main(): Promise<void> {
  if (args.measure) return measure(Number(args.measure));
  writeFileSync(join(dir, "train-args.json"), JSON.stringify(args, null, 2) + "\n");
  while (!(await chunk())) { /* next chunk */ }
  console.log(`train: finished; ${finalPath}`);
}

void main().catch((err: Error) => fail(err.message));
