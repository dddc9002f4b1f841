import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFile, readFile, appendFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir, fixtureModel } from "../helpers/fixture";
import { loadModel, type LoadedModel } from "../../server/src/engine/runtime";
import { ModelSession } from "../../server/src/engine/session";
import { inversePrompt, answerText, forwardPrompt } from "../../server/src/engine/prompts";
import { liftScorer } from "../../server/src/engine/scorers";
import { runGates, gatesPass } from "../../server/src/engine/gates";
import { loadShellParser } from "../../server/src/shell/parser";
import { Engine, runLoop, DEFAULT_RUN_OPTIONS, readRun, bestAdapter } from "../../server/src/engine/api";
import { writeFixtureModel } from "../../tools/gguf/fixtureModel";
import type { RunOptions } from "../../server/src/engine/loop";
import { runFromSettings, runOverridesOf } from "../../server/src/lsp/runs";
import { normalizeSettings } from "../../server/src/lsp/settings";

let dir: string;
let cleanup: () => Promise<void>;
let modelPath: string;
let loaded: LoadedModel;

before(async () => {
  ({ dir, cleanup } = await tempDir());
  modelPath = await fixtureModel(dir);
  loaded = await loadModel({ modelPath, gpu: "off", threads: 1, contextSize: 256 });
});

after(async () => {
  await loaded.model.dispose();
  await cleanup();
});

/** Every vocabulary logit at each continuation position, from a context of the test's own (no engine code). */
async function fullLogits(tokens: number[], split: number): Promise<Map<number, number>[]> {
  const context = await loaded.model.createContext({ contextSize: loaded.contextSize, sequences: 1, threads: 1 });
  try {
    const input = tokens.slice(0, -1).map((token, p) => (p >= split - 1 ? ([token, { generateNext: { logits: true } }] as const) : token));
    const results = await context.getSequence().controlledEvaluate(input as Parameters<ReturnType<typeof context.getSequence>["controlledEvaluate"]>[0]);
    const logits: Map<number, number>[] = [];
    for (let p = split - 1; p < tokens.length - 1; p++) logits.push(results[p]!.next!.logits!);
    return logits;
  } finally {
    await context.dispose();
  }
}

function logSoftmax(logits: Map<number, number>, token: number): number {
  const values = [...logits.values()];
  const max = Math.max(...values);
  const lse = max + Math.log(values.reduce((a, v) => a + Math.exp(v - max), 0));
  return logits.get(token)! - lse;
}

test("teacher-forced log-prob equals a full-vocabulary log-softmax", async () => {
  const session = await ModelSession.create(loaded, { sequences: 1 });
  try {
    const prompt = inversePrompt("ls -la /tmp");
    const cont = answerText("list the files in tmp");
    const lp = await session.logProb(prompt, cont);
    const { tokens, split } = session.tokenizeWith(prompt, cont);
    const logits = await fullLogits(tokens, split);
    assert.ok(logits[0]!.size > 1000, "full vocabulary logits");
    const reference = logits.map((l, i) => logSoftmax(l, tokens[split + i]!));
    assert.equal(lp.tokens, reference.length);
    assert.ok(lp.tokens >= 3);
    for (let i = 0; i < reference.length; i++) assert.ok(Math.abs(lp.perToken[i]! - reference[i]!) < 1e-4, `token ${i}: ${lp.perToken[i]} vs ${reference[i]}`);
    assert.ok(lp.sum < 0);
  } finally {
    await session.dispose();
  }
});

test("parallel sequences give the same results as one after another with a fixed seed", async () => {
  const parallel = await ModelSession.create(loaded, { sequences: 4 });
  const serial = await ModelSession.create(loaded, { sequences: 1 });
  try {
    const prompt = forwardPrompt("find big files");
    const a = await parallel.completeMany(prompt, 4, { temperature: 0.8, seed: 42, maxTokens: 12 });
    const b: string[] = [];
    for (let i = 0; i < 4; i++) b.push(await serial.complete(prompt, { temperature: 0.8, seed: 42 + i, maxTokens: 12 }));
    assert.deepEqual(a, b);
    assert.ok(new Set(a).size > 1, "different seeds give different samples");
    const cont = answerText("show disk usage");
    const [p1, p2] = await Promise.all([parallel.logProb(inversePrompt("df -h"), cont), parallel.logProb(inversePrompt("du -sh"), cont)]);
    const s1 = await serial.logProb(inversePrompt("df -h"), cont);
    const s2 = await serial.logProb(inversePrompt("du -sh"), cont);
    assert.ok(Math.abs(p1.sum - s1.sum) < 1e-3 && Math.abs(p2.sum - s2.sum) < 1e-3);
  } finally {
    await parallel.dispose();
    await serial.dispose();
  }
});

