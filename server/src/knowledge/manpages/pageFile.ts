// A page's roff source read off disk as untrusted input: regular files only (a FIFO would block for ever, a link to
// /dev/zero or /dev/urandom never ends), at most maxFileBytes as stored and maxSourceBytes once gunzipped (a gzip
// bomb stops at the cap), following `.so` redirections. Synchronous: it runs on the page worker, which is terminated
// past its time budget (pageOffThread.ts).
import { statSync } from "node:fs";
import { readRegularFile, RefusedFileError } from "../../util/regularFile";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { mebibytes, PAGE_LIMITS, UnreadablePageError, type PageLimits } from "./limits";

const MAX_REDIRECTS = 4;

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
  const bytes = readRegularPage(file, limits.maxFileBytes);
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

/** The file's bytes (util/regularFile.ts), its refusal worded as the reason the page was not read. */
function readRegularPage(file: string, maxBytes: number): Buffer {
  try {
    return readRegularFile(file, maxBytes);
  } catch (err) {
    if (err instanceof RefusedFileError) throw new UnreadablePageError(err.message === "the file does not exist" ? "the file does not exist (a dangling link?)" : err.message);
    throw err;
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
