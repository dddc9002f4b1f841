// A page's roff source read off disk as untrusted input: regular files only (a FIFO would block for ever, a link to
// /dev/zero or /dev/urandom never ends), at most maxFileBytes as stored and maxSourceBytes once gunzipped (a gzip
// bomb stops at the cap), following `.so` redirections. Synchronous: it runs on the page worker, which is terminated
// past its time budget (pageOffThread.ts).
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync, statSync, type Stats } from "node:fs";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { mebibytes, PAGE_LIMITS, UnreadablePageError, type PageLimits } from "./limits";

const MAX_REDIRECTS = 4;
const CHUNK_BYTES = 64 * 1024;

/** The page's roff source: gunzipped when it ends in .gz, following `.so` to the page it names. */
export function readPageSource(file: string, limits: PageLimits = PAGE_LIMITS): string {
  let current = file;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const text = readMaybeGzipped(current, limits);
    const target = /^\.so\s+(\S+)/m.exec(text.slice(0, 2000));
    if (!target || !isOnlyRedirect(text)) return text;
    current = resolveRedirect(current, target[1]!);
  }
  throw new UnreadablePageError("too many .so redirections");
}

function readMaybeGzipped(file: string, limits: PageLimits): string {
  if (/\.(bz2|xz|lzma|zst|Z)$/.test(file)) throw new UnreadablePageError("compressed with a format other than gzip, which is not read");
  const bytes = readRegularFile(file, limits.maxFileBytes);
  const source = file.endsWith(".gz") ? gunzipCapped(bytes, limits.maxSourceBytes) : bytes;
  if (source.length > limits.maxSourceBytes) throw new UnreadablePageError(`over ${mebibytes(limits.maxSourceBytes)}`);
  return source.toString("utf8");
}

function gunzipCapped(bytes: Buffer, maxBytes: number): Buffer {
  try {
    return gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") throw new UnreadablePageError(`over ${mebibytes(maxBytes)} once decompressed`);
    throw new UnreadablePageError(`not valid gzip: ${(err as Error).message}`);
  }
}

/**
 * The file's bytes when it is a regular file: the link is resolved and its target checked before opening, and the
 * opened descriptor checked again (the path may have been swapped in between). O_NONBLOCK: a FIFO never blocks open.
 */
function readRegularFile(file: string, maxBytes: number): Buffer {
  const real = fsCall(() => realpathSync(file));
  refuseIrregular(fsCall(() => lstatSync(real)));
  const fd = fsCall(() => openSync(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY));
  try {
    const opened = fstatSync(fd);
    refuseIrregular(opened);
    if (opened.size > maxBytes) throw new UnreadablePageError(`over ${mebibytes(maxBytes)}`);
    return readAtMost(fd, maxBytes);
  } finally {
    closeSync(fd);
  }
}

function refuseIrregular(info: Stats): void {
  if (!info.isFile()) throw new UnreadablePageError(`not a regular file (${fileKind(info)})`);
}

function fileKind(info: Stats): string {
  if (info.isFIFO()) return "a FIFO";
  if (info.isCharacterDevice()) return "a character device";
  if (info.isBlockDevice()) return "a block device";
  if (info.isSocket()) return "a socket";
  if (info.isDirectory()) return "a directory";
  return "not a file";
}

/** Reads to the end of the file, refusing it once it holds more than maxBytes (it may have grown since fstat). */
function readAtMost(fd: number, maxBytes: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    const read = readSync(fd, chunk, 0, CHUNK_BYTES, null);
    if (read === 0) return Buffer.concat(chunks, total);
    total += read;
    if (total > maxBytes) throw new UnreadablePageError(`over ${mebibytes(maxBytes)}`);
    chunks.push(chunk.subarray(0, read));
  }
}

/** A failed file-system call as the reason the page was not read. */
function fsCall<T>(call: () => T): T {
  try {
    return call();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new UnreadablePageError("the file does not exist (a dangling link?)");
    if (code === "EACCES" || code === "EPERM") throw new UnreadablePageError("permission denied");
    if (code === "ELOOP") throw new UnreadablePageError("too many levels of symbolic links");
    throw new UnreadablePageError((err as Error).message);
  }
}

/** A redirect page holds `.so` and nothing else but comments. */
function isOnlyRedirect(text: string): boolean {
  return text.split("\n").filter((l) => l.trim() !== "" && !/^[.']\s*\\"/.test(l)).length === 1;
}

/** `.so man1/gzip.1` is relative to the man directory (the parent of man1/); the file may carry a .gz suffix. */
function resolveRedirect(from: string, target: string): string {
  const root = path.dirname(path.dirname(from));
  const base = path.isAbsolute(target) ? target : path.join(root, target);
  for (const candidate of [base, `${base}.gz`]) if (exists(candidate)) return candidate;
  throw new UnreadablePageError(`.so names ${target}, which does not exist`);
}

function exists(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}
