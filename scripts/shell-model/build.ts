// Everything a from-scratch shell-model training starts from, written into one directory:
// heldout.jsonl, examples.jsonl + stream.txt (training split only), the learned vocabulary, model-init.gguf, build.json.
//   node --import tsx scripts/shell-model/build.ts --out DIR [--tldr DIR] [--vocab 4096] [--dim 256] [--layers 6]
//     [--heads 8] [--kv-heads 4] [--ff 768] [--ctx 256] [--seed 1] [--embed-std 0.02]
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { learnVocabulary, SpmTokenCounter } from "../../tools/gguf/vocab";
import { buildCorpus, DEFAULT_CORPUS_OPTIONS, exampleText, writeCorpus, type CorpusExample } from "./corpus";
import { DEFAULT_SHAPE, parameterCount, writeShellModel, type ShellModelShape } from "./init-model";
import { heldOutJsonl, HELD_OUT_SIZE, loadShellSplit, SPLIT_SEED } from "./split";

const { values: v } = parseArgs({
  options: {
    out: { type: "string" },
    tldr: { type: "string", default: "../shared/data/tldr-pages" },
    vocab: { type: "string", default: "4096" },
    dim: { type: "string", default: String(DEFAULT_SHAPE.embeddingLength) },
    layers: { type: "string", default: String(DEFAULT_SHAPE.blockCount) },
    heads: { type: "string", default: String(DEFAULT_SHAPE.headCount) },
    "kv-heads": { type: "string", default: String(DEFAULT_SHAPE.headCountKv) },
    ff: { type: "string", default: String(DEFAULT_SHAPE.feedForwardLength) },
    ctx: { type: "string", default: String(DEFAULT_SHAPE.contextLength) },
    seed: { type: "string", default: "1" },
    "embed-std": { type: "string", default: String(DEFAULT_SHAPE.embeddingStd) },
  },
});

function int(name: keyof typeof v): number {
  const n = Number(v[name]);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${v[name]}`);
  return n;
}

function tokenStats(examples: readonly CorpusExample[], counter: SpmTokenCounter): Record<string, number> {
  // +2: the trainer adds BOS and EOS to every example.
  const lengths = examples.map((e) => counter.count(exampleText(e)) + 2).sort((a, b) => a - b);
  const total = lengths.reduce((a, b) => a + b, 0);
  const completionTokens = examples.reduce((n, e) => n + counter.count(e.completion), 0);
  return {
    totalTokens: total,
    meanTokensPerExample: +(total / lengths.length).toFixed(2),
    p99TokensPerExample: lengths[Math.floor(lengths.length * 0.99)]!,
    maxTokensPerExample: lengths[lengths.length - 1]!,
    approxCompletionTokens: completionTokens,
  };
}

async function main(): Promise<void> {
  if (!v.out) throw new Error("usage: build.ts --out DIR [options]; see the header of scripts/shell-model/build.ts");
  const seed = int("seed");
  const started = Date.now();
  const split = loadShellSplit(v.tldr!);
  const examples = buildCorpus(split.train, { ...DEFAULT_CORPUS_OPTIONS, seed });
  const files = writeCorpus(v.out, examples);
  writeFileSync(join(v.out, "heldout.jsonl"), heldOutJsonl(split.heldOut));

  const vocab = learnVocabulary(examples.map(exampleText), { size: int("vocab") });
  writeFileSync(join(v.out, "vocab.json"), JSON.stringify(vocab));
  const shape: ShellModelShape = {
    embeddingLength: int("dim"),
    blockCount: int("layers"),
    headCount: int("heads"),
    headCountKv: int("kv-heads"),
    feedForwardLength: int("ff"),
    contextLength: int("ctx"),
    weightStd: DEFAULT_SHAPE.weightStd,
    embeddingStd: Number(v["embed-std"]),
    seed,
  };
  const modelPath = await writeShellModel(join(v.out, "model-init.gguf"), vocab, shape);

  const byKind: Record<string, number> = {};
  for (const e of examples) byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;
  const record = {
    kind: "shell-model-build",
    createdAt: new Date().toISOString(),
    tldrDataSha256: split.dataHash,
    heldOut: { size: split.heldOut.length, seed: SPLIT_SEED, requested: HELD_OUT_SIZE, sha256: split.hash, tasks: "description only" },
    trainPairs: split.train.length,
    corpus: { ...DEFAULT_CORPUS_OPTIONS, seed, examples: examples.length, byKind, ...tokenStats(examples, new SpmTokenCounter(vocab)) },
    vocabSize: vocab.tokens.length,
    shape,
    parameters: parameterCount(shape, vocab.tokens.length),
    files: { model: modelPath, examples: files.examplesPath, stream: files.streamPath, heldOut: join(v.out, "heldout.jsonl") },
    seconds: (Date.now() - started) / 1000,
  };
  writeFileSync(join(v.out, "build.json"), JSON.stringify(record, null, 2) + "\n");
  console.log(JSON.stringify(record, null, 2));
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
