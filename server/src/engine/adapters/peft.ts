// LoRA adapters between llama.cpp's GGUF and Hugging Face PEFT (adapter_config.json + adapter_model.safetensors), so
// an adapter trained by the loop can be served by vLLM, and one trained by TRL/PEFT can come back into the loop.
//
// What the conversion is (read from llama.cpp's convert_lora_to_gguf.py and convert_hf_to_gguf.py, v0.5.0, and
// PEFT's checkpoint format): PEFT names a pair `base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight` /
// `.lora_B.weight`, A of shape [r, in] and B of shape [out, r]; llama.cpp names the same pair
// `blk.N.attn_q.weight.lora_a` / `.lora_b` with ggml dims [in, r] and [r, out]: the same bytes, no transpose. The
// scale is lora_alpha / r in both (GGUF: `adapter.lora.alpha`). One difference: for llama-family models the HF→GGUF
// conversion permutes the rows of q_proj and k_proj (per head, the two rotary halves interleaved; k with the KV head
// count), so the rows of B of q and k are permuted the same way on import and back on export.
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkRegularFile, readRegularFile } from "../../util/regularFile";
import { dimsOf, GGML_TYPE, GGUF_VALUE, kvValue, readGgufHeader, readTensors, typeName, writeGgufFile, type GgufArray, type GgufKv, type GgufScalar, type GgufTensorData } from "./gguf";
import { encodeSafeTensors, parseSafeTensors, type SafeTensor } from "./safetensors";

export class AdapterConversionError extends Error {
  override name = "AdapterConversionError";
}

const fail = (message: string): never => {
  throw new AdapterConversionError(message);
};

/** The projections converted: PEFT's module path inside a decoder layer, llama.cpp's tensor, and which permute applies. */
export const LORA_MODULES = [
  { hf: "self_attn.q_proj", gguf: "attn_q", permute: "q" },
  { hf: "self_attn.k_proj", gguf: "attn_k", permute: "k" },
  { hf: "self_attn.v_proj", gguf: "attn_v" },
  { hf: "self_attn.o_proj", gguf: "attn_output" },
  { hf: "mlp.gate_proj", gguf: "ffn_gate" },
  { hf: "mlp.up_proj", gguf: "ffn_up" },
  { hf: "mlp.down_proj", gguf: "ffn_down" },
] as const;
type LoraModule = (typeof LORA_MODULES)[number];

/**
 * Architectures (general.architecture) whose HF → GGUF tensor names follow the table above, and whether llama.cpp's
 * converter permutes their q/k rows (convert_hf_to_gguf's `undo_permute`: LlamaModel and the classes built on it).
 * Any other architecture is refused rather than guessed: a wrong permute gives an adapter that loads and is wrong.
 */
export const ARCHITECTURES: Readonly<Record<string, { permuteQK: boolean }>> = {
  llama: { permuteQK: true },
  granite: { permuteQK: true },
  smollm3: { permuteQK: true },
  arcee: { permuteQK: true },
  qwen2: { permuteQK: false },
  qwen3: { permuteQK: false },
  gemma: { permuteQK: false },
  gemma2: { permuteQK: false },
  gemma3: { permuteQK: false },
};

const HF_KEY = /^base_model\.model\.model\.layers\.(\d+)\.(self_attn\.[qkvo]_proj|mlp\.(?:gate|up|down)_proj)\.lora_(A|B)\.weight$/;
const GGUF_KEY = /^blk\.(\d+)\.(attn_q|attn_k|attn_v|attn_output|ffn_gate|ffn_up|ffn_down)\.weight\.lora_(a|b)$/;
const DTYPE_OF_TYPE: Record<number, string> = { [GGML_TYPE.F32]: "F32", [GGML_TYPE.F16]: "F16", [GGML_TYPE.BF16]: "BF16" };
const TYPE_OF_DTYPE: Record<string, number> = { F32: GGML_TYPE.F32, F16: GGML_TYPE.F16, BF16: GGML_TYPE.BF16 };
/** Where the GGUF metadata of an exported adapter is kept in the safetensors header, so an import restores it. */
export const GGUF_METADATA_KEY = "inversion.gguf_metadata";
/** The largest adapter file read whole (a 70B model's rank-64 adapter on every projection is about 1.7 GB in F32). */
const MAX_ADAPTER_BYTES = 2 ** 31 - 1;
const MAX_CONFIG_BYTES = 1 << 20;
/** The metadata every GGUF LoRA adapter carries, in the order the trainer writes it. */
const CANONICAL_KEYS = ["general.type", "general.architecture", "adapter.type", "adapter.lora.alpha"];

