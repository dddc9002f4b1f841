// Engine benchmarks, each measured side by side (interleaved) in one run:
//  1. candidates on 4 parallel sequences vs one after another (target ≥ 2× on tiny models, ≥ 2.5× at real size)
//  2. the seed scorer (sampled reconstruction + judge) vs one teacher-forced lift score per candidate (target ≥ 5×)
//  3. engine generation tokens/s vs a bare node-llama-cpp generation loop (target ≥ 0.95)
//  4. a task's 3 candidates read and scored with shared prefixes vs with cleared history (report; expect ≥ 2×)
import { loadModel, type LoadedModel } from "../server/src/engine/runtime";
import { ModelSession } from "../server/src/engine/session";
import { forwardPrompt, inversePrompt } from "../server/src/engine/prompts";
import { liftScorer, originalScorer } from "../server/src/engine/scorers";
import { invertCommand } from "../server/src/engine/candidates";
import type { LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp" with { "resolution-mode": "import" };
import { BENCH_THREADS, benchModels, interleaved, median, realShapeModels, row } from "./common";

const TASKS = ["list all files in the current directory", "show disk usage of the home folder", "find python files", "count lines in a file"];
const COMMANDS = ["ls -la", "find . -type f", "du -sh ."];

/** The tiny models (fixture, stories260K) at 1 thread, as in issue 2. */
export async function benchEngine(rounds = 5): Promise<void> {
  console.log("\n## Engine (issue 2)\n");
  console.log(row(["model", "measure", "A", "B", "ratio", "target"]));
  for (const { name, path } of await benchModels()) await measureModel(name, path, 1, rounds, "≥ 2");
}

/** The issue-8 models of real shape (0.5B Q4_K_M and Q8_0), 2 threads. */
export async function benchEngineRealShape(rounds = 3): Promise<void> {
  console.log(`\n## Engine at real size (issue 8), ${BENCH_THREADS} threads\n`);
  console.log(row(["model", "measure", "A", "B", "ratio", "target"]));
  for (const { name, path } of await realShapeModels()) await measureModel(name, path, BENCH_THREADS, rounds, "≥ 2.5");
}

async function measureModel(name: string, path: string, threads: number, rounds: number, parallelTarget: string): Promise<void> {
  const loaded = await loadModel({ modelPath: path, gpu: "off", threads, contextSize: 512 });
  try {
    const [a, b] = await serialVsSideBySide(loaded, rounds, 1);
    console.log(row([name, "4 tasks × 4 candidates: serial ms / 4 sequences (1 task at a time) ms", a, b, a / b, "report"]));
    const [serial, side] = await serialVsSideBySide(loaded, rounds, 4);
    console.log(row([name, "4 tasks × 4 candidates: serial ms / 16 sequences (4 tasks side by side) ms", serial, side, serial / side, parallelTarget]));
    const [seed, lift] = await seedVsLift(loaded, rounds);
    console.log(row([name, "3 candidates: seed ms / lift ms", seed, lift, seed / lift, "≥ 5"]));
    const [engine, bare] = await engineVsBare(loaded, rounds);
    console.log(row([name, "generation tok/s: engine / bare", engine, bare, engine / bare, "≥ 0.95"]));
    const shares = await clearedVsShared(loaded, rounds);
    console.log(row([name, "3 candidates read + scored: cleared ms / shared-prefix ms", shares.ms[0], shares.ms[1], shares.ms[0] / shares.ms[1], "report (≥ 2)"]));
    console.log(row([name, "  the same: prompt tokens evaluated, cleared / shared", shares.prompt[0], shares.prompt[1], shares.prompt[0] / shares.prompt[1], "report"]));
    console.log(row([name, "  the same: tokens sampled (read-backs), cleared / shared", shares.sampled[0], shares.sampled[1], shares.sampled[0] / shares.sampled[1], "report"]));
    const order = await decodeOrderCost(loaded);
    console.log(row([name, "one decode of 16 sequences × 1 token: reversed ms / in id order ms", order.reversed, order.inOrder, order.reversed / order.inOrder, "report"]));
    const costs = await decodeCost(loaded);
    for (const [tokens, ms] of costs) {
      console.log(row([name, `one decode of ${tokens} token(s): ms, and its cost ÷ one token's`, ms, tokens, ms / costs[0]![1], "report"]));
    }
  } finally {
    await loaded.model.dispose();
  }
}

async function withSessions<T>(loaded: LoadedModel, specs: { sequences: number; shareWork?: boolean }[], use: (s: ModelSession[]) => Promise<T>): Promise<T> {
  const sessions: ModelSession[] = [];
  try {
    for (const spec of specs) sessions.push(await ModelSession.create(loaded, spec));
    return await use(sessions);
  } finally {
    for (const s of sessions) await s.dispose();
  }
}

/**
 * Medians in ms for 4 tasks × 4 candidates: one candidate after another on 1 sequence, and as the loop runs them with
 * `side` tasks side by side (each task on 4 sequences of one context, so a decode carries 4 × side sequences).
 */
function serialVsSideBySide(loaded: LoadedModel, rounds: number, side: number): Promise<[number, number]> {
  return withSessions(loaded, [{ sequences: 1 }, { sequences: 4 * side }], async ([serial, wide]) => {
    const gen = { temperature: 0.7, maxTokens: 32, stopAtNewline: false };
    const p = await interleaved(
      rounds,
      async () => {
        for (const t of TASKS) for (let i = 0; i < 4; i++) await serial!.complete(forwardPrompt(t), { ...gen, seed: 1 + i });
      },
      async () => {
        for (let first = 0; first < TASKS.length; first += side) {
          await Promise.all(TASKS.slice(first, first + side).map((t) => wide!.completeMany(forwardPrompt(t), 4, { ...gen, seed: 1 })));
        }
      },
    );
    return [median(p.a), median(p.b)];
  });
}

/** Medians in ms for a task's 3 candidates: seed scorer, lift scorer (empty-command baseline once per task). */
function seedVsLift(loaded: LoadedModel, rounds: number): Promise<[number, number]> {
  return withSessions(loaded, [{ sequences: 1 }], async ([session]) => {
    const seed = originalScorer(1);
    let round = 0;
    const s = await interleaved(
      rounds,
      async () => {
        const task = `${TASKS[0]!} (round ${round})`;
        for (const command of COMMANDS) await seed.score(session!, { task, command, reconstruction: "" });
      },
      async () => {
        const task = `${TASKS[0]!} (round ${round++})`;
        for (const command of COMMANDS) await liftScorer.score(session!, { task, command, reconstruction: "" });
      },
    );
    return [median(s.a), median(s.b)];
  });
}

/** Greedy tokens/s of the engine's complete() and of a bare evaluate() loop on the same prompt. */
async function engineVsBare(loaded: LoadedModel, rounds: number): Promise<[number, number]> {
  const bareContext = await loaded.model.createContext({ contextSize: loaded.contextSize, threads: loaded.threads });
  const bare = { model: loaded.model, seq: bareContext.getSequence() };
  try {
    // Both evaluate the whole prompt every time (no shared prefix), so the ratio is the generation loop's own cost.
    return await withSessions(loaded, [{ sequences: 1, shareWork: false }], async ([session]) => {
      const prompt = inversePrompt("tar -czf backup.tgz /home/user/documents");
      const N = 96;
      let engineTokens = 0;
      let bareTokens = 0;
      const g = await interleaved(
        rounds,
        async () => {
          const text = await session!.complete(prompt, { temperature: 0, maxTokens: N, stopAtNewline: false });
          engineTokens = loaded.model.tokenize(text).length;
        },
        async () => {
          bareTokens = await bareLoop(bare, session!.promptTokens(prompt), N);
        },
      );
      return [(engineTokens / median(g.a)) * 1000, (bareTokens / median(g.b)) * 1000];
    });
  } finally {
    await bareContext.dispose();
  }
}

/**
 * Medians in ms for a task's 3 candidates read back and lift-scored, with cleared history and with shared prefixes;
 * and, per task, the prompt tokens each evaluated and the tokens each sampled (the read-backs), which no prefix saves.
 */
function clearedVsShared(loaded: LoadedModel, rounds: number): Promise<{ ms: [number, number]; prompt: [number, number]; sampled: [number, number] }> {
  return withSessions(loaded, [{ sequences: 3, shareWork: false }, { sequences: 3, shareWork: true }], async ([cleared, shared]) => {
    const sampled = new Map<ModelSession, number>([[cleared!, 0], [shared!, 0]]);
    const evaluated = [cleared!.evaluatedTokens, shared!.evaluatedTokens];
    let round = 0;
    const scoreTask = (session: ModelSession, task: string) =>
      Promise.all(
        COMMANDS.map(async (command) => {
          const reading = await invertCommand(session, command);
          sampled.set(session, sampled.get(session)! + loaded.model.tokenize(reading).length + 1);
          await liftScorer.score(session, { task, command, reconstruction: "" });
        }),
      );
    const t = await interleaved(
      rounds,
      () => scoreTask(cleared!, `${TASKS[1]!} (${round})`),
      () => scoreTask(shared!, `${TASKS[1]!} (${round++})`),
    );
    const tasks = rounds + 1;
    return {
      ms: [median(t.a), median(t.b)],
      prompt: [(cleared!.evaluatedTokens - evaluated[0]!) / tasks, (shared!.evaluatedTokens - evaluated[1]!) / tasks],
      sampled: [sampled.get(cleared!)! / tasks, sampled.get(shared!)! / tasks],
    };
  });
}

/** Median ms of one decode of 1, 2, 4, 8, 16 and 64 prompt tokens of one sequence (7 each, after a warm-up). */
async function decodeCost(loaded: LoadedModel): Promise<[number, number][]> {
  const context = await loaded.model.createContext({ contextSize: 128, threads: loaded.threads, batchSize: 64 });
  try {
    const seq = context.getSequence();
    let tokens = loaded.model.tokenize(TASKS.join(" "));
    while (tokens.length < 64) tokens = [...tokens, ...tokens];
    const out: [number, number][] = [];
    for (const n of [1, 2, 4, 8, 16, 64]) {
      const times: number[] = [];
      for (let i = 0; i < 8; i++) {
        await seq.clearHistory();
        const started = performance.now();
        await seq.evaluateWithoutGeneratingNewTokens(tokens.slice(0, n));
        if (i > 0) times.push(performance.now() - started);
      }
      out.push([n, median(times)]);
    }
    return out;
  } finally {
    await context.dispose();
  }
}

/**
 * Medians in ms of one decode of 16 sequences × 1 token (64 tokens of context each), the sequences queued in id order
 * and in reverse: llama.cpp's split KV cache decodes each run of consecutive ids as one micro-batch (rounds.ts).
 */
export async function decodeOrderCost(loaded: LoadedModel): Promise<{ inOrder: number; reversed: number }> {
  const context = await loaded.model.createContext({ contextSize: 128, sequences: 16, threads: loaded.threads, batchSize: 128 });
  try {
    const seqs = Array.from({ length: 16 }, () => context.getSequence());
    let prompt = loaded.model.tokenize(TASKS.join(" "));
    while (prompt.length < 64) prompt = [...prompt, ...prompt];
    for (const seq of seqs) await seq.evaluateWithoutGeneratingNewTokens(prompt.slice(0, 64));
    const step = async (order: LlamaContextSequence[]): Promise<number> => {
      const started = performance.now();
      await Promise.all(order.map((seq) => seq.evaluateWithoutGeneratingNewTokens([prompt[0]!])));
      const ms = performance.now() - started;
      for (const seq of seqs) await seq.eraseContextTokenRanges([{ start: 64, end: seq.nextTokenIndex }]);
      return ms;
    };
    const t = await interleaved(5, () => step(seqs), () => step([...seqs].reverse()));
    return { inOrder: median(t.a), reversed: median(t.b) };
  } finally {
    await context.dispose();
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
