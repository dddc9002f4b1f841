// Which candidates become training data: gates passed, score ≥ threshold, best of N per task, no duplicates.
import type { Candidate, PhaseStats } from "./types";

export function eligible(c: Candidate, threshold: number): boolean {
  return c.gates.every((g) => g.pass) && c.score.value >= threshold;
}

/** Marks the accepted candidates in place and returns them. `seen` holds commands accepted in earlier cycles. */
export function selectCandidates(candidates: Candidate[], threshold: number, seen: Set<string> = new Set()): Candidate[] {
  const byTask = new Map<string, Candidate[]>();
  for (const c of candidates) byTask.set(c.taskId, [...(byTask.get(c.taskId) ?? []), c]);
  const accepted: Candidate[] = [];
  for (const group of byTask.values()) {
    const best = group.filter((c) => eligible(c, threshold)).sort((a, b) => b.score.value - a.score.value)[0];
    if (!best) continue;
    const key = best.command.replace(/\s+/g, " ").trim();
    if (seen.has(key)) {
      best.rejectReason = "duplicate of an accepted command";
      continue;
    }
    seen.add(key);
    best.accepted = true;
    best.rejectReason = undefined;
    accepted.push(best);
  }
  for (const group of byTask.values()) for (const c of group) if (!c.accepted && !c.rejectReason) c.rejectReason = whyNotSelected(c, threshold);
  return accepted;
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
  const seedScores = candidates.map((c) => c.altScores?.original?.value).filter((v): v is number => v !== undefined);
  return {
    candidates: candidates.length,
    acceptedTasks: acceptedTasks.size,
    acceptanceRate: tasks.size ? acceptedTasks.size / tasks.size : 0,
    meanScore: mean(candidates.map((c) => c.score.value)),
    meanSeedScore: seedScores.length ? mean(seedScores) : undefined,
    distinctCommands: new Set(candidates.map((c) => c.command)).size,
    distinctPrograms: new Set(candidates.map((c) => firstProgram(c.command)).filter(Boolean)).size,
  };
}