const moduleByHf = new Map<string, LoraModule>(LORA_MODULES.map((m) => [m.hf, m]));
const moduleByGguf = new Map<string, LoraModule>(LORA_MODULES.map((m) => [m.gguf, m]));
const SUPPORTED_TEXT = `LoRA on the decoder layers' ${LORA_MODULES.map((m) => m.hf.split(".")[1]).join(", ")} (PEFT names like base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight)`;

/**
 * llama.cpp's permute of q/k rows from HF order to GGUF order (`toGguf`), or back: within each of `nHead` heads of
 * 2·h rows, GGUF row 2i+j holds HF row j·h+i. `data` holds `rows` rows of `rowBytes` bytes (B of shape [out, r]).
 */
export function permuteRows(data: Buffer, rows: number, rowBytes: number, nHead: number, toGguf: boolean): Buffer {
  const headRows = rows / nHead;
  const half = headRows / 2;
  if (!Number.isInteger(half) || data.length !== rows * rowBytes) throw new AdapterConversionError(`cannot permute ${rows} rows into ${nHead} heads of two halves`);
  const out = Buffer.alloc(data.length);
  for (let h = 0; h < nHead; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const gguf = h * headRows + 2 * i + j;
        const hf = h * headRows + j * half + i;
        const [from, to] = toGguf ? [hf, gguf] : [gguf, hf];
        data.copy(out, to * rowBytes, from * rowBytes, (from + 1) * rowBytes);
      }
    }
  }
  return out;
}

/** What the conversions need of the base model: its architecture, head counts and each weight's dims. */
export interface BaseModelInfo {
  path: string;
  architecture: string;
  permuteQK: boolean;
  nHead: number;
  nHeadKv: number;
  blockCount: number | null;
  /** Tensor name → ggml dims [in, out] of the 2-D weights. */
  weights: Map<string, number[]>;
}

function readableFile(path: string, what: string): void {
  try {
    checkRegularFile(path);
  } catch (err) {
    fail(`${what} ${path} cannot be read: ${(err as Error).message}`);
  }
}

function headerOf(path: string, what: string): ReturnType<typeof readGgufHeader> {
  readableFile(path, what);
  try {
    return readGgufHeader(path);
  } catch (err) {
    return fail(`${what} ${path}: ${(err as Error).message}`);
  }
}

function supportedArchitecture(arch: unknown, where: string): { permuteQK: boolean } {
  if (typeof arch !== "string" || !arch) return fail(`${where} names no general.architecture`);
  const known = ARCHITECTURES[arch];
  if (!known) {
    return fail(
      `${where} is a "${arch}" model; adapters are converted for ${Object.keys(ARCHITECTURES).join(", ")} only ` +
        "(the architectures whose tensor names and q/k row order this converter knows)",
    );
  }
  return known;
}

function headCount(value: GgufScalar | GgufArray | undefined, key: string, where: string): number | null {
  if (value === undefined) return null;
  if (typeof value === "number") return value;
  // some models list one count per layer: usable here only when every layer has the same
  if (typeof value === "object" && "items" in value && value.items.length && value.items.every((v) => v === value.items[0]) && typeof value.items[0] === "number") return value.items[0];
  return fail(`${where}: ${key} is not one number (per-layer head counts differ), which this converter does not handle`);
}

