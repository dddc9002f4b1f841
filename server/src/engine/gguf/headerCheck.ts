// A bounded walk over a GGUF file's header (key/value metadata and tensor table) before anything else parses it.
// node-llama-cpp's readGgufFileInfo trusts the counts in the header: a 88-byte file claiming 2^62 tensors makes it
// loop with memory growing without bound. Here every count and length is checked against the bytes that remain,
// so the walk does work proportional to the header's real size and a lying header fails at once.
import { closeSync, openSync, readSync } from "node:fs";

export class GgufHeaderError extends Error {
  /** `incomplete`: the file is empty or ends inside its header (a cut-short download), rather than lying. */
  constructor(message: string, readonly incomplete = false) {
    super(message);
    this.name = "GgufHeaderError";
  }
}

const CHUNK = 1 << 20;
/** Bytes per element of the fixed-size GGUF value types (uint8 … float64), by type id. */
const FIXED_SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const STRING = 8;
const ARRAY = 9;
/** llama.cpp's GGML_MAX_DIMS. */
const MAX_DIMS = 4;

class BoundedReader {
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  pos = 0;

  constructor(private readonly fd: number, readonly size: number) {}

  get remaining(): number {
    return this.size - this.pos;
  }

  private need(n: number, what: string): void {
    this.refuseCutShort(n, what);
    const end = this.pos + n;
    if (this.pos >= this.bufStart && end <= this.bufStart + this.buf.length) return;
    const length = Math.min(Math.max(n, CHUNK), this.size - this.pos);
    this.buf = Buffer.alloc(length);
    readSync(this.fd, this.buf, 0, length, this.pos);
    this.bufStart = this.pos;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32LE(this.pos - this.bufStart);
    this.pos += 4;
    return v;
  }

  /** A u64 count or length; anything beyond what the rest of the file could hold is refused by the caller. */
  u64(what: string): number {
    this.need(8, what);
    const v = this.buf.readBigUInt64LE(this.pos - this.bufStart);
    this.pos += 8;
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(v);
  }

  skip(n: number, what: string): void {
    this.refuseCutShort(n, what);
    this.pos += n;
  }

  private refuseCutShort(n: number, what: string): void {
    if (n <= this.remaining) return;
    if (this.size === 0) throw new GgufHeaderError("the file is empty (0 bytes)", true);
    throw new GgufHeaderError(`the file is cut short at byte ${this.size} (${what} needs ${n} bytes but only ${this.remaining} remain)`, true);
  }

  /** A count of items that each take at least `minBytes`: refused when the rest of the file cannot hold them. */
  count(minBytes: number, what: string): number {
    const n = this.u64(what);
    if (n * minBytes > this.remaining) {
      throw new GgufHeaderError(`the header claims ${n === Infinity ? "more than 2^53" : n} ${what}, more than the ${this.size}-byte file can hold`);
    }
    return n;
  }

  string(what: string): void {
    this.skip(this.count(1, `bytes of ${what}`), what);
  }
}

function skipValue(r: BoundedReader, type: number, what: string): void {
  if (type in FIXED_SIZE) return r.skip(FIXED_SIZE[type]!, what);
  if (type === STRING) return r.string(what);
  if (type !== ARRAY) throw new GgufHeaderError(`${what} has unknown value type ${type}`);
  const itemType = r.u32(what);
  if (itemType in FIXED_SIZE) return r.skip(r.count(FIXED_SIZE[itemType]!, `array items of ${what}`) * FIXED_SIZE[itemType]!, what);
  if (itemType !== STRING) throw new GgufHeaderError(`${what} is an array of unsupported type ${itemType}`);
  const n = r.count(8, `array items of ${what}`);
  for (let i = 0; i < n; i++) r.string(what);
}

/**
 * Walks the header of the GGUF file at `path` (of `size` bytes); throws GgufHeaderError naming what is wrong, marked
 * `incomplete` when the file is empty, ends inside the header or lists no tensors.
 */
export function checkGgufHeader(path: string, size: number): void {
  const fd = openSync(path, "r");
  try {
    const r = new BoundedReader(fd, size);
    r.skip(4, "the magic");
    const version = r.u32("the version");
    if (version < 2 || version > 3) throw new GgufHeaderError(`unsupported GGUF version ${version} (llama.cpp reads 2 and 3)`);
    // A tensor entry takes at least 8 (name length) + 4 (dims) + 4 (type) + 8 (offset) bytes; a key/value 8 + 4 + 1.
    const tensors = r.count(24, "tensors");
    const kvs = r.count(13, "metadata entries");
    for (let i = 0; i < kvs; i++) {
      r.string(`metadata key ${i}`);
      skipValue(r, r.u32(`metadata entry ${i}`), `metadata entry ${i}`);
    }
    for (let i = 0; i < tensors; i++) {
      r.string(`tensor ${i}'s name`);
      const dims = r.u32(`tensor ${i}`);
      if (dims > MAX_DIMS) throw new GgufHeaderError(`tensor ${i} claims ${dims} dimensions (at most ${MAX_DIMS})`);
      r.skip(8 * dims + 4 + 8, `tensor ${i}`);
    }
    if (tensors === 0) throw new GgufHeaderError("its header lists no tensors (an empty GGUF), so it holds no model", true);
  } finally {
    closeSync(fd);
  }
}
