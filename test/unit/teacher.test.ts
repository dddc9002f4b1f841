// Scripts as a teacher (issue 20, evidence c): a held-out comment never reaches the loop.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir, fixtureModel } from "../helpers/fixture";
import { loadShellParser, type ShellParser } from "../../server/src/shell/parser";
import { splitScripts } from "../../scripts/evidence/teacher";
import { runLoop, DEFAULT_RUN_OPTIONS } from "../../server/src/engine/api";

let dir: string;
let cleanup: () => Promise<void>;
let parser: ShellParser;

before(async () => {
  ({ dir, cleanup } = await tempDir("inversion-teacher-"));
  parser = await loadShellParser();
});
after(() => cleanup());

/** A script whose every comment carries a marker word no command holds. */
const SCRIPT = Array.from({ length: 40 }, (_, i) => `# zqxmarker${i} make the folder number ${i}\nmkdir -p build/${i}\ncp a${i} b${i}  # zqxtrailing${i} copy it\n`).join("");

test("splitScripts: the teaching commands hold no comment text and no held-out command", () => {
  const { teaching, heldOut } = splitScripts([{ name: "s.sh", text: SCRIPT }], parser, 0.3);
  assert.ok(heldOut.length > 0 && teaching.length > 0);
  assert.ok(heldOut.every((p) => /zqx/.test(p.comment)), "the labels are the comments");
  assert.ok(!teaching.some((c) => /zqx/.test(c)), "no comment in a teaching command");
  const held = new Set(heldOut.map((p) => p.command));
  assert.ok(!teaching.some((c) => held.has(c)), "no held-out command teaches");
});

test("a run given a commented script sees its commands only: no comment reaches any file of the run", async () => {
  const model = await fixtureModel(dir);
  const script = join(dir, "teach.sh");
  await writeFile(script, SCRIPT);
  const out = join(dir, "run");
  await runLoop({ ...DEFAULT_RUN_OPTIONS, modelPath: model, out, commandsFile: script, cycles: 1, tasks: 3, candidates: 1, threads: 1, gpu: "off", learn: "none", heldOutTasks: 2, contextSize: 256 });
  const files = await readdir(out, { recursive: true, withFileTypes: true });
  let read = 0;
  for (const f of files.filter((e) => e.isFile())) {
    const text = await readFile(join(f.parentPath, f.name), "utf8");
    assert.ok(!/zqx/.test(text), `${f.name} holds a comment's marker`);
    read++;
  }
  assert.ok(read >= 4, `the run wrote its files (${read})`);
  const tasks = JSON.parse(await readFile(join(out, "tasks.json"), "utf8")) as { heldOut: { origin?: string }[] };
  assert.ok(tasks.heldOut.some((t) => t.origin && /^(mkdir|cp) /.test(t.origin)), "held-out tasks are read back from the script's commands");
});