/** Reads a base model's header (never its weights). */
export function readBaseModel(path: string): BaseModelInfo {
  const header = headerOf(path, "the base model");
  if (kvValue(header, "general.type") === "adapter") fail(`the base model ${path} is an adapter, not a model: pass the model the adapter was made for`);
  const architecture = kvValue(header, "general.architecture");
  const { permuteQK } = supportedArchitecture(architecture, `the base model ${path}`);
  const arch = architecture as string;
  const nHead = headCount(kvValue(header, `${arch}.attention.head_count`), `${arch}.attention.head_count`, path);
  if (!nHead) return fail(`the base model ${path} has no ${arch}.attention.head_count`);
  const nHeadKv = headCount(kvValue(header, `${arch}.attention.head_count_kv`), `${arch}.attention.head_count_kv`, path) ?? nHead;
  const blocks = kvValue(header, `${arch}.block_count`);
  const weights = new Map<string, number[]>();
  for (const t of header.tensors) if (t.dims.length === 2) weights.set(t.name, t.dims);
  return { path, architecture: arch, permuteQK, nHead, nHeadKv, blockCount: typeof blocks === "number" ? blocks : null, weights };
}

/** One LoRA pair in either format's terms. */
interface Pair {
  layer: number;
  module: LoraModule;
  a?: { dtype: string; shape: number[]; data: Buffer };
  b?: { dtype: string; shape: number[]; data: Buffer };
}

const pairKey = (layer: number, module: LoraModule): string => `${layer}\0${module.gguf}`;
const ggufWeight = (p: Pick<Pair, "layer" | "module">): string => `blk.${p.layer}.${p.module.gguf}.weight`;
const hfModule = (p: Pick<Pair, "layer" | "module">): string => `model.layers.${p.layer}.${p.module.hf}`;

function sortedPairs(pairs: Map<string, Pair>): Pair[] {
  return [...pairs.values()].sort((x, y) => x.layer - y.layer || LORA_MODULES.indexOf(x.module) - LORA_MODULES.indexOf(y.module));
}

function listed(names: string[]): string {
  return names.slice(0, 5).join(", ") + (names.length > 5 ? ` and ${names.length - 5} more` : "");
}

/** The pair's shapes checked against each other and the base: returns (in, out, rank). */
function checkPair(p: Pair, base: BaseModelInfo | null, what: string): { nIn: number; nOut: number; rank: number } {
  const name = what === "PEFT" ? hfModule(p) : ggufWeight(p);
  if (!p.a || !p.b) return fail(`${name} has lora_${p.a ? "A" : "B"} but no lora_${p.a ? "B" : "A"}: an adapter needs both matrices of every pair`);
  for (const [m, t] of [["A", p.a], ["B", p.b]] as const) {
    if (!(t.dtype in TYPE_OF_DTYPE)) fail(`${name} lora_${m} is ${t.dtype}; only F32, F16 and BF16 adapters are converted`);
    if (t.shape.length !== 2) fail(`${name} lora_${m} has ${t.shape.length} dimensions, not 2`);
  }
  const [rank, nIn] = p.a.shape as [number, number];
  const [nOut, rankB] = p.b.shape as [number, number];
  if (rank !== rankB) fail(`${name}: rank mismatch: lora_A has rank ${rank}, lora_B has rank ${rankB}`);
  if (rank < 1) fail(`${name} has rank 0`);
  if (base) {
    const dims = base.weights.get(ggufWeight(p));
    if (!dims) fail(`${name}: the base model ${base.path} has no tensor ${ggufWeight(p)} (adapter made for another model?)`);
    const [baseIn, baseOut] = dims as [number, number];
    if (baseIn !== nIn || baseOut !== nOut) {
      fail(`${name}: wrong shape for the base model: the adapter maps ${nIn} → ${nOut}, the base's ${ggufWeight(p)} maps ${baseIn} → ${baseOut} (adapter made for another model?)`);
    }
  }
  return { nIn, nOut, rank };
}

function permuteHeads(p: Pair, base: BaseModelInfo, nOut: number): number | null {
  if (!base.permuteQK || !("permute" in p.module)) return null;
  const heads = p.module.permute === "q" ? base.nHead : base.nHeadKv;
  if (nOut % (2 * heads) !== 0) fail(`${ggufWeight(p)}: ${nOut} rows do not split into ${heads} heads of two halves (head counts of the base: ${base.nHead}/${base.nHeadKv})`);
  return heads;
}

// --- GGUF metadata carried through the safetensors header -------------------------------------------------------

function jsonScalar(type: number, v: GgufScalar): unknown {
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  return type === GGUF_VALUE.bool ? Boolean(v) : v;
}

