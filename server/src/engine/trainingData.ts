// `inversion export RUN_DIR --format trl`: a run's accepted examples as the local trainer saw them (toTrainExample,
// with the run's retrieved examples fitted to the model's context by the model's own tokenizer), written as a TRL
// prompt-completion dataset with a card naming the run, the model, the counts and the licences of every human-written
// text the lines quote.
import { basename, resolve } from "node:path";
import { stat } from "node:fs/promises";
import type { Candidate, TrainExample } from "./types";
import type { RunOptions } from "./loop";
import { learnsMemory, toTrainExample } from "./loop";
import { RunMemory, memoryPairs, shotsWithMemory } from "./memory";
import { RunStore, makeDirs } from "./store";
import { loadModel, type GpuSetting } from "./runtime";
import { ModelSession } from "./session";
import { promptShots, type ShotSource } from "./shots";
import { forwardPrompt, type Shot } from "./prompts";
import { shippedExamples } from "../knowledge/examples/shared";
import type { ExampleSource } from "../knowledge/examples/exampleIndex";
import { withCurrentNames } from "../../../common/runParams";
import { isRemoteModelRef } from "../../../common/modelRef";
import { cardHeader, TRAINING_FORMAT, TRL_DATA_FILE, writeTrlDataset } from "./train/dataset";

export interface ExportOptions {
  runDir: string;
  /** The run's model, given by the caller (never taken from the run directory): the prompts are fitted to its context. */
  modelPath: string;
  out: string;
  gpu?: GpuSetting;
  threads?: number;
  signal?: AbortSignal;
}

export interface ExportResult {
  dataFile: string;
  cardFile: string;
  examples: number;
  completeCycles: number;
  /** Lines whose prompt quotes at least one example written by people. */
  promptsWithShots: number;
  /** Lines whose completion is a command written by people (a retrieved example selection kept). */
  humanCompletions: number;
}

/** A ShotSource that hands out exactly the run's shots and remembers them per task, to attribute what the prompts quote. */
class AttributingShots implements ShotSource {
  readonly given = new Map<string, Shot[]>();
  constructor(private readonly inner: ShotSource) {}
  forTask(task: string, leaveOut?: Shot): Shot[] {
    const shots = this.inner.forTask(task, leaveOut);
    this.given.set(task, shots);
    return shots;
  }
  forCommand(command: string, leaveOut?: Shot): Shot[] {
    return this.inner.forCommand(command, leaveOut);
  }
}

type RecordedRun = Partial<RunOptions> & { startedAt?: string; warmStart?: unknown };

/** The accepted examples of a run's complete cycles, in the order the run accepted them: what retraining uses. */
export function acceptedExamples(examples: readonly Candidate[], lastComplete: number): Candidate[] {
  return examples.filter((c) => c.accepted && c.cycle <= lastComplete);
}

