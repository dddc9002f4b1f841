// One LoRA training run at the 0.5B shape (24 examples, 1 epoch, context 128), for a profiler:
//   perf record -g -- node --import tsx bench/profile-train.ts [TYPE=Q4_K_M] [auto|none|f32|f16|q8_0]
//   perf report --no-children --sort symbol
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadAddon, backendDir, type NativeTrainOptions } from "../server/src/engine/train/native";
import { BENCH_THREADS, realShapeModels } from "./common";
import type { BenchModelType } from "../tools/gguf/benchModels";

const type = (process.argv[2] ?? "Q4_K_M") as BenchModelType;
const examples = Array.from({ length: 24 }, (_, i) => ({ prompt: `Task: list the files in directory number ${i}.\nCommand:`, completion: ` ls -la /tmp/dir${i}` }));

async function main(): Promise<void> {
  const [model] = await realShapeModels([type]);
  const addon = loadAddon();
  const dir = mkdtempSync(join(tmpdir(), "inversion-prof-"));
  try {
    const r = await addon.train({
      mode: "lora", rank: 16, alpha: 32, targets: ["attn_q", "attn_k", "attn_v", "attn_output"], learningRate: 2e-4, batchSize: 0,
      threads: BENCH_THREADS, seed: 1, examples, backendDir: backendDir(), baseModelPath: model!.path, outPath: join(dir, "a.gguf"), epochs: 1,
      contextSize: 128, masking: "completion", ...(process.argv[3] ? { transposedWeights: process.argv[3] as NativeTrainOptions["transposedWeights"] } : {}),
    });
    console.log(`${type} ${process.argv[3] ?? "default"}: ${r.tokensPerSecond.toFixed(1)} train tok/s, ${r.steps} steps in ${r.seconds.toFixed(1)} s, ${JSON.stringify({ p: r.transposedProducts, type: r.transposedType, mb: Math.round(r.transposedBytes / 1e6), ts: r.transposeSeconds.toFixed(1) })}, loss ${r.lossFirst.toFixed(3)} -> ${r.lossLast.toFixed(3)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
void main();
