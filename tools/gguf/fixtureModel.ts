// A tiny random llama-architecture GGUF model that node-llama-cpp can load, tokenize with and
// generate from, so tests never need a downloaded model. Its output is noise by design.
import { resolve } from "node:path";
import { gguf, writeGguf, type GgufTensor, type GgufTensorType, type GgufValue } from "./writer";
import { vocabularyMetadata, type Vocabulary } from "./vocab";

export interface FixtureOptions {
  /** PRNG seed; the same options always give the same bytes. Default 1. */
  seed?: number;
  /** Encoding of the 2-D weight matrices (token_embd and norms stay F32). Default "f32". */
  tensorType?: GgufTensorType;
  /** Written as general.architecture and as the prefix of the hyperparameter keys. Default "llama". */
  architecture?: string;
  /** Written as tokenizer.chat_template when given. */
  chatTemplate?: string;
  embeddingLength?: number;
  blockCount?: number;
  headCount?: number;
  headCountKv?: number;
  feedForwardLength?: number;
  contextLength?: number;
  rmsEpsilon?: number;
  /** Standard deviation of the random weights. Default 0.08. */
  weightStd?: number;
}

const SPACE_MARK = "\u2581"; // "▁": SentencePiece's marker for a preceding space

const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, byte: 6 } as const;

export const COMMON_WORDS = `
ls cd pwd cat echo grep egrep find sed awk sort uniq head tail wc cut tr xargs tee touch mkdir rmdir rm cp mv ln
chmod chown chgrp du df ps kill top free uname whoami date tar gzip gunzip zip unzip curl wget ssh scp rsync git
npm node python pip make docker diff less more file stat which man env export source sudo
-l -a -la -al -r -R -rf -f -n -i -v -h -s -c -d -e -p -name -type -exec -print -delete -mtime -size -maxdepth
--help --version --all --force --recursive
tmp home usr bin etc var log dev null src lib test
the a an and or not to of in on for with from by at as is are be this that it all any each every
file files list show print count find search delete remove copy move rename make create change open read write
directory directories folder folders line lines word words name names size text current new old hidden empty
large small recent recently modified last first number total only also into than more most under over inside
containing contain contains named ending ending with without each sorted sort by disk space usage process
processes running user users permission permissions owner group compress extract archive download upload
`.split(/\s+/).filter((word) => word.length > 0);

/** SentencePiece-style vocab: specials, 256 byte fallbacks, characters, then every word with all its prefixes. */
function buildVocabulary(): Vocabulary {
  const vocab: Vocabulary = { tokens: [], scores: [], types: [] };
  const seen = new Set<string>();
  const add = (token: string, type: number, score: number): void => {
    if (seen.has(token)) return;
    seen.add(token);
    vocab.tokens.push(token);
    vocab.types.push(type);
    vocab.scores.push(score);
  };

  add("<unk>", TOKEN_TYPE.unknown, 0);
  add("<s>", TOKEN_TYPE.control, 0);
  add("</s>", TOKEN_TYPE.control, 0);
  for (let byte = 0; byte < 256; byte++) {
    add(`<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`, TOKEN_TYPE.byte, 0);
  }

  // Merges follow score, highest first, and only through pieces that exist, so every prefix of
  // a word is a token and longer pieces score higher: whole words win over fragments.
  const pieces: string[] = [SPACE_MARK];
  for (let code = 0x21; code <= 0x7e; code++) {
    const char = String.fromCharCode(code);
    pieces.push(char, SPACE_MARK + char);
  }
  for (const word of COMMON_WORDS) {
    for (const form of [word, SPACE_MARK + word]) {
      for (let end = 2; end <= form.length; end++) pieces.push(form.slice(0, end));
    }
  }
  for (const piece of pieces) add(piece, TOKEN_TYPE.normal, [...piece].length - 10);
  return vocab;
}

