// The server-owned run view: one projection, one upsert, one wording; the protocol carries it without the engine.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { LiveRunView, change, cycleLine, runSummary } from "../../server/src/view/runView";
import type { CycleRecord, PhaseStats } from "../../server/src/engine/types";

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
