// Minimal GGUF v3 writer (little-endian). Enough to build tiny test models;
// see https://github.com/ggml-org/ggml/blob/master/docs/gguf.md for the layout.
import { randomBytes } from "node:crypto";
import { open, rename, unlink } from "node:fs/promises";

const GGUF_MAGIC = "GGUF";
const GGUF_VERSION = 3;
export const DEFAULT_ALIGNMENT = 32;

const VALUE_TYPE_ID = {
  u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6,
  bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12,
} as const;

export type GgufNumberType = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "f32" | "f64";
export type GgufBigIntType = "u64" | "i64";
export type GgufArrayItemType = "string" | "i32" | "f32";

export type GgufValue =
  | { type: GgufNumberType; value: number }
  | { type: GgufBigIntType; value: bigint | number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "array"; itemType: "string"; value: readonly string[] }
  | { type: "array"; itemType: "i32" | "f32"; value: ArrayLike<number> };

/** Small constructors so call sites read like `{ "llama.block_count": gguf.u32(2) }`. */
export const gguf = {
  u8: (value: number): GgufValue => ({ type: "u8", value }),
  i8: (value: number): GgufValue => ({ type: "i8", value }),
  u16: (value: number): GgufValue => ({ type: "u16", value }),
  i16: (value: number): GgufValue => ({ type: "i16", value }),
  u32: (value: number): GgufValue => ({ type: "u32", value }),
  i32: (value: number): GgufValue => ({ type: "i32", value }),
  u64: (value: bigint | number): GgufValue => ({ type: "u64", value }),
  i64: (value: bigint | number): GgufValue => ({ type: "i64", value }),
  f32: (value: number): GgufValue => ({ type: "f32", value }),
  f64: (value: number): GgufValue => ({ type: "f64", value }),
  bool: (value: boolean): GgufValue => ({ type: "bool", value }),
  string: (value: string): GgufValue => ({ type: "string", value }),
  strings: (value: readonly string[]): GgufValue => ({ type: "array", itemType: "string", value }),
  i32s: (value: ArrayLike<number>): GgufValue => ({ type: "array", itemType: "i32", value }),
  f32s: (value: ArrayLike<number>): GgufValue => ({ type: "array", itemType: "f32", value }),
};

export type GgufTensorType = "f32" | "f16" | "q8_0";

const TENSOR_TYPE_ID: Record<GgufTensorType, number> = { f32: 0, f16: 1, q8_0: 8 };

/** Q8_0 block: one f16 scale followed by 32 int8 quants. */
const Q8_0_BLOCK_VALUES = 32;
const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK_VALUES;

export interface GgufTensor {
  name: string;
  /** ggml `ne` order: dims[0] is the innermost (contiguous) dimension. */
  dims: readonly number[];
  type: GgufTensorType;
  /**
   * Values in row-major ggml order (dims[0] fastest); encoded to `type` on write. A function is called only when
   * the tensor is written, so a model of real size is never in memory whole.
   */
  values: Float32Array | (() => Float32Array);
}

export interface GgufFile {
  metadata: Record<string, GgufValue>;
  tensors: readonly GgufTensor[];
  /** Data alignment in bytes, written as `general.alignment`; defaults to 32. */
  alignment?: number;
}

/** Growable little-endian byte sink. */
class ByteSink {
  private buffer = Buffer.alloc(1 << 16);
  length = 0;

  /** Grows the buffer; callers must read `this.buffer` only after this returns. */
  private reserve(bytes: number): number {
    const start = this.length;
    const needed = start + bytes;
    if (needed > this.buffer.length) {
      const grown = Buffer.alloc(Math.max(needed, this.buffer.length * 2));
      this.buffer.copy(grown, 0, 0, start);
      this.buffer = grown;
    }
    this.length = needed;
    return start;
  }

