// Which candidates become training data: gates passed, score ≥ threshold, best of N per task, no duplicates.
import type { Candidate, PhaseStats } from "./types";

export function eligible(c: Candidate, threshold: number): boolean {
  return c.gates.every((g) => g.pass) && c.score.value >= threshold;
}

export interface SelectionRules {
  threshold: number;
  /** Commands accepted in earlier cycles: an exact or near duplicate of one is not accepted again. */
  earlier?: readonly string[];
  /** Accepted examples per program in this cycle at most; 0 for no cap. */
  programCap?: number;
}

/** Commands this close in words (Jaccard of their word sets, same program) count as one. */
export const NEAR_DUPLICATE_JACCARD = 0.8;

/**
 * Marks the accepted candidates in place and returns them: per task the best candidate that passes the gates and the
 * threshold, unless it repeats (exactly or nearly) a command accepted before, or its program already has `programCap`
 * examples this cycle. Tasks are taken best score first, so a cap keeps each program's best.
 */
export function selectCandidates(candidates: Candidate[], rules: SelectionRules): Candidate[] {
  const { threshold, programCap = 0 } = rules;
  const byTask = new Map<string, Candidate[]>();
  for (const c of candidates) byTask.set(c.taskId, [...(byTask.get(c.taskId) ?? []), c]);
  const bests = [...byTask.values()]
    .map((group) => group.filter((c) => eligible(c, threshold)).sort((a, b) => b.score.value - a.score.value)[0])
    .filter((c): c is Candidate => c !== undefined)
    .sort((a, b) => b.score.value - a.score.value);
  const kept = new DuplicateFilter(rules.earlier ?? []);
  const perProgram = new Map<string, number>();
  const accepted: Candidate[] = [];
  for (const best of bests) {
    const program = firstProgram(best.command);
    const duplicate = kept.duplicateOf(best.command);
    if (duplicate !== null) {
      best.rejectReason = duplicate === normalized(best.command) ? "duplicate of an accepted command" : `near duplicate of the accepted command ${duplicate}`;
      continue;
    }
    if (programCap > 0 && (perProgram.get(program) ?? 0) >= programCap) {
      best.rejectReason = `${program} already has ${programCap} accepted examples this cycle (--per-program)`;
      continue;
    }
    kept.add(best.command);
    perProgram.set(program, (perProgram.get(program) ?? 0) + 1);
    best.accepted = true;
    best.rejectReason = undefined;
    accepted.push(best);
  }
  for (const group of byTask.values()) for (const c of group) if (!c.accepted && !c.rejectReason) c.rejectReason = whyNotSelected(c, threshold);
  // in the candidates' order, so the record does not depend on how scores tie
  return candidates.filter((c) => c.accepted);
}

/** Accepted commands, to find an exact or near duplicate of a new one. */
class DuplicateFilter {
  private readonly exact = new Set<string>();
  private readonly byProgram = new Map<string, { command: string; words: Set<string> }[]>();

  constructor(commands: readonly string[]) {
    for (const c of commands) this.add(c);
  }

  add(command: string): void {
    const key = normalized(command);
    this.exact.add(key);
    const program = firstProgram(command);
    this.byProgram.set(program, [...(this.byProgram.get(program) ?? []), { command: key, words: wordSet(key) }]);
  }

  /** The accepted command this one repeats (normalized), or null. */
  duplicateOf(command: string): string | null {
    const key = normalized(command);
    if (this.exact.has(key)) return key;
    const mine = wordSet(key);
    for (const other of this.byProgram.get(firstProgram(command)) ?? []) {
      if (jaccard(mine, other.words) >= NEAR_DUPLICATE_JACCARD) return other.command;
    }
    return null;
  }
}

const normalized = (command: string): string => command.replace(/\s+/g, " ").trim();
const wordSet = (command: string): Set<string> => new Set(command.toLowerCase().match(/[a-z0-9_.\/-]+/g) ?? []);

function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  let both = 0;
  for (const w of a) if (b.has(w)) both++;
  const either = a.size + b.size - both;
  return either === 0 ? 1 : both / either;
}

function whyNotSelected(c: Candidate, threshold: number): string {
  const failed = c.gates.filter((g) => !g.pass).map((g) => g.gate);
  if (failed.length) return `failed the ${failed.join(", ")} gate${failed.length > 1 ? "s" : ""}`;
  if (c.score.value < threshold) return `score ${c.score.value.toFixed(3)} is under the threshold ${threshold}`;
  return "another candidate for this task scored higher";
}

/** The no-selection baseline: every candidate is accepted, whatever its gates and score. */
export function acceptAll(candidates: Candidate[]): Candidate[] {
  for (const c of candidates) {
    c.accepted = true;
    c.rejectReason = undefined;
  }
  return [...candidates];
}

export function firstProgram(command: string): string {
  const m = /^\s*(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*(?:sudo\s+)?([^\s|;&()]+)/.exec(command);
  return m?.[1] ?? "";
}

/** Stats of one phase: `acceptedTasks` counts tasks whose best candidate passes (acceptance = acceptedTasks / tasks). */
export function phaseStats(candidates: Candidate[], threshold: number): PhaseStats {
  const tasks = new Set(candidates.map((c) => c.taskId));
  const acceptedTasks = new Set(candidates.filter((c) => eligible(c, threshold)).map((c) => c.taskId));
  const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const originalScores = candidates.map((c) => c.altScores?.original?.value).filter((v): v is number => v !== undefined);
  return {
    candidates: candidates.length,
    acceptedTasks: acceptedTasks.size,
    acceptanceRate: tasks.size ? acceptedTasks.size / tasks.size : 0,
    meanScore: mean(candidates.map((c) => c.score.value)),
    meanOriginalScore: originalScores.length ? mean(originalScores) : undefined,
    distinctCommands: new Set(candidates.map((c) => c.command)).size,
    distinctPrograms: new Set(candidates.map((c) => firstProgram(c.command)).filter(Boolean)).size,
  };
}
