// Native LoRA / full trainer (server/src/engine/train) on tiny fixture models. Needs the addon:
// `npm run build:native`. Every model here is written by writeFixtureModel; nothing is downloaded.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Llama, LlamaModel, Token } from "node-llama-cpp" with { "resolution-mode": "import" };
import { BENCH_SHAPES, benchModel } from "../../tools/gguf/benchModels";
import { writeFixtureModel } from "../../tools/gguf/fixtureModel";
import { gguf, writeGguf } from "../../tools/gguf/writer";
import { loadToolsAddon } from "../../tools/native";
import {
  backendDir,
  createTrainer,
  LlamaTrainer,
  runNativeTraining,
  type LlamaTrainRequest,
  type LlamaTrainResult,
} from "../../server/src/engine/train";
import type { TrainProgress } from "../../server/src/engine/types";

const EXAMPLES = [
  ["Task: list files\nCommand:", " ls -la"],
  ["Task: show current directory\nCommand:", " pwd"],
  ["Task: count lines in a file\nCommand:", " wc -l file"],
  ["Task: show disk usage\nCommand:", " df -h"],
  ["Task: find text files\nCommand:", " find . -name '*.txt'"],
  ["Task: show running processes\nCommand:", " ps aux"],
].map(([prompt, completion]) => ({ prompt: prompt!, completion: completion! }));

// Set INVERSION_SKIP_NATIVE_TESTS=1 on machines without a C++ toolchain (the addon cannot be built there).
const skip = process.env.INVERSION_SKIP_NATIVE_TESTS ? "INVERSION_SKIP_NATIVE_TESTS is set" : false;

let dir: string;
let f32Path: string;
let counter = 0;
const out = (name: string): string => join(dir, `${name}-${++counter}.gguf`);

function request(overrides: Partial<LlamaTrainRequest> = {}): LlamaTrainRequest {
  return {
    baseModelPath: f32Path,
    examples: EXAMPLES,
    outPath: out("adapter"),
    mode: "lora",
    rank: 4,
    alpha: 8,
    targets: ["attn_q", "attn_k", "attn_v", "attn_output"],
    learningRate: 1e-2,
    epochs: 20,
    batchSize: 3,
    contextSize: 64,
    threads: 1,
    seed: 1,
    ...overrides,
  };
}

// --- a minimal GGUF reader (metadata, tensor infos, tensor bytes) -------------------------------
interface GgufTensorInfo {
  name: string;
  ne: number[];
  type: number;
  typeFieldOffset: number;
  dataOffset: number;
}
interface ParsedGguf {
  kv: Map<string, unknown>;
  tensors: GgufTensorInfo[];
  bytes: Buffer;
}
function parseGguf(bytes: Buffer): ParsedGguf {
  let pos = 0;
  const u32 = (): number => { const v = bytes.readUInt32LE(pos); pos += 4; return v; };
  const u64 = (): number => { const v = Number(bytes.readBigUInt64LE(pos)); pos += 8; return v; };
  const str = (): string => { const n = u64(); const s = bytes.toString("utf8", pos, pos + n); pos += n; return s; };
  const sizes: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const value = (type: number): unknown => {
    if (type === 8) return str();
    if (type === 9) {
      const itemType = u32();
      const n = u64();
      const items: unknown[] = [];
      for (let i = 0; i < n; i++) items.push(value(itemType));
      return items;
    }
    const at = pos;
    pos += sizes[type]!;
    if (type === 4) return bytes.readUInt32LE(at);
    if (type === 6) return bytes.readFloatLE(at);
    return null;
  };
  assert.equal(bytes.toString("ascii", 0, 4), "GGUF");
  pos = 8;
  const nTensors = u64();
  const nKv = u64();
  const kv = new Map<string, unknown>();
  for (let i = 0; i < nKv; i++) {
    const key = str();
    kv.set(key, value(u32()));
  }
  const tensors: GgufTensorInfo[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = str();
    const nd = u32();
    const ne: number[] = [];
    for (let d = 0; d < nd; d++) ne.push(u64());
    const typeFieldOffset = pos;
    const type = u32();
    tensors.push({ name, ne, type, typeFieldOffset, dataOffset: u64() });
  }
  const align = (kv.get("general.alignment") as number | undefined) ?? 32;
  const dataStart = Math.ceil(pos / align) * align;
  for (const t of tensors) t.dataOffset += dataStart;
  return { kv, tensors, bytes };
}
function f32Tensor(g: ParsedGguf, name: string): Float32Array {
  const t = g.tensors.find((x) => x.name === name);
  assert.ok(t, `tensor ${name} in file`);
  assert.equal(t.type, 0, `${name} is F32`);
  const n = t.ne.reduce((a, b) => a * b, 1);
  return new Float32Array(g.bytes.buffer.slice(g.bytes.byteOffset + t.dataOffset, g.bytes.byteOffset + t.dataOffset + n * 4));
}
const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

