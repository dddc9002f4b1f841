import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir, fixtureModel } from "../helpers/fixture";
import { DEFAULT_RUN_OPTIONS, runLoop } from "../../server/src/engine/api";
import { loadEvalSet, evaluateExternal } from "../../server/src/engine/external";
import { loadModel, type LoadedModel } from "../../server/src/engine/runtime";
import { ModelSession } from "../../server/src/engine/session";
import { loadShellParser } from "../../server/src/shell/parser";
import { warmStartExamples } from "../../server/src/engine/warmstart";
import { writeFixtureModel } from "../../tools/gguf/fixtureModel";

let dir: string;
let cleanup: () => Promise<void>;
let model: string;
let pairsFile: string;

const PAIRS = [
  ["list all files including hidden ones", "ls -la"],
  ["show disk usage of the current folder", "du -sh ."],
  ["find python files", "find . -name '*.py'"],
  ["count lines in notes.txt", "wc -l notes.txt"],
  ["show running processes", "ps aux"],
  ["extract backup.tar.gz", "tar -xzf backup.tar.gz"],
  ["print the working directory", "pwd"],
  ["search for TODO in src", "grep -r TODO src"],
];

before(async () => {
  ({ dir, cleanup } = await tempDir("inversion-external-"));
  model = await fixtureModel(dir);
  pairsFile = join(dir, "pairs.jsonl");
  await writeFile(pairsFile, PAIRS.map(([task, command], i) => JSON.stringify({ id: `p${i}`, task, command })).join("\n") + "\n");
});
after(() => cleanup());

test("external evaluation scores greedy predictions against references with CIs", async () => {
  const set = loadEvalSet(pairsFile, { seed: 3, size: 5 });
  assert.equal(set.pairs.length, 5);
  assert.equal(set.train.length, 3);
  assert.equal(loadEvalSet(pairsFile, { seed: 3, size: 5 }).hash, set.hash);
  const loaded: LoadedModel = await loadModel({ modelPath: model, gpu: "off", threads: 1, contextSize: 256 });
  const session = await ModelSession.create(loaded, { sequences: 2 });
  try {
    const parser = await loadShellParser();
    const { summary, items } = await evaluateExternal(session, session, parser, set, { seed: 1, compareOriginal: true });
    assert.equal(items.length, 5);
    assert.equal(summary.n, 5);
    assert.equal(summary.datasetHash, set.hash);
    for (const [value, [lo, hi]] of [
      [summary.nlc2cmd, summary.nlc2cmdCi],
      [summary.exactMatch, summary.exactMatchCi],
      [summary.templateMatch, summary.templateMatchCi],
    ] as const) assert.ok(lo <= value + 1e-12 && value <= hi + 1e-12, `${lo} ≤ ${value} ≤ ${hi}`);
    assert.ok(summary.nlc2cmd >= -1 && summary.nlc2cmd <= 1);
    assert.equal(summary.meanOriginal === undefined, false);
    for (const item of items) assert.equal(item.reference, PAIRS.find(([t]) => t === item.task)![1]);
    // Greedy: the same weights give the same predictions.
    const again = await evaluateExternal(session, session, parser, set, { seed: 1 });
    assert.deepEqual(again.items.map((x) => x.prediction), items.map((x) => x.prediction));
  } finally {
    await session.dispose();
    await loaded.model.dispose();
  }
});

test("a run with an evaluation set records the external score every cycle and keeps the split out", async () => {
  const out = join(dir, "run");
  const summary = await runLoop({
    ...DEFAULT_RUN_OPTIONS, modelPath: model, out, cycles: 2, tasks: 2, candidates: 2, threads: 1, gpu: "off",
    learn: "none", heldOutTasks: 2, evalSet: pairsFile, evalSize: 4, contextSize: 256, compareScorers: true, judge: "learner",
  });
  assert.equal(summary.cycles.length, 2);
  const [c1, c2] = summary.cycles;
  assert.ok(c1!.externalBefore && c1!.external && c2!.external);
  assert.equal(c1!.external!.n, 4);
  // No training: the weights never change, so neither does the greedy external score.
  assert.deepEqual(c2!.external, c1!.externalBefore);
  const config = JSON.parse(await readFile(join(out, "config.json"), "utf8")) as { evalHash: string; evalPairs: number; warmStart: unknown; judge: string };
  assert.equal(config.evalHash, loadEvalSet(pairsFile, { seed: 1, size: 4 }).hash);
  assert.equal(config.evalPairs, 4);
  assert.equal(config.warmStart, null);
  const rows = (await readFile(join(out, "external.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l) as { cycle: number });
  // Unchanged weights are evaluated once (cycle 0), not again every cycle.
  assert.equal(rows.length, 4);
  assert.deepEqual([...new Set(rows.map((r) => r.cycle))], [0]);
  // The original scorer's fields are written under its name (they said `seed` before record version 3), the judge as `learner`.
  const line = JSON.parse((await readFile(join(out, "cycles.jsonl"), "utf8")).split("\n")[0]!) as Record<string, Record<string, unknown>>;
  const written = [Object.keys(line.before!), Object.keys(line.externalBefore!), Object.keys(rows[0]!)].flat();
  assert.deepEqual(["meanOriginalScore", "meanOriginal", "spearmanOriginal", "original"].filter((k) => !written.includes(k)), []);
  assert.deepEqual(written.filter((k) => /seed/i.test(k)), []);
  assert.equal(config.judge, "learner");
});

test("warm-start examples go both ways and never include the held-out split", () => {
  const set = loadEvalSet(pairsFile, { seed: 1, size: 4 });
  const examples = warmStartExamples(set.train);
  assert.equal(examples.length, 2 * set.train.length);
  const held = new Set(set.pairs.map((p) => p.command));
  for (const e of examples) for (const h of held) assert.ok(!e.prompt.includes(h) && !e.completion.includes(` ${h}\n`));
  assert.match(examples[0]!.prompt, /^Task: .*\nCommand:$/);
  assert.match(examples[1]!.prompt, /^Command: .*\nTask:$/);
});

test("a model with a chat template is prompted through it", async () => {
  const chatml =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  const path = await writeFixtureModel(join(dir, "chat.gguf"), { chatTemplate: chatml });
  const loaded = await loadModel({ modelPath: path, gpu: "off", threads: 1, contextSize: 256 });
  const session = await ModelSession.create(loaded, { sequences: 1 });
  try {
    assert.equal(session.format, "chat");
    const { tokens, split } = session.tokenizeWith({ system: "S", user: "Command: ls", plain: "unused" }, " list");
    const text = loaded.model.detokenize(tokens.slice(0, split), true);
    assert.match(text, /im_start\|?>?\s*user[\s\S]*Command: ls/);
    assert.doesNotMatch(text, /unused/);
    assert.equal(typeof (await session.complete({ system: "S", user: "U", plain: "P" }, { maxTokens: 4 })), "string");
  } finally {
    await session.dispose();
    await loaded.model.dispose();
  }
});
