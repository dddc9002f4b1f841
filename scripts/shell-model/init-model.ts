// A from-scratch llama GGUF for the shell model: the learned SPM vocabulary, F32 weights drawn from a seeded normal,
// and an output matrix of its own (llama.cpp's llama_opt never trains token_embd.weight, so a tied output would
// never learn). The training then happens in our trainer.
import { resolve } from "node:path";
import { mulberry32 } from "../../server/src/engine/api";
import { gguf, writeGguf, type GgufTensor, type GgufValue } from "../../tools/gguf/writer";
import { vocabularyMetadata, type Vocabulary } from "../../tools/gguf/vocab";

export interface ShellModelShape {
  embeddingLength: number;
  blockCount: number;
  headCount: number;
  headCountKv: number;
  feedForwardLength: number;
  contextLength: number;
  /** Std of every weight matrix; the residual outputs (attn_output, ffn_down) get std / sqrt(2 × blocks). */
  weightStd: number;
  /** Std of token_embd.weight, which llama_opt never trains: these random vectors stay the model's input codes. */
  embeddingStd: number;
  seed: number;
}

/** The shipped model's shape: chosen by measured training tokens/s (docs in models/inversion-shell.README.md). */
export const DEFAULT_SHAPE: ShellModelShape = {
  embeddingLength: 192,
  blockCount: 6,
  headCount: 6,
  headCountKv: 2,
  feedForwardLength: 576,
  contextLength: 256,
  weightStd: 0.02,
  embeddingStd: 0.02,
  seed: 1,
};

export const TLDR_ATTRIBUTION =
  "Trained on tldr-pages (https://github.com/tldr-pages/tldr, commit 08e345f42639f67d99282813247ac670dc6e87cb), " +
  "by the tldr-pages team and contributors, licensed CC BY 4.0.";

function normalValues(random: () => number, count: number, std: number): Float32Array {
  const values = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    // Box–Muller: two independent normals from two uniforms (1 - u keeps the log finite).
    const radius = Math.sqrt(-2 * Math.log(1 - random())) * std;
    const angle = 2 * Math.PI * random();
    values[i] = radius * Math.cos(angle);
    if (i + 1 < count) values[i + 1] = radius * Math.sin(angle);
  }
  return values;
}

export function parameterCount(shape: ShellModelShape, vocabSize: number): number {
  const { embeddingLength: d, blockCount, headCount, headCountKv, feedForwardLength: ff } = shape;
  const kv = (d / headCount) * headCountKv;
  const block = 2 * d + d * d * 2 + d * kv * 2 + 3 * d * ff;
  return 2 * vocabSize * d + d + blockCount * block;
}

function modelTensors(shape: ShellModelShape, vocabSize: number): GgufTensor[] {
  const { embeddingLength: d, blockCount, headCount, headCountKv, feedForwardLength: ff } = shape;
  const kv = (d / headCount) * headCountKv;
  const random = mulberry32(shape.seed);
  const residualStd = shape.weightStd / Math.sqrt(2 * blockCount);
  const tensors: GgufTensor[] = [];
  const matrix = (name: string, dims: [number, number], std: number): void => {
    tensors.push({ name, dims, type: "f32", values: normalValues(random, dims[0] * dims[1], std) });
  };
  const norm = (name: string): void => {
    tensors.push({ name, dims: [d], type: "f32", values: new Float32Array(d).fill(1) });
  };
  matrix("token_embd.weight", [d, vocabSize], shape.embeddingStd);
  norm("output_norm.weight");
  matrix("output.weight", [d, vocabSize], shape.weightStd);
  for (let b = 0; b < blockCount; b++) {
    norm(`blk.${b}.attn_norm.weight`);
    matrix(`blk.${b}.attn_q.weight`, [d, d], shape.weightStd);
    matrix(`blk.${b}.attn_k.weight`, [d, kv], shape.weightStd);
    matrix(`blk.${b}.attn_v.weight`, [d, kv], shape.weightStd);
    matrix(`blk.${b}.attn_output.weight`, [d, d], residualStd);
    norm(`blk.${b}.ffn_norm.weight`);
    matrix(`blk.${b}.ffn_gate.weight`, [d, ff], shape.weightStd);
    matrix(`blk.${b}.ffn_down.weight`, [ff, d], residualStd);
    matrix(`blk.${b}.ffn_up.weight`, [d, ff], shape.weightStd);
  }
  return tensors;
}

function validateShape(shape: ShellModelShape): void {
  const { embeddingLength: d, headCount, headCountKv } = shape;
  if (d % headCount !== 0 || headCount % headCountKv !== 0 || (d / headCount) % 2 !== 0) {
    throw new RangeError(
      `Model shape: width ${d} must split into ${headCount} heads of even size, and ${headCount} heads into ${headCountKv} KV heads`,
    );
  }
}

/** Writes the initial model and returns its absolute path. */
export async function writeShellModel(filePath: string, vocab: Vocabulary, shape: ShellModelShape = DEFAULT_SHAPE): Promise<string> {
  validateShape(shape);
  const vocabSize = vocab.tokens.length;
  const arch = "llama";
  const metadata: Record<string, GgufValue> = {
    "general.architecture": gguf.string(arch),
    "general.name": gguf.string("inversion-shell"),
    "general.file_type": gguf.u32(0),
    "general.license": gguf.string("CC-BY-4.0"),
    "general.source.url": gguf.string("https://github.com/tldr-pages/tldr"),
    "general.description": gguf.string(TLDR_ATTRIBUTION),
    [`${arch}.context_length`]: gguf.u32(shape.contextLength),
    [`${arch}.embedding_length`]: gguf.u32(shape.embeddingLength),
    [`${arch}.block_count`]: gguf.u32(shape.blockCount),
    [`${arch}.feed_forward_length`]: gguf.u32(shape.feedForwardLength),
    [`${arch}.attention.head_count`]: gguf.u32(shape.headCount),
    [`${arch}.attention.head_count_kv`]: gguf.u32(shape.headCountKv),
    [`${arch}.attention.layer_norm_rms_epsilon`]: gguf.f32(1e-5),
    [`${arch}.rope.dimension_count`]: gguf.u32(shape.embeddingLength / shape.headCount),
    [`${arch}.rope.freq_base`]: gguf.f32(10000),
    [`${arch}.vocab_size`]: gguf.u32(vocabSize),
    ...vocabularyMetadata(vocab),
  };
  const absolutePath = resolve(filePath);
  await writeGguf(absolutePath, { metadata, tensors: modelTensors(shape, vocabSize) });
  return absolutePath;
}