// --- node-llama-cpp scoring ---------------------------------------------------------------------
type NodeLlamaCpp = typeof import("node-llama-cpp", { with: { "resolution-mode": "import" } });
let llama: Llama | undefined;
async function getLlama(): Promise<Llama> {
  if (!llama) {
    const nlc: NodeLlamaCpp = await import("node-llama-cpp");
    llama = await nlc.getLlama({ gpu: false, maxThreads: 1, build: "never", logLevel: nlc.LlamaLogLevel.error });
  }
  return llama;
}

/** Teacher-forced log P(completion | prompt), BOS-prefixed, with an optional adapter. */
async function completionLogP(model: LlamaModel, prompt: string, completion: string, adapter?: string): Promise<number> {
  const context = await model.createContext({ threads: 1, contextSize: 128, ...(adapter ? { lora: { adapters: [{ filePath: adapter }] } } : {}) });
  try {
    const bos = model.tokens.shouldPrependBosToken && model.tokens.bos != null ? [model.tokens.bos] : [];
    const full: Token[] = [...bos, ...model.tokenize(prompt + completion)];
    const pre: Token[] = [...bos, ...model.tokenize(prompt)];
    let split = 0;
    while (split < pre.length && pre[split] === full[split]) split++;
    const input = full.map((t, p) =>
      p >= split - 1 && p < full.length - 1
        ? ([t, { generateNext: { logits: { filter: { tokens: [full[p + 1]!], includeTop: 1 } }, totalLogitWeight: true } }] as const)
        : t,
    );
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const res = (await context.getSequence().controlledEvaluate(input as any)) as any[];
    let sum = 0;
    for (let p = split - 1; p < full.length - 1; p++) {
      const next = res[p].next as { logits: Map<Token, number>; totalLogitWeight: number };
      const max = next.logits.values().next().value as number;
      sum += next.logits.get(full[p + 1]!)! - max - Math.log(next.totalLogitWeight);
    }
    return sum;
  } finally {
    await context.dispose();
  }
}

function epochMeans(losses: number[], perEpoch: number): number[] {
  const means: number[] = [];
  for (let i = 0; i + perEpoch <= losses.length; i += perEpoch) {
    means.push(losses.slice(i, i + perEpoch).reduce((a, b) => a + b, 0) / perEpoch);
  }
  return means;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "inversion-trainer-"));
  f32Path = await writeFixtureModel(join(dir, "base-f32.gguf"));
});

