// Writing and reading on both held-out splits, every row on the same pairs: the lookup alone (the shipped example
// index's top-1), a model without examples, the model with k retrieved examples, and the candidate list of the
// model's answer with the lookup's beside it (right if either is right). Greedy decoding; 95% bootstrap CIs.
//   node --import tsx scripts/evidence/grounding.ts [--model M] [--k 0,1,3] [--threads 1] [--label NAME]
// Prints a markdown table (docs/RESULTS.md, "Grounding").
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadModel, ModelSession, forwardPrompt, inversePrompt, indexShots, cleanCommand, cleanSentence, tokenF1, loadShellParser, type ShellParser, bootstrapCi, mean, nlc2cmdScore, ExampleIndex } from "../../server/src/engine/api";
import { EXAMPLE_INDEX_FILE } from "../../common/shipped";
import { firstUtility } from "../shell-model/evaluate";

interface Pair {
  task: string;
  command: string;
}

interface Answers {
  commands: string[];
  readings: string[];
}

const SPLITS: [string, string][] = [
  ["tldr (300)", "models/tldr-heldout.jsonl"],
  ["cheat (304)", "models/cheat-heldout.jsonl"],
];

const readPairs = (file: string): Pair[] => readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Pair);

function lookup(index: ExampleIndex, pairs: readonly Pair[]): Answers {
  return {
    commands: pairs.map((p) => index.byTask(p.task, { k: 1 })[0]?.example.command ?? ""),
    readings: pairs.map((p) => index.byCommandText(p.command, { k: 1 })[0]?.example.description ?? ""),
  };
}

async function modelAnswers(session: ModelSession, index: ExampleIndex, pairs: readonly Pair[], k: number): Promise<Answers> {
  const shots = indexShots(index, k);
  const commands: string[] = [];
  const readings: string[] = [];
  for (let i = 0; i < pairs.length; i += session.parallelism) {
    const chunk = pairs.slice(i, i + session.parallelism);
    commands.push(...(await Promise.all(chunk.map(async (p) => cleanCommand(await session.complete(session.withShots((s) => forwardPrompt(p.task, s), shots.forTask(p.task), 48), { maxTokens: 48 }))))));
    readings.push(...(await Promise.all(chunk.map(async (p) => cleanSentence(await session.complete(session.withShots((s) => inversePrompt(p.command, s), shots.forCommand(p.command), 48), { maxTokens: 48 }))))));
  }
  return { commands, readings };
}

function ci(values: readonly number[], digits: number): string {
  const [lo, hi] = bootstrapCi(values, { seed: 1 });
  return `${mean(values).toFixed(digits)} [${lo.toFixed(digits)}, ${hi.toFixed(digits)}]`;
}

function row(label: string, split: string, pairs: readonly Pair[], a: Answers, parser: ShellParser, also?: Answers): string {
  const right = (cmd: string, p: Pair): number => {
    const u = firstUtility(cmd, parser);
    return u !== null && u === firstUtility(p.command, parser) ? 1 : 0;
  };
  const utility = pairs.map((p, i) => Math.max(right(a.commands[i]!, p), also ? right(also.commands[i]!, p) : 0));
  const nlc = pairs.map((p, i) => nlc2cmdScore(a.commands[i]!, p.command, parser));
  const f1 = pairs.map((p, i) => tokenF1(a.readings[i]!, p.task));
  return `| ${split} | ${label} | ${ci(utility.map((x) => 100 * x), 1)} | ${also ? "—" : ci(nlc, 3)} | ${also ? "—" : ci(f1, 3)} |`;
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      model: { type: "string", default: "models/inversion-shell.gguf" },
      k: { type: "string", default: "0,3" },
      threads: { type: "string", default: "1" },
      label: { type: "string", default: "model" },
    },
  });
  const ks = v.k!.split(",").map(Number);
  const index = ExampleIndex.fromFile(EXAMPLE_INDEX_FILE);
  const parser = await loadShellParser();
  const loaded = await loadModel({ modelPath: v.model!, gpu: "off", threads: Number(v.threads), contextSize: 256 });
  const session = await ModelSession.create(loaded, { sequences: 4 });
  console.log("| split | answers | right first utility, % | NLC2CMD | reading token F1 |");
  console.log("|---|---|---|---|---|");
  try {
    for (const [split, file] of SPLITS) {
      const pairs = readPairs(file);
      const look = lookup(index, pairs);
      console.log(row("lookup only (index top-1)", split, pairs, look, parser));
      for (const k of ks) {
        const answers = await modelAnswers(session, index, pairs, k);
        console.log(row(`${v.label}, ${k} examples`, split, pairs, answers, parser));
        if (k === Math.max(...ks)) console.log(row(`${v.label}, ${k} examples, or the lookup (either right)`, split, pairs, answers, parser, look));
      }
    }
  } finally {
    await session.dispose();
    await loaded.model.dispose();
  }
}

void main();
