// The third training stage: the shell model learns to use retrieved examples. Every forward and inverse example
// carries 0–4 shots retrieved from the training split the way the product retrieves them (task → examples by
// description, command → examples by command), never the pair itself or a pair sharing its task or command. A
// validation slice of the training split (never the held-out split) is left out of the corpus and scores the
// checkpoints. Train it with train.ts --dir OUT --model PREVIOUS.gguf --shots K (reproduce.sh has the settings).
//   node --import tsx scripts/shell-model/grounded.ts --out OUT_DIR [--from-record models/inversion-shell.json] [--tldr DIR]
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { forwardPrompt, inversePrompt, taskWriterPrompt, answerText, type Shot, mulberry32, shuffled, ExampleIndex, type Example, sharesTaskOrCommand } from "../../server/src/engine/api";
import { concreteCommand } from "./concrete";
import { exampleText, writeCorpus, type CorpusExample } from "./corpus";
import { heldOutJsonl, loadShellSplit, type ShellPair } from "./split";

export const GROUNDED_CORPUS = {
  seed: 1,
  /** Training pairs kept out of the corpus to choose checkpoints by. */
  validationSize: 300,
  /** Shots per example: 0 with this probability, else uniform in 1..maxShots. */
  noShotShare: 0.15,
  maxShots: 4,
  /** Share of inverse examples whose command is written concretely, as scripts write it. */
  concreteShare: 0.4,
  taskWriterShare: 0.3,
  /** Prompt + completion longer than this (characters) loses its farthest shots until it fits 256 tokens. */
  maxChars: 760,
};


/** The tldr training split as an example index (the shots the corpus and the validation curve use). */
export function trainingIndex(pairs: readonly ShellPair[]): ExampleIndex {
  return new ExampleIndex(
    pairs.map((p) => ({ description: p.task, command: p.command, source: "tldr", ref: p.id })),
    [{ id: "tldr", name: "tldr-pages", repo: "https://github.com/tldr-pages/tldr", licence: "CC BY 4.0", licenceUrl: "https://creativecommons.org/licenses/by/4.0/", commit: "", attribution: "tldr-pages team and contributors" }],
  );
}

const toShot = (e: Example): Shot => ({ task: e.description, command: e.command });

function fitted(build: (shots: Shot[]) => string, completion: string, shots: Shot[]): { prompt: string; completion: string } {
  let kept = shots;
  let prompt = build(kept);
  while (kept.length > 0 && prompt.length + completion.length > GROUNDED_CORPUS.maxChars) {
    kept = kept.slice(0, -1);
    prompt = build(kept);
  }
  return { prompt, completion };
}

export function buildGroundedCorpus(train: readonly ShellPair[], index: ExampleIndex): CorpusExample[] {
  const o = GROUNDED_CORPUS;
  const random = mulberry32(o.seed + 10);
  const shotCount = (): number => (random() < o.noShotShare ? 0 : 1 + Math.floor(random() * o.maxShots));
  const examples: CorpusExample[] = [];
  for (const pair of train) {
    const exclude = sharesTaskOrCommand(pair);
    const fwdShots = index.byTask(pair.task, { k: shotCount(), exclude }).map((h) => toShot(h.example));
    const fwd = fitted((s) => forwardPrompt(pair.task, s).plain, `${answerText(pair.command)}\n`, fwdShots);
    examples.push({ ...fwd, kind: "forward" });
    const concrete = random() < o.concreteShare ? concreteCommand(pair.command, random) : pair.command;
    const invShots = index.byCommandText(concrete, { k: shotCount(), exclude }).map((h) => toShot(h.example));
    const inv = fitted((s) => inversePrompt(concrete, s).plain, `${answerText(pair.task)}\n`, invShots);
    examples.push({ ...inv, kind: concrete === pair.command ? "inverse" : "inverse-concrete" });
    if (random() < o.taskWriterShare) examples.push({ prompt: taskWriterPrompt(pair.tool).plain, completion: `${answerText(pair.task)}\n`, kind: "task-writer" });
  }
  return shuffled(
    examples.filter((e) => e.prompt.length + e.completion.length <= o.maxChars),
    mulberry32(o.seed + 11),
  );
}

/** The validation slice: every n-th training pair, seeded; the rest train. */
export function validationSplit(train: readonly ShellPair[]): { fit: ShellPair[]; validation: ShellPair[] } {
  const order = shuffled(train.map((_, i) => i), mulberry32(GROUNDED_CORPUS.seed + 12));
  const held = new Set(order.slice(0, GROUNDED_CORPUS.validationSize));
  return { fit: train.filter((_, i) => !held.has(i)), validation: train.filter((_, i) => held.has(i)) };
}

function main(): void {
  const { values: v } = parseArgs({
    options: {
      "from-record": { type: "string", default: "models/inversion-shell.json" },
      out: { type: "string" },
      tldr: { type: "string", default: "../shared/data/tldr-pages" },
    },
  });
  if (!v.out) throw new Error("usage: grounded.ts --out OUT_DIR [--from-record models/inversion-shell.json] [--tldr DIR]");
  const split = loadShellSplit(v.tldr!);
  const { fit, validation } = validationSplit(split.train);
  const examples = buildGroundedCorpus(fit, trainingIndex(fit));
  writeCorpus(v.out, examples);
  // train.ts scores checkpoints on DIR/heldout.jsonl: here the validation slice of the training split
  writeFileSync(join(v.out, "heldout.jsonl"), heldOutJsonl(validation));
  const byKind: Record<string, number> = {};
  for (const e of examples) byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;
  const record = {
    kind: "shell-model-grounded",
    createdAt: new Date().toISOString(),
    // the previous stage's shipped record: its build, corpus, settings and curves
    from: JSON.parse(readFileSync(v["from-record"]!, "utf8")) as object,
    heldOutSha256: split.hash,
    validation: { size: validation.length, from: "training split", note: "chooses checkpoints; the held-out split is scored once, after" },
    corpus: { ...GROUNDED_CORPUS, examples: examples.length, byKind, chars: examples.reduce((n, e) => n + exampleText(e).length, 0) },
  };
  writeFileSync(join(v.out, "build.json"), JSON.stringify(record, null, 2) + "\n");
  console.log(JSON.stringify(record.corpus));
}

if (require.main === module) main();
