// Comment verdicts on the grounded score (grounded.ts). Thresholds chosen on the training side (1,000 tldr training
// pairs, each left out of its own retrieval) and confirmed on the held-out cheat-sheet split and on real scripts
// (scripts/evidence/judging.ts, `npm run bench -- check`; docs/RESULTS.md). A comment "differs" only when it shares
// almost nothing with what people and man pages say about the command; it is a Warning only when the comment is
// about another program (the programs people's examples use for the comment's words do not include the command's),
// since a wrong action of the right program does not separate (AUC 0.65 on the cheat split).
import type { GroundedSupport } from "./grounded";
import type { SelfCheckResult } from "./selfCheck";

export type Verdict = "matches" | "differs" | "unsure";
export type Strength = "strong" | "moderate";

export interface CommentJudgement {
  verdict: Verdict;
  /** Set when verdict is "differs": strong → Warning, moderate → Information. */
  strength: Strength | null;
  /** The comment names what another program does. */
  otherProgram: boolean;
}

/** Below this support, a comment about another program is a Warning (training side: 1.8% of matching comments,
 * 35.2% of wrong ones; cheat split: 3.6% and 36.2%; scripts/evidence/judging.ts). */
export const WARN_BELOW = 0.01;
/** Below this, a comment about another program is Information (cheat split, with Warnings: 8.9% of matching, 65.1% of wrong). */
export const INFO_BELOW = 0.03;
/** Below this, even a comment about the command's own program is Information (a wrong action does not separate). */
export const SAME_PROGRAM_INFO_BELOW = 0.005;
/** Support at or above this: the comment matches. */
export const MATCHES_FROM = 0.04;

export function judgeSupport(support: GroundedSupport, check: SelfCheckResult | null): CommentJudgement {
  const otherProgram = support.program !== null && support.commentPrograms.length > 0 && !support.commentPrograms.includes(support.program);
  const base = { otherProgram };
  if (!check?.fit || !support.judgeable || !Number.isFinite(support.score)) return { verdict: "unsure", strength: null, ...base };
  if (otherProgram && support.score < WARN_BELOW) return { verdict: "differs", strength: "strong", ...base };
  if ((otherProgram && support.score < INFO_BELOW) || support.score < SAME_PROGRAM_INFO_BELOW) return { verdict: "differs", strength: "moderate", ...base };
  if (support.score >= MATCHES_FROM) return { verdict: "matches", strength: null, ...base };
  return { verdict: "unsure", strength: null, ...base };
}
