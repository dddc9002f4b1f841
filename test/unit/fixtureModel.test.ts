import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Llama, LlamaModel, Token } from "node-llama-cpp" with { "resolution-mode": "import" };
import { writeFixtureModel } from "../../tools/gguf/fixtureModel";
import { encodeGguf, fromFloat16Bits, gguf, toFloat16Bits } from "../../tools/gguf/writer";

type NodeLlamaCpp = typeof import("node-llama-cpp", { with: { "resolution-mode": "import" } });

let nlc: NodeLlamaCpp;
let llama: Llama;
let dir: string;
let f32Path: string;

before(async () => {
  nlc = await import("node-llama-cpp");
  // Always one thread: on this 2-core machine default threading is orders of magnitude slower.
  llama = await nlc.getLlama({ gpu: false, maxThreads: 1, build: "never", logLevel: nlc.LlamaLogLevel.error });
  dir = await mkdtemp(join(tmpdir(), "inversion-fixture-"));
  f32Path = await writeFixtureModel(join(dir, "f32.gguf"));
});

after(async () => {
  await llama?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function withModel<T>(modelPath: string, use: (model: LlamaModel) => Promise<T>): Promise<T> {
  const model = await llama.loadModel({ modelPath });
  try {
    return await use(model);
  } finally {
    await model.dispose();
  }
}

/** Next-token distribution (top candidates) after BOS + prompt. */
async function nextTokenProbabilities(model: LlamaModel, prompt: string): Promise<Map<Token, number>> {
  const context = await model.createContext({ threads: 1, contextSize: 128 });
  try {
    const tokens = [model.tokens.bos!, ...model.tokenize(prompt)];
    const outputs = context.getSequence().evaluateWithMetadata(tokens, { probabilities: true }, { temperature: 1, topK: 0, topP: 1, minP: 0 });
    for await (const output of outputs) return output.probabilities;
    throw new Error("evaluation produced no output");
  } finally {
    await context.dispose();
  }
}

function l1Distance(a: Map<Token, number>, b: Map<Token, number>): number {
  const keys = new Set([...a.keys(), ...b.keys()]);
  let sum = 0;
  for (const key of keys) sum += Math.abs((a.get(key) ?? 0) - (b.get(key) ?? 0));
  return sum;
}

describe("fixture model", () => {
  test("is small and carries llama metadata and a full vocabulary", async () => {
    assert.ok((await stat(f32Path)).size < 1_000_000);
    const info = await nlc.readGgufFileInfo(f32Path, { readTensorInfo: true });
    const metadata = info.metadata as Record<string, any>;
    assert.equal(info.version, 3);
    assert.equal(metadata.general.architecture, "llama");
    assert.equal(metadata.general.alignment, 32);
    assert.equal(metadata.llama.embedding_length, 32);
    assert.equal(metadata.llama.block_count, 2);
    assert.equal(metadata.llama.attention.head_count_kv, 2);
    assert.equal(metadata.llama.rope.dimension_count, 8);
    const vocab: string[] = metadata.tokenizer.ggml.tokens;
    assert.equal(metadata.llama.vocab_size, vocab.length);
    assert.deepEqual(vocab.slice(0, 4), ["<unk>", "<s>", "</s>", "<0x00>"]);
    assert.equal(vocab[258], "<0xFF>");
    assert.equal(info.tensorCount, 3 + 2 * 9);
    assert.deepEqual(info.tensorInfo?.find((t) => t.name === "blk.1.ffn_down.weight")?.dimensions, [64, 32]);
    assert.equal(metadata.tokenizer.chat_template, undefined);

    await withModel(f32Path, async (model) => {
      assert.equal(model.fileInfo.metadata.general.architecture, "llama");
      assert.equal(model.tokens.bos, 1);
      assert.equal(model.tokens.eos, 2);
    });
  });

  test("tokenizes with merges and round-trips a shell command", async () => {
    const text = "ls -la /tmp | grep foo";
    await withModel(f32Path, async (model) => {
      const tokens = model.tokenize(text);
      assert.ok(tokens.length < text.length / 2, `expected merges, got ${tokens.length} tokens`);
      assert.equal(model.detokenize(tokens), text);
      assert.equal(model.tokenize("grep").length, 1);
      // Characters outside the vocabulary fall back to byte tokens.
      assert.equal(model.detokenize(model.tokenize("naïve\ttab")), "naïve\ttab");
    });
  });

  test("generates tokens", async () => {
    await withModel(f32Path, async (model) => {
      const context = await model.createContext({ threads: 1, contextSize: 128 });
      const generated: Token[] = [];
      const prompt = [model.tokens.bos!, ...model.tokenize("list all files")];
      try {
        for await (const token of context.getSequence().evaluate(prompt, { temperature: 0 })) {
          generated.push(token);
          if (generated.length === 8) break;
        }
      } finally {
        await context.dispose();
      }
      assert.equal(generated.length, 8);
      const vocabSize = (model.fileInfo.metadata.tokenizer.ggml.tokens as string[]).length;
      assert.ok(generated.every((token) => token >= 0 && token < vocabSize));
      assert.ok(model.detokenize(generated).length > 0);
    });
  });

  test("same options give identical bytes; another seed does not", async () => {
    const [a, b, c] = await Promise.all([
      writeFixtureModel(join(dir, "seed7a.gguf"), { seed: 7 }),
      writeFixtureModel(join(dir, "seed7b.gguf"), { seed: 7 }),
      writeFixtureModel(join(dir, "seed8.gguf"), { seed: 8 }),
    ]);
    const [bytesA, bytesB, bytesC] = await Promise.all([readFile(a), readFile(b), readFile(c)]);
    assert.ok(bytesA.equals(bytesB));
    assert.equal(bytesA.length, bytesC.length);
    assert.ok(!bytesA.equals(bytesC));
  });

  test("f16 and q8_0 variants load and evaluate close to f32", async () => {
    const prompt = "find files named foo";
    const reference = await withModel(f32Path, (model) => nextTokenProbabilities(model, prompt));
    const otherSeed = await withModel(await writeFixtureModel(join(dir, "seed2.gguf"), { seed: 2 }), (model) =>
      nextTokenProbabilities(model, prompt),
    );
    assert.ok(l1Distance(reference, otherSeed) > 0.2, "control: a different model should differ clearly");

    for (const [tensorType, ggmlType, tolerance] of [["f16", 1, 0.005], ["q8_0", 8, 0.05]] as const) {
      const modelPath = await writeFixtureModel(join(dir, `${tensorType}.gguf`), { tensorType });
      const info = await nlc.readGgufFileInfo(modelPath, { readTensorInfo: true });
      const types = new Map(info.tensorInfo!.map((t) => [t.name, t.ggmlType as number]));
      assert.equal(types.get("blk.0.attn_q.weight"), ggmlType);
      assert.equal(types.get("blk.0.ffn_down.weight"), ggmlType);
      assert.equal(types.get("blk.0.attn_norm.weight"), 0);
      assert.equal(types.get("token_embd.weight"), 0);

      const probabilities = await withModel(modelPath, (model) => nextTokenProbabilities(model, prompt));
      const distance = l1Distance(reference, probabilities);
      assert.ok(distance < tolerance, `${tensorType}: L1 distance ${distance} to f32`);
    }
  });

  test("writes a chat template when asked", async () => {
    const chatTemplate = "{% for m in messages %}{{ m.content }}{% endfor %}";
    const modelPath = await writeFixtureModel(join(dir, "chat.gguf"), { chatTemplate });
    const info = await nlc.readGgufFileInfo(modelPath);
    assert.equal((info.metadata as Record<string, any>).tokenizer.chat_template, chatTemplate);
  });

  test("an unsupported architecture fails to load", async () => {
    const modelPath = await writeFixtureModel(join(dir, "bad.gguf"), { architecture: "notarealarch" });
    const info = await nlc.readGgufFileInfo(modelPath);
    assert.equal(info.metadata.general.architecture, "notarealarch");
    await assert.rejects(llama.loadModel({ modelPath }), /failed to load model/i);
  });
});

describe("gguf writer", () => {
  test("float16 conversion round-trips every finite half and rounds to nearest even", () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      if ((bits & 0x7c00) === 0x7c00) continue;
      assert.equal(toFloat16Bits(fromFloat16Bits(bits)), bits);
    }
    assert.equal(toFloat16Bits(1), 0x3c00);
    assert.equal(toFloat16Bits(65520), 0x7c00);
    assert.equal(toFloat16Bits(1 + 2 ** -11), 0x3c00); // halfway, even stays
    assert.equal(toFloat16Bits(1 + 3 * 2 ** -11), 0x3c02); // halfway, odd rounds up
    assert.equal(toFloat16Bits(2 ** -25), 0); // halfway to the smallest subnormal
  });

  test("lays out header, metadata and aligned tensor data", () => {
    const bytes = encodeGguf({
      metadata: { "test.flag": gguf.bool(true), "test.big": gguf.u64(2n ** 40n) },
      tensors: [{ name: "x", dims: [3], type: "f32", values: new Float32Array([1, 2, 3]) }],
    });
    assert.equal(bytes.toString("ascii", 0, 4), "GGUF");
    assert.equal(bytes.readUInt32LE(4), 3);
    assert.equal(bytes.readBigUInt64LE(8), 1n);
    assert.equal(bytes.readBigUInt64LE(16), 3n); // two keys plus general.alignment
    assert.equal(bytes.length % 32, 0);
    assert.equal(bytes.readFloatLE(bytes.length - 32 + 8), 3);
  });

  test("rejects tensors whose shape does not fit their data", () => {
    assert.throws(
      () => encodeGguf({ metadata: {}, tensors: [{ name: "q", dims: [16, 2], type: "q8_0", values: new Float32Array(32) }] }),
      /divisible by 32/,
    );
    assert.throws(
      () => encodeGguf({ metadata: {}, tensors: [{ name: "f", dims: [4], type: "f32", values: new Float32Array(3) }] }),
      /hold 4 values/,
    );
  });
});
