import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Llama, LlamaModel } from "node-llama-cpp" with { "resolution-mode": "import" };
import { learnVocabulary, SpmTokenCounter, TOKEN_TYPE, type Vocabulary } from "../../tools/gguf/vocab";
import { DEFAULT_SHAPE, writeShellModel } from "../../scripts/shell-model/init-model";

const CORPUS = [
  "Task: archive a directory\nCommand: tar -czf logs.tgz /var/log\n",
  "Task: extract an archive\nCommand: tar -xzf logs.tgz\n",
  "Task: find python files\nCommand: find . -name '*.py'\n",
  "Task: list files\nCommand: ls -la\n",
  "Command: echo <s> </s> <unk> <0x41>\nTask: print markers\n",
].flatMap((text) => Array<string>(20).fill(text));

const vocab = learnVocabulary(CORPUS, { size: 400 });

describe("learnVocabulary", () => {
  test("learns whole words of the corpus as pieces, with the space marker", () => {
    for (const piece of ["▁tar", "▁find", "Command:", "▁logs.tgz"]) assert.ok(vocab.tokens.includes(piece), piece);
  });

  test("lays out specials, 256 byte pieces, then normal pieces, with unique texts", () => {
    assert.deepEqual(vocab.tokens.slice(0, 4), ["<unk>", "<s>", "</s>", "<0x00>"]);
    assert.deepEqual(vocab.types.slice(0, 3), [TOKEN_TYPE.unknown, TOKEN_TYPE.control, TOKEN_TYPE.control]);
    assert.equal(vocab.types.filter((t) => t === TOKEN_TYPE.byte).length, 256);
    assert.equal(new Set(vocab.tokens).size, vocab.tokens.length);
  });

  test("never learns a piece that would let the tokenizer assemble a special or byte token", () => {
    for (const piece of ["s>", "<s", "/s>", "</", "unk>", "<0x", "41>"]) assert.ok(!vocab.tokens.includes(piece), piece);
  });

  test("refuses a size that cannot hold specials, bytes and characters", () => {
    assert.throws(() => learnVocabulary(CORPUS, { size: 260 }), /below the/);
  });
});

describe("a model written with the learned vocabulary, in node-llama-cpp", () => {
  let llama: Llama;
  let model: LlamaModel;
  let dir: string;

  before(async () => {
    const nlc = await import("node-llama-cpp");
    llama = await nlc.getLlama({ gpu: false, maxThreads: 1, build: "never", logLevel: nlc.LlamaLogLevel.error });
    dir = await mkdtemp(join(tmpdir(), "inversion-shellvocab-"));
    const shape = { ...DEFAULT_SHAPE, embeddingLength: 32, blockCount: 1, headCount: 2, headCountKv: 1, feedForwardLength: 64 };
    model = await llama.loadModel({ modelPath: await writeShellModel(join(dir, "shell.gguf"), vocab, shape) });
  });

  after(async () => {
    await model?.dispose();
    await llama?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const pieces = (v: Vocabulary, text: string): string[] => model.tokenize(text).map((t) => v.tokens[t]!);

  test("tokenizes a command into the learned multi-character pieces", () => {
    assert.deepEqual(pieces(vocab, "tar -czf logs.tgz"), ["▁tar", "▁-czf", "▁logs.tgz"]);
  });

  test("detokenizes every corpus text back exactly, special-token look-alikes included", () => {
    const failures = [...new Set(CORPUS)].filter((text) => model.detokenize(model.tokenize(text)) !== text);
    assert.deepEqual(failures, []);
  });

  test("falls back to byte pieces for a character outside the vocabulary and still round-trips", () => {
    assert.deepEqual(pieces(vocab, "→").slice(-3), ["<0xE2>", "<0x86>", "<0x92>"]);
    assert.equal(model.detokenize(model.tokenize("ls → out")), "ls → out");
  });

  test("SpmTokenCounter counts the same tokens as llama.cpp", () => {
    const counter = new SpmTokenCounter(vocab);
    const texts = [...new Set(CORPUS), "ls → out", "tar -czf a b"];
    assert.deepEqual(texts.map((t) => counter.count(t)), texts.map((t) => model.tokenize(t).length));
  });
});
