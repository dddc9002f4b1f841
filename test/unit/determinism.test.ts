// The same seed repeats a run byte for byte on one machine, with parallel sequences on (docs/RELIABILITY.md,
// "Reproducibility"): whatever the timing of llama.cpp's results, and after a kill and a resume.
//
// Before (issue 23 item 5), node-llama-cpp decoded together whichever sequences had queued when it dispatched, in
// the order their sampled tokens came back from its threads; llama.cpp's numbers for a token depend on how its batch
// is split (on CPU, flash attention changes kernel at 64 queries of one sequence), so log-probabilities moved in the
// 4th–5th digit and sometimes a sampled token changed. Now every call into llama.cpp runs in rounds
// (server/src/engine/rounds.ts) and every cycle starts from a fresh base model.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir, fixtureModel } from "../helpers/fixture";
import { runLoop, DEFAULT_RUN_OPTIONS, GENERATION_PHASE, type RunOptions } from "../../server/src/engine/api";
import { Rounds } from "../../server/src/engine/rounds";
import { aroundNativeCalls } from "../helpers/llamaNative";

let dir: string;
let cleanup: () => Promise<void>;
let modelPath: string;

before(async () => {
  ({ dir, cleanup } = await tempDir());
  modelPath = await fixtureModel(dir);
});

after(async () => {
  await cleanup();
});

/**
 * 4 candidates per task on 4 parallel sequences. The prompts carry retrieved examples, so many are over 64 tokens:
 * how such a prompt is split across batches changes llama.cpp's numbers.
 */
function seeded(out: string, cycles = 1): RunOptions {
  return {
    ...DEFAULT_RUN_OPTIONS,
    modelPath,
    out,
    seed: 7,
    cycles,
    tasks: 6,
    candidates: 4,
    heldOutTasks: 2,
    threads: 1,
    gpu: "off",
    learn: "none",
    threshold: 0.01,
    contextSize: 256,
  };
}

/**
 * Runs `fn` with node-llama-cpp's native decodes and samplings answering after random delays (0–8 ms), as they may
 * on a busy machine: the order in which parallel sequences get their tokens back, and so what they queue next and
 * when, changes from run to run.
 */
async function withRandomLlamaTiming<T>(fn: () => Promise<T>): Promise<T> {
  const late = <V>(value: V): Promise<V> => new Promise((resolve) => setTimeout(() => resolve(value), Math.random() * 8));
  return aroundNativeCalls(
    (_native, method, _args, call) => (method === "decodeBatch" || method === "sampleToken" ? (call() as Promise<unknown>).then(late) : call()),
    fn,
  );
}

const examples = (out: string): Promise<string> => readFile(join(out, "examples.jsonl"), "utf8");

/** cycles.jsonl without what holds times by design (startedAt, timings). */
async function cyclesWithoutTimes(out: string): Promise<unknown[]> {
  const lines = (await readFile(join(out, "cycles.jsonl"), "utf8")).trim().split("\n");
  return lines.map((line) => {
    const { startedAt: _startedAt, timings: _timings, ...rest } = JSON.parse(line) as Record<string, unknown>;
    return rest;
  });
}

test("rounds: calls made together start together in the order made, their results come back in that order, calls made meanwhile wait", async () => {
  const rounds = new Rounds();
  const log: string[] = [];
  const work = (name: string, ms: number) => (): Promise<string> => {
    log.push(`start ${name}`);
    return new Promise((resolve) => setTimeout(() => resolve(name), ms));
  };
  const a = rounds.call(work("a", 30)).then((v) => {
    log.push(`got ${v}`);
    return rounds.call(work("a2", 1));
  });
  const b = rounds.call(work("b", 1)).then((v) => void log.push(`got ${v}`));
  await new Promise((resolve) => setTimeout(resolve, 10)); // b has ended, a has not: c waits for the next round
  const c = rounds.call(work("c", 1)).then((v) => void log.push(`got ${v}`));
  await Promise.all([a, b, c]);
  assert.deepEqual(log, ["start a", "start b", "got a", "got b", "start c", "start a2", "got c"]);
  await assert.rejects(rounds.call(() => Promise.reject(new Error("refused"))), /refused/);
});

test("rounds: a round starts its calls by sequence id (calls without one last), and hands results back in the order made", async () => {
  const rounds = new Rounds();
  const log: string[] = [];
  const work = (name: string) => (): Promise<string> => {
    log.push(`start ${name}`);
    return Promise.resolve(name);
  };
  const made = [rounds.call(work("none")), rounds.call(work("s2"), 2), rounds.call(work("s0"), 0), rounds.call(work("s1"), 1)];
  for (const p of made) void p.then((v) => void log.push(`got ${v}`));
  await Promise.all(made);
  assert.deepEqual(log, ["start s0", "start s1", "start s2", "start none", "got none", "got s2", "got s0", "got s1"]);
});

test("two runs with one seed write byte-identical examples.jsonl, whatever the timing of llama.cpp's results (4 parallel sequences)", async () => {
  const plain = join(dir, "plain");
  await runLoop(seeded(plain));
  // two more runs at once in this process, with llama.cpp's answers arriving in random order
  const [a, b] = [join(dir, "jittered-a"), join(dir, "jittered-b")];
  await withRandomLlamaTiming(() => Promise.all([runLoop(seeded(a)), runLoop(seeded(b))]));
  const expected = await examples(plain);
  assert.ok(expected.trim().split("\n").length >= 6 * 4, "every candidate is recorded");
  assert.equal(await examples(a), expected);
  assert.equal(await examples(b), expected);
  assert.deepEqual(await cyclesWithoutTimes(a), await cyclesWithoutTimes(plain));
});

test("a run stopped in its second cycle and resumed writes the same examples.jsonl as one never stopped", async () => {
  const whole = join(dir, "whole");
  await runLoop(seeded(whole, 2));
  const stopped = join(dir, "stopped");
  const ac = new AbortController();
  const first = await runLoop(seeded(stopped, 2), {
    signal: ac.signal,
    // stopped once cycle 2 has scored its second task (a kill -9 there leaves the same files)
    onEvent: (e) => {
      if (e.type === "phase" && e.cycle === 2 && e.phase === GENERATION_PHASE && e.done >= 2) ac.abort();
    },
  });
  assert.equal(first.cancelled, true);
  assert.deepEqual(first.cycles.map((c) => c.cycle), [1]);
  const resumed = await withRandomLlamaTiming(() => runLoop({ ...seeded(stopped, 2), resume: {} }));
  assert.equal(resumed.cancelled, false);
  assert.equal(await examples(stopped), await examples(whole));
  assert.deepEqual(await cyclesWithoutTimes(stopped), await cyclesWithoutTimes(whole));
});
