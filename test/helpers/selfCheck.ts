// Self-check results for tests: a lexical stand-in model that "knows" what each command does, and a way to seed the
// on-disk self-check cache so a language server or CLI on the random fixture model behaves as a fit model would.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SELF_CHECK_FLOOR, selfCheckFingerprint, type LiftSource, type SelfCheckResult } from "../../server/src/check/selfCheck";

const words = (s: string): Set<string> => new Set(s.toLowerCase().match(/[a-z0-9]+/g) ?? []);

/** Lift = 4 × word overlap (Jaccard) between the intent and what the command really does, minus 1. */
export class LexicalModel implements LiftSource {
  readonly modelPath = "lexical";
  readonly adapterPath = null;
  calls = 0;
  constructor(private readonly truth: Record<string, string>) {}
  async score(task: string, command: string): Promise<{ score: { parts: Record<string, number> } }> {
    this.calls++;
    const a = words(task);
    const b = words(this.truth[command] ?? "");
    const shared = [...a].filter((w) => b.has(w)).length;
    const jaccard = shared / Math.max(1, new Set([...a, ...b]).size);
    return { score: { parts: { liftBitsPerToken: 4 * jaccard - 1 } } };
  }
}

/** Writes a cached self-check for `modelPath` (base model) into `cacheDir`. */
export function seedSelfCheck(cacheDir: string, modelPath: string, dist: { matched: number[]; mismatched: number[]; auc: number }): SelfCheckResult {
  const fingerprint = selfCheckFingerprint(modelPath, null);
  const result: SelfCheckResult = {
    fingerprint,
    modelPath,
    adapterPath: null,
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

/** Every comment reads as a strong mismatch (any lift near 0 is below all matched pairs and at the mismatched median). */
export const STRICT = { matched: Array(40).fill(100), mismatched: Array(40).fill(50), auc: 0.95 };
/** Every comment reads as a match. */
export const LENIENT = { matched: Array(40).fill(-100), mismatched: Array(40).fill(-200), auc: 0.95 };
/** A model that fails the self-check. */
export const UNFIT = { matched: Array(40).fill(100), mismatched: Array(40).fill(50), auc: 0.52 };
