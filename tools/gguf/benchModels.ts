// Random-weight models with the shapes, metadata and tokenizer kind of real model families (Llama 3.2, Qwen2.5), so
// benchmarks measure what users run: a real-size vocabulary, grouped KV heads, tied embeddings, QKV biases, a chat
// template. Written as F16, then quantized by llama.cpp's own quantizer (the native addon's quantize()), and cached
// outside the repository. The weights are noise: outputs are meaningless, costs are real.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { COMMON_WORDS } from "./fixtureModel";
import { DEFAULT_TOPICS, forwardPrompt, inversePrompt, judgePrompt, taskWriterPrompt } from "../../server/src/engine/prompts";
import { gguf, writeGguf, type GgufTensor, type GgufValue } from "./writer";
import { mulberry32 } from "../../server/src/util/random";

export interface BenchShape {
  /** Family and size this shape copies, e.g. "qwen2.5-0.5b". */
  name: string;
  architecture: "llama" | "qwen2";
  embeddingLength: number;
  blockCount: number;
  headCount: number;
  headCountKv: number;
  feedForwardLength: number;
  contextLength: number;
  ropeFreqBase: number;
  rmsEpsilon: number;
  /** Tokenizer entries (the real families have 128,256 and 151,936; ≥ 32k keeps the output layer's real cost class). */
  vocabSize: number;
  /** attn_q/k/v biases (Qwen2). */
  qkvBias: boolean;
  chatTemplate: "chatml" | "llama3";
}

/** Hyperparameters as published in each model's config.json; vocabularies reduced to 32,768 entries. */
export const BENCH_SHAPES = {
  "llama-3.2-1b": {
    name: "llama-3.2-1b", architecture: "llama", embeddingLength: 2048, blockCount: 16, headCount: 32, headCountKv: 8,
    feedForwardLength: 8192, contextLength: 131072, ropeFreqBase: 500000, rmsEpsilon: 1e-5, vocabSize: 32768,
    qkvBias: false, chatTemplate: "llama3",
  },
  "qwen2.5-0.5b": {
    name: "qwen2.5-0.5b", architecture: "qwen2", embeddingLength: 896, blockCount: 24, headCount: 14, headCountKv: 2,
    feedForwardLength: 4864, contextLength: 32768, ropeFreqBase: 1000000, rmsEpsilon: 1e-6, vocabSize: 32768,
    qkvBias: true, chatTemplate: "chatml",
  },
  "qwen2.5-1.5b": {
    name: "qwen2.5-1.5b", architecture: "qwen2", embeddingLength: 1536, blockCount: 28, headCount: 12, headCountKv: 2,
    feedForwardLength: 8960, contextLength: 32768, ropeFreqBase: 1000000, rmsEpsilon: 1e-6, vocabSize: 32768,
    qkvBias: true, chatTemplate: "chatml",
  },
} as const satisfies Record<string, BenchShape>;

/** The quantizations users download, in the names llama.cpp's quantizer takes. */
export const BENCH_QUANTS = ["Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0"] as const;
export type BenchModelType = "F16" | (typeof BENCH_QUANTS)[number];

const CHAT_TEMPLATES = {
  chatml:
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  llama3:
    "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}",
};

/** Special tokens at the end of the vocabulary, as in the real families; bos/eos name entries of this list. */
const SPECIALS = {
  chatml: { tokens: ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], bos: "<|endoftext|>", eos: "<|im_end|>", addBos: false, pre: "qwen2" },
  llama3: {
    tokens: ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
    bos: "<|begin_of_text|>", eos: "<|eot_id|>", addBos: true, pre: "llama-bpe",
  },
};

const TOKEN_TYPE_NORMAL = 1;
const TOKEN_TYPE_CONTROL = 3;

/** GPT-2's byte-level alphabet: printable bytes stand for themselves, the rest move to U+0100 onwards. */
function byteAlphabet(): string[] {
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 0x100;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : next++));
}

export interface BpeVocabulary {
  tokens: string[];
  types: number[];
  merges: string[];
}

/**
 * A byte-level BPE vocabulary of exactly `size` entries: the 256 byte symbols, merges learned from the engine's own
 * prompts and a shell word list (so prompts tokenize about one token per word, as with the real tokenizers), merges
 * of random learned pieces up to the size, then the special tokens.
 */
