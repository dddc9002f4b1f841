// Turning raw model output into one command or one sentence, and small text measures.

/** Strips fences, prompts, quotes and trailing prose, leaving the first command line. */
export function cleanCommand(raw: string): string {
  let text = raw.replace(/\r/g, "");
  const fenced = /```[a-zA-Z]*\n?([\s\S]*?)(```|$)/.exec(text);
  if (fenced && fenced[1]!.trim()) text = fenced[1]!;
  const line = text.split("\n").map((l) => l.trim()).find((l) => l.length > 0) ?? "";
  let cmd = line.replace(/^(command|answer)\s*:\s*/i, "").replace(/^\$\s+/, "");
  cmd = cmd.replace(/^`+|`+$/g, "").trim();
  if (cmd.length >= 2 && cmd.startsWith('"') && cmd.endsWith('"') && !cmd.slice(1, -1).includes('"')) cmd = cmd.slice(1, -1);
  return cmd.trim();
}

/** First sentence-like line of a reconstruction. */
export function cleanSentence(raw: string): string {
  const line = raw.replace(/\r/g, "").split("\n").map((l) => l.trim()).find((l) => l.length > 0) ?? "";
  return line.replace(/^(task|this command will)\s*:\s*/i, "").trim();
}

export function words(text: string): string[] {
  // Keeps paths and flags whole ("./a.txt", "-la") but not sentence punctuation ("directory.").
  return (text.toLowerCase().match(/[a-z0-9_./-]+/g) ?? []).map((w) => w.replace(/\.+$/, "")).filter((w) => w.length > 0);
}

/** Token-level F1 between two texts' word multisets. */
export function tokenF1(a: string, b: string): number {
  const wa = words(a);
  const wb = words(b);
  if (wa.length === 0 || wb.length === 0) return wa.length === wb.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const w of wa) counts.set(w, (counts.get(w) ?? 0) + 1);
  let common = 0;
  for (const w of wb) {
    const c = counts.get(w) ?? 0;
    if (c > 0) {
      common++;
      counts.set(w, c - 1);
    }
  }
  if (common === 0) return 0;
  const p = common / wb.length;
  const r = common / wa.length;
  return (2 * p * r) / (p + r);
}

/** Python difflib.SequenceMatcher(None, a, b).ratio() for the short strings scored here (no autojunk). */
export function sequenceRatio(a: string, b: string): number {
  const total = a.length + b.length;
  if (total === 0) return 1;
  return (2 * matchingCharacters(a, b, 0, a.length, 0, b.length)) / total;
}

function matchingCharacters(a: string, b: string, alo: number, ahi: number, blo: number, bhi: number): number {
  // Longest common block, leftmost in a then in b, as difflib's find_longest_match picks it.
  let bestI = alo;
  let bestJ = blo;
  let bestSize = 0;
  let prev = new Map<number, number>();
  for (let i = alo; i < ahi; i++) {
    const next = new Map<number, number>();
    for (let j = blo; j < bhi; j++) {
      if (a[i] !== b[j]) continue;
      const k = (prev.get(j - 1) ?? 0) + 1;
      next.set(j, k);
      if (k > bestSize) {
        bestI = i - k + 1;
        bestJ = j - k + 1;
        bestSize = k;
      }
    }
    prev = next;
  }
  if (bestSize === 0) return 0;
  return (
    bestSize +
    matchingCharacters(a, b, alo, bestI, blo, bestJ) +
    matchingCharacters(a, b, bestI + bestSize, ahi, bestJ + bestSize, bhi)
  );
}

export function normalizeTask(text: string): string {
  return words(text).join(" ");
}

/** Jaccard similarity of word sets, for near-duplicate removal. */
export function jaccard(a: string, b: string): number {
  const sa = new Set(words(a));
  const sb = new Set(words(b));
  if (sa.size === 0 && sb.size === 0) return 1;
  let inter = 0;
  for (const w of sa) if (sb.has(w)) inter++;
  return inter / (sa.size + sb.size - inter);
}
