import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "../helpers/fixture";
import { readRun } from "../../server/src/engine/api";
import { RunStore } from "../../server/src/engine/store";
import { cycleTable } from "../../server/src/cli/report";
import { compareSvg, compareTable, distinctByCycle, externalSeries, heldOutAfterSeries, trainLossSeries } from "../../server/src/cli/compare";
import { cyclePoint } from "../../server/src/view/runView";
import type { CycleRecord, ExternalEval, PhaseStats } from "../../server/src/engine/types";

const stats = (meanScore: number, acceptanceRate = 0.5): PhaseStats => ({
  candidates: 6, acceptedTasks: 1, acceptanceRate, meanScore, distinctCommands: 5, distinctPrograms: 3,
});
const ext = (nlc2cmd: number): ExternalEval => ({
  dataset: "pairs.tsv", datasetHash: "ab".repeat(32), n: 300, nlc2cmd, nlc2cmdCi: [nlc2cmd - 0.05, nlc2cmd + 0.05],
  exactMatch: 0, exactMatchCi: [0, 0], templateMatch: 0.1, templateMatchCi: [0.05, 0.15], meanLift: 0.2, spearmanLift: 0.3,
});

function cycle(n: number, before: number, after: number | null, external: number): CycleRecord {
  return {
    cycle: n, startedAt: "2026-11-23T00:00:00Z", seed: n, tasks: { train: 2, heldOut: 2 },
    selection: { ...stats(0.4, 0.5), acceptedExamples: 2 }, before: stats(before), after: after === null ? null : stats(after),
    train: after === null ? null : { outPath: `adapters/c${n}.gguf`, mode: "lora", masking: "softmax", lossFirst: 2, lossLast: 1.5, lossMean: 1.7, steps: 3, tokens: 100, tokensPerSecond: 1000, seconds: 0.1, trainer: "llama-lora", examples: 2, policy: "retrain" },
    trainSkipped: after === null ? "learn is none: no weights are trained" : undefined,
    external: ext(external), externalBefore: n === 1 ? ext(-0.5) : undefined,
    adapterPath: after === null ? null : `adapters/c${n}.gguf`, timings: { totalMs: 60000 },
  };
}

/** What every run's config.json records besides its parameters (checked on every read, engine/records.ts). */
const recorded = (dir: string) => ({ modelPath: "model.gguf", out: dir, topics: ["files"], startedAt: "2026-11-23T00:00:00Z", evalHash: null, evalPairs: 0, warmStart: null });

async function writeRun(dir: string, cycles: CycleRecord[], config: object): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "config.json"), JSON.stringify({ ...recorded(dir), ...config }));
  await writeFile(join(dir, "cycles.jsonl"), cycles.map((c) => JSON.stringify(c)).join("\n") + "\n");
}

