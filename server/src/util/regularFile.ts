// Files read as untrusted input, one way everywhere (man pages, scripts and data files named on the command line):
// regular files only, within a size limit. A FIFO would block a read for ever, /dev/zero never ends, and a file of
// hundreds of MB would be decoded whole before any check. The link is resolved and its target checked before
// opening (a device or FIFO is never opened), the file opened with O_NONBLOCK (a FIFO swapped in meanwhile cannot
// block the open), the descriptor checked again, and the read stopped once past the limit (the file may grow).
// readRegularFile is synchronous (callers run it on a worker, for man pages, or in the CLI); readRegularFileAsync is
// the same for the language server and the run store, whose file-system calls share libuv's four threads: a FIFO
// opened without O_NONBLOCK would hold one of them for ever.
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync, type Stats } from "node:fs";
import { lstat, open, realpath, type FileHandle } from "node:fs/promises";

/** Why a file was not read, in words ("not a regular file (a FIFO)", "the file does not exist"). */
export class RefusedFileError extends Error {
  override name = "RefusedFileError";
  /** The system's error code when a call failed (ENOENT: the file does not exist). */
  constructor(message: string, readonly code?: string) {
    super(message);
  }
}

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

const CHUNK_BYTES = 64 * 1024;

/** The file's bytes when it is a regular file of at most maxBytes; throws RefusedFileError. */
export function readRegularFile(file: string, maxBytes: number): Buffer {
  const real = fsCall(() => realpathSync(file));
  refuseIrregular(fsCall(() => lstatSync(real)), maxBytes);
  const fd = fsCall(() => openSync(real, OPEN_FLAGS));
  try {
    refuseIrregular(fstatSync(fd), maxBytes);
    return readAtMost(fd, maxBytes);
  } finally {
    closeSync(fd);
  }
}

/** Throws RefusedFileError when the file cannot be read as a regular file of at most maxBytes. */
export function checkRegularFile(file: string, maxBytes = Infinity): void {
  const real = fsCall(() => realpathSync(file));
  refuseIrregular(fsCall(() => lstatSync(real)), maxBytes);
  closeSync(fsCall(() => openSync(real, OPEN_FLAGS)));
}

/** readRegularFile without blocking the event loop, and without ever waiting on a FIFO or a device. */
export async function readRegularFileAsync(file: string, maxBytes: number): Promise<Buffer> {
  const real = await fsCallAsync(() => realpath(file));
  refuseIrregular(await fsCallAsync(() => lstat(real)), maxBytes);
  const handle = await fsCallAsync(() => open(real, OPEN_FLAGS));
  try {
    refuseIrregular(await handle.stat(), maxBytes);
    return await readAtMostAsync(handle, maxBytes);
  } finally {
    await handle.close();
  }
}

function refuseIrregular(info: Stats, maxBytes: number): void {
  if (!info.isFile()) throw new RefusedFileError(`not a regular file (${fileKind(info)})`);
  if (info.size > maxBytes) throw new RefusedFileError(`the file is ${info.size} bytes, over the limit of ${maxBytes} bytes`);
}

function fileKind(info: Stats): string {
  if (info.isFIFO()) return "a FIFO";
  if (info.isCharacterDevice()) return "a character device";
  if (info.isBlockDevice()) return "a block device";
  if (info.isSocket()) return "a socket";
  if (info.isDirectory()) return "a directory";
  return "not a file";
}

function readAtMost(fd: number, maxBytes: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    const read = readSync(fd, chunk, 0, CHUNK_BYTES, null);
    if (read === 0) return Buffer.concat(chunks, total);
    total += read;
    if (total > maxBytes) throw new RefusedFileError(`the file grew past the limit of ${maxBytes} bytes while it was read`);
    chunks.push(chunk.subarray(0, read));
  }
}

async function readAtMostAsync(handle: FileHandle, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    const { bytesRead } = await fsCallAsync(() => handle.read(chunk, 0, CHUNK_BYTES, null));
    if (bytesRead === 0) return Buffer.concat(chunks, total);
    total += bytesRead;
    if (total > maxBytes) throw new RefusedFileError(`the file grew past the limit of ${maxBytes} bytes while it was read`);
    chunks.push(chunk.subarray(0, bytesRead));
  }
}

/** A failed file-system call as the reason the file was not read. */
function refused(err: unknown): RefusedFileError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return new RefusedFileError("the file does not exist", code);
  if (code === "EACCES" || code === "EPERM") return new RefusedFileError("permission denied", code);
  if (code === "ELOOP") return new RefusedFileError("too many levels of symbolic links", code);
  return new RefusedFileError((err as Error).message, code);
}

function fsCall<T>(call: () => T): T {
  try {
    return call();
  } catch (err) {
    throw refused(err);
  }
}

async function fsCallAsync<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw refused(err);
  }
}
