// The server-owned run view: one projection, one upsert, one wording; the protocol carries it without the engine.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { LISTED_EXAMPLES, LiveRunView, change, chartNotes, cycleExamplesView, cycleLine, lossNote, runSummary, storedRunView } from "../../server/src/view/runView";
import type { Candidate, CycleRecord, PhaseStats } from "../../server/src/engine/types";

const ROOT = resolve(__dirname, "../..");
const stats = (meanScore: number): PhaseStats => ({ candidates: 8, acceptedTasks: 4, acceptanceRate: 1, meanScore, distinctCommands: 8, distinctPrograms: 3 });

function record(cycle: number, trained: boolean): CycleRecord {
  return {
    cycle, startedAt: "2026-12-01T00:00:00Z", seed: cycle, tasks: { train: 4, heldOut: 2 },
    // --select all: 8 examples from 4 tasks.
    selection: { ...stats(0.4), acceptedExamples: 8 }, before: stats(0.25), after: trained ? stats(0.5) : null,
    train: trained ? { outPath: "a.gguf", mode: "lora", masking: "softmax", lossFirst: 2, lossLast: 1.5, lossMean: 1.75, steps: 2, tokens: 10, tokensPerSecond: 5, seconds: 2, trainer: "t", examples: 8, policy: "retrain" } : null,
    trainSkipped: trained ? undefined : "no accepted examples to train on",
    external: null, adapterPath: null, timings: {},
  };
}

test("common/protocol.ts imports nothing from the engine (or any server code)", () => {
  const imports = [...readFileSync(join(ROOT, "common/protocol.ts"), "utf8").matchAll(/^import[^;]*from "([^"]+)"/gm)].map((m) => m[1]);
  assert.deepEqual(imports, ["vscode-languageserver-protocol", "./runParams", "./score"]);
});

test("a cycle is worded once: examples and tasks counted apart, before → after", () => {
  assert.equal(cycleLine(record(1, true)), "cycle 1: accepted 8 examples (4 of 4 tasks), held-out 0.250 → 0.500, train loss 2.000 → 1.500");
  assert.equal(cycleLine(record(2, false)), "cycle 2: accepted 8 examples (4 of 4 tasks), held-out 0.250, not trained (no accepted examples to train on)");
  assert.equal(change(0.1, null), "0.100");
  assert.equal(runSummary([record(1, true), record(2, false)], "cancelled"), "Run cancelled: 2 cycles, 16 examples accepted, trained in 1 cycle.");
});

test("the live view: each change a new version, a redone cycle replaces its point, a cancel makes it resumable", () => {
  const live = new LiveRunView("/runs/r", 3);
  const v1 = live.apply({ type: "phase", cycle: 1, phase: "tasks", done: 0, total: 4, message: "writing tasks" })!;
  assert.deepEqual([v1.version, v1.status, v1.points.length], [1, "Cycle 1/3: tasks 0/4", 0]);
  assert.equal(live.apply({ type: "log", message: "x" }), null);
  live.apply({ type: "cycle", record: record(1, false) });
  const v3 = live.apply({ type: "cycle", record: record(1, true) })!;
  assert.deepEqual([v3.version, v3.points.length, v3.points[0]!.trainLoss, v3.points[0]!.trainSkipped], [3, 1, 1.75, null]);
  assert.equal(live.apply({ type: "cancelled", lastCompleteCycle: 1 })!.resumable, true);
  const end = live.end([record(1, true)], true);
  assert.deepEqual([end.version, end.state, end.resumable], [5, "cancelled", true]);
});

test("a run stopped before its first cycle completed is not offered to resume, and says it kept no cycle", () => {
  const live = new LiveRunView("/runs/r", 3);
  assert.equal(live.current.placeholder, "The first cycle is under way: its point appears here when it completes (the line above says where it stands).");
  assert.equal(live.apply({ type: "cancelled", lastCompleteCycle: 0 })!.resumable, false);
  const end = live.end([], true);
  assert.deepEqual([end.state, end.resumable, end.status], ["cancelled", false, "Run stopped before its first cycle completed; no cycle was kept."]);
  assert.equal(end.placeholder, "The run was stopped before its first cycle completed; no cycle was kept.");
  assert.equal(new LiveRunView("/runs/r", 3).failed("boom").placeholder, "The run failed before its first cycle completed.");
  assert.equal(storedRunView("/runs/r", []).placeholder, "This run has no complete cycle.");
});

test("the live view is the one run state: it starts, says a stop was asked until the run ends, and carries the progress and the latest held-out change", () => {
  const live = new LiveRunView("/runs/r", 2);
  const started = live.started();
  assert.deepEqual([started.version, started.state, started.status, started.percent, started.heldOut], [1, "running", "Starting…", 0, ""]);
  const cycle1 = live.apply({ type: "cycle", record: record(1, true) })!;
  assert.deepEqual([cycle1.percent, cycle1.heldOut], [50, "held-out 0.250 → 0.500"]);
  const stopping = live.stopping();
  assert.deepEqual([stopping.state, stopping.status], ["stopping", "Stopping the run…"]);
  const phase = live.apply({ type: "phase", cycle: 2, phase: "tasks", done: 1, total: 4, message: "" })!;
  assert.deepEqual([phase.state, phase.status], ["stopping", "Stopping the run… (Cycle 2/2: tasks 1/4)"]);
  const end = live.end([record(1, true)], true);
  assert.deepEqual([end.state, end.percent], ["cancelled", 100]);
});

