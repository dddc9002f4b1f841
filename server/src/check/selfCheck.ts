// The self-check: how well the comment score tells a comment that matches a command from one that does not. Each
// pair's command is scored against its own intent and against two other pairs' intents; the separation is the ROC
// AUC of matched over mismatched scores. The product's comment score is the grounded one (grounded.ts: examples
// and man pages), so the check measures what the warnings rest on; a model's lift can be checked the same way
// (scripts, benchmarks). Results are cached per source identity (index or model content) and pair set.
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { SELF_CHECK_PAIRS, type IntentPair } from "./selfCheckPairs";

/**
 * Below this AUC a comment score is unfit to judge comments: warnings are off and hovers say so. A score that knows
 * no shell is about 0.5 here (the random fixture model's lift is); chance plus the spread of a 60-pair estimate stays
 * well under 0.75, and at 0.75 three out of four (matched, mismatched) orderings are already right.
 */
export const SELF_CHECK_FLOOR = 0.75;

/** Offsets of the mismatched intents: command i is also scored against the intents of pairs i+17 and i+31. */
const MISMATCH_OFFSETS = [17, 31] as const;

export interface SelfCheckResult {
  /** Identifies the scored source (index or model content) and the pair set the result was measured with. */
  fingerprint: string;
  /** What the score rests on, in words ("examples and man pages", "the model's lift"). */
  basis: string;
  /** ROC AUC of matched over mismatched scores: the probability that a matching comment outscores a wrong one. */
  auc: number;
  floor: number;
  /** auc ≥ floor: comment warnings are on. */
  fit: boolean;
  /** Scores, sorted ascending. */
  matched: number[];
  mismatched: number[];
  measuredAt: string;
}

/** A comment score: higher means the comment agrees more with the command. */
export interface SupportSource {
  /** Changes when the score's inputs change (index content, model and adapter content). */
  readonly identity: string;
  readonly basis: string;
  support(intent: string, command: string, signal?: AbortSignal): Promise<number>;
}

/** Anything that can score an intent against a command by lift; Engine satisfies it. */
export interface LiftSource {
  readonly modelPath: string;
  readonly adapterPath: string | null;
  score(task: string, command: string, ctl: { signal?: AbortSignal; reconstruction?: string }): Promise<{ score: { parts: Record<string, number> } }>;
}

export async function liftOf(model: LiftSource, intent: string, command: string, signal?: AbortSignal): Promise<number> {
  // An empty reconstruction skips the model's reading: the lift does not depend on it.
  const r = await model.score(intent, command, { signal, reconstruction: "" });
  const bits = r.score.parts.liftBitsPerToken;
  if (bits === undefined) throw new Error("The scorer reported no lift (liftBitsPerToken).");
  return bits;
}

/** Probability that a random matched value exceeds a random mismatched one (ties count half). */
export function rocAuc(matched: readonly number[], mismatched: readonly number[]): number {
  if (matched.length === 0 || mismatched.length === 0) return 0.5;
  let wins = 0;
  for (const m of matched) for (const x of mismatched) wins += m > x ? 1 : m === x ? 0.5 : 0;
  return wins / (matched.length * mismatched.length);
}

export async function measureSelfCheck(source: SupportSource, fingerprint: string, opts: { signal?: AbortSignal; pairs?: readonly IntentPair[] } = {}): Promise<SelfCheckResult> {
  const pairs = opts.pairs ?? SELF_CHECK_PAIRS;
  const matched: number[] = [];
  const mismatched: number[] = [];
  for (const [i, pair] of pairs.entries()) {
    matched.push(await source.support(pair.intent, pair.command, opts.signal));
    for (const k of MISMATCH_OFFSETS) {
      const other = pairs[(i + k) % pairs.length]!;
      if (other.intent !== pair.intent) mismatched.push(await source.support(other.intent, pair.command, opts.signal));
    }
  }
  const auc = rocAuc(matched, mismatched);
  const asc = (a: number, b: number): number => a - b;
  return {
    fingerprint,
    basis: source.basis,
    auc,
    floor: SELF_CHECK_FLOOR,
    fit: auc >= SELF_CHECK_FLOOR,
    matched: matched.sort(asc),
    mismatched: mismatched.sort(asc),
    measuredAt: new Date().toISOString(),
  };
}

/** Where self-check results are cached: $XDG_CACHE_HOME/inversion/self-check (or ~/.cache/…). */
export function defaultSelfCheckCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "inversion", "self-check");
}

/** Hash of a file's size, first and last MiB: identifies model content without reading gigabytes. */
export function fileDigest(path: string): string {
  const h = createHash("sha256");
  const size = statSync(path).size;
  h.update(String(size));
  const fd = openSync(path, "r");
  try {
    const chunk = Buffer.alloc(Math.min(size, 1 << 20));
    for (const at of [0, Math.max(0, size - chunk.length)]) {
      const n = readSync(fd, chunk, 0, chunk.length, at);
      h.update(chunk.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

export function selfCheckFingerprint(identity: string, pairs: readonly IntentPair[] = SELF_CHECK_PAIRS): string {
  const h = createHash("sha256");
  h.update(identity).update("\0");
  h.update(JSON.stringify([pairs, MISMATCH_OFFSETS, SELF_CHECK_FLOOR]));
  return h.digest("hex").slice(0, 32);
}

/** The cached result for this source, or a fresh measurement (then cached). */
export async function selfCheck(source: SupportSource, opts: { cacheDir?: string; signal?: AbortSignal } = {}): Promise<SelfCheckResult> {
  const fingerprint = selfCheckFingerprint(source.identity);
  const file = join(opts.cacheDir ?? defaultSelfCheckCacheDir(), `${fingerprint}.json`);
  const cached = await readCached(file, fingerprint);
  if (cached) return cached;
  const result = await measureSelfCheck(source, fingerprint, { signal: opts.signal });
  await writeCached(file, result).catch(() => undefined);
  return result;
}

async function readCached(file: string, fingerprint: string): Promise<SelfCheckResult | null> {
  try {
    const r = JSON.parse(await readFile(file, "utf8")) as Partial<SelfCheckResult>;
    const valid = r.fingerprint === fingerprint && typeof r.auc === "number" && Array.isArray(r.matched) && Array.isArray(r.mismatched);
    return valid ? (r as SelfCheckResult) : null;
  } catch {
    return null;
  }
}

async function writeCached(file: string, result: SelfCheckResult): Promise<void> {
  await mkdir(join(file, ".."), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(result));
  await rename(tmp, file);
}

/** "Comment checks (examples and man pages) tell a matching comment from a wrong one 93% of the time." */
export function selfCheckSentence(r: SelfCheckResult): string {
  const pct = Math.round(r.auc * 100);
  const base = `Comment checks (${r.basis}) tell a matching comment from a wrong one ${pct}% of the time`;
  return r.fit ? `${base}.` : `${base} (below ${Math.round(r.floor * 100)}%), so comment warnings are off.`;
}
