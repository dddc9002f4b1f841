// Shared work (prefix reuse, forked prompt state, step-aligned batches) must not change any result.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir, fixtureModel } from "../helpers/fixture";
import { loadModel, type LoadedModel } from "../../server/src/engine/runtime";
import { ModelSession } from "../../server/src/engine/session";
import { answerText, forwardPrompt, inversePrompt } from "../../server/src/engine/prompts";
import { invertCommand } from "../../server/src/engine/candidates";
import { BENCH_SHAPES, writeBenchModel } from "../../tools/gguf/benchModels";

let cleanup: () => Promise<void>;
const models: { name: string; loaded: LoadedModel }[] = [];

before(async () => {
  let dir: string;
  ({ dir, cleanup } = await tempDir());
  const qwen = { ...BENCH_SHAPES["qwen2.5-0.5b"], name: "qwen-tiny", embeddingLength: 64, blockCount: 2, headCount: 4, headCountKv: 2, feedForwardLength: 128 };
  const paths = { plain: await fixtureModel(dir), chat: await writeBenchModel(join(dir, "chat.gguf"), qwen) };
  for (const [name, modelPath] of Object.entries(paths)) {
    models.push({ name, loaded: await loadModel({ modelPath, gpu: "off", threads: 1, contextSize: 512 }) });
  }
});

after(async () => {
  for (const m of models) await m.loaded.model.dispose();
  await cleanup();
});

async function sessions(loaded: LoadedModel, sequences: number): Promise<{ shared: ModelSession; cleared: ModelSession; dispose(): Promise<void> }> {
  const shared = await ModelSession.create(loaded, { sequences, shareWork: true });
  const cleared = await ModelSession.create(loaded, { sequences, shareWork: false });
  return { shared, cleared, dispose: async () => (await shared.dispose(), await cleared.dispose()) };
}

const TASK = "show disk usage of the home folder";
const COMMANDS = ["du -sh ~", "df -h", "ls -la ~"];

/** A task's scoring as a run does it: every candidate's reading, then with- and without-command log-probs, concurrently. */
async function scoreTask(session: ModelSession): Promise<{ readings: string[]; logps: number[] }> {
  const rows = await Promise.all(
    COMMANDS.map(async (command) => {
      const reading = await invertCommand(session, command);
      const [withCommand, without] = await Promise.all([
        session.logProb(inversePrompt(command), answerText(TASK)),
        session.logProb(inversePrompt(""), answerText(TASK)),
      ]);
      return { reading, logps: [...withCommand.perToken, ...without.perToken] };
    }),
  );
  return { readings: rows.map((r) => r.reading), logps: rows.flatMap((r) => r.logps) };
}

for (const format of ["plain", "chat"]) {
  test(`${format}: shared-prefix scoring of a task's candidates equals cleared-history scoring (1e-4) and evaluates fewer tokens`, async () => {
    const { loaded } = models.find((m) => m.name === format)!;
    const s = await sessions(loaded, 2);
    try {
      assert.equal(s.shared.format, format);
      for (let round = 0; round < 2; round++) {
        const a = await scoreTask(s.shared);
        const b = await scoreTask(s.cleared);
        assert.deepEqual(a.readings, b.readings);
        assert.equal(a.logps.length, b.logps.length);
        a.logps.forEach((lp, i) => assert.ok(Math.abs(lp - b.logps[i]!) < 1e-4, `log-prob ${i}: ${lp} vs ${b.logps[i]}`));
      }
      assert.ok(s.shared.evaluatedTokens < 0.8 * s.cleared.evaluatedTokens, `${s.shared.evaluatedTokens} vs ${s.cleared.evaluatedTokens} tokens`);
    } finally {
      await s.dispose();
    }
  });

  test(`${format}: candidates sampled from one forked prompt equal candidates sampled separately (fixed seeds)`, async () => {
    const { loaded } = models.find((m) => m.name === format)!;
    for (const [sequences, n] of [[4, 4], [2, 3]] as const) {
      const s = await sessions(loaded, sequences);
      try {
        for (const task of ["find big files", "find big files", "count lines in a file"]) {
          const opts = { temperature: 0.8, seed: 7, maxTokens: 10, stopAtNewline: false };
          const a = await s.shared.completeMany(forwardPrompt(task), n, opts);
          const b = await s.cleared.completeMany(forwardPrompt(task), n, opts);
          assert.deepEqual(a, b);
          assert.ok(new Set(a).size > 1, "different seeds give different samples");
        }
        assert.ok(s.shared.evaluatedTokens < s.cleared.evaluatedTokens);
      } finally {
        await s.dispose();
      }
    }
  });
}
