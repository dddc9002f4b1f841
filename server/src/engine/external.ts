// External evaluation: greedy commands for held-out (task, reference) pairs that nobody in the loop wrote or saw.
import type { ExternalEval } from "./types";
import { isPending, type InferenceSession } from "./model";
import type { ShellParser } from "../shell/parser";
import { throwIfAborted } from "./session";
import { forwardPrompt } from "./prompts";
import { NO_SHOTS, type ShotSource } from "./shots";
import { COMMAND_TOKENS } from "./candidates";
import { cleanCommand } from "./text";
import { liftScorer, originalScorer } from "./scorers";
import { loadPairs, splitPairs, type Pair } from "../eval/dataset";
import { nlc2cmdScore } from "../eval/nlc2cmd";
import { exactMatch, templateMatch } from "../eval/match";
import { bootstrapCi, mean, spearman } from "../eval/stats";

export interface EvalSet {
  file: string;
  pairs: Pair[];
  /** Pairs outside the held-out split: the only ones a warm start may train on. */
  train: Pair[];
  hash: string;
}

export const DEFAULT_EVAL_SIZE = 300;

/** The fixed, seeded held-out split of a pairs file (TSV/JSONL; tldr-pages format understood). */
export function loadEvalSet(file: string, opts: { seed: number; size: number }): EvalSet {
  const all = loadPairs(file);
  const split = splitPairs(all, { seed: opts.seed, heldOut: Math.min(opts.size, all.length) });
  return { file, pairs: split.heldOut, train: split.train, hash: split.hash };
}

export interface ExternalItem {
  id: string;
  task: string;
  reference: string;
  prediction: string;
  nlc2cmd: number;
  exact: boolean;
  template: boolean;
  lift: number;
  /** The `original` scorer's score, when it ran (--compare-scorers). */
  original?: number;
}

export async function evaluateExternal(
  learner: InferenceSession,
  judge: InferenceSession,
  parser: ShellParser,
  set: EvalSet,
  opts: { seed: number; compareOriginal?: boolean; signal?: AbortSignal; onProgress?: (done: number, total: number) => void; shots?: ShotSource },
): Promise<{ summary: ExternalEval; items: ExternalItem[] }> {
  const items: ExternalItem[] = [];
  const batch = Math.max(1, learner.parallelism);
  for (let i = 0; i < set.pairs.length; i += batch) {
    throwIfAborted(opts.signal);
    const chunk = set.pairs.slice(i, i + batch);
    items.push(...(await Promise.all(chunk.map((pair) => evaluatePair(learner, judge, parser, pair, opts)))));
    opts.onProgress?.(items.length, set.pairs.length);
  }
  return { summary: summarize(set, items, opts.seed), items };
}

async function evaluatePair(
  learner: InferenceSession,
  judge: InferenceSession,
  parser: ShellParser,
  pair: Pair,
  opts: { seed: number; compareOriginal?: boolean; signal?: AbortSignal; shots?: ShotSource },
): Promise<ExternalItem> {
  // a user's eval file may hold pairs the index has: the pair and pairs sharing its task or command are left out
  const shots = (opts.shots ?? NO_SHOTS).forTask(pair.task, pair);
  const fitted = learner.withShots((s) => forwardPrompt(pair.task, s), shots, COMMAND_TOKENS);
  const prompt = isPending(fitted) ? await fitted : fitted;
  const prediction = cleanCommand(await learner.complete(prompt, { maxTokens: COMMAND_TOKENS, signal: opts.signal }));
  const input = { task: pair.task, command: prediction, reconstruction: "" };
  const lift = prediction ? (await liftScorer.score(judge, input, opts.signal)).value : 0;
  const original = opts.compareOriginal && prediction ? (await originalScorer(opts.seed).score(judge, input, opts.signal)).value : undefined;
  return {
    id: pair.id,
    task: pair.task,
    reference: pair.command,
    prediction,
    nlc2cmd: nlc2cmdScore(prediction, pair.command, parser),
    exact: exactMatch(prediction, pair.command),
    template: templateMatch(prediction, pair.command, parser),
    lift,
    original,
  };
}

export function summarize(set: Pick<EvalSet, "file" | "hash">, items: ExternalItem[], seed: number): ExternalEval {
  const nlc = items.map((x) => x.nlc2cmd);
  const exact = items.map((x) => (x.exact ? 1 : 0));
  const template = items.map((x) => (x.template ? 1 : 0));
  const originals = items.map((x) => x.original).filter((x): x is number => x !== undefined);
  const ci = (xs: number[]): [number, number] => bootstrapCi(xs, { seed, iterations: 1000 });
  return {
    dataset: set.file,
    datasetHash: set.hash,
    n: items.length,
    nlc2cmd: mean(nlc),
    nlc2cmdCi: ci(nlc),
    exactMatch: mean(exact),
    exactMatchCi: ci(exact),
    templateMatch: mean(template),
    templateMatchCi: ci(template),
    meanLift: mean(items.map((x) => x.lift)),
    distinctPredictions: new Set(items.map((x) => x.prediction)).size,
    spearmanLift: spearman(items.map((x) => x.lift), nlc),
    ...(originals.length === items.length && items.length > 0
      ? { meanOriginal: mean(originals), spearmanOriginal: spearman(originals, nlc) }
      : {}),
  };
}
