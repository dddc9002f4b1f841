// LoRA adapters between GGUF and PEFT (server/src/engine/adapters): the round trip is byte-identical, a llama-family
// adapter's q/k rows are permuted the way llama.cpp's converter permutes the base (checked by logits in
// node-llama-cpp against a merged model built from the PEFT side), and bad inputs fail with a clear error.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Llama, LlamaModel, Token } from "node-llama-cpp" with { "resolution-mode": "import" };
import { tempDir } from "../helpers/fixture";
import { writeFixtureModel, createRandom, randomNormalValues } from "../../tools/gguf/fixtureModel";
import { GGML_TYPE, GGUF_VALUE, readGgufHeader, readTensors, writeGgufFile, type GgufKv, type GgufTensorData } from "../../server/src/engine/adapters/gguf";
import { encodeSafeTensors, parseSafeTensors } from "../../server/src/engine/adapters/safetensors";
import { exportPeftAdapter, importPeftAdapter } from "../../server/src/engine/adapters/peft";
import { LlamaTrainer } from "../../server/src/engine/train";

const skipNative = process.env.INVERSION_SKIP_NATIVE_TESTS ? "INVERSION_SKIP_NATIVE_TESTS is set" : false;

let dir: string;
let cleanup: () => Promise<void>;
let base: string;
let counter = 0;
const fresh = (name: string): string => join(dir, `${name}-${++counter}`);

// The fixture: llama, 2 layers, width 32, 4 heads of 8 (q: 32 rows), 2 KV heads (k, v: 16 rows), ffn 64.
const OUT_ROWS: Record<string, number> = { attn_q: 32, attn_k: 16, attn_v: 16, attn_output: 32, ffn_gate: 64, ffn_up: 64, ffn_down: 32 };
const IN_COLS: Record<string, number> = { attn_q: 32, attn_k: 32, attn_v: 32, attn_output: 32, ffn_gate: 32, ffn_up: 32, ffn_down: 64 };

const adapterKvs = (alpha: number, arch = "llama"): GgufKv[] => [
  { key: "general.type", type: GGUF_VALUE.string, value: "adapter" },
  { key: "general.architecture", type: GGUF_VALUE.string, value: arch },
  { key: "adapter.type", type: GGUF_VALUE.string, value: "lora" },
  { key: "adapter.lora.alpha", type: GGUF_VALUE.f32, value: alpha },
];

