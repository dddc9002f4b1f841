import { test } from "node:test";
import assert from "node:assert/strict";
import { cleanCommand, cleanSentence, sequenceRatio, tokenF1 } from "../../server/src/engine/text";
import { liftToScore, parseJudge, wordRecall } from "../../server/src/engine/scorers";
import { selectCandidates, phaseStats, firstProgram } from "../../server/src/engine/selection";
import { TaskPool, validateTask, commandsFromText } from "../../server/src/engine/tasks";
import { loadShellParser } from "../../server/src/shell/parser";
import type { Candidate } from "../../server/src/engine/types";

test("cleanCommand strips fences, prompts, quotes and prose", () => {
  assert.equal(cleanCommand(" ls -la\nThis lists files."), "ls -la");
  assert.equal(cleanCommand("```bash\nfind . -name '*.py'\n```\nExplanation"), "find . -name '*.py'");
  assert.equal(cleanCommand("Command: `du -sh .`"), "du -sh .");
  assert.equal(cleanCommand('"ps aux"'), "ps aux");
  assert.equal(cleanCommand('echo "a" "b"'), 'echo "a" "b"');
  assert.equal(cleanCommand("$ df -h"), "df -h");
  assert.equal(cleanCommand("\n\n"), "");
});

test("cleanSentence keeps the first line without a label", () => {
  assert.equal(cleanSentence(" Task: list the files\nmore"), "list the files");
});

test("sequenceRatio equals Python difflib's ratio", () => {
  const cases: [string, string, number][] = [
    ["list all files", "list files", 0.8333333333333334],
    ["scan the host for open ports", "perform a tcp scan", 0.17391304347826086],
    ["abcd", "bcda", 0.75],
    ["", "x", 0],
    ["show running processes", "show processes running now", 0.5833333333333334],
  ];
  for (const [a, b, want] of cases) assert.ok(Math.abs(sequenceRatio(a, b) - want) < 1e-12, `${a} / ${b}`);
});

test("seed parts: recall, judge parsing with its 0.5 default", () => {
  assert.equal(wordRecall("scan the host", "the host was scanned"), 2 / 3);
  assert.equal(parseJudge("7"), 0.7);
  assert.equal(parseJudge("Similarity: 12"), 1);
  assert.equal(parseJudge("very similar"), 0.5);
  assert.equal(tokenF1("list files", "list files"), 1);
  assert.equal(tokenF1("list files", "remove dirs"), 0);
});

test("liftToScore: 0 for no lift, 0.5 at one bit per token, monotone", () => {
  assert.equal(liftToScore(0), 0);
  assert.equal(liftToScore(-3), 0);
  assert.ok(Math.abs(liftToScore(Math.LN2) - 0.5) < 1e-12);
  assert.ok(Math.abs(liftToScore(2 * Math.LN2) - 0.75) < 1e-12);
  assert.ok(liftToScore(1) < liftToScore(2));
});

function cand(taskId: string, command: string, value: number, pass = true): Candidate {
  return {
    cycle: 1, phase: "before", taskId, task: taskId, command, raw: command, reconstruction: "",
    score: { scorer: "lift", value, parts: {}, explanation: "" },
    gates: [{ gate: "parses", pass, reason: "" }], accepted: false,
  };
}

test("selection: threshold, best of N, gates, duplicates dropped", () => {
  const cs = [cand("a", "ls", 0.6), cand("a", "ls -la", 0.9), cand("a", "ls -l", 0.95, false), cand("b", "ls -la", 0.8), cand("c", "pwd", 0.3)];
  const accepted = selectCandidates(cs, { threshold: 0.5 });
  assert.deepEqual(accepted.map((c) => c.command), ["ls -la"]);
  assert.equal(cs[3]!.rejectReason, "duplicate of an accepted command");
  assert.equal(cs[4]!.rejectReason, "score 0.300 is under the threshold 0.5");
  assert.equal(cs[0]!.rejectReason, "another candidate for this task scored higher");
  const again = selectCandidates([cand("d", "pwd", 0.9)], { threshold: 0.5, earlier: ["pwd"] });
  assert.equal(again.length, 0);
  const stats = phaseStats(cs, 0.5);
  assert.equal(stats.candidates, 5);
  assert.equal(stats.acceptanceRate, 2 / 3);
  assert.equal(stats.distinctCommands, 4);
  assert.equal(firstProgram("FOO=1 sudo tar -xzf a.tgz"), "tar");
});

test("selection: a near duplicate of an earlier cycle's command is not accepted again", () => {
  const cs = [cand("a", "grep -rn  'TODO' src/app", 0.9), cand("b", "grep -rn TODO src/lib", 0.8)];
  const accepted = selectCandidates(cs, { threshold: 0.5, earlier: ["grep -rn TODO src/app"] });
  assert.deepEqual(accepted.map((c) => c.command), ["grep -rn TODO src/lib"]);
  assert.equal(cs[0]!.rejectReason, "near duplicate of the accepted command grep -rn TODO src/app");
});

test("selection: the per-program cap keeps each program's best-scoring examples", () => {
  const cs = [cand("a", "ls /a", 0.6), cand("b", "ls /b", 0.9), cand("c", "ls /c", 0.8), cand("d", "pwd", 0.7)];
  const accepted = selectCandidates(cs, { threshold: 0.5, programCap: 2 });
  assert.deepEqual(accepted.map((c) => c.command), ["ls /b", "ls /c", "pwd"]);
  assert.equal(cs[0]!.rejectReason, "ls already has 2 accepted examples this cycle (--per-program)");
});

test("tasks: validation and near-duplicate removal", async () => {
  assert.throws(() => validateTask("   "), /empty/);
  assert.throws(() => validateTask("x".repeat(100_000)), /100000 characters long; the limit is 500/);
  const pool = new TaskPool(["list all files in the current directory"]);
  assert.equal(pool.tryAdd("List all files in the current directory."), false);
  assert.equal(pool.tryAdd("compress the logs folder into a tarball"), true);
  assert.equal(pool.tryAdd("x"), false);
  const parser = await loadShellParser();
  assert.deepEqual(commandsFromText("# c\nls -la # list them\n\n  grep x y\n", parser), ["ls -la", "grep x y"]);
});
