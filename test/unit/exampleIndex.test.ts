// The example index: TF-IDF search, program filter, leave-out, the file format and its errors, the shipped index's
// sources and its separation from both held-out splits, and the few-shot prompts built from it.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { ExampleIndex, ExampleIndexError, indexFileText, type Example, type ExampleSource } from "../../server/src/knowledge/examples/exampleIndex";
import { programOf } from "../../server/src/knowledge/examples/program";
import { EXAMPLE_INDEX_FILE } from "../../common/shipped";
import { forwardPrompt, inversePrompt } from "../../server/src/engine/prompts";
import { indexShots, sharesTaskOrCommand } from "../../server/src/engine/shots";
import { toTrainExample } from "../../server/src/engine/loop";
import type { Candidate } from "../../server/src/engine/types";
import { tempDir, fixtureModel } from "../helpers/fixture";
import { loadModel } from "../../server/src/engine/runtime";
import { ModelSession } from "../../server/src/engine/session";
import { candidatesForTask } from "../../server/src/engine/candidates";
import { liftScorer } from "../../server/src/engine/scorers";
import { loadShellParser } from "../../server/src/shell/parser";

const SOURCE: ExampleSource = { id: "s", name: "sheet", repo: "https://example.org/r", licence: "CC0 1.0", licenceUrl: "https://example.org/l", commit: "c".repeat(40), attribution: "someone" };
const ex = (description: string, command: string, ref = "x#0"): Example => ({ description, command, source: "s", ref });
const SMALL = [
  ex("Create a compressed archive", "tar -czf out.tgz dir"),
  ex("Extract an archive", "tar -xzf out.tgz"),
  ex("Create a directory and its parents", "mkdir -p a/b"),
  ex("Make a file executable", "chmod +x file"),
  ex("List files with sizes", "ls -la"),
];

describe("example index search", () => {
  const index = new ExampleIndex(SMALL, [SOURCE]);
  test("by task: the example whose description shares the rarest words comes first", () => {
    assert.equal(index.byTask("make the script executable", { k: 1 })[0]!.example.command, "chmod +x file");
  });
  test("by command, restricted to the command's program", () => {
    const hits = index.byCommandText("tar -xzf logs.tgz", { k: 5, program: "tar" });
    assert.deepEqual(hits.map((h) => h.example.command), ["tar -xzf out.tgz", "tar -czf out.tgz dir"]);
    assert.equal(index.nearestFor("mkdir -p build/out")!.example.description, "Create a directory and its parents");
    assert.equal(index.nearestFor("my_script_function build"), null, "no example of another program stands in");
  });
  test("leave-out: a pair and pairs sharing its task or command never come back", () => {
    const exclude = sharesTaskOrCommand({ task: "make a file EXECUTABLE", command: "chmod 755 x" });
    assert.deepEqual(index.byTask("make a file executable", { k: 5, exclude }).filter((h) => h.example.command === "chmod +x file"), []);
  });
  test("the comment's support is higher for the right command than for another program's", () => {
    assert.ok(index.commentSupport("create an archive", "tar -czf a.tgz x").similarity > index.commentSupport("create an archive", "ls -la").similarity);
  });
  test("programOf skips sudo, env assignments and directories", () => {
    assert.equal(programOf("sudo LANG=C /usr/bin/tar -x"), "tar");
    assert.equal(programOf("FOO=1"), null);
  });
});

