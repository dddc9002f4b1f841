// The tools addon (server/native/build/inversion_tools.node): native entry points for benchmarks and tests, built by
// scripts/build-native.mjs beside the trainer addon from the same core, never packaged.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { addonPath, loadBuiltAddon, TrainerUnavailableError, type NativeTrainOptions } from "../server/src/engine/train/native";

export interface ToolsAddon {
  /** Prompt processing of `windows` random windows of contextSize tokens (after one warm-up window). */
  benchForward(options: {
    modelPath: string;
    backendDir?: string;
    contextSize: number;
    threads: number;
    windows: number;
  }): Promise<{ tokens: number; seconds: number; tokensPerSecond: number; warmupSeconds: number }>;
  /** llama.cpp's own quantizer (llama_model_quantize) on an F32/F16 GGUF; resolves to outPath. */
  quantize(options: { inPath: string; outPath: string; type: string; threads: number }): Promise<string>;
  /** The types quantize() accepts, comma-separated. */
  quantizeTypes: string;
  /**
   * The gradient of every trainable tensor at the first training step, as train() computes it (by tensor name).
   * maskEverything masks every row: every gradient must then be exactly zero.
   */
  stepGradients(options: NativeTrainOptions, test?: { maskEverything?: boolean }): Promise<Record<string, Float32Array>>;
  builtFor: { nodeLlamaCpp: string; llamaCpp: string };
}

export const TOOLS_ADDON_FILE = "inversion_tools.node";

/** Loads the tools addon built beside the trainer addon. */
export function loadToolsAddon(): ToolsAddon {
  const path = join(resolve(addonPath(), ".."), TOOLS_ADDON_FILE);
  if (!existsSync(path)) throw new TrainerUnavailableError(`${path} is not built: run \`npm run build:native\``);
  return loadBuiltAddon<ToolsAddon>(path);
}