after(async () => {
  await llama?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("LlamaTrainer", { skip }, () => {
  let trained: LlamaTrainResult;
  let progress: TrainProgress[] = [];
  let baseBefore: Buffer;

  test("trains a LoRA adapter: loss falls, progress is reported", async () => {
    baseBefore = await readFile(f32Path);
    progress = [];
    const trainer = new LlamaTrainer();
    assert.equal(trainer.name, "llama-lora");
    trained = await trainer.train(request({ onProgress: (p) => progress.push(p) }));
    assert.equal(trained.mode, "lora");
    assert.match(trained.masking, /^completion-rows/);
    assert.ok(existsSync(trained.outPath));
    assert.equal(progress.length, trained.steps);
    assert.equal(progress.at(-1)!.step, progress.at(-1)!.totalSteps);
    assert.ok(trained.tokensPerSecond > 0 && trained.tokens === trained.steps * 64);
    const means = epochMeans(progress.map((p) => p.loss), trained.windows);
    assert.ok(means.at(-1)! < means[0]! - 0.5, `epoch-mean loss fell: ${means.map((m) => m.toFixed(2)).join(" ")}`);
    assert.ok(trained.lossLast < trained.lossFirst);
  });

  test("base model is bit-identical after training; adapter has the llama.cpp LoRA layout", async () => {
    const after = await readFile(f32Path);
    assert.equal(sha256(after), sha256(baseBefore));
    const base = parseGguf(after);
    const before = parseGguf(baseBefore);
    for (const t of base.tensors) {
      const n = t.ne.reduce((a, b) => a * b, 1) * (t.type === 0 ? 4 : 1);
      assert.ok(after.subarray(t.dataOffset, t.dataOffset + n).equals(before.bytes.subarray(t.dataOffset, t.dataOffset + n)), t.name);
    }
    const adapter = parseGguf(await readFile(trained.outPath));
    assert.equal(adapter.kv.get("general.type"), "adapter");
    assert.equal(adapter.kv.get("general.architecture"), "llama");
    assert.equal(adapter.kv.get("adapter.type"), "lora");
    assert.equal(adapter.kv.get("adapter.lora.alpha"), 8);
    assert.equal(adapter.tensors.length, 2 * 2 * 4); // 2 layers x 4 targets x (A, B)
    const q = base.tensors.find((t) => t.name === "blk.0.attn_q.weight")!;
    const a = adapter.tensors.find((t) => t.name === "blk.0.attn_q.weight.lora_a")!;
    const b = adapter.tensors.find((t) => t.name === "blk.0.attn_q.weight.lora_b")!;
    assert.deepEqual(a.ne, [q.ne[0], 4]);
    assert.deepEqual(b.ne, [4, q.ne[1]]);
    assert.ok(f32Tensor(adapter, "blk.0.attn_q.weight.lora_b").some((v) => v !== 0), "B moved from zero");
  });

  test("the adapter loads in node-llama-cpp and raises the log-probability of trained completions", async () => {
    const model = await (await getLlama()).loadModel({ modelPath: f32Path });
    try {
      let gained = 0;
      for (const { prompt, completion } of EXAMPLES.slice(0, 3)) {
        const base = await completionLogP(model, prompt, completion);
        const tuned = await completionLogP(model, prompt, completion, trained.outPath);
        assert.ok(tuned > base, `${completion}: ${base.toFixed(2)} -> ${tuned.toFixed(2)}`);
        gained += tuned - base;
      }
      assert.ok(gained > 1, `total log-prob gain ${gained.toFixed(2)}`);
    } finally {
      await model.dispose();
    }
  });

  test("continues an adapter (initAdapterPath) and keeps its rank and alpha", async () => {
    const r = await new LlamaTrainer().train(request({ initAdapterPath: trained.outPath, rank: 0, alpha: 1, epochs: 2 }));
    assert.equal(r.rank, 4);
    assert.equal(r.alpha, 8);
    // lossFirst/lossLast are exact dataset losses (completion tokens) before/after training, so the
    // continued run starts exactly where the first one ended.
    assert.ok(Math.abs(r.lossFirst - trained.lossLast) < 1e-5, `${r.lossFirst} vs ${trained.lossLast}`);
  });
});

describe("loss masking", { skip }, () => {
  test("masked rows get exactly zero gradient on the prebuilt CPU libraries (rows weighted 0)", async () => {
    // Every row masked: the first step's gradient of every adapter tensor must be exactly zero, on F32 and Q8_0
    // bases, with one and two threads; without masking the same step's gradient is not.
    const q8 = await writeFixtureModel(join(dir, "masked-q8.gguf"), { tensorType: "q8_0" });
    const tools = loadToolsAddon();
    for (const [baseModelPath, threads] of [[f32Path, 1], [q8, 2]] as const) {
      const options = { ...request({ baseModelPath, threads, outPath: out("masked-all") }), backendDir: backendDir() };
      const masked = await tools.stepGradients(options, { maskEverything: true });
      assert.ok(Object.keys(masked).length > 0, "no adapter gradient was read");
      for (const [name, g] of Object.entries(masked)) assert.ok(g.every((v) => v === 0), `${name} is not exactly zero (${baseModelPath}, ${threads} threads)`);
      const unmasked = await tools.stepGradients(options);
      assert.ok(Object.values(unmasked).some((g) => g.some((v) => v !== 0)), "without masking the step has no gradient at all");
    }
    // Same run without masking: B moves.
    const path2 = out("unmasked");
    const r = await runNativeTraining({ ...request({ outPath: path2, epochs: 3 }), masking: "none" });
    assert.match(r.masking, /^none/);
    const g2 = parseGguf(await readFile(path2));
    assert.ok(f32Tensor(g2, "blk.0.attn_q.weight.lora_b").some((v) => v !== 0));
  });

  test("the loss is counted on completion tokens + EOS only", async () => {
    const r = (await new LlamaTrainer().train(request({ epochs: 1 }))) as LlamaTrainResult;
    const model = await (await getLlama()).loadModel({ modelPath: f32Path });
    try {
      let expected = 0;
      for (const { prompt, completion } of EXAMPLES) {
        const full = model.tokenize(prompt + completion);
        const pre = model.tokenize(prompt);
        let split = 0;
        while (split < pre.length && pre[split] === full[split]) split++;
        expected += full.length - split + 1; // + EOS
      }
      assert.equal(r.lossTokens, expected);
    } finally {
      await model.dispose();
    }
  });
});

describe("quantized bases and full mode", { skip }, () => {
  for (const tensorType of ["f16", "q8_0"] as const) {
    test(`a ${tensorType} base trains`, async () => {
      const base = await writeFixtureModel(join(dir, `base-${tensorType}.gguf`), { tensorType });
      const hash = sha256(await readFile(base));
      const losses: number[] = [];
      const r = await new LlamaTrainer().train(request({ baseModelPath: base, onProgress: (p) => losses.push(p.loss) }));
      const means = epochMeans(losses, r.windows);
      assert.ok(means.at(-1)! < means[0]! - 0.3, `${tensorType}: ${means.map((m) => m.toFixed(2)).join(" ")}`);
      assert.equal(sha256(await readFile(base)), hash);
    });
  }

  test("full mode trains an F32 model and writes a model node-llama-cpp loads", async () => {
    const trainer = createTrainer("full");
    assert.equal(trainer.name, "llama-full");
    const r = await trainer.train(request({ outPath: out("full"), learningRate: 1e-3, epochs: 5 }));
    assert.equal(r.mode, "full");
    assert.ok(r.lossLast < r.lossFirst, `${r.lossFirst} -> ${r.lossLast}`);
    const g = parseGguf(await readFile(r.outPath));
    assert.equal(g.kv.get("llama.context_length"), 256, "training context does not leak into the metadata");
    const model = await (await getLlama()).loadModel({ modelPath: r.outPath });
    const base = await (await getLlama()).loadModel({ modelPath: f32Path });
    try {
      const [p, c] = [EXAMPLES[0]!.prompt, EXAMPLES[0]!.completion];
      assert.ok((await completionLogP(model, p, c)) > (await completionLogP(base, p, c)));
    } finally {
      await model.dispose();
      await base.dispose();
    }
  });
});

describe("gradients reach every trained weight", { skip }, () => {
  // llama.cpp stores K and V in the KV cache and attends over views of the cache, a graph leaf: without the
  // trainer's rerouting no gradient reaches attn_k/attn_v, and llama_opt never trains token_embd.
  const moved = (before: Float32Array, after: Float32Array): number => after.reduce((m, v, i) => Math.max(m, Math.abs(v - before[i]!)), 0);

  test("full mode changes attn_k, attn_v (every layer) and the input embeddings", async () => {
    const r = await createTrainer("full").train(request({ outPath: out("full-kv"), learningRate: 1e-3, epochs: 2 }));
    const [base, trained] = [parseGguf(await readFile(f32Path)), parseGguf(await readFile(r.outPath))];
    const blocks = Number(base.kv.get("llama.block_count"));
    const names = ["token_embd.weight", ...Array.from({ length: blocks }, (_, b) => [`blk.${b}.attn_k.weight`, `blk.${b}.attn_v.weight`]).flat()];
    for (const name of names) assert.ok(moved(f32Tensor(base, name), f32Tensor(trained, name)) > 1e-5, `${name} did not train`);
  });

  test("the K/V update is a descent direction by node-llama-cpp's own loss, not just a change", async () => {
    // One AdamW step moves each weight by about lr * sign(gradient). Moving attn_k/attn_v alone further along that
    // step must lower the loss node-llama-cpp computes, and moving them against it must raise it.
    const [prompt, completion] = [EXAMPLES[0]!.prompt, EXAMPLES[0]!.completion];
    const r = await createTrainer("full").train(request({ examples: [EXAMPLES[0]!], outPath: out("kv-step"), learningRate: 1e-3, epochs: 1, batchSize: 1 }));
    const [baseBytes, stepped] = [await readFile(f32Path), parseGguf(await readFile(r.outPath))];
    const base = parseGguf(baseBytes);
    const along = async (factor: number): Promise<string> => {
      const bytes = Buffer.from(baseBytes);
      for (const t of base.tensors.filter((x) => /attn_[kv]\.weight$/.test(x.name))) {
        const [before, after] = [f32Tensor(base, t.name), f32Tensor(stepped, t.name)];
        before.forEach((v, i) => bytes.writeFloatLE(v + factor * (after[i]! - v), t.dataOffset + 4 * i));
      }
      const path = out(`kv-along-${factor}`);
      await writeFile(path, bytes);
      return path;
    };
    const logP = async (path: string): Promise<number> => {
      const model = await (await getLlama()).loadModel({ modelPath: path });
      try {
        return await completionLogP(model, prompt, completion);
      } finally {
        await model.dispose();
      }
    };
    const [minus, zero, plus] = [await logP(await along(-5)), await logP(f32Path), await logP(await along(5))];
    assert.ok(minus < zero && zero < plus, `log p: against the step ${minus}, base ${zero}, along it ${plus}`);
  });

  test("at real shape (Qwen2.5-0.5B shape, 24 layers, 32k vocabulary, Q4_K_M) LoRA B on attn_k/attn_v leaves zero in every layer", async () => {
    const shape = BENCH_SHAPES["qwen2.5-0.5b"];
    const base = await benchModel(shape, "Q4_K_M", { threads: 1, quantize: (q) => loadToolsAddon().quantize(q) });
    const r = await new LlamaTrainer().train(request({ baseModelPath: base, outPath: out("real-kv"), targets: ["attn_k", "attn_v"], epochs: 2, batchSize: 1, learningRate: 1e-3 }));
    const adapter = parseGguf(await readFile(r.outPath));
    for (let b = 0; b < shape.blockCount; b++) {
      for (const m of ["attn_k", "attn_v"]) assert.ok(f32Tensor(adapter, `blk.${b}.${m}.weight.lora_b`).some((v) => v !== 0), `blk.${b}.${m} B is still zero`);
    }
  });

  test("at real shape (Qwen2.5-0.5B shape, 24 layers, Q4_K_M) the transposed-weight backward gives OUT_PROD's gradients to 1e-4", async () => {
    const shape = BENCH_SHAPES["qwen2.5-0.5b"];
    const tools = loadToolsAddon();
    const base = await benchModel(shape, "Q4_K_M", { threads: 1, quantize: (q) => tools.quantize(q) });
    const options = { ...request({ baseModelPath: base, outPath: out("real-grad"), rank: 8, contextSize: 64, threads: 2 }), backendDir: backendDir() };
    const outProd = await tools.stepGradients({ ...options, transposedWeights: "none" });
    const transposed = await tools.stepGradients({ ...options, transposedWeights: "f32" });
    const names = Object.keys(outProd);
    assert.equal(names.length, shape.blockCount * 4 * 2, "an A and a B gradient for q/k/v/o of every layer");
    for (const name of names) {
      const [a, b] = [outProd[name]!, transposed[name]!];
      const scale = a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const worst = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
      if (name.endsWith(".lora_b")) assert.ok(scale > 0, `${name} has no gradient`);
      assert.ok(worst <= 1e-4 * scale, `${name}: max |difference| ${worst} against max |gradient| ${scale}`);
    }
  });

  test("LoRA on attn_k and attn_v learns (their B matrices start at zero)", async () => {
    const r = await new LlamaTrainer().train(request({ outPath: out("lora-kv"), targets: ["attn_k", "attn_v"], epochs: 3 }));
    const adapter = parseGguf(await readFile(r.outPath));
    for (const name of ["blk.0.attn_k.weight.lora_b", "blk.0.attn_v.weight.lora_b"]) {
      const b = f32Tensor(adapter, name);
      assert.ok(b.some((v) => v !== 0), `${name} is still zero`);
    }
  });
});

describe("cancel and errors", { skip }, () => {
  test("aborting stops training within a second and writes nothing", async () => {
    const ac = new AbortController();
    const path = out("cancelled");
    let abortedAt = 0;
    const run = new LlamaTrainer().train(
      request({
        outPath: path,
        epochs: 100000,
        signal: ac.signal,
        onProgress: (p) => {
          if (p.step >= 3 && !abortedAt) {
            abortedAt = Date.now();
            ac.abort();
          }
        },
      }),
    );
    await assert.rejects(run, { name: "AbortError" });
    assert.ok(Date.now() - abortedAt < 1000, `stopped after ${Date.now() - abortedAt} ms`);
    assert.ok(!existsSync(path) && !existsSync(`${path}.tmp`));
  });

  const trainer = new LlamaTrainer();
  const cases: [string, () => Promise<Partial<LlamaTrainRequest>>, RegExp][] = [
    ["empty dataset", async () => ({ examples: [] }), /dataset is empty/],
    ["rank 0", async () => ({ rank: 0 }), /rank must be a positive integer/],
    ["sequence longer than the context", async () => ({ contextSize: 16 }), /example \d+ is \d+ tokens long.*longer than the context size 16/],
    ["missing base model", async () => ({ baseModelPath: join(dir, "nope.gguf") }), /base model not found/],
    [
      "corrupt base model",
      async () => {
        const p = join(dir, "corrupt.gguf");
        await writeFile(p, Buffer.concat([Buffer.from("GGUF"), Buffer.alloc(64, 0xab)]));
        return { baseModelPath: p };
      },
      /base model is not a valid GGUF file/,
    ],
    [
      "truncated base model",
      async () => {
        const p = join(dir, "truncated.gguf");
        const bytes = await readFile(f32Path);
        await writeFile(p, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
        return { baseModelPath: p };
      },
      /base model (is not a valid GGUF file|failed to load)|failed to load base model/,
    ],
    [
      "adapter of another architecture",
      async () => {
        const p = join(dir, "gpt2-adapter.gguf");
        await writeGguf(p, {
          metadata: {
            "general.type": gguf.string("adapter"),
            "general.architecture": gguf.string("gpt2"),
            "adapter.type": gguf.string("lora"),
            "adapter.lora.alpha": gguf.f32(8),
          },
          tensors: [{ name: "blk.0.attn_qkv.weight.lora_a", dims: [32, 4], type: "f32", values: new Float32Array(128) }],
        });
        return { initAdapterPath: p };
      },
      /architecture "gpt2" but the base model is "llama"/,
    ],
    [
      "unsupported base tensor type",
      async () => {
        // Relabel the last tensor of a Q8_0 fixture as Q4_0 (smaller, so offsets stay valid).
        const q8 = await writeFixtureModel(join(dir, "for-q4.gguf"), { tensorType: "q8_0" });
        const bytes = await readFile(q8);
        const g = parseGguf(bytes);
        const last = g.tensors.reduce((a, b) => (b.dataOffset > a.dataOffset ? b : a));
        assert.equal(last.type, 8);
        bytes.writeUInt32LE(20, last.typeFieldOffset); // IQ4_NL: same block size, fewer bytes, so offsets stay valid
        const p = join(dir, "iq4nl.gguf");
        await writeFile(p, bytes);
        return { baseModelPath: p };
      },
      /unsupported base tensor type iq4_nl.*supports bases of type F32, F16, Q8_0, Q6_K, .*Q4_K \(Q4_K_M\).*Requantize/,
    ],
    [
      "full mode on a non-F32 base",
      async () => ({ mode: "full", baseModelPath: await writeFixtureModel(join(dir, "full-f16.gguf"), { tensorType: "f16" }) }),
      /full mode trains F32 weights only/,
    ],
    ["out of memory", async () => ({ contextSize: 1 << 17 }), /out of memory/],
    ["targets that match nothing", async () => ({ targets: ["attn_qkv"] }), /no base tensor matches targets \[attn_qkv\].*attn_q/],
    ["existing outPath", async () => ({ outPath: f32Path }), /outPath already exists/],
  ];
  for (const [name, make, pattern] of cases) {
    test(`clear error: ${name}`, async () => {
      const overrides = await make();
      await assert.rejects(trainer.train(request({ epochs: 1, ...overrides })), (e: Error) => {
        if (process.env.INVERSION_PRINT_ERRORS) console.log(`${name}: ${e.message}`);
        assert.match(e.message, pattern);
        return true;
      });
    });
  }
});

describe("training at real depth", { skip }, () => {
  // llama.cpp sizes its graphs for inference; the backward graph overflowed them from 12 layers (LoRA) and
  // 8 (full) until the trainer reserved a training budget. Real models have 16-32 layers.
  const deep = (blockCount: number) =>
    writeFixtureModel(join(dir, `deep-${blockCount}.gguf`), { blockCount, embeddingLength: 32, headCount: 4, headCountKv: 2, feedForwardLength: 64 });

  test("LoRA trains a 24-layer model: loss falls, base untouched", async () => {
    const base = await deep(24);
    const hash = sha256(await readFile(base));
    const r = await new LlamaTrainer().train(request({ baseModelPath: base, epochs: 6 }));
    assert.ok(r.lossLast < r.lossFirst - 0.3, `${r.lossFirst} -> ${r.lossLast}`);
    assert.equal(r.adaptedTensors, 24 * 4);
    assert.equal(sha256(await readFile(base)), hash);
  });

  test("full mode trains a 32-layer model: loss falls", async () => {
    const r = await createTrainer("full").train(request({ baseModelPath: await deep(32), outPath: out("deep-full"), learningRate: 1e-3, epochs: 4 }));
    assert.ok(r.lossLast < r.lossFirst - 0.3, `${r.lossFirst} -> ${r.lossLast}`);
  });
});

describe("learning-rate schedule, checkpoints and resume", { skip }, () => {
  const long = { epochs: 40, learningRate: 1e-3, warmupSteps: 5, minLearningRate: 1e-4 };

  test("warmup is linear and cosine decay ends at the minimum", async () => {
    const lrs: number[] = [];
    await runNativeTraining({ ...request({ epochs: 4 }), warmupSteps: 4, minLearningRate: 1e-3, learningRate: 1e-2 }, { onProgress: (p) => lrs.push(p.learningRate) });
    assert.deepEqual(lrs.slice(0, 4).map((x) => Number(x.toPrecision(5))), [2.5e-3, 5e-3, 7.5e-3, 1e-2]);
    assert.ok(Math.abs(lrs.at(-1)! - 1e-3) < 1e-7, `last lr ${lrs.at(-1)}`);
    for (let i = 5; i < lrs.length; i++) assert.ok(lrs[i]! <= lrs[i - 1]!, "decays monotonically");
  });

  for (const mode of ["lora", "full"] as const) {
    test(`${mode}: a run paused and resumed from its checkpoint ends bit-identical to one never interrupted`, async () => {
      const options = { ...request({ mode, ...long }), masking: "none" as const };
      const whole = await runNativeTraining({ ...options, outPath: out(`whole-${mode}`) });
      const checkpointDir = await mkdtemp(join(dir, "ckpt-"));
      const resumedPath = out(`resumed-${mode}`);
      const first = await runNativeTraining({ ...options, outPath: resumedPath, checkpointDir, maxSeconds: 0.05 });
      assert.ok(first.paused && first.steps < whole.steps, `paused at step ${first.steps} of ${whole.steps}`);
      assert.ok(!existsSync(resumedPath), "a paused run writes no output");
      const second = await runNativeTraining({ ...options, outPath: resumedPath, checkpointDir, resume: true });
      assert.equal(second.resumedFromStep, first.steps);
      assert.equal(second.steps, whole.steps);
      assert.equal(sha256(await readFile(resumedPath)), sha256(await readFile(whole.outPath)));
    });
  }

  test("a fresh run replaces an old checkpoint of the other mode in its directory, removing its weights", async () => {
    const checkpointDir = await mkdtemp(join(dir, "ckpt-"));
    const options = { ...request(long), masking: "none" as const, checkpointDir };
    const old = await runNativeTraining({ ...options, mode: "full", outPath: out("ckpt-full"), maxSteps: 1 });
    assert.ok(old.paused && existsSync(old.checkpointWeights));
    const fresh = await runNativeTraining({ ...options, outPath: out("ckpt-lora"), maxSteps: 1 });
    assert.ok(fresh.paused && existsSync(fresh.checkpointWeights));
    assert.ok(!existsSync(old.checkpointWeights), "the old checkpoint's weights are removed");
  });

  test("a checkpoint made for other data is refused with the action to take", async () => {
    const checkpointDir = await mkdtemp(join(dir, "ckpt-"));
    const options = { ...request(long), masking: "none" as const, checkpointDir };
    const first = await runNativeTraining({ ...options, outPath: out("ckpt-a"), maxSeconds: 0.05 });
    assert.ok(first.paused);
    await assert.rejects(
      runNativeTraining({ ...options, examples: EXAMPLES.slice(1), outPath: out("ckpt-b"), resume: true }),
      /made for different training data or settings; delete it to start over/,
    );
  });
});

describe("LoRA on the quantizations users download", { skip }, () => {
  // K-quants need rows of 256 values; quantized with llama.cpp's own quantizer from the addon.
  let f32Wide: string;
  before(async () => {
    f32Wide = await writeFixtureModel(join(dir, "wide-f32.gguf"), { embeddingLength: 256, headCount: 4, headCountKv: 2, feedForwardLength: 512 });
  });
  for (const type of ["Q4_K_M", "Q5_K_M", "Q6_K", "Q4_0", "Q8_0", "F16"]) {
    test(`${type}: loss falls, base bit-identical, the adapter moves log-probabilities in node-llama-cpp`, async () => {
      const base = await loadToolsAddon().quantize({ inPath: f32Wide, outPath: join(dir, `wide-${type}.gguf`), type, threads: 1 });
      const hash = sha256(await readFile(base));
      const r = await new LlamaTrainer().train(request({ baseModelPath: base, epochs: 8 }));
      assert.ok(r.lossLast < r.lossFirst - 0.3, `${type}: ${r.lossFirst} -> ${r.lossLast}`);
      assert.equal(sha256(await readFile(base)), hash);
      const model = await (await getLlama()).loadModel({ modelPath: base });
      try {
        const { prompt, completion } = EXAMPLES[0]!;
        const before = await completionLogP(model, prompt, completion);
        const after = await completionLogP(model, prompt, completion, r.outPath);
        assert.ok(after > before + 0.5, `${type}: ${before.toFixed(2)} -> ${after.toFixed(2)}`);
      } finally {
        await model.dispose();
      }
    });
  }
});