/** sfc32: small, fast and fully specified, so weights are identical on every platform. */
export function createRandom(seed: number): () => number {
  let a = 0x9e3779b9, b = 0x243f6a88, c = 0xb7e15162, d = seed >>> 0;
  const next = (): number => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    const t = (a + b + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
  for (let i = 0; i < 15; i++) next();
  return next;
}

/** Approximately normal (Irwin–Hall of 4 uniforms): plain arithmetic, so bit-identical everywhere. */
export function randomNormalValues(random: () => number, count: number, std: number): Float32Array {
  const values = new Float32Array(count);
  const scale = std * Math.sqrt(3);
  for (let i = 0; i < count; i++) {
    values[i] = (random() + random() + random() + random() - 2) * scale;
  }
  return values;
}

const FILE_TYPE: Record<GgufTensorType, number> = { f32: 0, f16: 1, q8_0: 7 };

export async function writeFixtureModel(filePath: string, opts: FixtureOptions = {}): Promise<string> {
  const architecture = opts.architecture ?? "llama";
  const tensorType = opts.tensorType ?? "f32";
  const embeddingLength = opts.embeddingLength ?? 32;
  const blockCount = opts.blockCount ?? 2;
  const headCount = opts.headCount ?? 4;
  const headCountKv = opts.headCountKv ?? 2;
  const feedForwardLength = opts.feedForwardLength ?? 64;
  const contextLength = opts.contextLength ?? 256;
  const rmsEpsilon = opts.rmsEpsilon ?? 1e-5;
  const weightStd = opts.weightStd ?? 0.08;

  if (embeddingLength % headCount !== 0 || headCount % headCountKv !== 0) {
    throw new Error(
      `Fixture model: embeddingLength ${embeddingLength} must divide into ${headCount} heads, ` +
        `and headCount into ${headCountKv} KV heads`,
    );
  }
  const headDim = embeddingLength / headCount;
  const kvLength = headDim * headCountKv;

  const vocab = buildVocabulary();
  const vocabSize = vocab.tokens.length;
  const random = createRandom(opts.seed ?? 1);
  const tensors: GgufTensor[] = [];
  const addWeight = (name: string, dims: [number, number], type: GgufTensorType = tensorType): void => {
    tensors.push({ name, dims, type, values: randomNormalValues(random, dims[0] * dims[1], weightStd) });
  };
  const addNorm = (name: string): void => {
    tensors.push({ name, dims: [embeddingLength], type: "f32", values: new Float32Array(embeddingLength).fill(1) });
  };

  addWeight("token_embd.weight", [embeddingLength, vocabSize], "f32");
  addNorm("output_norm.weight");
  addWeight("output.weight", [embeddingLength, vocabSize]);
  for (let block = 0; block < blockCount; block++) {
    const prefix = `blk.${block}`;
    addNorm(`${prefix}.attn_norm.weight`);
    addWeight(`${prefix}.attn_q.weight`, [embeddingLength, embeddingLength]);
    addWeight(`${prefix}.attn_k.weight`, [embeddingLength, kvLength]);
    addWeight(`${prefix}.attn_v.weight`, [embeddingLength, kvLength]);
    addWeight(`${prefix}.attn_output.weight`, [embeddingLength, embeddingLength]);
    addNorm(`${prefix}.ffn_norm.weight`);
    addWeight(`${prefix}.ffn_gate.weight`, [embeddingLength, feedForwardLength]);
    addWeight(`${prefix}.ffn_down.weight`, [feedForwardLength, embeddingLength]);
    addWeight(`${prefix}.ffn_up.weight`, [embeddingLength, feedForwardLength]);
  }

  const metadata: Record<string, GgufValue> = {
    "general.architecture": gguf.string(architecture),
    "general.name": gguf.string("inversion fixture"),
    "general.file_type": gguf.u32(FILE_TYPE[tensorType]),
    [`${architecture}.context_length`]: gguf.u32(contextLength),
    [`${architecture}.embedding_length`]: gguf.u32(embeddingLength),
    [`${architecture}.block_count`]: gguf.u32(blockCount),
    [`${architecture}.feed_forward_length`]: gguf.u32(feedForwardLength),
    [`${architecture}.attention.head_count`]: gguf.u32(headCount),
    [`${architecture}.attention.head_count_kv`]: gguf.u32(headCountKv),
    [`${architecture}.attention.layer_norm_rms_epsilon`]: gguf.f32(rmsEpsilon),
    [`${architecture}.rope.dimension_count`]: gguf.u32(headDim),
    [`${architecture}.vocab_size`]: gguf.u32(vocabSize),
    ...vocabularyMetadata(vocab),
  };
  if (opts.chatTemplate !== undefined) metadata["tokenizer.chat_template"] = gguf.string(opts.chatTemplate);

  const absolutePath = resolve(filePath);
  await writeGguf(absolutePath, { metadata, tensors });
  return absolutePath;
}