  u8(v: number): void { const at = this.reserve(1); this.buffer.writeUInt8(v, at); }
  i8(v: number): void { const at = this.reserve(1); this.buffer.writeInt8(v, at); }
  u16(v: number): void { const at = this.reserve(2); this.buffer.writeUInt16LE(v, at); }
  i16(v: number): void { const at = this.reserve(2); this.buffer.writeInt16LE(v, at); }
  u32(v: number): void { const at = this.reserve(4); this.buffer.writeUInt32LE(v, at); }
  i32(v: number): void { const at = this.reserve(4); this.buffer.writeInt32LE(v, at); }
  u64(v: bigint | number): void { const at = this.reserve(8); this.buffer.writeBigUInt64LE(BigInt(v), at); }
  i64(v: bigint | number): void { const at = this.reserve(8); this.buffer.writeBigInt64LE(BigInt(v), at); }
  f32(v: number): void { const at = this.reserve(4); this.buffer.writeFloatLE(v, at); }
  f64(v: number): void { const at = this.reserve(8); this.buffer.writeDoubleLE(v, at); }
  bytes(b: Uint8Array): void { const at = this.reserve(b.length); this.buffer.set(b, at); }
  zeros(n: number): void { const at = this.reserve(n); this.buffer.fill(0, at, this.length); }

  string(s: string): void {
    const encoded = Buffer.from(s, "utf8");
    this.u64(encoded.length);
    this.bytes(encoded);
  }

  padTo(alignment: number): void {
    this.zeros(alignedSize(this.length, alignment) - this.length);
  }