function f32(values: Float32Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

/** A GGUF adapter in llama.cpp's own (GGUF) row order, random A and B, written by the product's writer. */
function writeAdapter(path: string, opts: { rank?: number; alpha?: number; modules?: string[]; seed?: number; std?: number; type?: number } = {}): string {
  const rank = opts.rank ?? 4;
  const random = createRandom(opts.seed ?? 7);
  const tensors: GgufTensorData[] = [];
  for (const layer of [0, 1]) {
    for (const m of opts.modules ?? ["attn_q", "attn_k", "attn_v", "attn_output"]) {
      const [nIn, nOut] = [IN_COLS[m]!, OUT_ROWS[m]!];
      const a = randomNormalValues(random, nIn * rank, opts.std ?? 0.1);
      const b = randomNormalValues(random, rank * nOut, opts.std ?? 0.1);
      const enc = (v: Float32Array): Buffer => (opts.type === GGML_TYPE.F16 ? f16(v) : f32(v));
      tensors.push({ name: `blk.${layer}.${m}.weight.lora_a`, dims: [nIn, rank], type: opts.type ?? GGML_TYPE.F32, data: enc(a) });
      tensors.push({ name: `blk.${layer}.${m}.weight.lora_b`, dims: [rank, nOut], type: opts.type ?? GGML_TYPE.F32, data: enc(b) });
    }
  }
  tensors.sort((x, y) => (x.name < y.name ? -1 : 1));
  writeGgufFile(path, adapterKvs(opts.alpha ?? 8), tensors);
  return path;
}

/** Half floats by truncation: the test only needs valid F16 bytes. */
function f16(v: Float32Array): Buffer {
  const out = Buffer.alloc(v.length * 2);
  const bits = new Uint32Array(v.buffer, v.byteOffset, v.length);
  for (let i = 0; i < v.length; i++) {
    const x = bits[i]!;
    const exp = ((x >>> 23) & 0xff) - 127 + 15;
    out.writeUInt16LE(exp <= 0 ? (x >>> 16) & 0x8000 : ((x >>> 16) & 0x8000) | (Math.min(exp, 30) << 10) | ((x >>> 13) & 0x3ff), i * 2);
  }
  return out;
}

before(async () => {
  ({ dir, cleanup } = await tempDir("inversion-adapters-"));
  base = await writeFixtureModel(join(dir, "base.gguf"), { seed: 1 });
});
after(async () => {
  await llama?.dispose();
  await cleanup();
});

describe("safetensors", () => {
  test("a file written is read back: dtypes, shapes, bytes and metadata", () => {
    const a = f32(Float32Array.from([1, 2, 3, 4, 5, 6]));
    const b = Buffer.from([1, 2, 3, 4]);
    const bytes = encodeSafeTensors({ metadata: { format: "pt" }, tensors: [{ name: "a", dtype: "F32", shape: [2, 3], data: a }, { name: "b", dtype: "BF16", shape: [2, 1], data: b }] });
    assert.equal(Number(bytes.readBigUInt64LE(0)) % 8, 0, "header padded to 8 bytes");
    const file = parseSafeTensors(bytes);
    assert.deepEqual(file.metadata, { format: "pt" });
    assert.deepEqual(file.tensors.map((t) => [t.name, t.dtype, t.shape, [...t.data]]), [["a", "F32", [2, 3], [...a]], ["b", "BF16", [2, 1], [...b]]]);
  });

  test("a lying header is refused with the reason", () => {
    const good = encodeSafeTensors({ metadata: {}, tensors: [{ name: "a", dtype: "F32", shape: [2], data: Buffer.alloc(8) }] });
    const huge = Buffer.from(good);
    huge.writeBigUInt64LE(2n ** 62n, 0);
    assert.throws(() => parseSafeTensors(huge), /header claims \d+ bytes/);
    assert.throws(() => parseSafeTensors(Buffer.alloc(3)), /shorter than the 8-byte header length/);
    const header = (h: object): Buffer => {
      const json = Buffer.from(JSON.stringify(h));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      return Buffer.concat([len, json, Buffer.alloc(16)]);
    };
    assert.throws(() => parseSafeTensors(header({ a: { dtype: "F32", shape: [2], data_offsets: [0, 9] } })), /needs 8 bytes, its range holds 9/);
    assert.throws(() => parseSafeTensors(header({ a: { dtype: "F32", shape: [2], data_offsets: [8, 40] } })), /outside the 16 bytes/);
    assert.throws(() => parseSafeTensors(header({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } })), /overlap/);
    assert.throws(() => parseSafeTensors(header({ a: { dtype: "Q4", shape: [2], data_offsets: [0, 8] } })), /unknown dtype "Q4"/);
  });
});