test("report and compare read stored runs", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await writeRun(join(dir, "main"), [cycle(1, 0.1, 0.2, -0.4), cycle(2, 0.2, 0.3, -0.3)], { version: 1, train: "lora" });
    await writeRun(join(dir, "none"), [cycle(1, 0.1, null, -0.5)], { version: 1, train: "none" });
    const main = await readRun(join(dir, "main"));
    const table = cycleTable(main.cycles).split("\n");
    assert.equal(table.length, 4);
    assert.match(table[2]!, /^1\s+2\s+50\.0%\s+0\.400\s+0\.100\s+0\.200\s+0\.100\s+2\.000→1\.500/);
    assert.match(table[2]!, /-0\.400 \[-0\.450, -0\.350\]/);
    const none = await readRun(join(dir, "none"));
    const runs = [
      { name: "main", config: main.config as object, cycles: main.cycles },
      { name: "none", config: none.config as object, cycles: none.cycles },
    ];
    assert.deepEqual(externalSeries(runs[0]!), [-0.5, -0.4, -0.3]);
    // The SVG charts the panel's point fields: held-out after (cycle 0: the starting weights) and the mean loss.
    assert.deepEqual(heldOutAfterSeries(runs[0]!), [0.1, 0.2, 0.3]);
    assert.deepEqual(heldOutAfterSeries(runs[1]!), [0.1, null]);
    assert.deepEqual(trainLossSeries(runs[0]!), [null, 1.7, 1.7]);
    assert.deepEqual(trainLossSeries(runs[0]!).slice(1), main.cycles.map((c) => cyclePoint(c).trainLoss));
    const cmp = compareTable(runs).split("\n");
    assert.equal(cmp.length, 2 + 3);
    assert.match(cmp[0]!, /main NLC2CMD \[95% CI\].*none NLC2CMD/);
    assert.match(cmp[2]!, /^0\s/);
    assert.match(cmp[4]!, /-0\.300 \[-0\.350, -0\.250\]/);
    const svg = compareSvg(runs);
    assert.match(svg, /^<svg[^>]+xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    // NLC2CMD, intrinsic, acceptance: both runs; loss: only the trained one; template: both; distinct: no external.jsonl.
    assert.equal((svg.match(/<polyline/g) ?? []).length, 2 + 2 + 2 + 1 + 2);
    assert.deepEqual(distinctByCycle([{ cycle: 0, prediction: "a" }, { cycle: 0, prediction: "b" }, { cycle: 2, prediction: "a" }], 3), [2, 2, 1, 1]);
    assert.ok(!/https?:\/\/(?!www\.w3\.org)/.test(svg), "no remote resources");
  } finally {
    await cleanup();
  }
});

test("a version-1 cycle line reads with today's names: examples and tasks counted apart", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const v1 = cycle(1, 0.1, 0.2, -0.4) as unknown as Record<string, Record<string, unknown>>;
    const legacy = (s: Record<string, unknown>, accepted: number) => {
      const { acceptedTasks: _t, acceptedExamples: _e, ...rest } = s;
      return { ...rest, accepted };
    };
    // Version 1: `selection.accepted` counted examples (8 from 2 tasks under --select all), `before.accepted` tasks.
    const line = { ...v1, selection: legacy({ ...v1.selection!, acceptanceRate: 1 }, 8), before: legacy(v1.before!, 1), after: legacy(v1.after!, 2) };
    await writeRun(join(dir, "old"), [line as unknown as CycleRecord], { version: 1, train: "lora" });
    const [c] = (await readRun(join(dir, "old"))).cycles;
    assert.deepEqual([c!.selection.acceptedExamples, c!.selection.acceptedTasks, c!.before.acceptedTasks, c!.after!.acceptedTasks], [8, 2, 1, 2]);
  } finally {
    await cleanup();
  }
});

test("a line written before version 3 reads with the original scorer's fields under its name, and judge policy as learner", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const v2 = cycle(1, 0.1, 0.2, -0.4);
    const line = { ...v2, before: { ...v2.before, meanSeedScore: 0.25 }, external: { ...v2.external!, meanSeed: 0.3, spearmanSeed: 0.4 } };
    const run = join(dir, "v2");
    await writeRun(run, [line as unknown as CycleRecord], { version: 2, judge: "policy", scorer: "seed" });
    const row = { cycle: 1, id: "t1", task: "list files", reference: "ls", prediction: "ls", nlc2cmd: 1, exact: true, template: true, lift: 0.5, seed: 0.6 };
    await writeFile(join(run, "external.jsonl"), JSON.stringify(row) + "\n");
    const { config, cycles } = await readRun(run);
    const [c] = cycles;
    assert.deepEqual([c!.before.meanOriginalScore, c!.external!.meanOriginal, c!.external!.spearmanOriginal], [0.25, 0.3, 0.4]);
    assert.deepEqual([(config as { judge: string }).judge, (config as { scorer: string }).scorer], ["learner", "original"]);
    assert.equal((await new RunStore(run).logs()).external[0]!.original, 0.6);
  } finally {
    await cleanup();
  }
});
