// How far each transposed-copy type's gradients are from ggml's OUT_PROD at the 0.5B shape (Q4_K_M): the first
// training step's gradient of every adapter tensor, by the tools addon's stepGradients.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backendDir } from "../server/src/engine/train/native";
import { loadToolsAddon } from "../tools/native";
import { BENCH_THREADS, realShapeModels } from "./common";

const examples = Array.from({ length: 4 }, (_, i) => ({ prompt: `Task: list the files in directory number ${i}.\nCommand:`, completion: ` ls -la /tmp/dir${i}` }));

export async function benchGradients(): Promise<void> {
  console.log(`\n## Backward through frozen matrices: transposed copies against OUT_PROD (issue 21), ${BENCH_THREADS} threads\n`);
  const [model] = await realShapeModels(["Q4_K_M"]);
  const tools = loadToolsAddon();
  const dir = mkdtempSync(join(tmpdir(), "inversion-bench-gradients-"));
  try {
    await compare(tools, model!.path, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function compare(tools: ReturnType<typeof loadToolsAddon>, baseModelPath: string, dir: string): Promise<void> {
  const options = {
    mode: "lora" as const, rank: 16, alpha: 32, targets: ["attn_q", "attn_k", "attn_v", "attn_output"], threads: BENCH_THREADS, seed: 1,
    examples, backendDir: backendDir(), baseModelPath, outPath: join(dir, "unused.gguf"), contextSize: 128,
  };
  const reference = await tools.stepGradients({ ...options, transposedWeights: "none" });
  console.log("copies | tensors | worst tensor: max |difference| ÷ max |gradient| | global relative L2");
  for (const type of ["f32", "f16", "q8_0"] as const) {
    const grads = await tools.stepGradients({ ...options, transposedWeights: type });
    let worst = 0;
    let squaredDiff = 0;
    let squared = 0;
    for (const [name, ref] of Object.entries(reference)) {
      const got = grads[name]!;
      let scale = 0;
      let diff = 0;
      for (let i = 0; i < ref.length; i++) {
        scale = Math.max(scale, Math.abs(ref[i]!));
        diff = Math.max(diff, Math.abs(ref[i]! - got[i]!));
        squaredDiff += (ref[i]! - got[i]!) ** 2;
        squared += ref[i]! ** 2;
      }
      if (scale > 0) worst = Math.max(worst, diff / scale);
    }
    console.log([type, Object.keys(grads).length, worst.toExponential(1), Math.sqrt(squaredDiff / squared).toExponential(1)].join(" | "));
  }
}