describe("GGUF ⇄ PEFT", () => {
  test("an adapter written by the trainer goes to PEFT and back byte-identical", { skip: skipNative }, async () => {
    const trained = fresh("trained.gguf");
    await new LlamaTrainer().train({
      baseModelPath: base,
      examples: [{ prompt: "Task: list files\nCommand:", completion: " ls -la\n" }, { prompt: "Task: show disk usage\nCommand:", completion: " df -h\n" }],
      outPath: trained,
      mode: "lora",
      rank: 4,
      alpha: 8,
      targets: ["attn_q", "attn_k", "attn_v", "attn_output"],
      learningRate: 1e-2,
      epochs: 2,
      batchSize: 2,
      contextSize: 64,
      threads: 1,
      seed: 1,
      gpu: "off",
    });
    const peft = fresh("peft");
    const exported = exportPeftAdapter({ adapterPath: trained, outDir: peft, baseModelPath: base, hfModel: "example/llama-fixture" });
    assert.equal(exported.pairs, 8);
    assert.deepEqual(exported.modules, ["q_proj", "k_proj", "v_proj", "o_proj"]);
    assert.equal(exported.permutedQK, true);
    const config = JSON.parse(readFileSync(join(peft, "adapter_config.json"), "utf8"));
    assert.equal(config.peft_type, "LORA");
    assert.equal(config.r, 4);
    assert.equal(config.lora_alpha, 8);
    assert.deepEqual(config.target_modules, ["q_proj", "k_proj", "v_proj", "o_proj"]);
    assert.equal(config.base_model_name_or_path, "example/llama-fixture");
    const st = parseSafeTensors(readFileSync(join(peft, "adapter_model.safetensors")));
    const q = st.tensors.find((t) => t.name === "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight")!;
    assert.deepEqual(q.shape, [32, 4]);
    assert.deepEqual(st.tensors.find((t) => t.name === "base_model.model.model.layers.1.self_attn.k_proj.lora_A.weight")!.shape, [4, 32]);
    const back = fresh("back.gguf");
    importPeftAdapter({ peftDir: peft, baseModelPath: base, outPath: back });
    assert.ok(readFileSync(trained).equals(readFileSync(back)), "the re-imported adapter is the trainer's file, byte for byte");
  });

  test("F16 and rank-1 adapters round-trip byte-identical too; v/o rows are copied, q/k rows permuted", () => {
    for (const opts of [{ type: GGML_TYPE.F16 }, { rank: 1 }, { modules: ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"] }]) {
      const original = writeAdapter(fresh("orig.gguf"), opts);
      const peft = fresh("peft");
      exportPeftAdapter({ adapterPath: original, outDir: peft, baseModelPath: base });
      const back = fresh("back.gguf");
      importPeftAdapter({ peftDir: peft, baseModelPath: base, outPath: back });
      assert.ok(readFileSync(original).equals(readFileSync(back)), `round trip of ${JSON.stringify(opts)}`);
      const g = readTensors(readGgufHeader(original));
      const st = parseSafeTensors(readFileSync(join(peft, "adapter_model.safetensors")));
      const hf = (n: string): Buffer => st.tensors.find((t) => t.name === `base_model.model.model.layers.0.${n}.weight`)!.data;
      const gg = (n: string): Buffer => g.find((t) => t.name === `blk.0.${n}`)!.data;
      assert.ok(hf("self_attn.v_proj.lora_B").equals(gg("attn_v.weight.lora_b")));
      assert.ok(hf("self_attn.q_proj.lora_A").equals(gg("attn_q.weight.lora_a")));
      if (opts.rank !== 1) assert.ok(!hf("self_attn.q_proj.lora_B").equals(gg("attn_q.weight.lora_b")), "q's B rows are reordered");
    }
  });
});

// --- logits in node-llama-cpp ----------------------------------------------------------------------------------

type NodeLlamaCpp = typeof import("node-llama-cpp", { with: { "resolution-mode": "import" } });
let llama: Llama | undefined;
async function getLlama(): Promise<Llama> {
  if (!llama) {
    const nlc: NodeLlamaCpp = await import("node-llama-cpp");
    llama = await nlc.getLlama({ gpu: false, maxThreads: 1, build: "never", logLevel: nlc.LlamaLogLevel.error });
  }
  return llama;
}

/** Every logit at the last 3 positions of a fixed text. */
async function logits(model: LlamaModel, adapter?: string): Promise<number[]> {
  const context = await model.createContext({ threads: 1, contextSize: 64, ...(adapter ? { lora: { adapters: [{ filePath: adapter }] } } : {}) });
  try {
    const tokens: Token[] = model.tokenize("list files in the current directory sorted by size");
    const input = tokens.map((t, p) => (p >= tokens.length - 3 ? ([t, { generateNext: { logits: true } }] as const) : t));
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const res = (await context.getSequence().controlledEvaluate(input as any)) as any[];
    const out: number[] = [];
    for (let p = tokens.length - 3; p < tokens.length; p++) {
      const map = res[p].next.logits as Map<Token, number>;
      out.push(...[...map.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]));
    }
    return out;
  } finally {
    await context.dispose();
  }
}

const maxDiff = (a: number[], b: number[]): number => {
  assert.equal(a.length, b.length);
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
};

/**
 * HF → GGUF row order as convert_hf_to_gguf.py writes it, in its own terms: the rows (out, ...) reshaped to
 * (n_head, 2, out / n_head / 2, ...), axes 1 and 2 swapped, reshaped back. `rows[r]` is row r.
 */
function hfToGgufRows<T>(rows: T[], nHead: number): T[] {
  const half = rows.length / nHead / 2;
  const out: T[] = new Array(rows.length);
  for (let h = 0; h < nHead; h++) for (let j = 0; j < 2; j++) for (let i = 0; i < half; i++) out[(h * half + i) * 2 + j] = rows[(h * 2 + j) * half + i]!;
  return out;
}

/**
 * The base with a PEFT adapter merged into it the way a Hugging Face model + PEFT computes it, then brought into
 * GGUF row order the way the converter brings the merged q/k weights (W_gguf = permute(W_hf); W_hf = unpermute(W_gguf)
 * cancels out, leaving W_gguf + scale · permute(B·A)). `permute: false` leaves q/k rows as PEFT holds them (wrong).
 */
function mergedModel(path: string, peftDir: string, permute: boolean): string {
  const header = readGgufHeader(base);
  const tensors = readTensors(header);
  const config = JSON.parse(readFileSync(join(peftDir, "adapter_config.json"), "utf8"));
  const st = parseSafeTensors(readFileSync(join(peftDir, "adapter_model.safetensors")));
  const scale = config.lora_alpha / config.r;
  const proj: Record<string, [string, number | null]> = { attn_q: ["self_attn.q_proj", 4], attn_k: ["self_attn.k_proj", 2], attn_v: ["self_attn.v_proj", null], attn_output: ["self_attn.o_proj", null] };
  for (const t of tensors) {
    const m = /^blk\.(\d)\.(attn_q|attn_k|attn_v|attn_output)\.weight$/.exec(t.name);
    if (!m) continue;
    const [hf, heads] = proj[m[2]!]!;
    const get = (ab: string): { shape: number[]; v: Float32Array } => {
      const s = st.tensors.find((x) => x.name === `base_model.model.model.layers.${m[1]}.${hf}.lora_${ab}.weight`)!;
      return { shape: s.shape, v: new Float32Array(Uint8Array.from(s.data).buffer) };
    };
    const A = get("A");
    const B = get("B");
    const [r, nIn] = A.shape as [number, number];
    const nOut = B.shape[0]!;
    // delta = scale · B·A, rows in PEFT (HF) order
    const delta: number[][] = [];
    for (let o = 0; o < nOut; o++) {
      const row: number[] = [];
      for (let i = 0; i < nIn; i++) {
        let s = 0;
        for (let k = 0; k < r; k++) s += B.v[o * r + k]! * A.v[k * nIn + i]!;
        row.push(scale * s);
      }
      delta.push(row);
    }
    const rows = permute && heads ? hfToGgufRows(delta, heads) : delta;
    const w = new Float32Array(Uint8Array.from(t.data).buffer);
    for (let o = 0; o < nOut; o++) for (let i = 0; i < nIn; i++) w[o * nIn + i] = w[o * nIn + i]! + rows[o]![i]!;
    t.data = f32(w);
  }
  writeGgufFile(path, header.kvs, tensors);
  return path;
}

describe("q/k permutation (llama family)", () => {
  test("the adapter and the HF-side merge of its PEFT export give the same logits in node-llama-cpp (1e-4); without the permute they do not", async () => {
    const adapter = writeAdapter(fresh("llama.gguf"), { std: 0.2, seed: 11 });
    const peft = fresh("peft");
    exportPeftAdapter({ adapterPath: adapter, outDir: peft, baseModelPath: base });
    const back = fresh("back.gguf");
    importPeftAdapter({ peftDir: peft, baseModelPath: base, outPath: back });
    const right = mergedModel(fresh("merged.gguf"), peft, true);
    const wrong = mergedModel(fresh("merged-unpermuted.gguf"), peft, false);

    const l = await getLlama();
    const baseModel = await l.loadModel({ modelPath: base });
    const rightModel = await l.loadModel({ modelPath: right });
    const wrongModel = await l.loadModel({ modelPath: wrong });
    try {
      const plain = await logits(baseModel);
      const withAdapter = await logits(baseModel, adapter);
      const reimported = await logits(baseModel, back);
      const merged = await logits(rightModel);
      const unpermuted = await logits(wrongModel);
      assert.ok(maxDiff(plain, withAdapter) > 1e-2, `the adapter changes the logits (${maxDiff(plain, withAdapter)})`);
      assert.ok(maxDiff(withAdapter, reimported) <= 1e-4, `re-imported adapter: ${maxDiff(withAdapter, reimported)}`);
      assert.ok(maxDiff(withAdapter, merged) <= 1e-4, `HF-side merge of the PEFT export: ${maxDiff(withAdapter, merged)}`);
      assert.ok(maxDiff(withAdapter, unpermuted) > 1e-3, `without the q/k permute the logits differ (${maxDiff(withAdapter, unpermuted)})`);
    } finally {
      await baseModel.dispose();
      await rightModel.dispose();
      await wrongModel.dispose();
    }
  });
});

// --- bad inputs -------------------------------------------------------------------------------------------------

function peftDir(opts: { config?: object; tensors?: { name: string; dtype?: string; shape: number[] }[]; skipWeights?: boolean; bin?: boolean } = {}): string {
  const d = fresh("bad-peft");
  mkdirSync(d);
  if (opts.config !== undefined) writeFileSync(join(d, "adapter_config.json"), JSON.stringify(opts.config));
  if (opts.bin) writeFileSync(join(d, "adapter_model.bin"), "pickle");
  if (!opts.skipWeights) {
    const tensors = (opts.tensors ?? []).map((t) => {
      const size = t.dtype === "I64" ? 8 : t.dtype === "F16" || t.dtype === "BF16" ? 2 : 4;
      return { name: t.name, dtype: t.dtype ?? "F32", shape: t.shape, data: Buffer.alloc(t.shape.reduce((a, b) => a * b, 1) * size) };
    });
    writeFileSync(join(d, "adapter_model.safetensors"), encodeSafeTensors({ metadata: {}, tensors }));
  }
  return d;
}

const CONFIG = { peft_type: "LORA", r: 4, lora_alpha: 8, target_modules: ["q_proj"], bias: "none" };
const q = (layer: number, ab: "A" | "B"): string => `base_model.model.model.layers.${layer}.self_attn.q_proj.lora_${ab}.weight`;
const goodQ = [{ name: q(0, "A"), shape: [4, 32] }, { name: q(0, "B"), shape: [32, 4] }];

describe("bad inputs are refused with a clear error", () => {
  const imp = (peft: string, overrides: Partial<Parameters<typeof importPeftAdapter>[0]> = {}): unknown =>
    importPeftAdapter({ peftDir: peft, baseModelPath: base, outPath: fresh("out.gguf"), ...overrides });

  test("missing files", () => {
    assert.throws(() => imp(join(dir, "nowhere")), /not a directory: pass the directory PEFT's save_pretrained wrote/);
    assert.throws(() => imp(peftDir({ tensors: goodQ })), /has no adapter_config\.json/);
    assert.throws(() => imp(peftDir({ config: CONFIG, skipWeights: true })), /has no adapter_model\.safetensors/);
    assert.throws(() => imp(peftDir({ config: CONFIG, skipWeights: true, bin: true })), /adapter_model\.bin \(a pickle, which is never read here\)/);
    assert.throws(() => imp(peftDir({ config: CONFIG, tensors: goodQ }), { baseModelPath: join(dir, "no-model.gguf") }), /the base model .*no-model\.gguf cannot be read: the file does not exist/);
    assert.throws(() => exportPeftAdapter({ adapterPath: join(dir, "none.gguf"), outDir: fresh("x") }), /the adapter .*none\.gguf cannot be read/);
  });

  test("shapes that do not fit the base, ranks that disagree, unsupported modules and dtypes", () => {
    assert.throws(() => imp(peftDir({ config: CONFIG, tensors: [{ name: q(0, "A"), shape: [4, 64] }, { name: q(0, "B"), shape: [32, 4] }] })), /wrong shape for the base model: the adapter maps 64 → 32, the base's blk\.0\.attn_q\.weight maps 32 → 32/);
    assert.throws(() => imp(peftDir({ config: CONFIG, tensors: [{ name: q(5, "A"), shape: [4, 32] }, { name: q(5, "B"), shape: [32, 4] }] })), /has no tensor blk\.5\.attn_q\.weight/);
    assert.throws(() => imp(peftDir({ config: CONFIG, tensors: [{ name: q(0, "A"), shape: [4, 32] }, { name: q(0, "B"), shape: [32, 8] }] })), /rank mismatch: lora_A has rank 4, lora_B has rank 8/);
    assert.throws(() => imp(peftDir({ config: { ...CONFIG, r: 8 }, tensors: goodQ })), /rank mismatch: the tensors have rank 4, adapter_config\.json says 8/);
    assert.throws(() => imp(peftDir({ config: CONFIG, tensors: [goodQ[0]!] })), /has lora_A but no lora_B/);
    assert.throws(() => imp(peftDir({ config: CONFIG, tensors: [...goodQ, { name: "base_model.model.lm_head.lora_A.weight", shape: [4, 32] }] })), /does not handle: base_model\.model\.lm_head\.lora_A\.weight\. Converted: LoRA on the decoder layers' q_proj, k_proj/);
    assert.throws(() => imp(peftDir({ config: CONFIG, tensors: [{ name: q(0, "A"), shape: [4, 32], dtype: "I64" }, goodQ[1]!] })), /lora_A is I64; only F32, F16 and BF16 adapters are converted/);
    assert.throws(() => imp(peftDir({ config: CONFIG, tensors: [] })), /holds no LoRA tensors/);
  });

  test("configurations a GGUF adapter cannot express", () => {
    assert.throws(() => imp(peftDir({ config: { ...CONFIG, use_dora: true }, tensors: goodQ })), /use_dora is true/);
    assert.throws(() => imp(peftDir({ config: { ...CONFIG, bias: "all" }, tensors: goodQ })), /bias is "all"/);
    assert.throws(() => imp(peftDir({ config: { ...CONFIG, modules_to_save: ["lm_head"] }, tensors: goodQ })), /modules_to_save/);
    assert.throws(() => imp(peftDir({ config: { ...CONFIG, alpha_pattern: { q_proj: 4 } }, tensors: goodQ })), /alpha_pattern/);
    assert.throws(() => imp(peftDir({ config: { ...CONFIG, peft_type: "IA3" }, tensors: goodQ })), /only LORA adapters are converted/);
    assert.throws(() => imp(peftDir({ config: { ...CONFIG, lora_alpha: "8" }, tensors: goodQ })), /lora_alpha must be a positive number/);
  });

  test("architectures, adapters and outputs", async () => {
    const qwen = await writeFixtureModel(fresh("qwen.gguf"), { architecture: "qwen2" });
    const phi = await writeFixtureModel(fresh("phi.gguf"), { architecture: "phi3" });
    assert.throws(() => imp(peftDir({ config: CONFIG, tensors: goodQ }), { baseModelPath: phi }), /is a "phi3" model; adapters are converted for llama, .*qwen2/);
    assert.throws(() => imp(peftDir({ config: CONFIG, tensors: goodQ }), { baseModelPath: writeAdapter(fresh("a.gguf")) }), /is an adapter, not a model/);
    const adapter = writeAdapter(fresh("a.gguf"));
    assert.throws(() => exportPeftAdapter({ adapterPath: adapter, outDir: fresh("p") }), /llama-family model .* pass --base MODEL\.gguf/);
    assert.throws(() => exportPeftAdapter({ adapterPath: adapter, outDir: fresh("p"), baseModelPath: qwen }), /is for a "llama" model, the base model .* is "qwen2"/);
    assert.throws(() => exportPeftAdapter({ adapterPath: base, outDir: fresh("p") }), /is not an adapter \(general\.type is null/);
    const taken = fresh("taken.gguf");
    writeFileSync(taken, "x");
    assert.throws(() => imp(peftDir({ config: CONFIG, tensors: goodQ }), { outPath: taken }), /already exists: choose a new file/);
    const peft = fresh("p");
    exportPeftAdapter({ adapterPath: adapter, outDir: peft, baseModelPath: base });
    assert.throws(() => exportPeftAdapter({ adapterPath: adapter, outDir: peft, baseModelPath: base }), /already holds a PEFT adapter/);
    // a non-llama adapter needs no base for export: its rows are in HF order already
    const qwenAdapter = fresh("qwen-a.gguf");
    writeGgufFile(qwenAdapter, adapterKvs(8, "qwen2"), readTensors(readGgufHeader(adapter)));
    assert.equal(exportPeftAdapter({ adapterPath: qwenAdapter, outDir: fresh("p") }).permutedQK, false);
  });
});
