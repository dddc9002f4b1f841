// A small GGUF reader and writer for LoRA adapters (and the header of a base model): metadata in order, the tensor
// table, and tensor bytes read on demand. Files are written in the exact layout of ggml's gguf_write_to_file (the
// trainer's adapters go through it), so an adapter read and written again is the same bytes.
// The header is first walked within bounds (gguf/headerCheck.ts), so a lying count cannot make this loop or allocate.
import { closeSync, constants, fstatSync, linkSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { checkGgufHeader, GgufHeaderError } from "../gguf/headerCheck";

/** GGUF value type ids (gguf.h). */
export const GGUF_VALUE = { u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12 } as const;
/** ggml tensor types an adapter may hold here (ggml.h). */
export const GGML_TYPE = { F32: 0, F16: 1, BF16: 30 } as const;
const TYPE_NAME: Record<number, string> = { 0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 30: "BF16" };
/** Bytes per element of the tensor types whose data is read or written here. */
const ELEMENT_BYTES: Record<number, number> = { [GGML_TYPE.F32]: 4, [GGML_TYPE.F16]: 2, [GGML_TYPE.BF16]: 2 };
const SCALAR_BYTES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const DEFAULT_ALIGNMENT = 32;

export type GgufScalar = number | bigint | boolean | string;
export interface GgufArray {
  itemType: number;
  items: GgufScalar[];
}
/** One metadata entry, typed exactly as in the file (so it is written back as the same bytes). */
export interface GgufKv {
  key: string;
  type: number;
  value: GgufScalar | GgufArray;
}

export interface GgufTensorInfo {
  name: string;
  /** ggml `ne`, as many as the file lists (ggml leaves out trailing 1s). */
  dims: number[];
  type: number;
  /** Offset of the data from the start of the data section. */
  offset: number;
}

export interface GgufHeader {
  path: string;
  version: number;
  kvs: GgufKv[];
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Where the data section starts in the file. */
  dataStart: number;
  fileSize: number;
}

export interface GgufTensorData {
  name: string;
  dims: readonly number[];
  type: number;
  data: Buffer;
}

export class GgufFileError extends Error {
  override name = "GgufFileError";
}

export function typeName(type: number): string {
  return TYPE_NAME[type] ?? `type ${type}`;
}

/** A tensor's dims padded with 1s to `n` (a rank-1 LoRA A is written with one dim). */
export function dimsOf(t: { dims: readonly number[] }, n = 2): number[] {
  const out = [...t.dims];
  while (out.length < n) out.push(1);
  return out;
}

const elements = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** A tensor's data size in bytes, for the types handled here; null for the others (quantized). */
export function tensorBytes(t: { dims: readonly number[]; type: number }): number | null {
  const size = ELEMENT_BYTES[t.type];
  return size === undefined ? null : elements(t.dims) * size;
}

class FileReader {
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  pos = 0;
  constructor(private readonly fd: number, readonly size: number) {}

  private need(n: number): number {
    if (this.pos + n > this.size) throw new GgufFileError(`the file ends inside its header (at byte ${this.size})`);
    if (this.pos < this.bufStart || this.pos + n > this.bufStart + this.buf.length) {
      const length = Math.min(Math.max(n, 1 << 20), this.size - this.pos);
      this.buf = Buffer.alloc(length);
      readSync(this.fd, this.buf, 0, length, this.pos);
      this.bufStart = this.pos;
    }
    const at = this.pos - this.bufStart;
    this.pos += n;
    return at;
  }
  u32(): number {
    const at = this.need(4);
    return this.buf.readUInt32LE(at);
  }
  u64(): number {
    const at = this.need(8);
    const v = this.buf.readBigUInt64LE(at);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GgufFileError("a count or offset in the header is too large");
    return Number(v);
  }
  string(): string {
    const n = this.u64();
    const at = this.need(n);
    return this.buf.toString("utf8", at, at + n);
  }
  scalar(type: number): GgufScalar {
    if (type === GGUF_VALUE.string) return this.string();
    const size = SCALAR_BYTES[type];
    if (size === undefined) throw new GgufFileError(`unknown metadata value type ${type}`);
    const at = this.need(size);
    const b = this.buf;
    switch (type) {
      case 0: return b.readUInt8(at);
      case 1: return b.readInt8(at);
      case 2: return b.readUInt16LE(at);
      case 3: return b.readInt16LE(at);
      case 4: return b.readUInt32LE(at);
      case 5: return b.readInt32LE(at);
      case 6: return b.readFloatLE(at);
      case 7: return b.readUInt8(at) !== 0;
      case 10: return b.readBigUInt64LE(at);
      case 11: return b.readBigInt64LE(at);
      default: return b.readDoubleLE(at);
    }
  }
}

/** Reads a GGUF file's metadata and tensor table (not the data). Throws GgufFileError naming what is wrong. */
export function readGgufHeader(path: string): GgufHeader {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw new GgufFileError(`${path} is not a regular file`);
    const magic = Buffer.alloc(4);
    readSync(fd, magic, 0, 4, 0);
    if (magic.toString("latin1") !== "GGUF") throw new GgufFileError(`${path} is not a GGUF file (no GGUF magic)`);
    try {
      checkGgufHeader(path, info.size);
    } catch (err) {
      if (err instanceof GgufHeaderError) throw new GgufFileError(`${path}: ${err.message}`);
      throw err;
    }
    const r = new FileReader(fd, info.size);
    r.pos = 4;
    const version = r.u32();
    const nTensors = r.u64();
    const nKv = r.u64();
    const kvs: GgufKv[] = [];
    for (let i = 0; i < nKv; i++) {
      const key = r.string();
      const type = r.u32();
      if (type === GGUF_VALUE.array) {
        const itemType = r.u32();
        if (itemType === GGUF_VALUE.array) throw new GgufFileError(`${path}: metadata ${key} is an array of arrays`);
        const n = r.u64();
        const items: GgufScalar[] = [];
        for (let j = 0; j < n; j++) items.push(r.scalar(itemType));
        kvs.push({ key, type, value: { itemType, items } });
      } else kvs.push({ key, type, value: r.scalar(type) });
    }
    const tensors: GgufTensorInfo[] = [];
    for (let i = 0; i < nTensors; i++) {
      const name = r.string();
      const nDims = r.u32();
      const dims: number[] = [];
      for (let d = 0; d < nDims; d++) dims.push(r.u64());
      tensors.push({ name, dims, type: r.u32(), offset: r.u64() });
    }
    const alignKv = kvs.find((kv) => kv.key === "general.alignment");
    const alignment = alignKv && typeof alignKv.value === "number" ? alignKv.value : DEFAULT_ALIGNMENT;
    if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) throw new GgufFileError(`${path}: general.alignment ${alignment} is not a power of 2`);
    const dataStart = Math.ceil(r.pos / alignment) * alignment;
    return { path, version, kvs, tensors, alignment, dataStart, fileSize: info.size };
  } finally {
    closeSync(fd);
  }
}

