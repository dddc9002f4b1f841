import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { tempDir, fixtureModel } from "../helpers/fixture";
import { loadModel, type LoadedModel } from "../../server/src/engine/runtime";
import { ModelSession } from "../../server/src/engine/session";
import { answerText, forwardPrompt, inversePrompt } from "../../server/src/engine/prompts";
import { coderReviewerScorer, scorerByName } from "../../server/src/engine/scorers";
import { checkRunParams } from "../../common/runParams";

let cleanup: () => Promise<void>;
let loaded: LoadedModel;
let session: ModelSession;

before(async () => {
  const t = await tempDir();
  cleanup = t.cleanup;
  loaded = await loadModel({ modelPath: await fixtureModel(t.dir), gpu: "off", threads: 1, contextSize: 256 });
  session = await ModelSession.create(loaded, { sequences: 2 });
});

after(async () => {
  await session.dispose();
  await loaded.model.dispose();
  await cleanup();
});

test("coder-reviewer is ln p(command | task) + ln p(task | command), the value its exponential", async () => {
  const task = "list the files in the home directory";
  const command = "ls -la ~";
  const coder = await session.logProb(forwardPrompt(task), answerText(command));
  const reviewer = await session.logProb(inversePrompt(command), answerText(task));
  const r = await coderReviewerScorer.score(session, { task, command, reconstruction: "" });
  assert.ok(Math.abs(Math.log(r.value) - (coder.sum + reviewer.sum)) < 1e-6, `${Math.log(r.value)} vs ${coder.sum + reviewer.sum}`);
});

test("coder-reviewer is a run parameter value and a scorer by that name", () => {
  checkRunParams({ scorer: "coder-reviewer" });
  assert.equal(scorerByName("coder-reviewer").name, "coder-reviewer");
});
