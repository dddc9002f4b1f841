import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { tempDir, fixtureModel } from "../helpers/fixture";
import { cli } from "../helpers/cli";

let dir: string;
let cleanup: () => Promise<void>;
let model: string;

before(async () => {
  ({ dir, cleanup } = await tempDir("inversion-cli-"));
  model = await fixtureModel(dir);
});
after(() => cleanup());


test("usage errors exit 2 with a message", async () => {
  const r = await cli(["run", "--model", model]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--out RUN_DIR/);
  const r2 = await cli(["frobnicate"]);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /Unknown command/);
  const r3 = await cli(["run", "--model", model, "--out", join(dir, "x"), "--cycles", "many"]);
  assert.equal(r3.code, 2);
  assert.match(r3.stderr, /--cycles needs a number/);
});

test("bad models and bad tasks exit 1 with a clear error and write nothing", async () => {
  const missing = await cli(["score", "--model", join(dir, "nope.gguf"), "list files", "ls"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Model file not found/);
  const text = join(dir, "text.gguf");
  await writeFile(text, "not a model at all");
  const notGguf = await cli(["invert", "--model", text, "ls"]);
  assert.equal(notGguf.code, 1);
  assert.match(notGguf.stderr, /Not a GGUF model file/);
  const empty = await cli(["score", "--model", model, "", "ls"]);
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /task is empty/);
  const huge = await cli(["score", "--model", model, "x".repeat(100_000), "ls"]);
  assert.equal(huge.code, 1);
  assert.match(huge.stderr, /100000 characters long/);
  const out = join(dir, "bad-run");
  const run = await cli(["run", "--model", join(dir, "nope.gguf"), "--out", out, "--learn", "none"]);
  assert.equal(run.code, 1);
  // Nothing is written for a run that never started, so the same --out works once the model is fixed.
  const files = await readdir(out).catch(() => [] as string[]);
  assert.deepEqual(files, []);
  const retry = await cli(["run", "--model", model, "--out", out, "--learn", "none", "--cycles", "1", "--tasks", "1", "--candidates", "1", "--threads", "1"]);
  assert.equal(retry.code, 0, retry.stderr);
  assert.ok((await readdir(out)).includes("cycles.jsonl"));
});

test("score and invert print a reading and a score", async () => {
  const r = await cli(["score", "--model", model, "--threads", "1", "list the files", "ls -la", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const parsed = JSON.parse(r.stdout) as { score: { value: number; scorer: string }; reconstruction: string };
  assert.equal(parsed.score.scorer, "lift");
  assert.ok(parsed.score.value >= 0 && parsed.score.value <= 1);
  const inv = await cli(["invert", "--model", model, "--threads", "1", "--json", "ls -la"]);
  assert.equal(inv.code, 0, inv.stderr);
  const reading = JSON.parse(inv.stdout) as { reconstruction: string; example: { command: string; source: string; licence: string } | null };
  assert.equal(typeof reading.reconstruction, "string");
  assert.match(reading.example!.command, /^ls\b/, "the nearest example of the same program, with its source");
  assert.ok(reading.example!.source && reading.example!.licence);
});

test("Ctrl-C in the middle of a run exits 130 and leaves a resumable store", async () => {
  const out = join(dir, "interrupted");
  const args = ["run", "--model", model, "--out", out, "--cycles", "4", "--tasks", "3", "--candidates", "2", "--learn", "none", "--threads", "1", "--json"];
  let sent = false;
  const r = await cli(args, (chunk, child) => {
    if (!sent && chunk.includes('"type":"cycle"')) {
      sent = true;
      child.kill("SIGINT");
    }
  });
  assert.equal(r.code, 130, r.stderr);
  const cycles = (await readFile(join(out, "cycles.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l) as { cycle: number });
  // the store keeps exactly the cycles the run reported complete before it stopped (how many depends on timing)
  const reported = r.stdout.split("\n").filter((l) => l.includes('"type":"cycle"')).length;
  assert.deepEqual(cycles.map((c) => c.cycle), Array.from({ length: reported }, (_, i) => i + 1));
  assert.ok(reported < 4, "the run stopped before its last cycle");
  const resumed = await cli(["run", "--model", model, "--out", out, "--resume", "--threads", "1"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  const all = (await readFile(join(out, "cycles.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l) as { cycle: number });
  assert.deepEqual(all.map((c) => c.cycle), [1, 2, 3, 4]);
  const report = await cli(["report", out]);
  assert.equal(report.code, 0);
  const rows = report.stdout.trim().split("\n");
  assert.equal(rows.length, 2 + 4);
  assert.match(rows[0]!, /cycle\s+tasks\s+accept/);
});

// issue 19 item 5: a resume is explicit about its cycle count --------------------------------------------------------
test("--resume keeps the recorded cycle count; --cycles N sets a new total, recorded; 0 or fewer than done is a usage error", async () => {
  const out = join(dir, "resume-cycles");
  const small = ["--model", model, "--out", out, "--threads", "1"];
  const first = await cli(["run", ...small, "--cycles", "3", "--tasks", "1", "--candidates", "1", "--learn", "none"]);
  assert.equal(first.code, 0, first.stderr);
  // stopped after cycle 2 of its 3
  const cyclesFile = join(out, "cycles.jsonl");
  const cycles = async (): Promise<number[]> => (await readFile(cyclesFile, "utf8")).trim().split("\n").map((l) => (JSON.parse(l) as { cycle: number }).cycle);
  await writeFile(cyclesFile, (await readFile(cyclesFile, "utf8")).split("\n").slice(0, 2).join("\n") + "\n");
  const refused = async (n: string): Promise<{ code: number | null; said: string }> => {
    const r = await cli(["run", ...small, "--resume", "--cycles", n]);
    return { code: r.code, said: r.stderr.trim() };
  };
  const zero = await refused("0");
  const fewer = await refused("1");
  const plain = await cli(["run", ...small, "--resume"]);
  const afterPlain = await cycles();
  const raised = await cli(["run", ...small, "--resume", "--cycles", "4"]);
  const config = JSON.parse(await readFile(join(out, "config.json"), "utf8")) as { cycles: number };
  assert.deepEqual(
    {
      zero: zero.code === 2 && /--cycles must be/.test(zero.said),
      fewer: fewer.code === 2 && /--cycles 1 is fewer than the 2 cycle\(s\)/.test(fewer.said),
      plain: [plain.code, afterPlain],
      // a flag the resume does not apply is named, not silently dropped
      ignoredNamed: /--threads is not applied/.test(plain.stderr),
      raised: [raised.code, await cycles(), config.cycles],
    },
    { zero: true, fewer: true, plain: [0, [1, 2, 3]], ignoredNamed: true, raised: [0, [1, 2, 3, 4], 4] },
    `${zero.said}\n${fewer.said}\n${plain.stderr}\n${raised.stderr}`,
  );
});
