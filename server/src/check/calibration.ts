// Calibrated comment verdicts: a comment's lift for its command is compared with the model's own self-check
// distributions instead of a fixed threshold (lift scales differ from model to model).
import type { SelfCheckResult } from "./selfCheck";

export type Verdict = "matches" | "differs" | "unsure";
export type Strength = "strong" | "moderate";

export interface CommentJudgement {
  verdict: Verdict;
  /** Set when verdict is "differs": strong → Warning, moderate → Information. */
  strength: Strength | null;
  /** Share of matched self-check pairs whose lift is at or below this one (how deep into the matched tail). */
  matchedTail: number;
  /** Share of mismatched self-check pairs whose lift is at or above this one. */
  mismatchedShare: number;
}

/** A comment "differs" only when its lift is in the bottom MATCHED_TAIL of matching pairs… */
export const MATCHED_TAIL = 0.05;
/** …and at or below the median of mismatched pairs. Below every matched pair it is a strong mismatch. */
export const MISMATCHED_MEDIAN = 0.5;
/** A comment "matches" when its lift is above this share of matching pairs and above most mismatched ones. */
export const MATCHES_ABOVE = 0.2;

const shareAtOrBelow = (sorted: readonly number[], v: number): number => sorted.filter((x) => x <= v).length / Math.max(1, sorted.length);
const shareAtOrAbove = (sorted: readonly number[], v: number): number => sorted.filter((x) => x >= v).length / Math.max(1, sorted.length);

export function judgeComment(liftBits: number, check: SelfCheckResult): CommentJudgement {
  const matchedTail = shareAtOrBelow(check.matched, liftBits);
  const mismatchedShare = shareAtOrAbove(check.mismatched, liftBits);
  const base = { matchedTail, mismatchedShare };
  if (!check.fit || !Number.isFinite(liftBits)) return { verdict: "unsure", strength: null, ...base };
  if (matchedTail <= MATCHED_TAIL && mismatchedShare >= MISMATCHED_MEDIAN) {
    return { verdict: "differs", strength: matchedTail === 0 ? "strong" : "moderate", ...base };
  }
  if (matchedTail > MATCHES_ABOVE && mismatchedShare < MISMATCHED_MEDIAN) return { verdict: "matches", strength: null, ...base };
  return { verdict: "unsure", strength: null, ...base };
}
