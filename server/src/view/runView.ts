// The run view: what the front ends show of a run, computed here once and sent whole. One projection of a cycle
// record (cyclePoint), one upsert, one wording of a cycle and of a score change; the editor's client and panel
// render the view as received, the CLI prints the same wording, and the SVG report charts the same point fields.
import type { CyclePoint, RunView, RunViewState } from "../../../common/protocol";
import type { CycleRecord, RunEvent } from "../engine/types";

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

/** The points with `point` in its cycle's place (a redone cycle replaces the one it redoes), in cycle order. */
export function upsertPoint(points: readonly CyclePoint[], point: CyclePoint): CyclePoint[] {
  return [...points.filter((p) => p.cycle !== point.cycle), point].sort((a, b) => a.cycle - b.cycle);
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
  const accepted = cycles.reduce((n, c) => n + c.selection.acceptedExamples, 0);
  const trained = cycles.filter((c) => c.train).length;
  const why = cycles.at(-1)?.trainSkipped ?? (cycles.length ? "no examples to train on" : "no cycle completed");
  const training = trained ? `trained in ${plural(trained, "cycle")}` : `not trained (${why})`;
  return `Run ${state}: ${plural(cycles.length, "cycle")}, ${plural(accepted, "example")} accepted, ${training}.`;
}

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

/** The view of a run read from its directory. */
export function storedRunView(runDir: string, cycles: readonly CycleRecord[]): RunView {
  return { version: 0, runDir, points: cycles.map(cyclePoint).sort((a, b) => a.cycle - b.cycle), state: "stored", status: plural(cycles.length, "cycle"), resumable: false };
}

/** The view of the live run, kept by the server: each change makes a new, higher version. */
export class LiveRunView {
  private view: RunView;

  constructor(
    runDir: string,
    private readonly cycles: number,
  ) {
    this.view = { version: 0, runDir, points: [], state: "running", status: "Starting…", resumable: false };
  }

  get current(): RunView {
    return this.view;
  }

  /** Applies an engine event; the new view, or null when the event changes nothing shown. */
  apply(e: RunEvent): RunView | null {
    if (e.type === "cancelled") return this.next({ resumable: true });
    const status = progressLine(e, this.cycles);
    if (status === null) return null;
    return this.next({ status, ...(e.type === "cycle" ? { points: upsertPoint(this.view.points, cyclePoint(e.record)) } : {}) });
  }

  /** The final view of a run that ended (finished or cancelled) with these cycle records. */
  end(cycles: readonly CycleRecord[], cancelled: boolean): RunView {
    const state: RunViewState = cancelled ? "cancelled" : "finished";
    return this.next({ state, status: runSummary(cycles, state), points: cycles.map(cyclePoint).sort((a, b) => a.cycle - b.cycle), resumable: cancelled });
  }

  failed(message: string): RunView {
    return this.next({ state: "failed", status: `Run failed: ${message}` });
  }

  private next(change: Partial<RunView>): RunView {
    this.view = { ...this.view, ...change, version: this.view.version + 1 };
    return this.view;
  }
}
