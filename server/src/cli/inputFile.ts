// Files named on the command line, read as untrusted input: regular files only, within a size limit. A FIFO would
// block a read for ever, /dev/zero never ends, and a file of hundreds of MB would be decoded whole before any check.
// The path is checked with stat before it is opened (a device or FIFO is never opened), then opened with O_NONBLOCK
// (a FIFO swapped in meanwhile cannot block the open) and the descriptor checked again with fstat.
// (server/src/knowledge/manpages/pageFile.ts does the same for man pages, synchronously, on its worker.)
import { constants, type Stats } from "node:fs";
import { open, stat, type FileHandle } from "node:fs/promises";

/** A file refused before it was read: not a regular file, or over the size limit. */
export class RefusedFileError extends Error {
  override name = "RefusedFileError";
}

/** Pairs files (--eval, --pairs) and command lists (--commands): far above real ones, far below what exhausts memory. */
export const MAX_DATA_FILE_BYTES = 64 * 1024 * 1024;

const CHUNK_BYTES = 64 * 1024;

/** The file's text (UTF-8) when it is a regular file of at most maxBytes; throws RefusedFileError or the file system's error. */
export async function readRegularText(file: string, maxBytes: number): Promise<string> {
  const handle = await openRegular(file, maxBytes);
  try {
    return (await readAtMost(handle, maxBytes)).toString("utf8");
  } finally {
    await handle.close();
  }
}

/**
 * Checks, before anything is created, that the file a flag names can be read: a regular file of at most maxBytes.
 * Throws an error naming the flag and the path.
 */
export async function requireInputFile(file: string, flag: string, maxBytes = Infinity): Promise<void> {
  try {
    await (await openRegular(file, maxBytes)).close();
  } catch (err) {
    throw new Error(`${flag} ${file} cannot be read: ${whyUnreadable(err)}. Pass a readable regular file as ${flag}.`);
  }
}

function whyUnreadable(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "the file does not exist";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  return (err as Error).message;
}

async function openRegular(file: string, maxBytes: number): Promise<FileHandle> {
  refuseIrregular(await stat(file), maxBytes);
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    refuseIrregular(await handle.stat(), maxBytes);
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
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

/** Reads to the end, refusing the file once it holds more than maxBytes (it may have grown since fstat). */
async function readAtMost(handle: FileHandle, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    const { bytesRead } = await handle.read(chunk, 0, CHUNK_BYTES, null);
    if (bytesRead === 0) return Buffer.concat(chunks, total);
    total += bytesRead;
    if (total > maxBytes) throw new RefusedFileError(`the file grew past the limit of ${maxBytes} bytes while it was read`);
    chunks.push(chunk.subarray(0, bytesRead));
  }
}
