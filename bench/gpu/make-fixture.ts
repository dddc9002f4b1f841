// Writes bench/gpu/fixture.gguf (gitignored, about 45 MB): the model gpu-check.sh trains, made here because the GPU
// machine has no Node. A Qwen2-family shape at 512 wide and 8 deep with the 32k vocabulary, Q8_0 (a base type the
// trainer accepts), quantized by llama.cpp's own quantizer.
//
//   node --import tsx bench/gpu/make-fixture.ts
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { BENCH_SHAPES, benchModel } from "../../tools/gguf/benchModels";
import { loadToolsAddon } from "../../tools/native";

const shape = { ...BENCH_SHAPES["qwen2.5-0.5b"], name: "gpu-check", embeddingLength: 512, blockCount: 8, headCount: 8, headCountKv: 2, feedForwardLength: 1536 };

async function main(): Promise<void> {
  const addon = loadToolsAddon();
  const path = await benchModel(shape, "Q8_0", { threads: 1, quantize: addon.quantize.bind(addon) });
  const out = join(__dirname, "fixture.gguf");
  copyFileSync(path, out);
  console.log(out);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
