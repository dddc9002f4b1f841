// The run view: what the front ends show of a run, computed here once and sent whole. One projection of a cycle
// record (cyclePoint), one upsert, one wording of a cycle and of a score change; the editor's client and panel
// render the view as received, the CLI prints the same wording, and the SVG report charts the same point fields.
import type { AcceptedExample, ChartNotes, CycleExamplesView, CyclePoint, RunView, RunViewState } from "../../../common/protocol";
import type { Candidate, CycleRecord, RunEvent } from "../engine/types";

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** The chart point of one cycle record. */
export function cyclePoint(r: CycleRecord): CyclePoint {
  return {
    cycle: r.cycle,
    selectionScore: r.selection.candidates > 0 ? num(r.selection.meanScore) : null,
    scoreBefore: r.before.candidates > 0 ? num(r.before.meanScore) : null,
    scoreAfter: r.after && r.after.candidates > 0 ? num(r.after.meanScore) : null,
    acceptanceRate: num(r.selection.acceptanceRate) ?? 0,
    trainLoss: r.train ? num(r.train.lossMean) : null,
    trainSkipped: r.train ? null : (r.trainSkipped ?? "not recorded"),
    external: r.external ? num(r.external.nlc2cmd) : null,
  };
}

/** The cycle records with `record` in its cycle's place (a redone cycle replaces the one it redoes), in cycle order. */
export function upsertCycle(records: readonly CycleRecord[], record: CycleRecord): CycleRecord[] {
  return [...records.filter((r) => r.cycle !== record.cycle), record].sort((a, b) => a.cycle - b.cycle);
}

/** "0.312 → 0.420", or "0.312" when there is no second value: every "before → after" the product prints. */
export function change(before: number | null, after: number | null, digits = 3): string {
  const f = (x: number | null): string => (x === null ? "-" : x.toFixed(digits));
  return after === null ? f(before) : `${f(before)} → ${f(after)}`;
}