function encodeKvs(kvs: readonly GgufKv[]): string {
  return JSON.stringify(
    kvs.map((kv) =>
      kv.type === GGUF_VALUE.array
        ? { key: kv.key, type: kv.type, itemType: (kv.value as GgufArray).itemType, value: (kv.value as GgufArray).items.map((v) => jsonScalar((kv.value as GgufArray).itemType, v)) }
        : { key: kv.key, type: kv.type, value: jsonScalar(kv.type, kv.value as GgufScalar) },
    ),
  );
}

function scalarFromJson(type: number, v: unknown, key: string): GgufScalar {
  const bad = (): never => fail(`${GGUF_METADATA_KEY}: ${key} does not hold a value of GGUF type ${type}`);
  if (type === GGUF_VALUE.string) return typeof v === "string" ? v : bad();
  if (type === GGUF_VALUE.bool) return typeof v === "boolean" ? v : bad();
  if (type === GGUF_VALUE.u64 || type === GGUF_VALUE.i64) {
    if (typeof v !== "string" || !/^-?\d+$/.test(v)) return bad();
    const n = BigInt(v);
    const ok = type === GGUF_VALUE.u64 ? n >= 0n && n < 2n ** 64n : n >= -(2n ** 63n) && n < 2n ** 63n;
    return ok ? n : bad();
  }
  const n = typeof v === "string" && ["NaN", "Infinity", "-Infinity"].includes(v) ? Number(v) : v;
  if (typeof n !== "number") return bad();
  const ranges: Record<number, [number, number]> = { 0: [0, 255], 1: [-128, 127], 2: [0, 65535], 3: [-32768, 32767], 4: [0, 2 ** 32 - 1], 5: [-(2 ** 31), 2 ** 31 - 1] };
  const range = ranges[type];
  if (range) return Number.isInteger(n) && n >= range[0] && n <= range[1] ? n : bad();
  if (type === GGUF_VALUE.f32 || type === GGUF_VALUE.f64) return n;
  return bad();
}

/** The GGUF metadata an export kept, checked entry by entry (the PEFT directory is untrusted input). */
function decodeKvs(text: string): GgufKv[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fail(`${GGUF_METADATA_KEY} in the safetensors header is not JSON`);
  }
  if (!Array.isArray(parsed)) return fail(`${GGUF_METADATA_KEY} is not a list`);
  const seen = new Set<string>();
  return parsed.map((e: unknown) => {
    const entry = e as { key?: unknown; type?: unknown; itemType?: unknown; value?: unknown };
    if (!entry || typeof entry.key !== "string" || typeof entry.type !== "number") return fail(`${GGUF_METADATA_KEY} holds an entry without key and type`);
    if (seen.has(entry.key)) fail(`${GGUF_METADATA_KEY} names ${entry.key} twice`);
    seen.add(entry.key);
    if (entry.type === GGUF_VALUE.array) {
      if (typeof entry.itemType !== "number" || !Number.isInteger(entry.itemType) || entry.itemType < 0 || entry.itemType > GGUF_VALUE.f64 || entry.itemType === GGUF_VALUE.array || !Array.isArray(entry.value)) fail(`${GGUF_METADATA_KEY}: ${entry.key} is not a valid array`);
      return { key: entry.key, type: entry.type, value: { itemType: entry.itemType as number, items: (entry.value as unknown[]).map((v) => scalarFromJson(entry.itemType as number, v, entry.key as string)) } };
    }
    return { key: entry.key, type: entry.type, value: scalarFromJson(entry.type, entry.value, entry.key) };
  });
}