test("a resumed run's live view shows its stored cycles from the start", () => {
  const live = new LiveRunView("/runs/r", 3, [record(2, true), record(1, true)]);
  assert.deepEqual(live.current.points.map((p) => p.cycle), [1, 2]);
  assert.equal(live.current.placeholder, "");
  const v = live.apply({ type: "cycle", record: record(3, false) })!;
  assert.deepEqual(v.points.map((p) => p.cycle), [1, 2, 3]);
  assert.match(v.notes.loss, /No training in cycle 3: no accepted examples to train on\./);
});

function trainedRecord(cycle: number, lossFirst: number, lossLast: number, lossMean: number, policy = "retrain"): CycleRecord {
  const r = record(cycle, true);
  return { ...r, train: { ...r.train!, lossFirst, lossLast, lossMean, policy } };
}

test("the loss chart's note: what the loss is, why its mean can rise, whether training lowered it within each cycle", () => {
  const what = "Loss: how unexpected the accepted commands were to the model as it trained on them (lower: more expected). It is not a score of the model; the held-out score is.";
  assert.equal(lossNote([]), "");
  assert.equal(
    lossNote([trainedRecord(1, 2.4, 1.2, 1.5), trainedRecord(2, 2.9, 1.6, 2.1)]),
    `${what} It rose in cycle 2: each cycle trains a new adapter from the base model on every example accepted so far, so a later mean is over more, and newer, examples: ` +
      "a higher one says those were less like what the base model writes, not that the model got worse. " +
      "Within each cycle it fell from the first training step to the last (cycle 1: 2.400 → 1.200; cycle 2: 2.900 → 1.600).",
  );
  assert.match(lossNote([trainedRecord(1, 2, 1, 1.5, "continue"), trainedRecord(2, 2, 1, 1.8, "continue")]), /trains the last adapter on that cycle's new examples only/);
  assert.match(lossNote([trainedRecord(1, 2, 2.2, 2.1)]), /In cycle 1 it did not fall from the first training step to the last \(2\.000 → 2\.200\): training did not fit those examples\./);
  assert.equal(lossNote([record(1, false), record(2, false)]), "No training in cycles 1, 2: no accepted examples to train on.");
});

test("the score chart's note names the cycles where held-out after equals before (the lines lie on each other)", () => {
  const equal = { ...record(1, true), after: stats(0.25) };
  assert.equal(
    chartNotes([equal, record(2, true)]).score,
    "Held-out after equals before in cycle 1 (0.250): what the cycle learned (new weights, or examples added to the run's memory) did not change the held-out score, so the two lines lie on each other there.",
  );
  assert.equal(chartNotes([record(1, true)]).score, "");
  assert.equal(chartNotes([record(1, false)]).score, "", "no after, nothing to compare");
});

function candidate(cycle: number, i: number, accepted: boolean, extra: Partial<Candidate> = {}): Candidate {
  return {
    cycle, phase: "before", taskId: `c${cycle}-${i}`, task: `task ${i}`, command: `ls -${i}`, raw: `ls -${i}`, reconstruction: `list ${i}`,
    score: { value: 0.5 + i / 1000 } as Candidate["score"], gates: [], accepted, ...extra,
  };
}

test("a cycle's accepted examples: only that cycle's, in order, with the reading, the score and where the command came from", () => {
  const all = [candidate(1, 1, true), candidate(2, 1, false), candidate(2, 2, true), candidate(2, 3, true, { example: { task: "people's task" } }), candidate(3, 1, true)];
  const v = cycleExamplesView("/runs/r", 2, all, record(2, true));
  assert.equal(v.title, "Cycle 2 accepted 2 examples (4 of 4 tasks).");
  assert.deepEqual(v.examples, [
    { task: "task 2", command: "ls -2", reading: "list 2", score: "0.50", from: "the model" },
    { task: "task 3", command: "ls -3", reading: "list 3", score: "0.50", from: "an example people wrote" },
  ]);
  assert.equal(v.more, "");
  assert.match(cycleExamplesView("/runs/r", 4, all, record(4, true)).title, /^Cycle 4 accepted no examples/);
  const many = Array.from({ length: LISTED_EXAMPLES + 5 }, (_, i) => candidate(1, i, true));
  const capped = cycleExamplesView("/runs/r", 1, many, record(1, true));
  assert.equal(capped.examples.length, LISTED_EXAMPLES);
  assert.equal(capped.more, "… and 5 more in examples.jsonl of the run.");
});