/** "held-out 0.312 → 0.420": the held-out score with the weights a cycle started from and with its new ones. */
export function heldOutChange(p: CyclePoint): string {
  return `held-out ${change(p.scoreBefore, p.scoreAfter)}`;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/** One line per completed cycle (CLI, editor progress, log). */
export function cycleLine(r: CycleRecord): string {
  const tasks = `${r.selection.acceptedTasks} of ${plural(r.tasks.train, "task")}`;
  const training = r.train ? `train loss ${change(r.train.lossFirst, r.train.lossLast)}` : `not trained (${r.trainSkipped ?? "not recorded"})`;
  return `cycle ${r.cycle}: accepted ${plural(r.selection.acceptedExamples, "example")} (${tasks}), ${heldOutChange(cyclePoint(r))}, ${training}`;
}

/** "Run finished: 2 cycles, 5 examples accepted, trained in 2 cycles." — or why it did not train. */
export function runSummary(cycles: readonly CycleRecord[], state: "finished" | "cancelled"): string {
  if (state === "cancelled" && cycles.length === 0) return "Run stopped before its first cycle completed; no cycle was kept.";
  const accepted = cycles.reduce((n, c) => n + c.selection.acceptedExamples, 0);
  const trained = cycles.filter((c) => c.train).length;
  const why = cycles.at(-1)?.trainSkipped ?? (cycles.length ? "no examples to train on" : "no cycle completed");
  const training = trained ? `trained in ${plural(trained, "cycle")}` : `not trained (${why})`;
  return `Run ${state}: ${plural(cycles.length, "cycle")}, ${plural(accepted, "example")} accepted, ${training}.`;
}

/** How far a run has got, in percent, after an engine event: coarse (cycles, and a phase's done/total inside one), never going back. */
export function runPercent(e: RunEvent, cycles: number, last: number): number {
  if (e.type === "phase" && e.total > 0) return Math.min(99, Math.max(last, Math.floor(((e.cycle - 1 + Math.min(1, e.done / e.total) * 0.9) / cycles) * 100)));
  if (e.type === "cycle") return Math.min(99, Math.max(last, Math.floor((e.record.cycle / cycles) * 100)));
  return last;
}

const STOPPING = "Stopping the run…";

/** What an engine event says about a run in progress, or null for events that change nothing shown. */
export function progressLine(e: RunEvent, cycles: number): string | null {
  switch (e.type) {
    case "phase":
      return `Cycle ${e.cycle}/${cycles}: ${e.phase} ${e.done}/${e.total}`;
    case "train":
      return `Cycle ${e.cycle}/${cycles}: training step ${e.progress.step}/${e.progress.totalSteps}, loss ${e.progress.loss.toFixed(3)}`;
    case "cycle":
      return cycleLine(e.record);
    case "cancelled":
    case "log":
      return null;
  }
}

const cycleList = (cycles: readonly number[]): string => `${cycles.length > 1 ? "cycles" : "cycle"} ${cycles.join(", ")}`;
const byCycle = (records: readonly CycleRecord[]): CycleRecord[] => [...records].sort((a, b) => a.cycle - b.cycle);

/** Under the held-out chart: the cycles whose score after learning equals the one before, where the two lines lie on each other. */
export function scoreNote(points: readonly CyclePoint[]): string {
  const same = points.filter((p) => p.scoreBefore !== null && p.scoreAfter !== null && p.scoreAfter.toFixed(3) === p.scoreBefore.toFixed(3));
  if (same.length === 0) return "";
  return (
    `Held-out after equals before in ${cycleList(same.map((p) => p.cycle))} (${same.map((p) => p.scoreAfter!.toFixed(3)).join(", ")}): ` +
    "what the cycle learned (new weights, or examples added to the run's memory) did not change the held-out score, so the two lines lie on each other there."
  );
}

/**
 * Under the loss chart: what the loss measures, why its mean can rise from one cycle to the next without anything
 * going wrong, whether it fell within each cycle's training, and why a cycle has no point.
 */
export function lossNote(records: readonly CycleRecord[]): string {
  const sorted = byCycle(records);
  const trained = sorted.filter((r) => r.train);
  const parts: string[] = [];
  if (trained.length) {
    parts.push("Loss: how unexpected the accepted commands were to the model as it trained on them (lower: more expected). It is not a score of the model; the held-out score is.");
    const rose = trained.slice(1).filter((r, i) => r.train!.lossMean > trained[i]!.train!.lossMean);
    if (rose.length) {
      const why =
        trained.at(-1)!.train!.policy === "continue"
          ? "each cycle trains the last adapter on that cycle's new examples only, so a higher mean says those examples were less like what the adapter already writes, not that the model got worse"
          : "each cycle trains a new adapter from the base model on every example accepted so far, so a later mean is over more, and newer, examples: a higher one says those were less like what the base model writes, not that the model got worse";
      parts.push(`It rose in ${cycleList(rose.map((r) => r.cycle))}: ${why}.`);
    }
    const stepped = trained.filter((r) => r.train!.steps > 1);
    const flat = stepped.filter((r) => !(r.train!.lossLast < r.train!.lossFirst));
    if (flat.length)
      parts.push(`In ${cycleList(flat.map((r) => r.cycle))} it did not fall from the first training step to the last (${flat.map((r) => change(r.train!.lossFirst, r.train!.lossLast)).join("; ")}): training did not fit those examples.`);
    else if (stepped.length)
      parts.push(`Within each cycle it fell from the first training step to the last (${stepped.map((r) => `cycle ${r.cycle}: ${change(r.train!.lossFirst, r.train!.lossLast)}`).join("; ")}).`);
  }
  const byReason = new Map<string, number[]>();
  for (const r of sorted) if (!r.train) byReason.set(r.trainSkipped ?? "not recorded", [...(byReason.get(r.trainSkipped ?? "not recorded") ?? []), r.cycle]);
  for (const [reason, cycles] of byReason) parts.push(`No training in ${cycleList(cycles)}: ${reason}.`);
  return parts.join(" ");
}

export function chartNotes(records: readonly CycleRecord[]): ChartNotes {
  return { score: scoreNote(byCycle(records).map(cyclePoint)), loss: lossNote(records) };
}

/** What the panel shows in place of the charts while a run has no complete cycle. */
export function placeholder(state: RunViewState, cycles: number): string {
  if (cycles > 0) return "";
  switch (state) {
    case "running":
      return "The first cycle is under way: its point appears here when it completes (the line above says where it stands).";
    case "stopping":
      return "The run is stopping before its first cycle completed.";
    case "cancelled":
      return "The run was stopped before its first cycle completed; no cycle was kept.";
    case "failed":
      return "The run failed before its first cycle completed.";
    case "finished":
    case "stored":
      return "This run has no complete cycle.";
  }
}

function viewOf(runDir: string, records: readonly CycleRecord[], state: RunViewState, status: string, resumable: boolean): Omit<RunView, "version" | "percent"> {
  const points = byCycle(records).map(cyclePoint);
  const latest = points.at(-1);
  return { runDir, points, state, status, resumable, placeholder: placeholder(state, records.length), notes: chartNotes(records), heldOut: latest ? heldOutChange(latest) : "" };
}

/** The view of a run read from its directory. */
export function storedRunView(runDir: string, cycles: readonly CycleRecord[]): RunView {
  return { version: 0, percent: 100, ...viewOf(runDir, cycles, "stored", plural(cycles.length, "cycle"), false) };
}

/** At most this many accepted examples of a cycle are listed; the rest are counted. */
export const LISTED_EXAMPLES = 200;

/** The examples one cycle accepted (`candidates`: the run's examples.jsonl), in the order they were accepted. */
export function cycleExamplesView(runDir: string, cycle: number, candidates: readonly Candidate[], record?: CycleRecord): CycleExamplesView {
  const accepted = candidates.filter((c) => c.cycle === cycle && c.accepted);
  const examples: AcceptedExample[] = accepted.slice(0, LISTED_EXAMPLES).map((c) => ({
    task: c.task,
    command: c.command,
    reading: c.reconstruction,
    score: Number.isFinite(c.score.value) ? c.score.value.toFixed(2) : "-",
    from: c.example ? "an example people wrote" : "the model",
  }));
  const tasks = record ? ` (${record.selection.acceptedTasks} of ${plural(record.tasks.train, "task")})` : "";
  const title = !record && accepted.length === 0
    ? `Cycle ${cycle} has no record in this run yet.`
    : accepted.length === 0
      ? `Cycle ${cycle} accepted no examples: no candidate passed the gates and the threshold, or each repeated one accepted before.`
      : `Cycle ${cycle} accepted ${plural(accepted.length, "example")}${tasks}.`;
  const more = accepted.length > LISTED_EXAMPLES ? `… and ${accepted.length - LISTED_EXAMPLES} more in examples.jsonl of the run.` : "";
  return { runDir, cycle, title, examples, more };
}

/** The view of the live run, kept by the server: each change makes a new, higher version. */
export class LiveRunView {
  private view: RunView;
  /** The cycle records shown: a resumed run's stored cycles, then each cycle as it completes. */
  private records: CycleRecord[];

  /** `done`: the cycles a resumed run already has, shown from the start. */
  constructor(
    runDir: string,
    private readonly cycles: number,
    done: readonly CycleRecord[] = [],
  ) {
    this.records = byCycle(done);
    this.view = { version: 0, percent: 0, ...viewOf(runDir, this.records, "running", "Starting…", false) };
  }

  get current(): RunView {
    return this.view;
  }

  /** The first view of a run that has started, before any event of its engine. */
  started(): RunView {
    return this.next({});
  }

  /** A stop was asked: the run goes on until the engine and the trainer have stopped. */
  stopping(): RunView {
    return this.next({ state: "stopping", status: STOPPING, placeholder: placeholder("stopping", this.records.length) });
  }

  /** Applies an engine event; the new view, or null when the event changes nothing shown. */
  apply(e: RunEvent): RunView | null {
    if (e.type === "cancelled") return this.next({ resumable: e.lastCompleteCycle > 0 });
    const line = progressLine(e, this.cycles);
    if (line === null) return null;
    const { state } = this.view;
    const status = state === "stopping" ? `${STOPPING} (${line})` : line;
    const percent = runPercent(e, this.cycles, this.view.percent);
    if (e.type !== "cycle") return this.next({ status, percent });
    this.records = upsertCycle(this.records, e.record);
    return this.next({ ...viewOf(this.view.runDir, this.records, state, status, false), percent });
  }

  /** The final view of a run that ended (finished or cancelled) with these cycle records. */
  end(cycles: readonly CycleRecord[], cancelled: boolean): RunView {
    const state: RunViewState = cancelled ? "cancelled" : "finished";
    this.records = byCycle(cycles);
    return this.next({ ...viewOf(this.view.runDir, this.records, state, runSummary(cycles, state), cancelled && cycles.length > 0), percent: 100 });
  }

  failed(message: string): RunView {
    return this.next({ state: "failed", status: `Run failed: ${message}`, placeholder: placeholder("failed", this.records.length) });
  }

  private next(change: Partial<RunView>): RunView {
    this.view = { ...this.view, ...change, version: this.view.version + 1 };
    return this.view;
  }
}