export function bpeVocabulary(size: number, specials: readonly string[], seed = 1): BpeVocabulary {
  const alphabet = byteAlphabet();
  const toSymbols = (word: string): string[] => [...Buffer.from(word, "utf8")].map((b) => alphabet[b]!);
  const words = new Map<string, { symbols: string[]; count: number }>();
  for (const word of corpusWords()) {
    const entry = words.get(word) ?? { symbols: toSymbols(word), count: 0 };
    entry.count++;
    words.set(word, entry);
  }
  const tokens = [...alphabet];
  const known = new Set(tokens);
  const merges: string[] = [];
  const room = size - specials.length;
  if (room < tokens.length) throw new Error(`A byte-level vocabulary needs at least ${tokens.length + specials.length} entries, got ${size}`);
  const addMerge = (a: string, b: string): void => {
    merges.push(`${a} ${b}`);
    tokens.push(a + b);
    known.add(a + b);
  };
  while (tokens.length < room) {
    const best = mostFrequentPair(words.values());
    if (!best) break;
    addMerge(best[0], best[1]);
    for (const w of words.values()) w.symbols = mergePair(w.symbols, best[0], best[1]);
  }
  const learned = tokens.slice(alphabet.length).filter((t) => /^\u0120?[a-z]+$/.test(t));
  const random = mulberry32(seed);
  const pick = (): string => learned[Math.floor(random() * learned.length)]!;
  for (let attempts = 0; tokens.length < room; attempts++) {
    if (attempts > room * 50) throw new Error("Could not fill the vocabulary with distinct pieces");
    const a = pick();
    const b = pick().replace(/^\u0120/, "");
    if (a.length + b.length <= 16 && !known.has(a + b)) addMerge(a, b);
  }
  return {
    tokens: [...tokens, ...specials],
    types: [...tokens.map(() => TOKEN_TYPE_NORMAL), ...specials.map(() => TOKEN_TYPE_CONTROL)],
    merges,
  };
}

/** Words of the engine's prompts and of shell tasks, each with its leading space as GPT-2 pre-tokenizers keep it. */
function corpusWords(): string[] {
  const prompts = [forwardPrompt("x"), inversePrompt("x"), judgePrompt("x", "y"), taskWriterPrompt("x")];
  const text = [...prompts.flatMap((p) => [p.system, p.user, p.plain]), ...DEFAULT_TOPICS, ...COMMON_WORDS].join(" ");
  return (text.match(/[A-Za-z]+|[0-9]|[^\sA-Za-z0-9]+/g) ?? []).flatMap((w) => [w, ` ${w}`]);
}

function mostFrequentPair(words: Iterable<{ symbols: string[]; count: number }>): [string, string] | null {
  const counts = new Map<string, number>();
  for (const { symbols, count } of words) {
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = `${symbols[i]} ${symbols[i + 1]}`;
      counts.set(key, (counts.get(key) ?? 0) + count);
    }
  }
  let best: string | null = null;
  let bestCount = 0;
  for (const [key, count] of counts) {
    if (count > bestCount || (count === bestCount && best !== null && key < best)) [best, bestCount] = [key, count];
  }
  if (!best) return null;
  const space = best.indexOf(" ", 1);
  return [best.slice(0, space), best.slice(space + 1)];
}

function mergePair(symbols: string[], a: string, b: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < symbols.length; i++) {
    if (symbols[i] === a && symbols[i + 1] === b) {
      out.push(a + b);
      i++;
    } else out.push(symbols[i]!);
  }
  return out;
}

/** Normal-looking values fast: 65,536 Irwin–Hall draws, then two table lookups per xorshift word. */
function weightMaker(seed: number, std: number): (count: number) => Float32Array {
  const random = mulberry32(seed);
  const table = new Float32Array(65536);
  for (let i = 0; i < table.length; i++) table[i] = (random() + random() + random() + random() - 2) * std * Math.sqrt(3);
  let state = (seed * 2654435761) >>> 0 || 1;
  return (count) => {
    const values = new Float32Array(count);
    for (let i = 0; i < count; i += 2) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      state >>>= 0;
      values[i] = table[state & 0xffff]!;
      if (i + 1 < count) values[i + 1] = table[state >>> 16]!;
    }
    return values;
  };
}