  toBuffer(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

function alignedSize(size: number, alignment: number): number {
  return Math.ceil(size / alignment) * alignment;
}

function writeScalar(sink: ByteSink, type: GgufNumberType | GgufBigIntType, value: number | bigint): void {
  if (type === "u64" || type === "i64") {
    sink[type](value);
    return;
  }
  sink[type](Number(value));
}

function writeValue(sink: ByteSink, value: GgufValue): void {
  sink.u32(VALUE_TYPE_ID[value.type]);
  switch (value.type) {
    case "bool":
      sink.u8(value.value ? 1 : 0);
      return;
    case "string":
      sink.string(value.value);
      return;
    case "array":
      sink.u32(VALUE_TYPE_ID[value.itemType]);
      sink.u64(value.value.length);
      if (value.itemType === "string") {
        for (const item of value.value) sink.string(item);
      } else {
        const write = value.itemType === "i32" ? sink.i32.bind(sink) : sink.f32.bind(sink);
        for (let i = 0; i < value.value.length; i++) write(value.value[i]!);
      }
      return;
    default:
      writeScalar(sink, value.type, value.value);
  }
}

const float32Scratch = new Float32Array(1);
const float32ScratchBits = new Uint32Array(float32Scratch.buffer);

/** float32 -> IEEE half bits, round to nearest even (like ggml's F32->F16 conversion). */
export function toFloat16Bits(value: number): number {
  float32Scratch[0] = value;
  const bits = float32ScratchBits[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;

  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - halfExponent;
    let halfMantissa = mantissa >>> shift;
    const remainder = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (remainder > halfway || (remainder === halfway && (halfMantissa & 1))) halfMantissa++;
    return sign | halfMantissa;
  }
  let half = (halfExponent << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (and reaches infinity at the top).
  if (remainder > 0x1000 || (remainder === 0x1000 && (half & 1))) half++;
  return sign | half;
}

/** IEEE half bits -> number. */
export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Encodes values the way ggml's quantize_row_q8_0_ref does. */
function encodeQ8_0(values: Float32Array): Buffer {
  const blocks = values.length / Q8_0_BLOCK_VALUES;
  const out = Buffer.alloc(blocks * Q8_0_BLOCK_BYTES);
  for (let block = 0; block < blocks; block++) {
    const start = block * Q8_0_BLOCK_VALUES;
    let absMax = 0;
    for (let j = 0; j < Q8_0_BLOCK_VALUES; j++) absMax = Math.max(absMax, Math.abs(values[start + j]!));
    const scale = Math.fround(absMax / 127);
    const inverse = scale ? Math.fround(1 / scale) : 0;
    const base = block * Q8_0_BLOCK_BYTES;
    out.writeUInt16LE(toFloat16Bits(scale), base);
    for (let j = 0; j < Q8_0_BLOCK_VALUES; j++) {
      const scaled = Math.fround(values[start + j]! * inverse);
      // C roundf rounds halves away from zero; Math.round does not for negatives.
      out.writeInt8(Math.sign(scaled) * Math.round(Math.abs(scaled)), base + 2 + j);
    }
  }
  return out;
}

function encodedSize(tensor: GgufTensor): number {
  const count = tensor.dims.reduce((product, dim) => product * dim, 1);
  const bytes = { f32: count * 4, f16: count * 2, q8_0: (count / Q8_0_BLOCK_VALUES) * Q8_0_BLOCK_BYTES };
  return bytes[tensor.type];
}

function encodeTensorData(tensor: GgufTensor): Buffer {
  const values = typeof tensor.values === "function" ? tensor.values() : tensor.values;
  const count = tensor.dims.reduce((product, dim) => product * dim, 1);
  if (count !== values.length) {
    throw new Error(`GGUF tensor ${tensor.name}: dims [${tensor.dims.join(", ")}] hold ${count} values, got ${values.length}`);
  }
  switch (tensor.type) {
    case "f32":
      return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    case "f16": {
      const out = Buffer.alloc(values.length * 2);
      for (let i = 0; i < values.length; i++) out.writeUInt16LE(toFloat16Bits(values[i]!), i * 2);
      return out;
    }
    case "q8_0":
      return encodeQ8_0(values);
  }
}

function validateTensor(tensor: GgufTensor): void {
  if (tensor.dims.length === 0 || tensor.dims.length > 4) {
    throw new Error(`GGUF tensor ${tensor.name}: expected 1 to 4 dimensions, got ${tensor.dims.length}`);
  }
  if (tensor.type === "q8_0" && tensor.dims[0]! % Q8_0_BLOCK_VALUES !== 0) {
    throw new Error(`GGUF tensor ${tensor.name}: q8_0 needs dims[0] divisible by ${Q8_0_BLOCK_VALUES}, got ${tensor.dims[0]}`);
  }
}

/** The header, key-values and tensor table, padded to the alignment: everything before the tensor data. */
function encodeHeader(file: GgufFile): { header: Buffer; alignment: number } {
  const alignment = file.alignment ?? DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) {
    throw new Error(`GGUF alignment must be a positive multiple of 8, got ${alignment}`);
  }
  if ("general.alignment" in file.metadata) {
    throw new Error("Set GgufFile.alignment instead of the general.alignment metadata key");
  }
  const metadata: [string, GgufValue][] = [...Object.entries(file.metadata), ["general.alignment", gguf.u32(alignment)]];

  const names = new Set<string>();
  for (const tensor of file.tensors) {
    validateTensor(tensor);
    if (names.has(tensor.name)) throw new Error(`GGUF tensor ${tensor.name} appears twice`);
    names.add(tensor.name);
  }

  const sink = new ByteSink();
  sink.bytes(Buffer.from(GGUF_MAGIC, "ascii"));
  sink.u32(GGUF_VERSION);
  sink.u64(file.tensors.length);
  sink.u64(metadata.length);
  for (const [key, value] of metadata) {
    sink.string(key);
    writeValue(sink, value);
  }

  let offset = 0;
  for (const tensor of file.tensors) {
    sink.string(tensor.name);
    sink.u32(tensor.dims.length);
    for (const dim of tensor.dims) sink.u64(dim);
    sink.u32(TENSOR_TYPE_ID[tensor.type]);
    sink.u64(offset);
    offset += alignedSize(encodedSize(tensor), alignment);
  }
  sink.padTo(alignment);
  return { header: sink.toBuffer(), alignment };
}

/** Each tensor's data followed by its padding, one tensor at a time. */
function* encodedTensors(file: GgufFile, alignment: number): Generator<Buffer> {
  for (const tensor of file.tensors) {
    const data = encodeTensorData(tensor);
    yield data;
    yield Buffer.alloc(alignedSize(data.length, alignment) - data.length);
  }
}

/** Serializes a whole GGUF file into memory (fine for the small models this is meant for). */
export function encodeGguf(file: GgufFile): Buffer {
  const { header, alignment } = encodeHeader(file);
  return Buffer.concat([header, ...encodedTensors(file, alignment)]);
}

/** Writes tensor by tensor via a temp file + rename, so readers never see a half-written model. */
export async function writeGguf(filePath: string, file: GgufFile): Promise<void> {
  const { header, alignment } = encodeHeader(file);
  const tempPath = `${filePath}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    const handle = await open(tempPath, "w");
    try {
      await handle.write(header);
      for (const chunk of encodedTensors(file, alignment)) await handle.write(chunk);
    } finally {
      await handle.close();
    }
    await rename(tempPath, filePath);
  } catch (error) {
    await unlink(tempPath).catch(() => undefined);
    throw error;
  }
}
