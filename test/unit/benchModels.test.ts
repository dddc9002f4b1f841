// Bench models of real shape: scaled-down widths, real-size vocabularies, llama.cpp's quantizer.
import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { BENCH_SHAPES, benchModel, benchModelPath, bpeVocabulary, writeBenchModel, type BenchShape } from "../../tools/gguf/benchModels";
import { loadModel, type LoadedModel } from "../../server/src/engine/runtime";
import { ModelSession } from "../../server/src/engine/session";
import { forwardPrompt } from "../../server/src/engine/prompts";
import { loadToolsAddon } from "../../tools/native";

process.env.GGML_NO_BACKTRACE ??= "1";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "inversion-benchmodels-"));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A family's shape at a test width; vocabulary, heads ratio, biases and template stay real. */
function tiny(name: keyof typeof BENCH_SHAPES, width = 64): BenchShape {
  const real = BENCH_SHAPES[name];
  return { ...real, name: `${real.name}-tiny${width}`, embeddingLength: width, blockCount: 2, headCount: 4, headCountKv: 2, feedForwardLength: 2 * width };
}

async function withSession<T>(path: string, use: (s: ModelSession, m: LoadedModel) => Promise<T>): Promise<T> {
  const loaded = await loadModel({ modelPath: path, gpu: "off", threads: 1, contextSize: 256 });
  const session = await ModelSession.create(loaded, { sequences: 1 });
  try {
    return await use(session, loaded);
  } finally {
    await session.dispose();
    await loaded.model.dispose();
  }
}

describe("bench models", () => {
  test("the byte-level vocabulary has exactly the requested size, distinct pieces and one merge per learned piece", () => {
    const vocab = bpeVocabulary(32768, ["<|a|>", "<|b|>"]);
    assert.equal(vocab.tokens.length, 32768);
    assert.equal(new Set(vocab.tokens).size, 32768);
    assert.equal(vocab.merges.length, 32768 - 256 - 2);
  });

  for (const [name, wrapper, headerToken] of [["qwen2.5-0.5b", "ChatMLChatWrapper", "<|im_start|>"], ["llama-3.2-1b", "Llama3ChatWrapper", "<|start_header_id|>"]] as const) {
    test(`${name} shape loads in node-llama-cpp with a ${BENCH_SHAPES[name].vocabSize}-entry vocabulary, its chat template and word-sized tokens`, async () => {
      const path = await writeBenchModel(join(dir, `${name}.gguf`), tiny(name));
      await withSession(path, async (session, loaded) => {
        const nlc = await import("node-llama-cpp");
        assert.equal(loaded.model.vocabularyType, "bpe");
        assert.equal(loaded.model.fileInfo.metadata.tokenizer.ggml.tokens.length, 32768);
        assert.equal(nlc.resolveChatWrapper(loaded.model)?.constructor.name, wrapper);
        assert.equal(session.format, "chat");
        const text = "find python files in the current directory";
        const tokens = loaded.model.tokenize(text);
        assert.equal(loaded.model.detokenize(tokens), text);
        assert.ok(tokens.length <= 8, `${tokens.length} tokens for 7 words`);
        const header = loaded.model.fileInfo.metadata.tokenizer.ggml.tokens.indexOf(headerToken);
        assert.ok(session.promptTokens(forwardPrompt(text)).includes(header as never), `the prompt holds ${headerToken} as one token`);
      });
    });
  }

  test("llama.cpp's quantizer makes a loadable Q4_K_M whose matrices are K-quants, and the cache reuses it", async () => {
    const addon = loadToolsAddon();
    const shape = tiny("qwen2.5-0.5b", 256);
    const progress: string[] = [];
    const opts = { dir, threads: 1, quantize: addon.quantize.bind(addon), onProgress: (m: string) => progress.push(m) };
    const path = await benchModel(shape, "Q4_K_M", opts);
    assert.equal(path, benchModelPath(shape, "Q4_K_M", dir));
    const nlc = await import("node-llama-cpp");
    const info = await nlc.readGgufFileInfo(path, { readTensorInfo: true, logWarnings: false });
    const q4k = info.tensorInfo!.filter((t) => t.ggmlType === nlc.GgmlType.Q4_K).length;
    assert.ok(q4k >= 6, `${q4k} Q4_K tensors`);
    await withSession(path, async (session) => {
      const lp = await session.logProb(forwardPrompt("list files"), " ls -la");
      assert.ok(Number.isFinite(lp.sum) && lp.tokens > 0);
    });
    const before = (await stat(path)).mtimeMs;
    progress.length = 0;
    assert.equal(await benchModel(shape, "Q4_K_M", opts), path);
    assert.deepEqual(progress, []);
    assert.equal((await stat(path)).mtimeMs, before);
  });
});
