// Scorers: how well a command carries a task. All share one interface so they can be compared on the same candidates.
import type { ScoreResult } from "./types";
import type { InferenceSession, LogProb } from "./model";
import { answerText, forwardPrompt, inversePrompt, judgePrompt } from "./prompts";
import { cleanSentence, sequenceRatio, tokenF1, words } from "./text";
import { RUN_PARAMS } from "../../../common/runParams";

export interface ScoreInput {
  task: string;
  command: string;
  /** The greedy inverse reading of the command, shown to users and reported beside the score. */
  reconstruction: string;
}

export interface Scorer {
  readonly name: string;
  score(session: InferenceSession, input: ScoreInput, signal?: AbortSignal): Promise<ScoreResult>;
}

/**
 * Maps the lift (nats per task token) to [0, 1]: 1 − 2^(−bits per token), 0 for no or negative lift.
 * So 0.5 means the command saves the model one bit on every token of the task, 0.75 two bits.
 */
export function liftToScore(liftNatsPerToken: number): number {
  const bits = liftNatsPerToken / Math.LN2;
  return bits <= 0 ? 0 : 1 - 2 ** -bits;
}

/**
 * `lift`: ln p(task | inverse prompt with the command) − ln p(task | inverse prompt with an empty command), per task
 * token. Deterministic (teacher-forced, no sampling) and cannot be raised by a lenient judge.
 */
export const liftScorer: Scorer = {
  name: "lift",
  async score(session, { task, command, reconstruction }, signal) {
    const [withCommand, withoutCommand] = await Promise.all([
      session.logProb(inversePrompt(command), answerText(task), signal),
      emptyCommandLogProb(session, task, signal),
    ]);
    const n = Math.max(1, withCommand.tokens);
    const liftPerToken = (withCommand.sum - withoutCommand.sum) / n;
    const value = liftToScore(liftPerToken);
    return {
      scorer: "lift",
      value,
      parts: {
        logpWithCommand: withCommand.sum,
        logpWithoutCommand: withoutCommand.sum,
        taskTokens: withCommand.tokens,
        liftBitsPerToken: liftPerToken / Math.LN2,
        reconstructionF1: tokenF1(task, reconstruction),
      },
      explanation: `The command makes each task token ${(liftPerToken / Math.LN2).toFixed(2)} bits more likely than no command does (score = 1 − 2^−bits).`,
    };
  },
};

const baselines = new WeakMap<object, Map<string, Promise<LogProb>>>();

/** ln p(task | empty command) depends only on the task, so the N candidates of a task share it (until the session is reset). */
function emptyCommandLogProb(session: InferenceSession, task: string, signal?: AbortSignal): Promise<LogProb> {
  let cache = baselines.get(session.cacheScope);
  if (!cache) baselines.set(session.cacheScope, (cache = new Map()));
  let value = cache.get(task);
  if (!value) {
    value = session.logProb(inversePrompt(""), answerText(task), signal);
    value.catch(() => cache.delete(task));
    cache.set(task, value);
    if (cache.size > 4096) cache.delete(cache.keys().next().value!);
  }
  return value;
}

/** Word recall of the original task in the reconstruction (the seed's "overlap"). */
export function wordRecall(original: string, reconstruction: string): number {
  const orig = new Set(words(original));
  if (orig.size === 0) return 0;
  const recon = new Set(words(reconstruction));
  let hit = 0;
  for (const w of orig) if (recon.has(w)) hit++;
  return hit / orig.size;
}

/** The judge's reply as the seed parsed it: first number / 10, capped at 1; 0.5 when there is none. */
export function parseJudge(reply: string): number {
  const m = /(\d+(?:\.\d+)?)/.exec(reply);
  return m ? Math.min(Number(m[1]) / 10, 1) : 0.5;
}

/**
 * `original`: the original experiment's score, 0.2·word recall + 0.3·character ratio + 0.5·judge, on its own sampled
 * reconstruction (temperature 0.3) and a sampled judge (temperature 0.1), as that experiment did. `seed` is the
 * PRNG seed of the two samples.
 */
export function originalScorer(seed = 0): Scorer {
  return {
    name: "original",
    async score(session, { task, command }, signal) {
      const recon = cleanSentence(await session.complete(inversePrompt(command), { temperature: 0.3, maxTokens: 50, seed, signal }));
      const reply = await session.complete(judgePrompt(task, recon), { temperature: 0.1, maxTokens: 5, seed: seed + 1, signal });
      const orig = task.toLowerCase();
      const rec = recon.toLowerCase();
      const overlap = wordRecall(orig, rec);
      const seq = sequenceRatio(orig, rec);
      const llm = parseJudge(reply);
      const value = 0.2 * overlap + 0.3 * seq + 0.5 * llm;
      return {
        scorer: "original",
        value,
        parts: { overlap, sequenceRatio: seq, judge: llm },
        explanation: `Original experiment's score: 0.2·recall ${overlap.toFixed(2)} + 0.3·char ratio ${seq.toFixed(2)} + 0.5·judge ${llm.toFixed(2)} ("${recon}").`,
      };
    },
  };
}

/**
 * `coder-reviewer` (Zhang et al. 2023): ln p(command | forward prompt) + ln p(task | inverse prompt with the command),
 * both teacher-forced. The value is the product of the two probabilities, so it ranks exactly as the paper's sum;
 * it is a probability of two whole texts, far under the lift's scale: the paper reranks with no threshold.
 */
export const coderReviewerScorer: Scorer = {
  name: "coder-reviewer",
  async score(session, { task, command }, signal) {
    const [coder, reviewer] = await Promise.all([
      session.logProb(forwardPrompt(task), answerText(command), signal),
      session.logProb(inversePrompt(command), answerText(task), signal),
    ]);
    const sum = coder.sum + reviewer.sum;
    return {
      scorer: "coder-reviewer",
      value: Math.exp(sum),
      parts: { logpCommand: coder.sum, commandTokens: coder.tokens, logpTask: reviewer.sum, taskTokens: reviewer.tokens },
      explanation: `ln p(command | task) ${coder.sum.toFixed(2)} + ln p(task | command) ${reviewer.sum.toFixed(2)} = ${sum.toFixed(2)} (value = e^sum).`,
    };
  },
};

export function scorerByName(name: string, seed = 0): Scorer {
  if (name === "lift") return liftScorer;
  if (name === "original") return originalScorer(seed);
  if (name === "coder-reviewer") return coderReviewerScorer;
  throw new Error(`Unknown scorer "${name}" (use ${RUN_PARAMS.scorer.values.join(", ")}).`);
}
