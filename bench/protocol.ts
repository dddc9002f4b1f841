// The original experiment's protocol (10 cycles × 50 tasks × 3 candidates, LoRA training each cycle) projected from
// one measured cycle on the 0.5B-shape Q4_K_M bench model: every phase scales with the tasks, so 10 cycles take
// 10 × (50 / tasks measured) × the cycle. INVERSION_BENCH_TASKS measures fewer tasks (for a quick check).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_RUN_OPTIONS, runLoop } from "../server/src/engine/api";
import { backendDir, loadAddon } from "../server/src/engine/train/native";
import { BENCH_THREADS, realShapeModels } from "./common";

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
    const trainSeconds = await trainFiftyExamples(model!.path, join(out, "a.gguf"));
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
      const seconds = await trainFiftyExamples(model!.path, join(out, "a.gguf"), backward);
      console.log(`${model!.name}, backward ${backward}: ${seconds.toFixed(0)} s; ${PROTOCOL.cycles} cycles of the retrain policy ≤ ${((passes * seconds) / 3600).toFixed(2)} h`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function trainFiftyExamples(modelPath: string, outPath: string, transposedWeights: "none" | "auto" = "auto"): Promise<number> {
  const addon = loadAddon();
  const examples = Array.from({ length: 50 }, (_, i) => ({ prompt: `Task: list the files in folder number ${i}.\nCommand:`, completion: ` ls -la dir${i}` }));
  try {
    const r = await addon.train({
      mode: "lora", rank: 16, alpha: 32, targets: ["attn_q", "attn_k", "attn_v", "attn_output"], learningRate: 2e-4, batchSize: 4,
      threads: BENCH_THREADS, seed: 1, examples, backendDir: backendDir(), baseModelPath: modelPath, outPath, epochs: 1, contextSize: 128,
      transposedWeights, lossWindows: -1,
    });
    return r.seconds;
  } catch (err) {
    console.log(`training not measured: ${(err as Error).message.split("\n")[0]}`);
    return NaN;
  }
}