/** A metadata value by key (arrays as GgufArray), or undefined. */
export function kvValue(header: Pick<GgufHeader, "kvs">, key: string): GgufScalar | GgufArray | undefined {
  return header.kvs.find((kv) => kv.key === key)?.value;
}

/** The bytes of each tensor (F32, F16 or BF16 only), checked to lie inside the file. */
export function readTensors(header: GgufHeader): GgufTensorData[] {
  const fd = openSync(header.path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    return header.tensors.map((t) => {
      const bytes = tensorBytes(t);
      if (bytes === null) throw new GgufFileError(`${header.path}: tensor ${t.name} is ${typeName(t.type)}; only F32, F16 and BF16 adapter tensors are converted`);
      const start = header.dataStart + t.offset;
      if (start + bytes > header.fileSize) throw new GgufFileError(`${header.path}: tensor ${t.name} runs past the end of the file`);
      const data = Buffer.alloc(bytes);
      if (bytes > 0 && readSync(fd, data, 0, bytes, start) !== bytes) throw new GgufFileError(`${header.path}: could not read tensor ${t.name}`);
      return { name: t.name, dims: t.dims, type: t.type, data };
    });
  } finally {
    closeSync(fd);
  }
}

class Sink {
  private parts: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  u64(v: number | bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  string(s: string): void {
    const b = Buffer.from(s, "utf8");
    this.u64(b.length);
    this.push(b);
  }
  scalar(type: number, v: GgufScalar): void {
    if (type === GGUF_VALUE.string) return this.string(String(v));
    const size = SCALAR_BYTES[type];
    if (size === undefined) throw new GgufFileError(`unknown metadata value type ${type}`);
    const b = Buffer.alloc(size);
    const n = Number(v);
    switch (type) {
      case 0: b.writeUInt8(n); break;
      case 1: b.writeInt8(n); break;
      case 2: b.writeUInt16LE(n); break;
      case 3: b.writeInt16LE(n); break;
      case 4: b.writeUInt32LE(n); break;
      case 5: b.writeInt32LE(n); break;
      case 6: b.writeFloatLE(n); break;
      case 7: b.writeUInt8(v ? 1 : 0); break;
      case 10: b.writeBigUInt64LE(BigInt(v as number | bigint)); break;
      case 11: b.writeBigInt64LE(BigInt(v as number | bigint)); break;
      default: b.writeDoubleLE(n);
    }
    this.push(b);
  }
  pad(alignment: number): void {
    const n = (alignment - (this.length % alignment)) % alignment;
    if (n) this.push(Buffer.alloc(n));
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.parts, this.length);
  }
}