/** The adapter's metadata: the kept entries in their order (if any), with the four every adapter needs set here. */
function adapterKvs(kept: GgufKv[] | null, architecture: string, alpha: number): GgufKv[] {
  const canonical: Record<string, GgufKv> = {
    "general.type": { key: "general.type", type: GGUF_VALUE.string, value: "adapter" },
    "general.architecture": { key: "general.architecture", type: GGUF_VALUE.string, value: architecture },
    "adapter.type": { key: "adapter.type", type: GGUF_VALUE.string, value: "lora" },
    "adapter.lora.alpha": { key: "adapter.lora.alpha", type: GGUF_VALUE.f32, value: Math.fround(alpha) },
  };
  const out = (kept ?? []).map((kv) => canonical[kv.key] ?? kv);
  const present = new Set(out.map((kv) => kv.key));
  const missing = CANONICAL_KEYS.filter((k) => !present.has(k)).map((k) => canonical[k]!);
  const alignment = out.find((kv) => kv.key === "general.alignment");
  if (alignment && (alignment.type !== GGUF_VALUE.u32 || typeof alignment.value !== "number" || alignment.value < 8 || (alignment.value & (alignment.value - 1)) !== 0)) {
    fail(`${GGUF_METADATA_KEY}: general.alignment must be a u32 power of 2 of at least 8`);
  }
  return [...missing, ...out];
}

// --- PEFT → GGUF -------------------------------------------------------------------------------------------------

export interface ImportOptions {
  peftDir: string;
  baseModelPath: string;
  outPath: string;
}

export interface ConversionSummary {
  architecture: string;
  pairs: number;
  layers: number;
  /** PEFT's short module names (q_proj, …), in table order. */
  modules: string[];
  ranks: number[];
  alpha: number;
  /** Whether the rows of B of q and k were permuted (llama-family bases). */
  permutedQK: boolean;
  notes: string[];
}

interface PeftConfig {
  r: number;
  lora_alpha: number;
  use_rslora?: boolean;
  rank_pattern?: Record<string, number>;
}

