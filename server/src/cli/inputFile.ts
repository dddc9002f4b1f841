// Files named on the command line, read as untrusted input through util/regularFile.ts (regular files only, within
// a size limit), with errors that name the flag.
import { checkRegularFile, readRegularFile, RefusedFileError } from "../util/regularFile";

export { RefusedFileError };

/** Pairs files (--eval, --pairs) and command lists (--commands): far above real ones, far below what exhausts memory. */
export const MAX_DATA_FILE_BYTES = 64 * 1024 * 1024;

/** The file's text (UTF-8) when it is a regular file of at most maxBytes; throws RefusedFileError. */
export async function readRegularText(file: string, maxBytes: number): Promise<string> {
  return readRegularFile(file, maxBytes).toString("utf8");
}

/**
 * Checks, before anything is created, that the file a flag names can be read: a regular file of at most maxBytes.
 * Throws an error naming the flag and the path.
 */
export async function requireInputFile(file: string, flag: string, maxBytes = Infinity): Promise<void> {
  try {
    checkRegularFile(file, maxBytes);
  } catch (err) {
    throw new Error(`${flag} ${file} cannot be read: ${(err as Error).message}. Pass a readable regular file as ${flag}.`);
  }
}