/**
 * The file's bytes, laid out as ggml writes it: header (version 3), metadata in order, tensor table (ggml's n_dims:
 * trailing 1s left out), padding to the alignment, then each tensor's data padded to the alignment.
 */
export function encodeGguf(kvs: readonly GgufKv[], tensors: readonly GgufTensorData[]): Buffer {
  const alignKv = kvs.find((kv) => kv.key === "general.alignment");
  const alignment = alignKv && typeof alignKv.value === "number" ? alignKv.value : DEFAULT_ALIGNMENT;
  const s = new Sink();
  s.push(Buffer.from("GGUF", "latin1"));
  s.u32(3);
  s.u64(tensors.length);
  s.u64(kvs.length);
  for (const kv of kvs) {
    s.string(kv.key);
    s.u32(kv.type);
    if (kv.type === GGUF_VALUE.array) {
      const arr = kv.value as GgufArray;
      s.u32(arr.itemType);
      s.u64(arr.items.length);
      for (const item of arr.items) s.scalar(arr.itemType, item);
    } else s.scalar(kv.type, kv.value as GgufScalar);
  }
  let offset = 0;
  for (const t of tensors) {
    const bytes = tensorBytes(t);
    if (bytes === null || bytes !== t.data.length) throw new GgufFileError(`tensor ${t.name}: ${t.data.length} bytes do not fit dims [${t.dims.join(", ")}] of ${typeName(t.type)}`);
    const dims = [...t.dims];
    while (dims.length > 1 && dims[dims.length - 1] === 1) dims.pop();
    s.string(t.name);
    s.u32(dims.length);
    for (const d of dims) s.u64(d);
    s.u32(t.type);
    s.u64(offset);
    offset += Math.ceil(bytes / alignment) * alignment;
  }
  s.pad(alignment);
  for (const t of tensors) {
    s.push(t.data);
    s.pad(alignment);
  }
  return s.toBuffer();
}

/** Writes the file through a temporary file and a link, so no reader sees half of it; an existing file is never
 * replaced (node-llama-cpp caches adapters by path: a file changed under a path it loaded would be read stale). */
export function writeGgufFile(path: string, kvs: readonly GgufKv[], tensors: readonly GgufTensorData[]): void {
  const bytes = encodeGguf(kvs, tensors);
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    try {
      writeSync(fd, bytes);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new GgufFileError(`${path} already exists: choose a new file name`);
      throw err;
    }
  } finally {
    rmSync(tmp, { force: true });
  }
}
