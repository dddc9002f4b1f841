// The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON naming each tensor's
// dtype, shape and [begin, end) byte range in the data that follows, and an optional "__metadata__" map of strings.
// The file is untrusted input: every length, range and shape is checked before a byte of data is used.

/** Bytes per element of every safetensors dtype. */
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};
/** A header far larger than any adapter's (the safetensors library refuses over 100 MB too). */
const MAX_HEADER_BYTES = 100_000_000;

export interface SafeTensor {
  name: string;
  dtype: string;
  shape: number[];
  data: Buffer;
}

export interface SafeTensorsFile {
  metadata: Record<string, string>;
  tensors: SafeTensor[];
}

export class SafeTensorsError extends Error {
  override name = "SafeTensorsError";
}

const isShape = (v: unknown): v is number[] => Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && d >= 0);

/** Parses a whole safetensors file; throws SafeTensorsError naming the first problem. */
export function parseSafeTensors(bytes: Buffer, what = "the file"): SafeTensorsFile {
  const fail = (m: string): never => {
    throw new SafeTensorsError(`${what} is not a valid safetensors file: ${m}`);
  };
  if (bytes.length < 8) fail(`it is ${bytes.length} bytes long, shorter than the 8-byte header length`);
  const n = bytes.readBigUInt64LE(0);
  if (n > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) fail(`its header claims ${n} bytes, more than the file${n > BigInt(MAX_HEADER_BYTES) ? "'s limit of 100 MB" : " holds"}`);
  const headerEnd = 8 + Number(n);
  let header: unknown;
  try {
    header = JSON.parse(bytes.toString("utf8", 8, headerEnd));
  } catch (err) {
    fail(`its header is not JSON (${(err as Error).message})`);
  }
  if (!header || typeof header !== "object" || Array.isArray(header)) fail("its header is not a JSON object");
  const dataLength = bytes.length - headerEnd;
  const metadata: Record<string, string> = {};
  const tensors: SafeTensor[] = [];
  const ranges: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (!entry || typeof entry !== "object" || Array.isArray(entry)) fail("__metadata__ is not an object");
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`__metadata__.${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (!e || typeof e !== "object") fail(`tensor ${name} is not an object`);
    const dtype = e!.dtype;
    if (typeof dtype !== "string" || !(dtype in DTYPE_BYTES)) fail(`tensor ${name} has unknown dtype ${JSON.stringify(dtype)}`);
    if (!isShape(e!.shape)) fail(`tensor ${name} has no valid shape`);
    const offsets = e!.data_offsets;
    if (!isShape(offsets) || offsets.length !== 2) fail(`tensor ${name} has no valid data_offsets`);
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLength) fail(`tensor ${name}'s bytes [${begin}, ${end}) lie outside the ${dataLength} bytes of data`);
    const shape = e!.shape as number[];
    const count = shape.reduce((a, b) => a * b, 1);
    if (count * DTYPE_BYTES[dtype as string]! !== end - begin) fail(`tensor ${name}: shape [${shape.join(", ")}] of ${dtype} needs ${count * DTYPE_BYTES[dtype as string]!} bytes, its range holds ${end - begin}`);
    ranges.push([begin, end, name]);
    tensors.push({ name, dtype: dtype as string, shape, data: bytes.subarray(headerEnd + begin, headerEnd + end) });
  }
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i]![0] < ranges[i - 1]![1]) fail(`tensors ${ranges[i - 1]![2]} and ${ranges[i]![2]} overlap`);
  }
  return { metadata, tensors };
}

/** A safetensors file: the tensors' data packed in the order given, the header padded with spaces to 8 bytes. */
export function encodeSafeTensors(file: SafeTensorsFile): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(file.metadata).length) header.__metadata__ = file.metadata;
  let offset = 0;
  for (const t of file.tensors) {
    const size = DTYPE_BYTES[t.dtype];
    if (size === undefined) throw new SafeTensorsError(`tensor ${t.name}: unknown dtype ${t.dtype}`);
    if (t.shape.reduce((a, b) => a * b, 1) * size !== t.data.length) throw new SafeTensorsError(`tensor ${t.name}: ${t.data.length} bytes do not fit shape [${t.shape.join(", ")}] of ${t.dtype}`);
    if (t.name in header) throw new SafeTensorsError(`tensor ${t.name} appears twice`);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([length, Buffer.from(json, "utf8"), ...file.tensors.map((t) => t.data)]);
}
