// What one man page may cost to read. Any directory on MANPATH can hold a page (man derives man directories from
// PATH entries, so a project's own bin/ brings its man/ along): a page is untrusted input.
// The largest pages of a Debian system: cmake-modules(7), 0.8 MB and 27,500 lines; bash(1), 0.35 MB.

export interface PageLimits {
  /** Bytes of the file as stored (gzip'd or not). */
  maxFileBytes: number;
  /** Bytes of roff source, once decompressed. */
  maxSourceBytes: number;
  /** Physical lines of roff source. */
  maxLines: number;
}

export const PAGE_LIMITS: PageLimits = { maxFileBytes: 8 * 1024 * 1024, maxSourceBytes: 8 * 1024 * 1024, maxLines: 200_000 };

/** The page was not read; the message says why, for "page could not be read: <why>". */
export class UnreadablePageError extends Error {
  override name = "UnreadablePageError";
}

export function mebibytes(bytes: number): string {
  return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB`;
}
