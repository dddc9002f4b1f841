// Self-check results for tests: a lexical stand-in score that "knows" what each command does, and a way to seed the
// on-disk self-check cache so a language server or CLI treats the comment check as fit or unfit.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SELF_CHECK_FLOOR, selfCheckFingerprint, type SelfCheckResult, type SupportSource } from "../../server/src/check/selfCheck";
import { groundedSource, shippedGrounding } from "../../server/src/check/grounded";
import { loadShellParser } from "../../server/src/shell/parser";

const words = (s: string): Set<string> => new Set(s.toLowerCase().match(/[a-z0-9]+/g) ?? []);

/** Support = 4 × word overlap (Jaccard) between the intent and what the command really does, minus 1. */
export class LexicalModel implements SupportSource {
  readonly basis = "a lexical stand-in";
  calls = 0;
  constructor(
    private readonly truth: Record<string, string>,
    readonly identity = "lexical",
  ) {}
  async support(intent: string, command: string): Promise<number> {
    this.calls++;
    const a = words(intent);
    const b = words(this.truth[command] ?? "");
    const shared = [...a].filter((w) => b.has(w)).length;
    const jaccard = shared / Math.max(1, new Set([...a, ...b]).size);
    return 4 * jaccard - 1;
  }
}

/** The identity of the shipped grounded score on this machine (what a server or CLI here caches its check under). */
export function shippedGroundedIdentity(): string {
  const g = shippedGrounding(() => loadShellParser());
  if ("error" in g) throw new Error(g.error);
  return groundedSource(g).identity;
}

/** Writes a cached self-check for a source identity into `cacheDir`. */
export function seedSelfCheck(cacheDir: string, identity: string, dist: { matched: number[]; mismatched: number[]; auc: number }): SelfCheckResult {
  const fingerprint = selfCheckFingerprint(identity);
  const result: SelfCheckResult = {
    fingerprint,
    basis: "examples and man pages",
    auc: dist.auc,
    floor: SELF_CHECK_FLOOR,
    fit: dist.auc >= SELF_CHECK_FLOOR,
    matched: [...dist.matched].sort((a, b) => a - b),
    mismatched: [...dist.mismatched].sort((a, b) => a - b),
    measuredAt: new Date(0).toISOString(),
  };
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(join(cacheDir, `${fingerprint}.json`), JSON.stringify(result));
  return result;
}

/** A fit check. */
export const FIT = { matched: Array(40).fill(0.3), mismatched: Array(40).fill(0.01), auc: 0.95 };
/** A check that fails its floor: warnings off. */
export const UNFIT = { matched: Array(40).fill(0.3), mismatched: Array(40).fill(0.01), auc: 0.52 };