describe("example index file", () => {
  const withFile = (bytes: Buffer, fn: (file: string) => void): void => {
    const dir = mkdtempSync(join(tmpdir(), "inversion-index-"));
    try {
      const file = join(dir, "i.jsonl.gz");
      writeFileSync(file, bytes);
      fn(file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  test("round trip: what is written is read back, sources included", () => {
    withFile(gzipSync(indexFileText({ sources: [SOURCE], build: {} }, SMALL)), (file) => {
      const index = ExampleIndex.fromFile(file);
      assert.deepEqual(index.examples, SMALL);
      assert.deepEqual(index.sources, [SOURCE]);
    });
  });
  test("a file that is not gzip, a wrong header and a short file are refused, naming the file and the fix", () => {
    withFile(Buffer.from("not gzip"), (file) => assert.throws(() => ExampleIndex.fromFile(file), (e: Error) => e instanceof ExampleIndexError && e.message.includes(file) && /Reinstall/.test(e.message)));
    withFile(gzipSync('{"kind":"other"}\n'), (file) => assert.throws(() => ExampleIndex.fromFile(file), /not an example index/));
    const text = indexFileText({ sources: [SOURCE], build: {} }, SMALL).split("\n").slice(0, 3).join("\n");
    withFile(gzipSync(text), (file) => assert.throws(() => ExampleIndex.fromFile(file), /says 5 examples, the file holds 2/));
  });
});

describe("the shipped example index", () => {
  const index = ExampleIndex.fromFile(EXAMPLE_INDEX_FILE);
  const heldOut = (file: string) => readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { task: string; command: string });
  test("holds no pair sharing a task or a command with either held-out split", () => {
    const norm = (s: string) => s.toLowerCase().replace(/[\s.:]+$/, "").replace(/\s+/g, " ").trim();
    const pairs = [...heldOut("models/tldr-heldout.jsonl"), ...heldOut("models/cheat-heldout.jsonl")];
    const tasks = new Set(pairs.map((p) => norm(p.task)));
    const commands = new Set(pairs.map((p) => p.command.replace(/\s+/g, " ").trim()));
    const leaked = index.examples.filter((e) => tasks.has(norm(e.description)) || commands.has(e.command.replace(/\s+/g, " ").trim()));
    assert.deepEqual(leaked, []);
  });
  test("every source has a licence that may ship (no ShareAlike, no GPL), a commit and an attribution", () => {
    for (const s of index.sources) {
      assert.match(s.licence, /^(CC BY 4\.0|CC0 1\.0|MIT)$/, s.name);
      assert.match(s.commit, /^[0-9a-f]{40}$/, s.name);
      assert.ok(s.attribution.length > 0, s.name);
    }
    assert.ok(index.size > 30_000);
  });
});

describe("few-shot prompts", () => {
  test("examples come before the question, nearest last, each followed by a blank line, in the training layout", () => {
    const shots = [{ task: "near", command: "a" }, { task: "far", command: "b" }];
    assert.equal(forwardPrompt("do it", shots).plain, "Task: far\nCommand: b\n\nTask: near\nCommand: a\n\nTask: do it\nCommand:");
    assert.equal(inversePrompt("x -y", shots).plain, "Command: b\nTask: far\n\nCommand: a\nTask: near\n\nCommand: x -y\nTask:");
    assert.equal(forwardPrompt("do it").plain, "Task: do it\nCommand:");
  });
  test("a training example's context never holds its own pair or one sharing its task or command", () => {
    const shots = indexShots(new ExampleIndex(SMALL, [SOURCE]), 5);
    const c = { task: "Make a file executable", command: "chmod +x file" } as Candidate;
    const prompt = toTrainExample(c, shots).prompt;
    assert.equal(prompt.split("chmod +x file").length, 1, prompt);
    assert.ok(prompt.endsWith("Task: Make a file executable\nCommand:"));
  });
});

describe("the lookup's answer among the candidates", () => {
  test("a training task's candidates hold the nearest example's command, marked as an example; without the option they do not", async () => {
    const { dir, cleanup } = await tempDir();
    const loaded = await loadModel({ modelPath: await fixtureModel(dir), gpu: "off", threads: 1, contextSize: 256 });
    const session = await ModelSession.create(loaded, { sequences: 2 });
    try {
      const shots = indexShots(new ExampleIndex(SMALL, [SOURCE]), 2);
      const task = { id: "t1", text: "make the file executable", source: "model" as const };
      const parser = await loadShellParser();
      const run = (exampleCandidate: boolean) =>
        candidatesForTask(session, { main: liftScorer, others: [] }, parser, task, { cycle: 1, phase: "before", threshold: 0 }, { candidates: 2, temperature: 0.7, seed: 1, shots, exampleCandidate });
      const examples = (await run(true)).filter((c) => c.example);
      assert.deepEqual(examples.map((c) => [c.command, c.example!.task]), [["chmod +x file", "Make a file executable"]]);
      assert.equal((await run(false)).filter((c) => c.example).length, 0);
    } finally {
      await session.dispose();
      await loaded.model.dispose();
      await cleanup();
    }
  });
});
