// Decides whether a document is worth scoring: binary content, invalid UTF-8 and huge files are skipped with a reason.
export type GuardResult = { ok: true; bytes: number } | { ok: false; reason: string };

/** `text` is what the editor holds: invalid UTF-8 arrives as U+FFFD, binary data usually carries NULs. */
export function guardText(text: string, maxBytes: number): GuardResult {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > maxBytes) return { ok: false, reason: `the file is ${bytes} bytes, over inversion.maxFileBytes (${maxBytes})` };
  const sample = text.length > 65536 ? text.slice(0, 65536) : text;
  let nul = 0;
  let replacement = 0;
  let control = 0;
  for (let i = 0; i < sample.length; i++) {
    const c = sample.charCodeAt(i);
    if (c === 0) nul++;
    else if (c === 0xfffd) replacement++;
    else if (c < 32 && c !== 9 && c !== 10 && c !== 13 && c !== 12 && c !== 27) control++;
  }
  if (nul > 0) return { ok: false, reason: `the file looks binary (${nul} NUL characters in the first ${sample.length})` };
  if (replacement > 0 && replacement / Math.max(1, sample.length) > 0.001)
    return { ok: false, reason: `the file is not valid UTF-8 (${replacement} replacement characters)` };
  if (control / Math.max(1, sample.length) > 0.01) return { ok: false, reason: `the file looks binary (${control} control characters)` };
  return { ok: true, bytes };
}
