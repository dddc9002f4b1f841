// The second training stage's directory: its corpus (scripts/shell-model/corpus.ts buildRefineCorpus, training split
// only), the same held-out split, and build.json naming the first stage it continues from. Train it with train.ts
// --dir OUT --model FIRST/model-trained.gguf (reproduce.sh has the shipped settings).
//   node --import tsx scripts/shell-model/refine.ts --from FIRST_DIR --out OUT_DIR [--tldr DIR]
import { createHash } from "node:crypto";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { SpmTokenCounter, type Vocabulary } from "../../tools/gguf/vocab";
import { buildRefineCorpus, DEFAULT_CORPUS_OPTIONS, exampleText, writeCorpus } from "./corpus";
import { heldOutJsonl, loadShellSplit } from "./split";

export const FIRST_STAGE_FILES = { trainArgs: "first-stage-train-args.json", curve: "first-stage-curve.jsonl" };

function main(): void {
  const { values: v } = parseArgs({
    options: { from: { type: "string" }, out: { type: "string" }, tldr: { type: "string", default: "../shared/data/tldr-pages" } },
  });
  if (!v.from || !v.out) throw new Error("usage: refine.ts --from FIRST_DIR --out OUT_DIR [--tldr DIR]");
  const first = JSON.parse(readFileSync(join(v.from, "build.json"), "utf8")) as { corpus: { seed: number }; files?: unknown };
  const split = loadShellSplit(v.tldr!);
  const options = { ...DEFAULT_CORPUS_OPTIONS, seed: first.corpus.seed };
  const examples = buildRefineCorpus(split.train, options);
  writeCorpus(v.out, examples);
  writeFileSync(join(v.out, "heldout.jsonl"), heldOutJsonl(split.heldOut));
  const vocab = JSON.parse(readFileSync(join(v.from, "vocab.json"), "utf8")) as Vocabulary;
  const counter = new SpmTokenCounter(vocab);
  const byKind: Record<string, number> = {};
  for (const e of examples) byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;
  const baseModel = join(v.from, "model-trained.gguf");
  const { files: _files, ...firstStage } = first;
  const record = {
    kind: "shell-model-refine",
    createdAt: new Date().toISOString(),
    from: { ...firstStage, trainedModelSha256: createHash("sha256").update(readFileSync(baseModel)).digest("hex") },
    heldOutSha256: split.hash,
    corpus: {
      ...options,
      examples: examples.length,
      byKind,
      totalTokens: examples.reduce((n, e) => n + counter.count(exampleText(e)) + 2, 0), // + BOS and EOS
    },
  };
  writeFileSync(join(v.out, "build.json"), JSON.stringify(record, null, 2) + "\n");
  // ship.ts puts the first stage's settings and curve in the shipped model's record too
  copyFileSync(join(v.from, "train-args.json"), join(v.out, FIRST_STAGE_FILES.trainArgs));
  copyFileSync(join(v.from, "curve.jsonl"), join(v.out, FIRST_STAGE_FILES.curve));
  console.log(JSON.stringify(record.corpus));
}

if (require.main === module) main();
