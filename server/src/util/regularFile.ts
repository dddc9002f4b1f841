// Files read as untrusted input, one way everywhere (man pages, scripts and data files named on the command line):
// regular files only, within a size limit. A FIFO would block a read for ever, /dev/zero never ends, and a file of
// hundreds of MB would be decoded whole before any check. The link is resolved and its target checked before
// opening (a device or FIFO is never opened), the file opened with O_NONBLOCK (a FIFO swapped in meanwhile cannot
// block the open), the descriptor checked again, and the read stopped once past the limit (the file may grow).
// Synchronous: callers run it on a worker (man pages) or in the CLI.
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync, type Stats } from "node:fs";

/** Why a file was not read, in words ("not a regular file (a FIFO)", "the file does not exist"). */
export class RefusedFileError extends Error {
  override name = "RefusedFileError";
}

const CHUNK_BYTES = 64 * 1024;

/** The file's bytes when it is a regular file of at most maxBytes; throws RefusedFileError. */
export function readRegularFile(file: string, maxBytes: number): Buffer {
  const real = fsCall(() => realpathSync(file));
  refuseIrregular(fsCall(() => lstatSync(real)), maxBytes);
  const fd = fsCall(() => openSync(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY));
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
  closeSync(fsCall(() => openSync(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY)));
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

/** A failed file-system call as the reason the file was not read. */
function fsCall<T>(call: () => T): T {
  try {
    return call();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new RefusedFileError("the file does not exist");
    if (code === "EACCES" || code === "EPERM") throw new RefusedFileError("permission denied");
    if (code === "ELOOP") throw new RefusedFileError("too many levels of symbolic links");
    throw new RefusedFileError((err as Error).message);
  }
}
