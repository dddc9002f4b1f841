// A model-free baseline for the held-out split: answer each task with the command of the most similar training task
// (TF-IDF cosine over lower-case words), scored like the shell model (first utility, NLC2CMD, exact). It says how much
// of the held-out score the training data alone supports.
//   node --import tsx scripts/evidence/retrieval.ts [TLDR_DIR]
import { loadShellSplit, type ShellPair } from "../shell-model/split";
import { loadShellParser } from "../../server/src/engine/api";
import { scoreAnswers } from "../shell-model/evaluate";

type Vector = Map<string, number>;

const words = (text: string): string[] => text.toLowerCase().match(/[a-z0-9]+/g) ?? [];

/** TF-IDF vectors, unit length, of the training tasks, with an inverted index for lookup. */
class TaskIndex {
  private readonly idf = new Map<string, number>();
  private readonly postings = new Map<string, { doc: number; weight: number }[]>();

  constructor(private readonly pairs: readonly ShellPair[]) {
    const counts = pairs.map((p) => words(p.task));
    const df = new Map<string, number>();
    for (const ws of counts) for (const w of new Set(ws)) df.set(w, (df.get(w) ?? 0) + 1);
    for (const [w, n] of df) this.idf.set(w, Math.log(pairs.length / (1 + n)));
    counts.forEach((ws, doc) => {
      for (const [w, weight] of this.vector(ws)) {
        const list = this.postings.get(w) ?? [];
        list.push({ doc, weight });
        this.postings.set(w, list);
      }
    });
  }

  private vector(ws: readonly string[]): Vector {
    const v: Vector = new Map();
    for (const w of ws) v.set(w, (v.get(w) ?? 0) + (this.idf.get(w) ?? Math.log(this.pairs.length)));
    const norm = Math.hypot(...v.values()) || 1;
    for (const [w, x] of v) v.set(w, x / norm);
    return v;
  }

  nearest(task: string): ShellPair {
    const scores = new Map<number, number>();
    for (const [w, x] of this.vector(words(task))) {
      for (const { doc, weight } of this.postings.get(w) ?? []) scores.set(doc, (scores.get(doc) ?? 0) + x * weight);
    }
    let best = 0;
    let bestScore = -1;
    for (const [doc, score] of scores) if (score > bestScore || (score === bestScore && doc < best)) [best, bestScore] = [doc, score];
    return this.pairs[best]!;
  }
}

async function main(): Promise<void> {
  const split = loadShellSplit(process.argv[2] ?? "../shared/data/tldr-pages");
  const parser = await loadShellParser();
  const index = new TaskIndex(split.train);
  const answers = split.heldOut.map((p) => index.nearest(p.task).command);
  console.log(JSON.stringify({ heldOutSha256: split.hash, train: split.train.length, ...scoreAnswers(split.heldOut, answers, parser) }));
}

void main().catch((err: Error) => {
  console.error(`retrieval: ${err.message}`);
  process.exit(1);
});
