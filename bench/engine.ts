// Issue-2 benchmarks, each measured side by side in one run:
//  1. candidates on 4 parallel sequences vs one after another (target ≥ 2×)
//  2. one teacher-forced lift score vs the seed scorer (sampled reconstruction + judge) per candidate (target ≥ 5×)
//  3. engine generation tokens/s vs a bare node-llama-cpp generation loop (target ≥ 0.95)
import { loadModel } from "../server/src/engine/runtime";
import { ModelSession } from "../server/src/engine/session";
import { forwardPrompt, inversePrompt } from "../server/src/engine/prompts";
import { liftScorer, seedScorer } from "../server/src/engine/scorers";
import type { LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp" with { "resolution-mode": "import" };
import { benchModels, interleaved, median, row } from "./common";

const TASKS = ["list all files in the current directory", "show disk usage of the home folder", "find python files", "count lines in a file"];

export async function benchEngine(rounds = 5): Promise<void> {
  console.log("\n## Engine (issue 2)\n");
  console.log(row(["model", "measure", "A", "B", "ratio", "target"]));
  for (const { name, path } of await benchModels()) {
    const loaded = await loadModel({ modelPath: path, gpu: "off", threads: 1, contextSize: 256 });
    const parallel = await ModelSession.create(loaded, { sequences: 4 });
    const serial = await ModelSession.create(loaded, { sequences: 1 });
    const bareContext = await loaded.model.createContext({ contextSize: loaded.contextSize, threads: 1 });
    const bare = { model: loaded.model, seq: bareContext.getSequence() };
    try {
      const gen = { temperature: 0.7, maxTokens: 32, stopAtNewline: false };
      const p = await interleaved(
        rounds,
        async () => {
          for (const t of TASKS) for (let i = 0; i < 4; i++) await serial.complete(forwardPrompt(t), { ...gen, seed: 1 + i });
        },
        async () => {
          for (const t of TASKS) await parallel.completeMany(forwardPrompt(t), 4, { ...gen, seed: 1 });
        },
      );
      console.log(row([name, "4 candidates: serial ms / parallel ms", median(p.a), median(p.b), median(p.a) / median(p.b), "≥ 2"]));

      // Three candidates per task, as in a run: the lift's empty-command baseline is computed once per task.
      const seed = seedScorer(1);
      const commands = ["ls -la", "find . -type f", "du -sh ."];
      let round = 0;
      const s = await interleaved(
        rounds,
        async () => {
          const task = `${TASKS[0]!} (round ${round})`;
          for (const command of commands) await seed.score(serial, { task, command, reconstruction: "" });
        },
        async () => {
          const task = `${TASKS[0]!} (round ${round++})`;
          for (const command of commands) await liftScorer.score(serial, { task, command, reconstruction: "" });
        },
      );
      console.log(row([name, "3 candidates: seed ms / lift ms", median(s.a), median(s.b), median(s.a) / median(s.b), "≥ 5"]));

      const prompt = inversePrompt("tar -czf backup.tgz /home/user/documents");
      const N = 96;
      let engineTokens = 0;
      let bareTokens = 0;
      const g = await interleaved(
        rounds,
        async () => {
          const text = await serial.complete(prompt, { temperature: 0, maxTokens: N, stopAtNewline: false });
          engineTokens = loaded.model.tokenize(text).length;
        },
        async () => {
          bareTokens = await bareLoop(bare, serial.promptTokens(prompt), N);
        },
      );
      const engineTps = (engineTokens / median(g.a)) * 1000;
      const bareTps = (bareTokens / median(g.b)) * 1000;
      console.log(row([name, "generation tok/s: engine / bare", engineTps, bareTps, engineTps / bareTps, "≥ 0.95"]));
    } finally {
      await parallel.dispose();
      await serial.dispose();
      await bareContext.dispose();
      await loaded.model.dispose();
    }
  }
}

/** The plainest node-llama-cpp generation: one sequence, evaluate() until N tokens or the end of text. */
async function bareLoop(bare: { model: LlamaModel; seq: LlamaContextSequence }, tokens: Token[], n: number): Promise<number> {
  await bare.seq.clearHistory();
  let count = 0;
  for await (const t of bare.seq.evaluate(tokens, { temperature: 0 })) {
    if (bare.model.isEogToken(t)) break;
    if (++count >= n) break;
  }
  return count;
}