/** Writes `shape` as an F16 GGUF (norms and biases F32, as converters write them). */
export async function writeBenchModel(filePath: string, shape: BenchShape, seed = 1): Promise<string> {
  const { embeddingLength: dim, headCount, headCountKv, feedForwardLength: ff, architecture: arch } = shape;
  if (dim % headCount !== 0 || headCount % headCountKv !== 0) {
    throw new Error(`Bench model ${shape.name}: ${dim} must divide into ${headCount} heads and those into ${headCountKv} KV heads`);
  }
  const headDim = dim / headCount;
  const kvDim = headDim * headCountKv;
  const specials = SPECIALS[shape.chatTemplate];
  const vocab = bpeVocabulary(shape.vocabSize, specials.tokens, seed);
  const weights = weightMaker(seed, 0.02);
  const tensors: GgufTensor[] = [];
  const matrix = (name: string, dims: [number, number]): void => {
    tensors.push({ name, dims, type: "f16", values: () => weights(dims[0] * dims[1]) });
  };
  const vector = (name: string, length: number, fill: number | null): void => {
    tensors.push({ name, dims: [length], type: "f32", values: () => (fill === null ? weights(length) : new Float32Array(length).fill(fill)) });
  };
  matrix("token_embd.weight", [dim, vocab.tokens.length]); // tied: no output.weight, as in all three families
  vector("output_norm.weight", dim, 1);
  if (arch === "llama") vector("rope_freqs.weight", headDim / 2, 1);
  for (let b = 0; b < shape.blockCount; b++) {
    vector(`blk.${b}.attn_norm.weight`, dim, 1);
    matrix(`blk.${b}.attn_q.weight`, [dim, dim]);
    matrix(`blk.${b}.attn_k.weight`, [dim, kvDim]);
    matrix(`blk.${b}.attn_v.weight`, [dim, kvDim]);
    if (shape.qkvBias) {
      vector(`blk.${b}.attn_q.bias`, dim, null);
      vector(`blk.${b}.attn_k.bias`, kvDim, null);
      vector(`blk.${b}.attn_v.bias`, kvDim, null);
    }
    matrix(`blk.${b}.attn_output.weight`, [dim, dim]);
    vector(`blk.${b}.ffn_norm.weight`, dim, 1);
    matrix(`blk.${b}.ffn_gate.weight`, [dim, ff]);
    matrix(`blk.${b}.ffn_up.weight`, [dim, ff]);
    matrix(`blk.${b}.ffn_down.weight`, [ff, dim]);
  }
  const id = (token: string): number => vocab.tokens.indexOf(token);
  const metadata: Record<string, GgufValue> = {
    "general.architecture": gguf.string(arch),
    "general.name": gguf.string(`inversion bench ${shape.name} (random weights)`),
    "general.file_type": gguf.u32(1), // mostly F16
    [`${arch}.context_length`]: gguf.u32(shape.contextLength),
    [`${arch}.embedding_length`]: gguf.u32(dim),
    [`${arch}.block_count`]: gguf.u32(shape.blockCount),
    [`${arch}.feed_forward_length`]: gguf.u32(ff),
    [`${arch}.attention.head_count`]: gguf.u32(headCount),
    [`${arch}.attention.head_count_kv`]: gguf.u32(headCountKv),
    [`${arch}.attention.layer_norm_rms_epsilon`]: gguf.f32(shape.rmsEpsilon),
    [`${arch}.rope.freq_base`]: gguf.f32(shape.ropeFreqBase),
    [`${arch}.rope.dimension_count`]: gguf.u32(headDim),
    [`${arch}.attention.key_length`]: gguf.u32(headDim),
    [`${arch}.attention.value_length`]: gguf.u32(headDim),
    [`${arch}.vocab_size`]: gguf.u32(vocab.tokens.length),
    "tokenizer.ggml.model": gguf.string("gpt2"),
    "tokenizer.ggml.pre": gguf.string(specials.pre),
    "tokenizer.ggml.tokens": gguf.strings(vocab.tokens),
    "tokenizer.ggml.token_type": gguf.i32s(vocab.types),
    "tokenizer.ggml.merges": gguf.strings(vocab.merges),
    "tokenizer.ggml.bos_token_id": gguf.u32(id(specials.bos)),
    "tokenizer.ggml.eos_token_id": gguf.u32(id(specials.eos)),
    "tokenizer.ggml.padding_token_id": gguf.u32(id(specials.tokens[0]!)),
    "tokenizer.ggml.add_bos_token": gguf.bool(specials.addBos),
    "tokenizer.chat_template": gguf.string(CHAT_TEMPLATES[shape.chatTemplate]),
  };
  const absolutePath = resolve(filePath);
  await writeGguf(absolutePath, { metadata, tensors });
  return absolutePath;
}

/** `$INVERSION_BENCH_CACHE`, else ~/.cache/inversion/bench-models. */
export function benchCacheDir(): string {
  return process.env.INVERSION_BENCH_CACHE ?? join(homedir(), ".cache", "inversion", "bench-models");
}

/** Bump when the written bytes change, so caches made by older writers are not reused. */
const WRITER_VERSION = 1;

/** Cache file of a shape and type: the shape's name plus a hash of everything that decides the bytes. */
export function benchModelPath(shape: BenchShape, type: BenchModelType, dir = benchCacheDir()): string {
  const key = createHash("sha256").update(JSON.stringify({ shape, WRITER_VERSION })).digest("hex").slice(0, 10);
  return join(dir, `${shape.name}-${key}-${type}.gguf`);
}

export interface BenchModelOptions {
  dir?: string;
  /** Quantizer threads. Default 2. */
  threads?: number;
  /** The addon's quantize(); passed in so this module loads without the native build. */
  quantize?: (o: { inPath: string; outPath: string; type: string; threads: number }) => Promise<string>;
  onProgress?: (message: string) => void;
}

/** The cached model of `shape` as `type`, written (F16) and quantized first when it is missing. */
export async function benchModel(shape: BenchShape, type: BenchModelType, opts: BenchModelOptions = {}): Promise<string> {
  const dir = opts.dir ?? benchCacheDir();
  mkdirSync(dir, { recursive: true });
  const f16 = benchModelPath(shape, "F16", dir);
  if (!existsSync(f16)) {
    opts.onProgress?.(`writing ${f16}`);
    await writeBenchModel(f16, shape);
  }
  if (type === "F16") return f16;
  const out = benchModelPath(shape, type, dir);
  if (!existsSync(out)) {
    if (!opts.quantize) throw new Error(`${out} is missing and no quantizer was given (the native addon's quantize)`);
    opts.onProgress?.(`quantizing to ${type}: ${out}`);
    await opts.quantize({ inPath: f16, outPath: out, type, threads: opts.threads ?? 2 });
  }
  return out;
}
