// Training examples for the shell model, from the training split only, in the product's own plain prompt formats:
// task -> command, command -> task, and topic -> task (so the model can write tasks for a tool). Tasks are mostly the
// description alone, as comments are written; the rest name the tool ("tar: create an archive").
//   node --import tsx scripts/shell-model/corpus.ts OUT_DIR [TLDR_DIR] [SEED]
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { answerText, forwardPrompt, inversePrompt, taskWriterPrompt, mulberry32, shuffled } from "../../server/src/engine/api";
import { concreteCommand } from "./concrete";
import { loadShellSplit, type ShellPair } from "./split";

export interface CorpusExample {
  prompt: string;
  completion: string;
  kind: "forward" | "forward-long" | "inverse" | "inverse-concrete" | "task-writer";
}

export interface CorpusOptions {
  seed: number;
  /** Share of tasks written as the description alone (the rest as "tool: description"). */
  descriptionOnlyShare: number;
  /** Share of pairs with a long-option form that also get a forward example with it. */
  longCommandShare: number;
  /** Examples longer than this (prompt + completion, characters) are left out so they fit a 256-token window. */
  maxChars: number;
}

export const DEFAULT_CORPUS_OPTIONS: CorpusOptions = { seed: 1, descriptionOnlyShare: 0.75, longCommandShare: 0.3, maxChars: 400 };

function example(kind: CorpusExample["kind"], prompt: string, answer: string): CorpusExample {
  return { prompt, completion: `${answerText(answer)}\n`, kind };
}

/** Examples for every training pair, shuffled; the same options always give the same list. */
export function buildCorpus(train: readonly ShellPair[], opts: CorpusOptions = DEFAULT_CORPUS_OPTIONS): CorpusExample[] {
  const random = mulberry32(opts.seed);
  const taskOf = (pair: ShellPair): string => (random() < opts.descriptionOnlyShare ? pair.task : pair.toolTask);
  const examples = train.flatMap((pair) => {
    const out = [
      example("forward", forwardPrompt(taskOf(pair)).plain, pair.command),
      example("inverse", inversePrompt(pair.command).plain, taskOf(pair)),
      example("task-writer", taskWriterPrompt(pair.tool).plain, pair.task),
    ];
    if (pair.commandLong && random() < opts.longCommandShare) {
      out.push(example("forward-long", forwardPrompt(taskOf(pair)).plain, pair.commandLong));
    }
    return out.filter((e) => e.prompt.length + e.completion.length <= opts.maxChars);
  });
  return shuffled(examples, mulberry32(opts.seed + 1));
}

/** Concrete forms per pair in the second stage (each with its own paths and choices). */
export const CONCRETE_VARIANTS = 2;

/**
 * The second stage's corpus: the first stage's examples again, plus command -> task for every pair with the command
 * written as a script writes it (concrete paths, one alternative, `tar -czf`), so readings of real commands follow
 * the page's descriptions. Pairs whose concrete form equals the original add nothing.
 */
export function buildRefineCorpus(train: readonly ShellPair[], opts: CorpusOptions = DEFAULT_CORPUS_OPTIONS): CorpusExample[] {
  const random = mulberry32(opts.seed + 2);
  const concrete = train.flatMap((pair) =>
    Array.from({ length: CONCRETE_VARIANTS }, () => {
      const command = concreteCommand(pair.command, random);
      const task = random() < opts.descriptionOnlyShare ? pair.task : pair.toolTask;
      const e = example("inverse-concrete", inversePrompt(command).plain, task);
      return command === pair.command || e.prompt.length + e.completion.length > opts.maxChars ? [] : [e];
    }).flat(),
  );
  return shuffled([...buildCorpus(train, opts), ...concrete], mulberry32(opts.seed + 3));
}

export const exampleText = (e: CorpusExample): string => e.prompt + e.completion;

export interface CorpusFiles {
  examplesPath: string;
  streamPath: string;
}

/** examples.jsonl ({prompt, completion, kind} per line) and stream.txt (every example's text, a blank line between). */
export function writeCorpus(dir: string, examples: readonly CorpusExample[]): CorpusFiles {
  mkdirSync(dir, { recursive: true });
  const examplesPath = join(dir, "examples.jsonl");
  const streamPath = join(dir, "stream.txt");
  writeFileSync(examplesPath, examples.map((e) => JSON.stringify(e)).join("\n") + "\n");
  writeFileSync(streamPath, examples.map((e) => exampleText(e)).join("\n"));
  return { examplesPath, streamPath };
}

function main(): void {
  const [out, tldrDir = "../shared/data/tldr-pages", seed = "1"] = process.argv.slice(2);
  if (!out) {
    console.error("usage: corpus.ts OUT_DIR [TLDR_DIR] [SEED]");
    process.exit(2);
  }
  const split = loadShellSplit(tldrDir);
  const examples = buildCorpus(split.train, { ...DEFAULT_CORPUS_OPTIONS, seed: Number(seed) });
  const files = writeCorpus(out, examples);
  console.log(`${examples.length} examples from ${split.train.length} training pairs -> ${files.examplesPath}, ${files.streamPath}`);
}

if (require.main === module) main();