export async function exportTrainingData(opts: ExportOptions): Promise<ExportResult> {
  const store = new RunStore(resolve(opts.runDir));
  const config = withCurrentNames(await store.readConfig<RecordedRun>());
  const recorded = config.modelPath;
  const sameModel = recorded && (isRemoteModelRef(recorded) || isRemoteModelRef(opts.modelPath) ? recorded.trim() === opts.modelPath.trim() : resolve(recorded) === resolve(opts.modelPath));
  if (!sameModel) {
    throw new Error(
      `${store.dir} was recorded with the model ${recorded || "(none)"}, but the model given is ${opts.modelPath}. ` +
        "The prompts are fitted to the run's model's context with its tokenizer: pass that model (--model), if you trust it.",
    );
  }
  const { cycles, examples } = await store.logs();
  const lastComplete = cycles.at(-1)?.cycle ?? 0;
  const accepted = acceptedExamples(examples, lastComplete);
  if (accepted.length === 0) throw new Error(`${store.dir} has no accepted examples in its ${lastComplete} complete cycle(s): nothing to export.`);
  const outStat = await stat(opts.out).catch(() => null);
  if (outStat && !outStat.isDirectory()) throw new Error(`--out ${opts.out} exists and is not a directory.`);
  for (const name of [TRL_DATA_FILE, "README.md"]) {
    if (outStat && (await stat(resolve(opts.out, name)).catch(() => null))) throw new Error(`--out ${opts.out} already holds ${name}: choose a new directory.`);
  }

  const loaded = await loadModel({ modelPath: opts.modelPath, gpu: opts.gpu, threads: opts.threads, contextSize: config.contextSize, signal: opts.signal });
  let lines: TrainExample[];
  const contextSize = loaded.contextSize;
  // what the run's next retraining would see: the shipped examples, and for --learn memory|both the run's memory of
  // every accepted pair of its complete cycles (as a resume rebuilds it)
  const memory = config.learn && learnsMemory({ learn: config.learn }) ? new RunMemory(shippedExamples()) : null;
  memory?.add(memoryPairs(accepted));
  const shots = new AttributingShots(memory ? shotsWithMemory(shippedExamples(), memory, config.examples ?? 0) : promptShots(config.examples ?? 0));
  const quoted: { prompt: Shot[]; completion: Shot | null }[] = [];
  try {
    const base = await ModelSession.create(loaded, { sequences: 1 });
    try {
      lines = accepted.map((c) => {
        const e = toTrainExample(c, shots, base);
        quoted.push({ prompt: shotsIn(e.prompt, c.task, shots.given.get(c.task) ?? []), completion: c.example ? { task: c.example.task, command: c.command } : null });
        return e;
      });
    } finally {
      await base.dispose();
    }
  } finally {
    await loaded.model.dispose();
  }

  await makeDirs(opts.out);
  const counts = perCycle(accepted);
  const attribution = attribute(quoted);
  const card = datasetCard({ memory, contextSize, store, config, lastComplete, lines: lines.length, counts, attribution, quoted, warmStart: config.warmStart ?? null });
  const dataFile = await writeTrlDataset(opts.out, lines, card);
  return {
    dataFile,
    cardFile: resolve(opts.out, "README.md"),
    examples: lines.length,
    completeCycles: lastComplete,
    promptsWithShots: quoted.filter((q) => q.prompt.length > 0).length,
    humanCompletions: quoted.filter((q) => q.completion).length,
  };
}

/** The retrieved examples a fitted prompt kept: the first n of those offered (the fit drops the farthest first). */
function shotsIn(prompt: string, task: string, offered: Shot[]): Shot[] {
  for (let n = offered.length; n > 0; n--) if (forwardPrompt(task, offered.slice(0, n)).plain === prompt) return offered.slice(0, n);
  return [];
}

function perCycle(accepted: readonly Candidate[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const c of accepted) counts.set(c.cycle, (counts.get(c.cycle) ?? 0) + 1);
  return counts;
}

interface Attribution {
  source: ExampleSource;
  inPrompts: number;
  completions: number;
}

/** Each source of the shipped index whose text the lines quote, with how often (prompts and completions). */
function attribute(quoted: readonly { prompt: Shot[]; completion: Shot | null }[]): Attribution[] {
  const index = shippedExamples();
  if (!index) return [];
  const sourceOf = new Map<string, string>();
  for (const e of index.examples) {
    const key = `${e.description}\0${e.command}`;
    if (!sourceOf.has(key)) sourceOf.set(key, e.source);
  }
  const found = new Map<string, Attribution>();
  const add = (shot: Shot, field: "inPrompts" | "completions"): void => {
    const id = sourceOf.get(`${shot.task}\0${shot.command}`);
    if (!id) return;
    const a = found.get(id) ?? { source: index.source(id), inPrompts: 0, completions: 0 };
    a[field]++;
    found.set(id, a);
  };
  for (const q of quoted) {
    for (const s of q.prompt) add(s, "inPrompts");
    if (q.completion) add(q.completion, "completions");
  }
  return [...found.values()].sort((a, b) => b.inPrompts + b.completions - (a.inPrompts + a.completions));
}

