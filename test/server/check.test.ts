// The model self-check, the calibrated comment rule, ignore directives, quick-fix text and `inversion check`.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { TextDocument } from "vscode-languageserver-textdocument";
import { writeFixtureModel } from "../../server/src/engine/api";
import { loadShellParser } from "../../server/src/shell/parser";
import { judgeComment } from "../../server/src/check/calibration";
import { readDirectives, isIgnored, intentWithoutDirectives } from "../../server/src/check/directives";
import { findingMessage, oneLine } from "../../server/src/check/findings";
import { checkScript } from "../../server/src/check/lint";
import { measureSelfCheck, rocAuc, selfCheck } from "../../server/src/check/selfCheck";
import { SELF_CHECK_PAIRS } from "../../server/src/check/selfCheckPairs";
import { cleanReading, commentBlockAbove } from "../../server/src/lsp/codeActions";
import { LexicalModel, LENIENT, STRICT, UNFIT, seedSelfCheck } from "../helpers/selfCheck";

const truth = Object.fromEntries(SELF_CHECK_PAIRS.map((p) => [p.command, p.intent]));
const knowing = new LexicalModel(truth);
const knowingNothing = new LexicalModel({});

describe("self-check", () => {
  test("ROC AUC counts orderings, ties half", () => {
    assert.equal(rocAuc([3, 4], [1, 2]), 1);
    assert.equal(rocAuc([1], [2]), 0);
    assert.equal(rocAuc([1, 2], [2, 1]), 0.5);
  });

  test("a model that knows the commands passes; one that knows nothing fails the floor", async () => {
    const fit = await measureSelfCheck(knowing, "k");
    assert.equal(fit.auc, 1);
    assert.equal(fit.fit, true);
    assert.equal(fit.matched.length, SELF_CHECK_PAIRS.length);
    assert.equal(fit.mismatched.length, 2 * SELF_CHECK_PAIRS.length);
    const unfit = await measureSelfCheck(knowingNothing, "n");
    assert.equal(unfit.auc, 0.5);
    assert.equal(unfit.fit, false);
  });

  test("the result is cached per model content: the second check scores nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "inversion-selfcheck-"));
    try {
      const model = await writeFixtureModel(join(dir, "m.gguf"));
      const counting = Object.assign(new LexicalModel(truth), { modelPath: model });
      const first = await selfCheck(counting, { cacheDir: join(dir, "cache") });
      const calls = counting.calls;
      const second = await selfCheck(counting, { cacheDir: join(dir, "cache") });
      assert.equal(counting.calls, calls);
      assert.deepEqual(second, first);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("calibrated comment rule", () => {
  const check = { fingerprint: "x", modelPath: "m", adapterPath: null, auc: 0.9, floor: 0.75, fit: true, measuredAt: "", matched: [1, 2, 2.5, 3, 3, 3, 3.5, 4, 4, 5], mismatched: [-1, -0.5, 0, 0, 0.5, 0.5, 1, 1.5, 2, 3] };
  test("a lift below every matched pair and under the mismatched median is a strong mismatch", () => {
    assert.deepEqual({ ...judgeComment(0, check), matchedTail: undefined, mismatchedShare: undefined }, { verdict: "differs", strength: "strong", matchedTail: undefined, mismatchedShare: undefined });
  });
  test("a matched-looking lift is a match, a lift between the distributions is unsure", () => {
    assert.equal(judgeComment(3.5, check).verdict, "matches");
    assert.equal(judgeComment(1.8, check).verdict, "unsure");
  });
  test("an unfit model never judges", () => {
    assert.equal(judgeComment(-50, { ...check, fit: false }).verdict, "unsure");
  });
});

describe("directives", () => {
  test("ignore silences the next code line (past the command's own comment); ignore-file silences all", () => {
    const d = readDirectives("# inversion: ignore\n# list files\nls\n\n# count\nwc -l x\n");
    assert.deepEqual([...d.lines], [2]);
    assert.equal(isIgnored(d, 2), true);
    assert.equal(isIgnored(d, 5), false);
    assert.equal(isIgnored(readDirectives("ls\n# inversion: ignore-file\n"), 0), true);
    assert.equal(intentWithoutDirectives("inversion: ignore list files"), "list files");
  });
});

describe("findings and quick-fix text", () => {
  test("one short sentence, readings cut at a word, quotes stripped", () => {
    assert.equal(findingMessage("list files", "counts the lines"), "The comment says “list files”; the model reads the command as: counts the lines");
    assert.equal(oneLine("aaa bbb ccc", 6), "aaa…");
    assert.equal(cleanReading(' "count the lines\n of a file" '), "count the lines of a file");
  });
  test("the comment block above a command, not the shebang", () => {
    const doc = TextDocument.create("file:///x.sh", "shellscript", 1, "#!/bin/sh\n# a\n  # b\nls\n");
    assert.deepEqual(commentBlockAbove(doc, 3), { first: 1, last: 2 });
    assert.equal(commentBlockAbove(doc, 1), null);
  });
  test("checkScript warns on a swapped comment, not on a matching one, and never with an unfit model", async () => {
    const parser = await loadShellParser();
    const text = "# list every file here, including hidden ones, with sizes and owners\nls -la\n# show the kernel version\ndf -h\n# inversion: ignore\n# show the kernel version\npwd\n";
    const check = await measureSelfCheck(knowing, "k");
    const deps = { model: knowing, check, readingOf: async (c: string) => truth[c] ?? "", maxCommandChars: 2000 };
    const r = await checkScript(parser, text, deps);
    assert.equal(r.commented, 2);
    assert.deepEqual(r.findings.map((f) => [f.line, f.severity, f.message]), [[3, "warning", "The comment says “show the kernel version”; the model reads the command as: show how much disk space is free on each mounted filesystem"]]);
    const unfit = await checkScript(parser, text, { ...deps, check: { ...check, fit: false } });
    assert.deepEqual(unfit.findings, []);
  });
});

describe("inversion check (CLI)", { timeout: 120_000 }, () => {
  const CLI = resolve(__dirname, "../../dist/cli.js");
  let dir: string;
  let model: string;
  const run = (args: string[]) => spawnSync(process.execPath, [CLI, "check", "--model", model, "--threads", "1", "--gpu", "off", ...args], { encoding: "utf8", env: { ...process.env, XDG_CACHE_HOME: join(dir, "xdg") } });
  const cacheDir = () => join(dir, "xdg", "inversion", "self-check");
  before(async () => {
    assert.ok(existsSync(CLI), "run npm run build first");
    dir = mkdtempSync(join(tmpdir(), "inversion-check-"));
    model = await writeFixtureModel(join(dir, "fixture.gguf"));
    writeFileSync(join(dir, "a.sh"), "#!/bin/sh\n# list all files\nls -la /tmp\necho untouched\n# inversion: ignore\n# count lines\nwc -l x\n");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("a fit model that reads the comment as wrong: shellcheck-style lines and exit 1", () => {
    seedSelfCheck(cacheDir(), model, STRICT);
    const r = run([join(dir, "a.sh")]);
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, new RegExp(`^${join(dir, "a.sh").replace(/[.]/g, "\\.")}:3:1: warning: The comment says “list all files”; the model reads the command as: .+ \\[intent-mismatch\\]$`));
  });

  test("--format json: the same finding, 1-based, with the self-check", () => {
    seedSelfCheck(cacheDir(), model, STRICT);
    const r = run(["--format", "json", join(dir, "a.sh")]);
    assert.equal(r.status, 1);
    const json = JSON.parse(r.stdout) as { selfCheck: { fit: boolean }; files: { commented: number; findings: { line: number; col: number; code: string }[] }[] };
    assert.equal(json.selfCheck.fit, true);
    assert.equal(json.files[0]!.commented, 1);
    assert.deepEqual(json.files[0]!.findings.map((f) => [f.line, f.col, f.code]), [[3, 1, "intent-mismatch"]]);
  });

  test("matching comments: no output, exit 0", () => {
    seedSelfCheck(cacheDir(), model, LENIENT);
    const r = run([join(dir, "a.sh")]);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, "");
  });

  test("an unfit model: no warnings, exit 0, and it says why once", () => {
    seedSelfCheck(cacheDir(), model, UNFIT);
    const r = run([join(dir, "a.sh")]);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, "inversion: This model tells a matching comment from a wrong one 52% of the time (below 75%), so comment warnings are off.\n");
  });

  test("no files: the self-check sentence; an unreadable file: exit 1 naming it", () => {
    seedSelfCheck(cacheDir(), model, STRICT);
    assert.equal(run([]).stdout, "This model tells a matching comment from a wrong one 95% of the time.\n");
    const r = run([join(dir, "missing.sh")]);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /missing\.sh: error: ENOENT/);
  });
});
