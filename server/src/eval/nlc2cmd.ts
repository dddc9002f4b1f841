// NLC2CMD accuracy (IBM clai `metric_utils.compute_metric`, u1 = u2 = 1) on the tree-sitter shell parser.
// Deviation from clai: the utility is the first word of each simple command (plus commands wrapped by sudo, xargs,
// find -exec, …), not bashlint's fixed 148-utility grammar, so `git`/`docker`/`sudo` are scored instead of yielding 0.
import type { ShellParser, Utility } from "../shell/types";

/** How many predictions per invocation count, as in the competition. */
const MAX_PREDICTIONS = 5;

export interface ScoredPrediction {
  cmd: string;
  /** δ in [0, 1]; defaults to 1. */
  confidence?: number;
}

/** S(p, g) in [−1, 1]: mean per-position score over the DFS utility lists padded to equal length; 0 if both empty. */
export function nlc2cmdScore(prediction: string, reference: string, parser: ShellParser, confidence = 1): number {
  const predicted = utilityNodes(parser, prediction);
  const expected = utilityNodes(parser, reference);
  const positions = Math.max(predicted.length, expected.length);
  if (positions === 0) return 0;
  const delta = Math.min(1, Math.max(0, confidence));
  let total = 0;
  for (let i = 0; i < positions; i++) {
    const p = predicted[i];
    const g = expected[i];
    const sameUtility = p !== undefined && g !== undefined && p.name.toLowerCase() === g.name.toLowerCase();
    total += sameUtility ? delta * ((1 + flagScore(p.flags, g.flags)) / 2) : -delta;
  }
  return total / positions;
}

/**
 * Per-invocation rule: score the first five predictions against every reference; the max if any score is
 * positive, else the mean of all scores. 0 when there is nothing to compare.
 */
export function nlc2cmdBest(predictions: ScoredPrediction[], references: string[], parser: ShellParser): number {
  const scores: number[] = [];
  for (const { cmd, confidence } of predictions.slice(0, MAX_PREDICTIONS)) {
    for (const reference of references) scores.push(nlc2cmdScore(cmd, reference, parser, confidence ?? 1));
  }
  if (scores.length === 0) return 0;
  const best = Math.max(...scores);
  return best > 0 ? best : scores.reduce((a, b) => a + b, 0) / scores.length;
}

/** S_F in [−2, 1]: 1 if both sets are empty, else (2|P∩G| − |P∪G|) / max(1, |P|, |G|). */
export function flagScore(predicted: ReadonlySet<string>, expected: ReadonlySet<string>): number {
  if (predicted.size === 0 && expected.size === 0) return 1;
  let common = 0;
  for (const flag of predicted) if (expected.has(flag)) common++;
  const union = predicted.size + expected.size - common;
  return (2 * common - union) / Math.max(1, predicted.size, expected.size);
}

interface UtilityNode {
  name: string;
  /** Flags of the utility and of every utility nested inside it (bashlint counts the whole subtree). */
  flags: Set<string>;
}

function utilityNodes(parser: ShellParser, command: string): UtilityNode[] {
  const utilities = parser.parseCommand(command).utilities;
  return utilities.map((u, i) => ({ name: u.name, flags: subtreeFlags(u, utilities.slice(i + 1)) }));
}

/** Nested utilities come after their parent and lie inside its source range. */
function subtreeFlags(root: Utility, later: Utility[]): Set<string> {
  const flags = new Set(root.flags);
  for (const u of later) {
    if (u.startIndex >= root.startIndex && u.endIndex <= root.endIndex) for (const f of u.flags) flags.add(f);
  }
  return flags;
}
