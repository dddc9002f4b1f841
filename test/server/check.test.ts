// The self-check, the grounded comment rule, ignore directives, quick-fix text and `inversion check`.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { TextDocument } from "vscode-languageserver-textdocument";
import { writeFixtureModel } from "../../tools/gguf/fixtureModel";
import { loadShellParser } from "../../server/src/shell/parser";
import { judgeSupport } from "../../server/src/check/calibration";
import { groundedSupport, shippedGrounding, type Grounding, type GroundedSupport } from "../../server/src/check/grounded";
import { readDirectives, isIgnored, intentWithoutDirectives } from "../../server/src/check/directives";
import { findingMessage, oneLine } from "../../server/src/check/findings";
import { checkScript } from "../../server/src/check/lint";
import { measureSelfCheck, rocAuc, selfCheck } from "../../server/src/check/selfCheck";
import { SELF_CHECK_PAIRS } from "../../server/src/check/selfCheckPairs";
import { cleanReading, commentBlockAbove } from "../../server/src/lsp/codeActions";
import { LexicalModel, FIT, UNFIT, seedSelfCheck, shippedGroundedIdentity } from "../helpers/selfCheck";

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
      const counting = new LexicalModel(truth, "lexical-counting");
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

describe("grounded comment rule", () => {
  const check = { fingerprint: "x", basis: "examples and man pages", auc: 0.9, floor: 0.75, fit: true, measuredAt: "", matched: [], mismatched: [] };
  const support = (score: number, commentPrograms: string[], judgeable = true): GroundedSupport =>
    ({ score, parts: { examples: score, man: null }, nearest: null, pages: [], commentPrograms, program: "rm", judgeable });
  test("almost no support and a comment about another program: a Warning", () => {
    assert.deepEqual(judgeSupport(support(0.002, ["chmod"]), check), { verdict: "differs", strength: "strong", otherProgram: true });
  });
  test("a wrong action of the right program is at most Information", () => {
    assert.deepEqual(judgeSupport(support(0.001, ["rm", "chmod"]), check), { verdict: "differs", strength: "moderate", otherProgram: false });
    assert.equal(judgeSupport(support(0.02, ["rm"]), check).verdict, "unsure");
  });
  test("support at the match level matches; a command nobody's examples know is never judged; an unfit check never judges", () => {
    assert.equal(judgeSupport(support(0.2, ["chmod"]), check).verdict, "matches");
    assert.equal(judgeSupport(support(0, ["chmod"], false), check).verdict, "unsure");
    assert.equal(judgeSupport(support(0, ["chmod"]), { ...check, fit: false }).verdict, "unsure");
  });
});

