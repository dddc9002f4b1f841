// Training throughput vs forward prompt-processing throughput, same model, same context, same process.
//
//   node --import tsx bench/train.ts [model.gguf] [--ctx=64,128,256] [--threads=1] [--seconds=3]
//   INVERSION_BENCH_MODEL=/path/model.gguf node --import tsx bench/train.ts
//
// Default model: ../shared/models/stories260K.gguf beside the repository (skipped with a message when absent).
// Forward = llama_decode of full windows (logits for the last position only, F32 KV cache, flash
// attention off — the training context's settings). Training = LoRA (rank 8, attn_q/k/v/output) with
// AdamW, each step one window; tokens/s counts window positions. "completion" masking multiplies the logits of masked
// rows by 0 in the training graph; "none" trains every row.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { backendDir, loadAddon, runNativeTraining, type NativeTrainResult } from "../server/src/engine/train";
import { BENCH_QUANTS } from "../tools/gguf/benchModels";
import { loadToolsAddon } from "../tools/native";
import { BENCH_THREADS, realShapeModels } from "./common";

process.env.GGML_NO_BACKTRACE = "1";

const args = process.argv.slice(2);
const flag = (name: string, def: string): string => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? def;
const modelPath = args.find((a) => !a.startsWith("--") && a.endsWith(".gguf")) ?? process.env.INVERSION_BENCH_MODEL ?? resolve(__dirname, "../../shared/models/stories260K.gguf");
const contexts = flag("ctx", "64,128,256").split(",").map(Number);
const threads = Number(flag("threads", "1"));
const targetSeconds = Number(flag("seconds", "2"));
const repeats = Number(flag("repeats", "3"));

const TASKS: [string, string][] = [
  ["show running processes", "ps aux"],
  ["print the current directory", "pwd"],
  ["list all files including hidden ones", "ls -la"],
  ["count lines in file.txt", "wc -l file.txt"],
  ["find python files under the current directory", "find . -name '*.py'"],
  ["show disk usage in human readable form", "df -h"],
  ["show the last 20 lines of log.txt", "tail -n 20 log.txt"],
  ["search for TODO in all files recursively", "grep -rn TODO ."],
  ["make a directory called build", "mkdir build"],
  ["compress the folder src into src.tar.gz", "tar czf src.tar.gz src"],
];
const examples = TASKS.map(([task, command]) => ({ prompt: `Task: ${task}.\nCommand:`, completion: ` ${command}` }));