function readPeftConfig(dir: string): PeftConfig {
  const file = join(dir, "adapter_config.json");
  if (!existsSync(file)) fail(`${dir} has no adapter_config.json: pass the directory PEFT's save_pretrained wrote (adapter_config.json and adapter_model.safetensors)`);
  let raw: unknown;
  try {
    raw = JSON.parse(readRegularFile(file, MAX_CONFIG_BYTES).toString("utf8"));
  } catch (err) {
    return fail(`${file} cannot be read as JSON: ${(err as Error).message}`);
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return fail(`${file} is not a JSON object`);
  const c = raw as Record<string, unknown>;
  const present = (v: unknown): boolean => v !== undefined && v !== null && v !== false && !(Array.isArray(v) && v.length === 0) && !(typeof v === "object" && !Array.isArray(v) && Object.keys(v as object).length === 0);
  if (c.peft_type !== undefined && c.peft_type !== "LORA") fail(`${file}: peft_type is ${JSON.stringify(c.peft_type)}; only LORA adapters are converted`);
  if (!Number.isInteger(c.r) || (c.r as number) < 1) fail(`${file}: r must be a positive integer (got ${JSON.stringify(c.r)})`);
  if (typeof c.lora_alpha !== "number" || !(c.lora_alpha > 0) || !Number.isFinite(c.lora_alpha)) fail(`${file}: lora_alpha must be a positive number (got ${JSON.stringify(c.lora_alpha)})`);
  if (c.use_dora === true) fail(`${file}: use_dora is true; DoRA adapters have no llama.cpp form`);
  if (c.bias !== undefined && c.bias !== "none") fail(`${file}: bias is ${JSON.stringify(c.bias)}; llama.cpp adapters have no bias terms (train with bias "none")`);
  if (present(c.modules_to_save)) fail(`${file}: modules_to_save ${JSON.stringify(c.modules_to_save)} holds whole trained modules, which a llama.cpp LoRA adapter cannot carry`);
  if (c.fan_in_fan_out === true) fail(`${file}: fan_in_fan_out is true (GPT-2 style Conv1D weights); not converted`);
  if (present(c.alpha_pattern)) fail(`${file}: alpha_pattern sets a different alpha per module; a GGUF adapter has one adapter.lora.alpha`);
  if (present(c.layer_replication)) fail(`${file}: layer_replication is not converted`);
  if (c.rank_pattern !== undefined && c.rank_pattern !== null && (typeof c.rank_pattern !== "object" || Array.isArray(c.rank_pattern) || Object.values(c.rank_pattern).some((v) => !Number.isInteger(v) || (v as number) < 1))) {
    fail(`${file}: rank_pattern must map module names to positive integers`);
  }
  return { r: c.r as number, lora_alpha: c.lora_alpha as number, use_rslora: c.use_rslora === true, rank_pattern: (c.rank_pattern as Record<string, number> | null) ?? {} };
}

/** PEFT's rank for a module: the rank_pattern entry whose key ends the module's name, else r. */
function expectedRank(config: PeftConfig, module: string): number {
  for (const [key, rank] of Object.entries(config.rank_pattern ?? {})) {
    if (module === key || module.endsWith(`.${key}`)) return rank;
  }
  return config.r;
}

/** Converts a PEFT LoRA directory to a GGUF adapter for `baseModelPath`. */
export function importPeftAdapter(opts: ImportOptions): ConversionSummary & { outPath: string } {
  const base = readBaseModel(opts.baseModelPath);
  if (!existsSync(opts.peftDir) || !statSync(opts.peftDir).isDirectory()) fail(`${opts.peftDir} is not a directory: pass the directory PEFT's save_pretrained wrote`);
  const config = readPeftConfig(opts.peftDir);
  const weightsFile = join(opts.peftDir, "adapter_model.safetensors");
  if (!existsSync(weightsFile)) {
    if (existsSync(join(opts.peftDir, "adapter_model.bin"))) fail(`${opts.peftDir} holds adapter_model.bin (a pickle, which is never read here): save the adapter as safetensors (save_pretrained's default, safe_serialization=True)`);
    fail(`${opts.peftDir} has no adapter_model.safetensors (files there: ${readdirSync(opts.peftDir).join(", ") || "none"})`);
  }
  if (existsSync(opts.outPath)) fail(`${opts.outPath} already exists: choose a new file (node-llama-cpp caches adapters by path)`);
  let file;
  try {
    file = parseSafeTensors(readRegularFile(weightsFile, MAX_ADAPTER_BYTES), weightsFile);
  } catch (err) {
    return fail((err as Error).message);
  }

  const pairs = new Map<string, Pair>();
  const unsupported: string[] = [];
  for (const t of file.tensors) {
    const m = HF_KEY.exec(t.name);
    const module = m && moduleByHf.get(m[2]!);
    if (!m || !module) {
      unsupported.push(t.name);
      continue;
    }
    const layer = Number(m[1]);
    const pair = pairs.get(pairKey(layer, module)) ?? { layer, module };
    pair[m[3] === "A" ? "a" : "b"] = t;
    pairs.set(pairKey(layer, module), pair);
  }
  if (unsupported.length) fail(`${weightsFile} holds tensors this converter does not handle: ${listed(unsupported)}. Converted: ${SUPPORTED_TEXT}`);
  if (pairs.size === 0) fail(`${weightsFile} holds no LoRA tensors`);

  const tensors: GgufTensorData[] = [];
  const ranks = new Set<number>();
  let permuted = false;
  for (const p of sortedPairs(pairs)) {
    const { nIn, nOut, rank } = checkPair(p, base, "PEFT");
    const want = expectedRank(config, hfModule(p));
    if (rank !== want) fail(`${hfModule(p)}: rank mismatch: the tensors have rank ${rank}, adapter_config.json says ${want}`);
    ranks.add(rank);
    const heads = permuteHeads(p, base, nOut);
    const bData = heads ? permuteRows(p.b!.data, nOut, p.b!.data.length / nOut, heads, true) : p.b!.data;
    if (heads) permuted = true;
    tensors.push({ name: `${ggufWeight(p)}.lora_a`, dims: [nIn, rank], type: TYPE_OF_DTYPE[p.a!.dtype]!, data: Buffer.from(p.a!.data) });
    tensors.push({ name: `${ggufWeight(p)}.lora_b`, dims: [rank, nOut], type: TYPE_OF_DTYPE[p.b!.dtype]!, data: Buffer.from(bData) });
  }
  const notes: string[] = [];
  let alpha = config.lora_alpha;
  if (config.use_rslora) {
    // rsLoRA scales by alpha/sqrt(r); llama.cpp by alpha/r: the same scale needs alpha·sqrt(r), one value for all
    if (ranks.size !== 1) fail("use_rslora with different ranks per module has no single GGUF alpha");
    alpha = config.lora_alpha * Math.sqrt([...ranks][0]!);
    notes.push(`use_rslora: adapter.lora.alpha is lora_alpha·sqrt(r) = ${alpha}, so llama.cpp's alpha/r equals rsLoRA's alpha/sqrt(r)`);
  }
  const keptText = file.metadata[GGUF_METADATA_KEY];
  const kept = keptText ? decodeKvs(keptText) : null;
  tensors.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  writeGgufFile(opts.outPath, adapterKvs(kept, base.architecture, alpha), tensors);
  return { outPath: opts.outPath, ...summary(base.architecture, pairs, ranks, alpha, permuted, notes) };
}

function summary(architecture: string, pairs: Map<string, Pair>, ranks: Set<number>, alpha: number, permutedQK: boolean, notes: string[]): ConversionSummary {
  const used = new Set([...pairs.values()].map((p) => p.module));
  return {
    architecture,
    pairs: pairs.size,
    layers: new Set([...pairs.values()].map((p) => p.layer)).size,
    modules: LORA_MODULES.filter((m) => used.has(m)).map((m) => m.hf.split(".")[1]!),
    ranks: [...ranks].sort((a, b) => a - b),
    alpha,
    permutedQK,
    notes,
  };
}

// --- GGUF → PEFT -------------------------------------------------------------------------------------------------

export interface ExportOptions {
  adapterPath: string;
  outDir: string;
  /** The base model GGUF: needed for llama-family adapters (their q/k head counts), and checks every shape. */
  baseModelPath?: string;
  /** The Hugging Face model id (or path) the GGUF base was converted from, written as base_model_name_or_path. */
  hfModel?: string;
}

/** Converts a GGUF LoRA adapter to a PEFT directory (adapter_config.json + adapter_model.safetensors). */
export function exportPeftAdapter(opts: ExportOptions): ConversionSummary & { outDir: string } {
  const header = headerOf(opts.adapterPath, "the adapter");
  const where = `the adapter ${opts.adapterPath}`;
  if (kvValue(header, "general.type") !== "adapter") fail(`${where} is not an adapter (general.type is ${JSON.stringify(kvValue(header, "general.type") ?? null)}, not "adapter")`);
  if (kvValue(header, "adapter.type") !== "lora") fail(`${where} is not a LoRA adapter (adapter.type is ${JSON.stringify(kvValue(header, "adapter.type") ?? null)})`);
  const architecture = kvValue(header, "general.architecture");
  const { permuteQK } = supportedArchitecture(architecture, where);
  const base = opts.baseModelPath ? readBaseModel(opts.baseModelPath) : null;
  if (base && base.architecture !== architecture) fail(`${where} is for a "${String(architecture)}" model, the base model ${base.path} is "${base.architecture}"`);
  if (permuteQK && !base) fail(`${where} is for a llama-family model ("${String(architecture)}"), whose q/k rows llama.cpp stores permuted by head: pass --base MODEL.gguf so the head counts are known`);

  const pairs = new Map<string, Pair>();
  const unsupported: string[] = [];
  const data = new Map<string, GgufTensorData>();
  for (const t of header.tensors) {
    const m = GGUF_KEY.exec(t.name);
    const module = m && moduleByGguf.get(m[2]!);
    if (!m || !module) {
      unsupported.push(t.name);
      continue;
    }
    const layer = Number(m[1]);
    const pair = pairs.get(pairKey(layer, module)) ?? { layer, module };
    const dtype = DTYPE_OF_TYPE[t.type] ?? typeName(t.type);
    const [d0, d1] = dimsOf(t) as [number, number];
    // ggml dims [in, r] / [r, out] are PEFT's shapes [r, in] / [out, r]
    pair[m[3] === "a" ? "a" : "b"] = { dtype, shape: t.dims.length > 2 ? t.dims : [d1, d0], data: Buffer.alloc(0) };
    pairs.set(pairKey(layer, module), pair);
  }
  if (unsupported.length) fail(`${where} holds tensors this converter does not handle: ${listed(unsupported)}. Converted: ${SUPPORTED_TEXT}`);
  if (pairs.size === 0) fail(`${where} holds no LoRA tensors`);
  for (const p of pairs.values()) checkPair(p, base, "GGUF");
  if (existsSync(join(opts.outDir, "adapter_model.safetensors")) || existsSync(join(opts.outDir, "adapter_config.json"))) fail(`${opts.outDir} already holds a PEFT adapter: choose a new directory`);
  if (existsSync(opts.outDir) && !statSync(opts.outDir).isDirectory()) fail(`${opts.outDir} exists and is not a directory`);

  let read: GgufTensorData[];
  try {
    read = readTensors(header);
  } catch (err) {
    return fail((err as Error).message);
  }
  for (const t of read) data.set(t.name, t);
  const tensors: SafeTensor[] = [];
  const ranks = new Map<string, number>();
  let permuted = false;
  for (const p of sortedPairs(pairs)) {
    const { nOut, rank } = checkPair(p, base, "GGUF");
    const a = data.get(`${ggufWeight(p)}.lora_a`)!;
    const b = data.get(`${ggufWeight(p)}.lora_b`)!;
    const heads = base ? permuteHeads(p, base, nOut) : null;
    if (heads) permuted = true;
    ranks.set(hfModule(p), rank);
    const prefix = `base_model.model.${hfModule(p)}`;
    tensors.push({ name: `${prefix}.lora_A.weight`, dtype: p.a!.dtype, shape: p.a!.shape, data: a.data });
    tensors.push({ name: `${prefix}.lora_B.weight`, dtype: p.b!.dtype, shape: p.b!.shape, data: heads ? permuteRows(b.data, nOut, b.data.length / nOut, heads, false) : b.data });
  }
  const notes: string[] = [];
  const counts = new Map<number, number>();
  for (const r of ranks.values()) counts.set(r, (counts.get(r) ?? 0) + 1);
  const r = [...counts.entries()].sort((x, y) => y[1] - x[1] || x[0] - y[0])[0]![0];
  const rankPattern: Record<string, number> = {};
  for (const [module, rank] of ranks) if (rank !== r) rankPattern[module.replace(/^model\./, "")] = rank;
  if (Object.keys(rankPattern).length) notes.push("ranks differ between modules: written as rank_pattern (PEFT reads it; a server that scales by one r may not)");
  const alphaValue = kvValue(header, "adapter.lora.alpha");
  let alpha = typeof alphaValue === "number" ? alphaValue : 0;
  if (!(alpha > 0)) {
    // llama.cpp applies an adapter without alpha at scale 1: PEFT's alpha/r is 1 when alpha = r
    if (counts.size > 1) fail(`${where} has no adapter.lora.alpha and ranks that differ: no single lora_alpha gives llama.cpp's scale of 1`);
    alpha = r;
    notes.push(`no adapter.lora.alpha: llama.cpp applies it at scale 1, so lora_alpha = r = ${r}`);
  }
  const used = new Set([...pairs.values()].map((p) => p.module));
  const config = {
    peft_type: "LORA",
    task_type: "CAUSAL_LM",
    base_model_name_or_path: opts.hfModel ?? null,
    revision: null,
    r,
    lora_alpha: alpha,
    target_modules: LORA_MODULES.filter((m) => used.has(m)).map((m) => m.hf.split(".")[1]),
    lora_dropout: 0,
    bias: "none",
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    modules_to_save: null,
    use_rslora: false,
    use_dora: false,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: rankPattern,
    alpha_pattern: {},
  };
  const bytes = encodeSafeTensors({ metadata: { format: "pt", [GGUF_METADATA_KEY]: encodeKvs(header.kvs) }, tensors });
  if (!existsSync(opts.outDir)) {
    try {
      mkdirSync(opts.outDir);
    } catch (err) {
      fail(`cannot create ${opts.outDir}: ${(err as Error).message}`);
    }
  }
  writeFileSync(join(opts.outDir, "adapter_model.safetensors"), bytes, { flag: "wx" });
  writeFileSync(join(opts.outDir, "adapter_config.json"), JSON.stringify(config, null, 2) + "\n", { flag: "wx" });
  return { outDir: opts.outDir, ...summary(String(architecture), pairs, new Set(ranks.values()), alpha, permuted, notes) };
}
