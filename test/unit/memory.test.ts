// A run's memory (--learn memory|both): what it retrieves, and that it survives kill -9 and resume byte for byte.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir, fixtureModel } from "../helpers/fixture";
import { cli } from "../helpers/cli";
import { ExampleIndex } from "../../server/src/knowledge/examples/exampleIndex";
import { RunMemory, memoryPairs, shotsWithMemory } from "../../server/src/engine/memory";
import type { Candidate } from "../../server/src/engine/types";
import { Engine } from "../../server/src/engine/api";
import { resolveHoverMemory } from "../../server/src/lsp/modelHost";

let dir: string;
let cleanup: () => Promise<void>;
let model: string;

before(async () => {
  ({ dir, cleanup } = await tempDir("inversion-memory-"));
  model = await fixtureModel(dir);
});
after(() => cleanup());

const SOURCE = { id: "s", name: "test", repo: "r", licence: "CC0-1.0", licenceUrl: "", commit: "c", attribution: "" };
const people = new ExampleIndex(
  [
    { description: "list files in a directory", command: "ls path/to/dir", source: "s", ref: "1" },
    { description: "show disk usage of a directory", command: "du -sh path/to/dir", source: "s", ref: "2" },
    { description: "print the working directory", command: "pwd", source: "s", ref: "3" },
  ],
  [SOURCE],
);

function accepted(task: string, command: string, extra: Partial<Candidate> = {}): Candidate {
  return {
    cycle: 1, phase: "before", taskId: "c1-t", task, command, raw: command, reconstruction: "",
    score: { scorer: "lift", value: 1, parts: {}, explanation: "" }, gates: [], accepted: true, ...extra,
  };
}

test("memory: a remembered pair nearer the task than people's examples comes first; the pair itself is left out", () => {
  const memory = new RunMemory(people);
  memory.add([accepted("count the lines of every log file", "wc -l *.log")]);
  const shots = shotsWithMemory(people, memory, 2);
  assert.deepEqual(shots.forTask("count lines of log files").map((s) => s.command)[0], "wc -l *.log");
  const leaveOut = { task: "count the lines of every log file", command: "wc -l *.log" };
  assert.ok(!shots.forTask("count lines of log files", leaveOut).some((s) => s.command === "wc -l *.log"));
  assert.equal(shots.forCommand("wc -l access.log")[0]!.task, "count the lines of every log file");
});

test("memory: only accepted training pairs, each command once, none repeating people's example", () => {
  const memory = new RunMemory(people);
  const added = memory.add(
    memoryPairs([
      accepted("list a directory", "ls path/to/dir"),
      accepted("list a directory again", "ls path/to/dir"),
      accepted("a held-out task", "cat x", { phase: "after" }),
      accepted("rejected", "rm -rf x", { accepted: false }),
    ]),
  );
  assert.equal(added, 1);
  // the shipped example shows this command already: the memory copy is not shown twice
  const shown = shotsWithMemory(people, memory, 3).forTask("list a directory").map((s) => s.command);
  assert.equal(shown.filter((c) => c === "ls path/to/dir").length, 1);
});

const runArgs = (out: string): string[] =>
  ["run", "--model", model, "--out", out, "--learn", "memory", "--cycles", "3", "--tasks", "3", "--candidates", "2", "--select", "all", "--threads", "1", "--seed", "7", "--json"];

const lines = async (file: string): Promise<string[]> => (await readFile(file, "utf8")).split("\n");

/** A file's lines with the fields that hold wall-clock times removed. */
async function timeless(file: string): Promise<string[]> {
  const lines = (await readFile(file, "utf8")).trim().split("\n");
  return lines.map((l) => {
    const { startedAt: _s, timings: _t, ...rest } = JSON.parse(l) as Record<string, unknown>;
    return JSON.stringify(rest);
  });
}

test("memory survives kill -9 and resume: the resumed run's examples and cycles equal an uninterrupted run's", async () => {
  const whole = join(dir, "whole");
  const killed = join(dir, "killed");
  const uninterrupted = await cli(runArgs(whole));
  assert.equal(uninterrupted.code, 0, uninterrupted.stderr);
  let sent = false;
  const first = await cli(runArgs(killed), (_chunk, child, text) => {
    if (!sent && text.includes('"type":"cycle"')) {
      sent = true;
      child.kill("SIGKILL");
    }
  });
  assert.equal(first.signal, "SIGKILL");
  const resumed = await cli(["run", "--model", model, "--out", killed, "--resume", "--threads", "1"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  const [resumedLines, wholeLines] = [await lines(join(killed, "examples.jsonl")), await lines(join(whole, "examples.jsonl"))];
  const firstDiff = wholeLines.findIndex((l, i) => resumedLines[i] !== l);
  assert.equal(firstDiff, -1, `examples.jsonl line ${firstDiff + 1} differs`);
  assert.equal(resumedLines.length, wholeLines.length);
  assert.deepEqual(await timeless(join(killed, "cycles.jsonl")), await timeless(join(whole, "cycles.jsonl")));
  const cycles = (await readFile(join(whole, "cycles.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l) as { after: unknown; train: unknown; selection: { acceptedExamples: number } });
  assert.ok(cycles[0]!.selection.acceptedExamples > 0, "--select all accepts every candidate");
  // no weights change, but the memory did: held-out measured again after each cycle that remembered something
  assert.ok(cycles.every((c) => c.train === null));
  assert.notEqual(cycles[0]!.after, null);
});

test("hovers follow the latest run's memory: the engine's prompts retrieve what it accepted", async () => {
  const runs = join(dir, "runs");
  const run = join(runs, "r1");
  const r = await cli(runArgs(run).map((a) => (a === "3" ? "1" : a)));
  assert.equal(r.code, 0, r.stderr);
  const found = await resolveHoverMemory("best", runs);
  assert.deepEqual(found, { run, cycles: 1 });
  assert.equal(await resolveHoverMemory("base", runs), null, "hovers on the base model use people's examples only");
  const engine = await Engine.open({ modelPath: model, gpu: "off", threads: 1, contextSize: 256, examples: 3, memoryRun: run });
  try {
    const accepted = (await readFile(join(run, "examples.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l) as Candidate);
    const distinct = new Set(accepted.filter((c) => c.accepted && c.phase === "before" && c.command.trim()).map((c) => c.command.trim()));
    assert.deepEqual(engine.memory, { run, examples: distinct.size });
  } finally {
    await engine.dispose();
  }
});