/** Prints a "## Training" section (used by bench/run.ts and when run directly). */
export async function benchTrain(): Promise<void> {
  console.log("\n## Training\n");
  if (!existsSync(modelPath)) {
    console.log(`not measured: model not found at ${modelPath}; pass a path or set INVERSION_BENCH_MODEL.`);
    return;
  }
  const addon = loadAddon();
  const tools = loadToolsAddon();
  const bins = backendDir();
  const dir = mkdtempSync(join(tmpdir(), "inversion-bench-train-"));
  const rows: string[][] = [["ctx", "masking", "train tok/s", "forward tok/s", "ratio", "steps", "loss first→last"]];
  try {
    const lora = {
      mode: "lora" as const, rank: 8, alpha: 8, targets: ["attn_q", "attn_k", "attn_v", "attn_output"],
      learningRate: 1e-4, batchSize: 0, threads, seed: 1, examples, backendDir: bins, baseModelPath: modelPath,
    };
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    let n = 0;
    for (const ctx of contexts) {
      // size every measurement to ~targetSeconds, then interleave `repeats` rounds and take medians
      const probe = await tools.benchForward({ modelPath, backendDir: bins, contextSize: ctx, threads, windows: 8 });
      const fwdWindows = Math.max(8, Math.round((targetSeconds * probe.tokensPerSecond) / ctx));
      const epochsFor: Record<string, number> = {};
      for (const masking of ["completion", "none"] as const) {
        const p = await addon.train({ ...lora, outPath: join(dir, `p${n++}.gguf`), epochs: 1, contextSize: ctx, masking });
        epochsFor[masking] = Math.max(2, Math.round((targetSeconds * p.tokensPerSecond) / (ctx * p.windows)));
      }
      const fwd: number[] = [];
      const train: Record<string, NativeTrainResult[]> = { completion: [], none: [] };
      for (let rep = 0; rep < repeats; rep++) {
        fwd.push((await tools.benchForward({ modelPath, backendDir: bins, contextSize: ctx, threads, windows: fwdWindows })).tokensPerSecond);
        for (const masking of ["completion", "none"] as const) {
          train[masking]!.push(await addon.train({ ...lora, outPath: join(dir, `t${n++}.gguf`), epochs: epochsFor[masking]!, contextSize: ctx, masking }));
        }
      }
      const fwdMedian = median(fwd);
      for (const masking of ["completion", "none"] as const) {
        const runs = train[masking]!;
        const tps = median(runs.map((r) => r.tokensPerSecond));
        const r = runs[0]!;
        rows.push([
          String(ctx), masking, tps.toFixed(0), fwdMedian.toFixed(0), (tps / fwdMedian).toFixed(3), String(r.steps),
          `${r.lossFirst.toFixed(2)}→${r.lossLast.toFixed(2)}`,
        ]);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log(`model ${modelPath}, threads ${threads}, LoRA rank 8 on attn_q/k/v/output, AdamW, lr 1e-4; medians of ${repeats} interleaved runs of ~${targetSeconds} s; target ratio >= 0.25`);
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  "));
}

/**
 * Issue 8: LoRA training tokens/s ÷ forward prompt tokens/s on the 0.5B-shape bench model in every quantization
 * (F16 and the five the users download), 2 threads, context 128, exact masking. A type the trainer refuses is
 * reported with its message.
 */
/**
 * Issue 21's measure at the 0.5B shape: LoRA training tokens/s ÷ forward tokens/s per base type, for the backward
 * through frozen matrices as ggml builds it (OUT_PROD, "none": two steps, it is slow) and as the trainer runs it by
 * default (a transposed copy of each matrix, "auto"). "steady" leaves out the one-time cost of making the copies.
 */
export async function benchTrainRealShape(ctx = 128): Promise<void> {
  console.log(`\n## Training at real size (issues 8, 21), ${BENCH_THREADS} threads, context ${ctx}\n`);
  const tools = loadToolsAddon();
  const bins = backendDir();
  const dir = mkdtempSync(join(tmpdir(), "inversion-bench-train-"));
  // Like with like: the forward's tokens/s leaves out its warm-up window (first touch of the weights and buffers),
  // so the ratio leaves out the training's one-time copies; the ratio with them counted is printed beside it.
  console.log(["model", "backward", "copies (one-time)", "train tok/s", "steady tok/s", "forward tok/s", "forward warm-up s", "ratio (steady)", "ratio with copies", "loss first→last"].join(" | "));
  try {
    for (const { name, path } of await realShapeModels(["F16", ...BENCH_QUANTS])) {
      const fwd = await tools.benchForward({ modelPath: path, backendDir: bins, contextSize: ctx, threads: BENCH_THREADS, windows: 4 });
      for (const backward of ["none", "auto"] as const) {
        try {
          // each training in its own process, as the product trains (train/index.ts): a second training in one process
          // makes its copies in memory glibc hands out differently after the first one's large buffers are freed
          const r = await runNativeTraining({
            mode: "lora", rank: 16, alpha: 32, targets: ["attn_q", "attn_k", "attn_v", "attn_output"], learningRate: 2e-4, batchSize: 0,
            threads: BENCH_THREADS, seed: 1, examples, backendDir: bins, baseModelPath: path, outPath: join(dir, `${name}-${backward}.gguf`), epochs: 2,
            contextSize: ctx, masking: "completion", transposedWeights: backward, ...(backward === "none" ? { maxSteps: 2, lossWindows: -1 } : {}),
          }, { gpu: "off" });
          const steady = r.tokens / Math.max(1e-9, r.seconds - r.transposeSeconds);
          const copies = r.transposedType ? `${r.transposedType} ${(r.transposedBytes / 2 ** 20).toFixed(0)} MiB, ${r.transposeSeconds.toFixed(1)} s` : "-";
          const loss = r.paused ? `(${r.steps} steps)` : `${r.lossFirst.toFixed(2)}→${r.lossLast.toFixed(2)}`;
          console.log([name, backward, copies, r.tokensPerSecond.toFixed(1), steady.toFixed(1), fwd.tokensPerSecond.toFixed(0), fwd.warmupSeconds.toFixed(2),
            (steady / fwd.tokensPerSecond).toFixed(3), (r.tokensPerSecond / fwd.tokensPerSecond).toFixed(3), loss].join(" | "));
        } catch (err) {
          console.log([name, backward, "refused", "-", "-", fwd.tokensPerSecond.toFixed(0), fwd.warmupSeconds.toFixed(2), "-", "-", (err as Error).message.split("\n")[0]].join(" | "));
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchTrain().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
