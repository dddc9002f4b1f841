import { test } from "node:test";
import assert from "node:assert/strict";
import { acceptanceBridge, chosen, SCORED_SELECTORS, withinTaskSpearman, type Row } from "../../scripts/evidence/selection";

/** A candidate with the fields a test sets; every other score is 0. */
function row(taskId: string, command: string, fields: Partial<Row>): Row {
  return {
    taskId, task: "t", reference: "r", command, reconstruction: "", nlc2cmd: -1, exact: false, template: false, firstUtility: false,
    gatesPass: true, lift: 0, liftBitsPerToken: 0, reconstructionF1: 0, seed: 0, logpCommand: 0, commandTokens: 1, logpTask: 0,
    taskTokens: 1, coderReviewer: 0, ...fields,
  };
}

const selector = (name: string) => SCORED_SELECTORS.find((s) => s.name.startsWith(name))!;

test("coder+reviewer (summed) picks the candidate with the largest ln p(command | task) + ln p(task | command)", () => {
  const task = [
    row("a", "short", { logpCommand: -2, logpTask: -30 }),
    row("a", "agrees", { logpCommand: -6, logpTask: -20 }),
    row("a", "unlikely", { logpCommand: -20, logpTask: -19 }),
  ];
  assert.equal(chosen(selector("coder+reviewer, summed"), [task], 1)[0]!.command, "agrees");
});

test("the oracle picks the best NLC2CMD of a task's candidates", () => {
  const task = [row("a", "x", { nlc2cmd: -1 }), row("a", "y", { nlc2cmd: 0.5 }), row("a", "z", { nlc2cmd: 0.25 })];
  assert.equal(chosen("oracle", [task], 1)[0]!.command, "y");
});

test("within-task Spearman averages only the tasks where both the score and NLC2CMD vary", () => {
  const varying = [row("a", "1", { liftBitsPerToken: 1, nlc2cmd: -1 }), row("a", "2", { liftBitsPerToken: 2, nlc2cmd: 0 })];
  const constant = [row("b", "1", { liftBitsPerToken: 1, nlc2cmd: -1 }), row("b", "2", { liftBitsPerToken: 2, nlc2cmd: -1 })];
  assert.deepEqual(withinTaskSpearman((r) => r.liftBitsPerToken, [varying, constant]), { mean: 1, tasks: 1 });
});

test("the coder-reviewer threshold accepts as many tasks as lift at the threshold", () => {
  const tasks = [
    [row("a", "1", { lift: 0.6, coderReviewer: 1e-10 })],
    [row("b", "1", { lift: 0.2, coderReviewer: 1e-5 })],
    [row("c", "1", { lift: 0.7, coderReviewer: 1e-20 })],
  ];
  assert.deepEqual(acceptanceBridge(tasks, 0.5), { liftAcceptance: 2 / 3, coderReviewerThreshold: 1e-10 });
});