describe("grounded support from the shipped index", () => {
  let grounding: Grounding;
  before(() => {
    const g = shippedGrounding(() => loadShellParser());
    if ("error" in g) throw new Error(g.error);
    grounding = g;
  });
  test("a comment saying what the command does has more support than one saying what another program does", async () => {
    const right = await groundedSupport(grounding, "make the script executable", "chmod +x run.sh");
    const wrong = await groundedSupport(grounding, "make the script executable", "rm -rf build");
    assert.ok(right.score > 4 * wrong.score, `${right.score} vs ${wrong.score}`);
  });
  test("the nearest example is of the command's own program, with its source", async () => {
    const s = await groundedSupport(grounding, "create the output directory", "mkdir -p build/out");
    assert.equal(s.program, "mkdir");
    assert.match(s.nearest!.example.command, /^mkdir /);
    assert.ok(s.nearest!.source.licence.length > 0);
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
    const hit = { example: { description: "Count lines in a file", command: "wc -l path/to/file", source: "tldr", ref: "common/wc#0" }, source: { id: "tldr", name: "tldr-pages", repo: "", licence: "CC BY 4.0", licenceUrl: "", commit: "", attribution: "" }, similarity: 1 };
    const support: GroundedSupport = { score: 0, parts: { examples: 0, man: null }, nearest: hit, pages: [], commentPrograms: [], program: "wc", judgeable: true };
    assert.equal(findingMessage("list files", support, "counts the lines"), "The comment says “list files”; an example of `wc -l path/to/file` (tldr-pages) says “Count lines in a file”; the model reads it as: counts the lines");
    assert.equal(findingMessage("list files", support, null), "The comment says “list files”; an example of `wc -l path/to/file` (tldr-pages) says “Count lines in a file”");
    assert.equal(oneLine("aaa bbb ccc", 6), "aaa…");
    assert.equal(cleanReading(' "count the lines\n of a file" '), "count the lines of a file");
  });
  test("the comment block above a command, not the shebang", () => {
    const doc = TextDocument.create("file:///x.sh", "shellscript", 1, "#!/bin/sh\n# a\n  # b\nls\n");
    assert.deepEqual(commentBlockAbove(doc, 3), { first: 1, last: 2 });
    assert.equal(commentBlockAbove(doc, 1), null);
  });
  test("checkScript warns on a comment about another program, not on a matching one, and never when unfit", async () => {
    const parser = await loadShellParser();
    const grounding = shippedGrounding(async () => parser);
    if ("error" in grounding) throw new Error(grounding.error);
    const text = "# list every file here, including hidden ones, with sizes and owners\nls -la\n# compress the logs folder into an archive\ndf -h\n# inversion: ignore\n# show the kernel version\npwd\n";
    const check = await measureSelfCheck(knowing, "k");
    const deps = { grounding, check, readingOf: async (c: string) => truth[c] ?? "", maxCommandChars: 2000 };
    const r = await checkScript(parser, text, deps);
    assert.equal(r.commented, 2);
    assert.deepEqual(r.findings.map((f) => [f.line, f.severity]), [[3, "warning"]]);
    assert.match(r.findings[0]!.message, /^The comment says “compress the logs folder into an archive”; an example of `df[^`]*` \(.+\) says “.+”; the model reads it as: show how much disk space is free on each mounted filesystem$/);
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
    writeFileSync(join(dir, "a.sh"), "#!/bin/sh\n# make the script executable\nrm -rf build\necho untouched\n# inversion: ignore\n# count lines\nwc -l x\n");
    writeFileSync(join(dir, "ok.sh"), "#!/bin/sh\n# list all files\nls -la /tmp\n# count lines\nwc -l x\n");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const seed = (dist: typeof FIT) => seedSelfCheck(cacheDir(), shippedGroundedIdentity(), dist);

  test("a comment about another program: shellcheck-style lines and exit 1", () => {
    seed(FIT);
    const r = run([join(dir, "a.sh")]);
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, new RegExp(`^${join(dir, "a.sh").replace(/[.]/g, "\\.")}:3:1: warning: The comment says “make the script executable”; an example of .+ says “.+”; the model reads it as: .+ \\[intent-mismatch\\]$`));
  });

  test("--format json: the same finding, 1-based, with the self-check", () => {
    seed(FIT);
    const r = run(["--format", "json", join(dir, "a.sh")]);
    assert.equal(r.status, 1);
    const json = JSON.parse(r.stdout) as { selfCheck: { fit: boolean }; files: { commented: number; findings: { line: number; col: number; code: string }[] }[] };
    assert.equal(json.selfCheck.fit, true);
    assert.equal(json.files[0]!.commented, 1);
    assert.deepEqual(json.files[0]!.findings.map((f) => [f.line, f.col, f.code]), [[3, 1, "intent-mismatch"]]);
  });

  test("matching comments: no output, exit 0", () => {
    seed(FIT);
    const r = run([join(dir, "ok.sh")]);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, "");
  });

  test("an unfit check: no warnings, exit 0, and it says why once", () => {
    seed(UNFIT);
    const r = run([join(dir, "a.sh")]);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, "inversion: Comment checks (examples and man pages) tell a matching comment from a wrong one 52% of the time (below 75%), so comment warnings are off.\n");
  });

  test("no files: the self-check sentence; an unreadable file: exit 1 naming it", () => {
    seed(FIT);
    assert.equal(run([]).stdout, "Comment checks (examples and man pages) tell a matching comment from a wrong one 95% of the time.\n");
    const r = run([join(dir, "missing.sh")]);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /missing\.sh: error: the file does not exist$/m);
  });
});
