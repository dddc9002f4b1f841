// The original experiment's protocol (10 cycles × 50 tasks × 3 candidates, LoRA training each cycle) projected from
// one measured cycle on the 0.5B-shape Q4_K_M bench model: every phase scales with the tasks, so 10 cycles take
// 10 × (50 / tasks measured) × the cycle. INVERSION_BENCH_TASKS measures fewer tasks (for a quick check).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_RUN_OPTIONS, GENERATION_PHASE, runLoop, sequencesPerTask } from "../server/src/engine/api";
import { backendDir, runNativeTraining } from "../server/src/engine/train";
import { BENCH_THREADS, realShapeModels, row } from "./common";
import type { DecodeBatch } from "../test/helpers/llamaNative";

const PROTOCOL = { cycles: 10, tasks: 50, candidates: 3 };

export async function benchProtocol(): Promise<void> {
  const tasks = Number(process.env.INVERSION_BENCH_TASKS ?? PROTOCOL.tasks);
  console.log(`\n## Protocol ${PROTOCOL.cycles} cycles × ${PROTOCOL.tasks} tasks × ${PROTOCOL.candidates} candidates, projected from 1 measured cycle of ${tasks} tasks, ${BENCH_THREADS} threads\n`);
  const [model] = await realShapeModels(["Q4_K_M"]);
  const out = mkdtempSync(join(tmpdir(), "inversion-bench-protocol-"));
  try {
    const started = performance.now();
    const run = await runLoop({
      ...DEFAULT_RUN_OPTIONS, modelPath: model!.path, out: join(out, "run"), cycles: 1, tasks, candidates: PROTOCOL.candidates,
      threads: BENCH_THREADS, gpu: "off", learn: "lora",
    });
    const seconds = (performance.now() - started) / 1000;
    const record = run.cycles[0];
    if (!record) throw new Error("the cycle did not complete");
    const phases = Object.entries(record.timings).map(([k, v]) => `${k} ${Number(v).toFixed(1)}`).join(", ");
    const projected = PROTOCOL.cycles * (PROTOCOL.tasks / tasks) * seconds;
    console.log(`${model!.name}: 1 cycle of ${tasks} tasks took ${seconds.toFixed(0)} s (phases: ${phases}); ` +
      `accepted ${record.selection.acceptedExamples} examples, trained ${record.train ? `${record.train.steps} steps` : `nothing (${record.trainSkipped ?? "?"})`}`);
    // A random-weight model rarely passes the gates, so the cycle above may train nothing: training is measured on its
    // own, on 50 examples, and projected for the default policy (retrain from the base on everything accepted so far:
    // cycle c trains c × 50 examples if every task is accepted, the upper bound).
    const trainSeconds = await trainFiftyExamples(model!.path, out);
    const passes = (PROTOCOL.cycles * (PROTOCOL.cycles + 1)) / 2;
    console.log(`training 50 examples (1 epoch, rank 16): ${trainSeconds.toFixed(0)} s; over ${PROTOCOL.cycles} cycles at most ${passes} × that`);
    console.log(`projected ${PROTOCOL.cycles} × ${PROTOCOL.tasks} × ${PROTOCOL.candidates}: loop ${(projected / 3600).toFixed(2)} h + training ≤ ${((passes * trainSeconds) / 3600).toFixed(2)} h`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * The protocol's training alone (issue 21): 50 examples, 1 epoch, on the Q4_K_M bench model, with the backward through
 * frozen matrices as ggml builds it ("none") and as the trainer runs it by default ("auto"), and the upper bound it
 * puts on 10 cycles of the retrain policy.
 */
export async function benchProtocolTraining(): Promise<void> {
  console.log(`\n## Protocol training: 50 examples, 1 epoch, rank 16, ${BENCH_THREADS} threads\n`);
  const [model] = await realShapeModels(["Q4_K_M"]);
  const out = mkdtempSync(join(tmpdir(), "inversion-bench-protocol-"));
  const passes = (PROTOCOL.cycles * (PROTOCOL.cycles + 1)) / 2;
  try {
    for (const backward of ["none", "auto"] as const) {
      const seconds = await trainFiftyExamples(model!.path, out, backward);
      console.log(`${model!.name}, backward ${backward}: ${seconds.toFixed(0)} s; ${PROTOCOL.cycles} cycles of the retrain policy ≤ ${((passes * seconds) / 3600).toFixed(2)} h`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Seconds to train 50 examples, in a process of its own as the product trains (train/index.ts); the adapter goes to `outDir`. */
async function trainFiftyExamples(modelPath: string, outDir: string, transposedWeights: "none" | "auto" = "auto"): Promise<number> {
  const examples = Array.from({ length: 50 }, (_, i) => ({ prompt: `Task: list the files in folder number ${i}.\nCommand:`, completion: ` ls -la dir${i}` }));
  try {
    const r = await runNativeTraining({
      mode: "lora", rank: 16, alpha: 32, targets: ["attn_q", "attn_k", "attn_v", "attn_output"], learningRate: 2e-4, batchSize: 4,
      threads: BENCH_THREADS, seed: 1, examples, backendDir: backendDir(), baseModelPath: modelPath, outPath: join(outDir, `fifty-${transposedWeights}.gguf`),
      epochs: 1, contextSize: 128, transposedWeights, lossWindows: -1,
    }, { gpu: "off" });
    return r.seconds;
  } catch (err) {
    console.log(`training not measured: ${(err as Error).message.split("\n")[0]}`);
    return NaN;
  }
}

/** What the decodes of one phase carried and cost: prompt batches (some sequence given several tokens) and steps (one token each). */
interface PhaseDecodes {
  promptTokens: number;
  promptSeconds: number;
  steps: number;
  /** The tokens of the steps: one per sequence in each. */
  stepTokens: number;
  stepSeconds: number;
}

/**
 * The loop's generation phase (issue 21 item 2) on each 0.5B-shape model: the same seeded cycle with
 * --decode-sequences 1 (serial: one candidate at a time), 4 (one task's 3 candidates and its example at a time) and
 * the default 20 (the five tasks side by side), its time, and where its decodes went. INVERSION_BENCH_TASKS sets the
 * tasks (default 5), INVERSION_BENCH_SEQUENCES the widths ("1,4,20"; the first is the ratios' baseline).
 */
export async function benchPhase(): Promise<void> {
  const oneTask = sequencesPerTask({ candidates: PROTOCOL.candidates });
  const widths = process.env.INVERSION_BENCH_SEQUENCES ?? `1,${oneTask},${DEFAULT_RUN_OPTIONS.decodeSequences}`;
  const tasks = Number(process.env.INVERSION_BENCH_TASKS ?? 5);
  console.log(`\n## The loop's generation phase: ${tasks} tasks × ${PROTOCOL.candidates} candidates (+ the nearest example), ${BENCH_THREADS} threads\n`);
  console.log(row(["model", "decode sequences", "phase s", "÷ serial", "prompt tokens", "prompt s", "ms a prompt token", "steps", "step tokens", "step s", "ms a step token"]));
  const { aroundDecodes } = await import("../test/helpers/llamaNative.js");
  for (const model of await realShapeModels(["Q4_K_M", "Q8_0"])) {
    console.log(`${model.name} weights: ${await weightTypes(model.path)}`);
    let serial = NaN;
    for (const decodeSequences of widths.split(",").map(Number)) {
      const out = mkdtempSync(join(tmpdir(), "inversion-bench-phase-"));
      const seen: PhaseDecodes = { promptTokens: 0, promptSeconds: 0, steps: 0, stepTokens: 0, stepSeconds: 0 };
      let phase = "";
      try {
        const run = await aroundDecodes(
          (batch, decode) => (phase === GENERATION_PHASE ? countDecode(seen, batch, decode) : decode()),
          () =>
            runLoop(
              { ...DEFAULT_RUN_OPTIONS, modelPath: model.path, out: join(out, "run"), cycles: 1, tasks, candidates: PROTOCOL.candidates, heldOutTasks: 1, threads: BENCH_THREADS, gpu: "off", learn: "none", decodeSequences },
              { onEvent: (e) => { if (e.type === "phase") phase = e.phase; } },
            ),
        );
        const seconds = (run.cycles[0]?.timings.generateMs ?? NaN) / 1000;
        if (Number.isNaN(serial)) serial = seconds;
        console.log(row([
          model.name, String(decodeSequences), seconds, serial / seconds, seen.promptTokens, seen.promptSeconds, msA(seen.promptSeconds, seen.promptTokens),
          seen.steps, seen.stepTokens, seen.stepSeconds, msA(seen.stepSeconds, seen.stepTokens),
        ]));
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }
  }
}

/** Milliseconds a token. */
const msA = (seconds: number, tokens: number): number => (1000 * seconds) / tokens;

/** The model's matrices by type ("Q5_0 132, Q8_0 13, …"): what sets a prompt token's cost on a CPU (its kernels differ by type). */
async function weightTypes(path: string): Promise<string> {
  const { readGgufFileInfo, GgmlType } = await import("node-llama-cpp");
  const info = await readGgufFileInfo(path, { logWarnings: false });
  const counts = new Map<string, number>();
  for (const tensor of info.fullTensorInfo ?? []) {
    if (tensor.dimensions.length !== 2) continue;
    const type = GgmlType[tensor.ggmlType] ?? String(tensor.ggmlType);
    counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([type, n]) => `${type} ${n}`).join(", ");
}

/** Runs one decode, adding its tokens and time to `seen`. */
function countDecode(seen: PhaseDecodes, batch: DecodeBatch, decode: () => unknown): unknown {
  const started = performance.now();
  const prompt = batch.tokens > new Set(batch.sequences).size;
  const tokens = batch.tokens;
  return Promise.resolve(decode()).then((value) => {
    const seconds = (performance.now() - started) / 1000;
    if (prompt) {
      seen.promptTokens += tokens;
      seen.promptSeconds += seconds;
    } else {
      seen.steps++;
      seen.stepTokens += tokens;
      seen.stepSeconds += seconds;
    }
    return value;
  });
}