test("lift score: deterministic, explained, parts consistent with the value", async () => {
  const session = await ModelSession.create(loaded, { sequences: 2 });
  try {
    const input = { task: "list the files", command: "ls -la", reconstruction: "list files" };
    const a = await liftScorer.score(session, input);
    const b = await liftScorer.score(session, input);
    // Scored again in the same session: the same result up to float summation order. The first time both prompts are
    // decoded in one micro-batch (their sequences queue in id order, rounds.ts); the second time the rest is cached and
    // only the command prompt's last tokens are decoded, alone. llama.cpp's sums depend on the batch (measured: 5e-6 in
    // a log-prob; before the ordering, the two sequences were two micro-batches and the numbers matched exactly).
    assert.equal(b.explanation, a.explanation);
    assert.ok(Math.abs(b.value - a.value) < 1e-6, `${a.value} then ${b.value}`);
    for (const [k, v] of Object.entries(a.parts)) assert.ok(Math.abs(b.parts[k]! - v!) < 1e-4, `${k}: ${v} then ${b.parts[k]}`);
    assert.ok(a.value >= 0 && a.value <= 1);
    const lift = (a.parts.logpWithCommand! - a.parts.logpWithoutCommand!) / a.parts.taskTokens! / Math.LN2;
    assert.ok(Math.abs(lift - a.parts.liftBitsPerToken!) < 1e-9);
    assert.equal(a.value, lift <= 0 ? 0 : 1 - 2 ** -lift);
    assert.match(a.explanation, /bits/);
  } finally {
    await session.dispose();
  }
});

test("gates on real cases", async () => {
  const parser = await loadShellParser();
  const task = "compress the project logs folder";
  const good = runGates(parser, task, "tar -czf logs.tgz logs/");
  assert.ok(gatesPass(good), JSON.stringify(good));
  const echo = runGates(parser, task, 'echo "compress the project logs folder"');
  assert.equal(echo.find((g) => g.gate === "no-smuggling")?.pass, false);
  const comment = runGates(parser, task, "ls # compress project logs folder");
  assert.equal(comment.find((g) => g.gate === "no-smuggling")?.pass, false);
  const heredoc = runGates(parser, task, "cat <<EOF\nhello\nEOF");
  assert.equal(heredoc.find((g) => g.gate === "no-smuggling")?.pass, false);
  const broken = runGates(parser, task, "tar -czf ( logs");
  assert.equal(broken.find((g) => g.gate === "parses")?.pass, false);
  const unknown = runGates(parser, task, "frobnicatex --all");
  assert.equal(unknown.find((g) => g.gate === "program")?.pass, false);
  assert.match(unknown.find((g) => g.gate === "program")!.reason, /frobnicatex/);
  assert.equal(runGates(parser, task, "  ")[0]!.pass, false);
});

test("bad model inputs give clear errors", async () => {
  await assert.rejects(loadModel({ modelPath: join(dir, "missing.gguf"), gpu: "off", threads: 1 }), /Model file not found/);
  const notGguf = join(dir, "notes.gguf");
  await writeFile(notGguf, "hello, I am not a model");
  await assert.rejects(loadModel({ modelPath: notGguf, gpu: "off", threads: 1 }), /Not a GGUF model file/);
  const full = await readFile(modelPath);
  const truncated = join(dir, "truncated.gguf");
  await writeFile(truncated, full.subarray(0, Math.floor(full.length / 2)));
  await assert.rejects(loadModel({ modelPath: truncated, gpu: "off", threads: 1 }), /truncated|could not load|Corrupt/i);
  const headerOnly = join(dir, "header.gguf");
  await writeFile(headerOnly, full.subarray(0, 40));
  await assert.rejects(loadModel({ modelPath: headerOnly, gpu: "off", threads: 1 }), /Corrupt or truncated/);
  const alien = await writeFixtureModel(join(dir, "alien.gguf"), { architecture: "notarealarch" });
  await assert.rejects(loadModel({ modelPath: alien, gpu: "off", threads: 1 }), /architecture "notarealarch"/);
  await assert.rejects(loadModel({ modelPath: "hf:nobody/nothing/model.gguf", gpu: "off", threads: 1, modelsDirectory: dir }), /Could not download[\s\S]*local path/);
});

test("engine facade: invert, score, generate, and input validation", async () => {
  const engine = await Engine.open({ modelPath, gpu: "off", threads: 1 });
  try {
    assert.equal(typeof (await engine.invert("ls -la")), "string");
    const r = await engine.score("list files", "ls -la", { compare: true });
    assert.equal(r.score.scorer, "lift");
    assert.equal(r.altScores.original?.scorer, "original");
    assert.ok(r.gates.length >= 3);
    const cmds = await engine.generate("list files", 3, { seed: 3 });
    assert.equal(cmds.length, 3);
    await assert.rejects(engine.score("", "ls"), /task is empty/);
    await assert.rejects(engine.score("x".repeat(100_000), "ls"), /limit is 500/);
    await assert.rejects(engine.invert("   "), /command is empty/);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(engine.invert("ls", { signal: ac.signal }), /cancelled/);
  } finally {
    await engine.dispose();
  }
});