function datasetCard(d: {
  memory: RunMemory | null;
  contextSize: number;
  store: RunStore;
  config: RecordedRun;
  lastComplete: number;
  lines: number;
  counts: Map<number, number>;
  attribution: Attribution[];
  quoted: { prompt: Shot[]; completion: Shot | null }[];
  warmStart: unknown;
}): string {
  const { config, memory } = d;
  const withShots = d.quoted.filter((q) => q.prompt.length > 0).length;
  const human = d.quoted.filter((q) => q.completion).length;
  const licences = [...new Set(d.attribution.map((a) => a.source.licence))];
  const out: string[] = [cardHeader(d.attribution.length ? "other" : "unknown")];
  out.push(`# Inversion training data: ${basename(d.store.dir)}`, "");
  out.push(
    `The accepted examples of the Inversion run \`${d.store.dir}\`, exported by \`inversion export --format trl\`: ` +
      `${d.lines} lines in \`${TRL_DATA_FILE}\`, each exactly the prompt and completion Inversion's own trainer trained on.`,
    "",
    "## Source",
    "",
    `- Run: \`${d.store.dir}\`${config.startedAt ? `, started ${config.startedAt}` : ""}, seed ${config.seed ?? "?"}, ${d.lastComplete} complete cycle(s), policy \`${config.policy ?? "retrain"}\`, scorer \`${config.scorer ?? "lift"}\`, threshold ${config.threshold ?? "?"}.`,
    `- Model: \`${config.modelPath ?? "?"}\` (the prompts were fitted to its context of ${d.contextSize} tokens with its tokenizer, as the run's trainer fitted them)${d.warmStart ? "; it was warm-started on human-written pairs (the run's config.json holds the record)" : ""}.`,
    `- Retrieved examples per prompt: up to ${config.examples ?? 0} (\`--examples\`)${memory ? `, from the shipped examples and the run's memory of its ${memory.size} accepted pairs (\`--learn ${config.learn}\`), as the run's next retraining would see them` : ""}.`,
    "",
    "## Counts",
    "",
    "| cycle | examples |",
    "|---|---|",
    ...[...d.counts.entries()].sort((a, b) => a[0] - b[0]).map(([cycle, n]) => `| ${cycle} | ${n} |`),
    `| all | ${d.lines} |`,
    "",
    `${withShots} of the ${d.lines} prompts quote examples written by people; ${human} completions are commands written by people ` +
      "(a retrieved example that selection kept over the model's own candidates). Everything else in the lines was written by the model during the run.",
    "",
    `With policy \`retrain\` (the default) every cycle's adapter is trained from the base on all lines up to that cycle; with \`continue\`, each cycle trains on its own lines.`,
    "",
    "## Format",
    "",
    TRAINING_FORMAT,
    "",
    "## Licences of the human-written text",
    "",
  );
  if (d.attribution.length === 0) out.push("No line quotes an example written by people.");
  else {
    out.push(
      "The lines quote (description, command) pairs from Inversion's shipped example index (`models/examples.README.md` lists every source, its commit and licence). " +
        `Licences of the sources quoted here: ${licences.join(", ")}. Keep this attribution with any copy of the data or of what is trained on it where the licence asks for it.`,
      "",
      "| source | licence | attribution | in prompts | as completions |",
      "|---|---|---|---|---|",
      ...d.attribution.map((a) => `| [${a.source.name}](${a.source.repo}) at \`${a.source.commit.slice(0, 12)}\` | [${a.source.licence}](${a.source.licenceUrl}) | ${a.source.attribution} | ${a.inPrompts} | ${a.completions} |`),
    );
  }
  out.push("");
  return out.join("\n");
}