function smallRun(out: string): RunOptions {
  return { ...DEFAULT_RUN_OPTIONS, modelPath, out, cycles: 2, tasks: 2, candidates: 2, threads: 1, gpu: "off", learn: "none", heldOutTasks: 2, threshold: 0.01, contextSize: 256 };
}

test("a run writes its store; a killed run resumes after its last complete cycle", async () => {
  const out = join(dir, "run-resume");
  const ac = new AbortController();
  const events: string[] = [];
  const first = await runLoop(smallRun(out), {
    signal: ac.signal,
    onEvent: (e) => {
      events.push(e.type);
      if (e.type === "phase" && e.cycle === 2 && e.phase !== "tasks") ac.abort();
    },
  });
  assert.equal(first.cancelled, true);
  assert.deepEqual(first.cycles.map((c) => c.cycle), [1]);
  assert.ok(events.includes("log"));
  // Simulate a kill in the middle of a write: a torn line at the end of both logs.
  await appendFile(join(out, "examples.jsonl"), '{"cycle":2,"tas');
  await appendFile(join(out, "cycles.jsonl"), '{"cycle":2,"sel');
  await assert.rejects(runLoop(smallRun(out)), /already holds a run/);
  const second = await runLoop({ ...smallRun(out), resume: {} });
  assert.equal(second.cancelled, false);
  const run = await readRun(out);
  assert.deepEqual(run.cycles.map((c) => c.cycle), [1, 2]);
  const examples = (await readFile(join(out, "examples.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l) as { cycle: number; example?: unknown });
  assert.deepEqual([...new Set(examples.map((e) => e.cycle))], [1, 2]);
  // 2 cycles × 2 tasks × (2 of the model's candidates + the nearest example's command, marked as such)
  assert.equal(examples.length, 2 * 2 * 3);
  assert.equal(examples.filter((e) => e.example).length, 2 * 2);
  const c = run.cycles[1]!;
  assert.equal(c.train, null);
  assert.match(c.trainSkipped ?? "", /learn is none/);
  assert.equal(c.after, null);
  assert.equal(c.tasks.heldOut, 2);
  // training tasks also hold their nearest example; held-out tasks measure the model alone
  assert.deepEqual([c.selection.candidates, c.before.candidates], [6, 4]);
  const config = JSON.parse(await readFile(join(out, "config.json"), "utf8")) as { seed: number; learn: string };
  assert.equal(config.learn, "none");
  assert.equal(await bestAdapter(out), null);
  const tasks = JSON.parse(await readFile(join(out, "tasks.json"), "utf8")) as { heldOut: { text: string }[]; seen: string[] };
  for (const h of tasks.heldOut) assert.ok(!tasks.seen.includes(h.text), "held-out tasks never train");
});

test("the editor's Resume run continues a run to its recorded cycle count, never the settings' (issue 19 item 5)", async () => {
  const out = join(dir, "editor-resume");
  await runLoop(smallRun(out));
  // stopped after cycle 1 of its 2 (a kill before cycle 2's record: what a resume repairs)
  const cycles = join(out, "cycles.jsonl");
  await writeFile(cycles, (await readFile(cycles, "utf8")).split("\n")[0] + "\n");
  const settings = normalizeSettings({ model: modelPath, runsDirectory: dir, cycles: 3 });
  const resumed = await runLoop(runFromSettings(settings, runOverridesOf({ overrides: { out, resume: true } })));
  assert.deepEqual(resumed.cycles.map((c) => c.cycle), [1, 2]);
});

test("the same seed repeats a run", async () => {
  const a = await runLoop({ ...smallRun(join(dir, "rep-a")), cycles: 1 });
  const b = await runLoop({ ...smallRun(join(dir, "rep-b")), cycles: 1 });
  const strip = (r: typeof a) => r.cycles.map(({ startedAt: _s, timings: _t, ...rest }) => rest);
  assert.deepEqual(strip(a), strip(b));
  const ea = await readFile(join(dir, "rep-a", "examples.jsonl"), "utf8");
  const eb = await readFile(join(dir, "rep-b", "examples.jsonl"), "utf8");
  assert.equal(ea, eb);
});

test("a cancel before or during model loading is reported as cancelled, not as a failure", async () => {
  const ac = new AbortController();
  ac.abort();
  const r = await runLoop(smallRun(join(dir, "cancel-early")), { signal: ac.signal });
  assert.equal(r.cancelled, true);
  assert.deepEqual(r.cycles, []);
});
