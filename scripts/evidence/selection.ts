// Table (a) of docs/RESULTS.md, selection quality without training: for held-out tasks, sample N candidates each
// and report the NLC2CMD, exact and template match of the candidate each selector picks (bootstrap 95% CIs), and
// the within-task Spearman correlation of each score with NLC2CMD. Everything is the engine's own code: sampling
// (candidatesForTask), the scorers (lift, original, coder-reviewer), the gates and the metrics.
//   node --import tsx scripts/evidence/selection.ts --model M [--eval models/tldr-heldout.jsonl] [--tasks 300]
//     [--candidates 8] [--temperature 0.7] [--seed 1] [--threads 1] [--threshold 0.5] [--out DIR]
// Writes DIR/candidates.jsonl (every candidate and its scores; a rerun into the same DIR continues after the last
// complete task), DIR/selection.json and DIR/selection.md. Progress and the projected time go to stderr.
import { parseArgs } from "node:util";
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadModel, ModelSession, candidatesForTask, promptShots, coderReviewerScorer, liftScorer, originalScorer, deriveSeed, mulberry32, loadShellParser, type ShellParser, loadEvalSet, DEFAULT_EVAL_SIZE, nlc2cmdScore, exactMatch, templateMatch, bootstrapCi, mean, spearman, type Candidate, type Pair } from "../../server/src/engine/api";
import { firstUtility } from "../shell-model/evaluate";

interface Settings {
  model: string;
  eval: string;
  evalHash: string;
  tasks: number;
  candidates: number;
  temperature: number;
  seed: number;
  threshold: number;
  /** Examples people wrote in each prompt (the shipped index, as the product does); with k > 0 the nearest one is
   * also offered as a candidate, as the loop offers it. */
  examples: number;
}

/** One sampled candidate: its external metrics and every score a selector ranks by. */
export interface Row {
  taskId: string;
  task: string;
  reference: string;
  command: string;
  reconstruction: string;
  nlc2cmd: number;
  exact: boolean;
  template: boolean;
  firstUtility: boolean;
  gatesPass: boolean;
  /** The nearest example's command, offered beside the samples (the lookup's answer). */
  fromExample?: boolean;
  lift: number;
  liftBitsPerToken: number;
  reconstructionF1: number;
  seed: number;
  logpCommand: number;
  commandTokens: number;
  logpTask: number;
  taskTokens: number;
  coderReviewer: number;
}

/** A selector ranks a task's candidates by a score (the highest wins, the first on ties). */
export interface Selector {
  name: string;
  score?: (r: Row) => number;
}

const perToken = (sum: number, tokens: number): number => sum / Math.max(1, tokens);

export const SCORED_SELECTORS: Selector[] = [
  { name: "coder: ln p(command | task), summed", score: (r) => r.logpCommand },
  { name: "coder: ln p(command | task), per token", score: (r) => perToken(r.logpCommand, r.commandTokens) },
  { name: "lift (ours)", score: (r) => r.liftBitsPerToken },
  { name: "reconstruction F1", score: (r) => r.reconstructionF1 },
  { name: "seed scorer", score: (r) => r.seed },
  { name: "coder+reviewer, summed (Zhang et al.)", score: (r) => r.logpCommand + r.logpTask },
  { name: "coder+reviewer, per token", score: (r) => perToken(r.logpCommand, r.commandTokens) + perToken(r.logpTask, r.taskTokens) },
];

function parseSettings(): Settings & { threads: number; out: string } {
  const { values: v } = parseArgs({
    options: {
      model: { type: "string" },
      eval: { type: "string", default: "models/tldr-heldout.jsonl" },
      tasks: { type: "string", default: String(DEFAULT_EVAL_SIZE) },
      candidates: { type: "string", default: "8" },
      temperature: { type: "string", default: "0.7" },
      seed: { type: "string", default: "1" },
      threads: { type: "string", default: "1" },
      threshold: { type: "string", default: "0.5" },
      examples: { type: "string", default: "3" },
      out: { type: "string", default: "../runs/evidence/selection" },
    },
  });
  if (!v.model) throw new Error("Pass --model M.gguf (the shipped model: models/inversion-shell.gguf).");
  const n = (name: keyof typeof v): number => {
    const x = Number(v[name]);
    if (!Number.isFinite(x)) throw new Error(`--${name} needs a number, got "${v[name]}".`);
    return x;
  };
  return {
    model: resolve(v.model),
    eval: v.eval!,
    evalHash: "",
    tasks: n("tasks"),
    candidates: n("candidates"),
    temperature: n("temperature"),
    seed: n("seed"),
    threshold: n("threshold"),
    examples: n("examples"),
    threads: n("threads"),
    out: resolve(v.out!),
  };
}

function toRow(pair: Pair, c: Candidate, parser: ShellParser): Row {
  const lift = c.score.parts;
  const cr = c.altScores!["coder-reviewer"]!.parts;
  const reference = firstUtility(pair.command, parser);
  return {
    taskId: pair.id,
    task: pair.task,
    reference: pair.command,
    command: c.command,
    reconstruction: c.reconstruction,
    nlc2cmd: nlc2cmdScore(c.command, pair.command, parser),
    exact: exactMatch(c.command, pair.command),
    template: templateMatch(c.command, pair.command, parser),
    firstUtility: reference !== null && firstUtility(c.command, parser) === reference,
    gatesPass: c.gates.every((g) => g.pass),
    ...(c.example ? { fromExample: true } : {}),
    lift: c.score.value,
    liftBitsPerToken: lift.liftBitsPerToken!,
    reconstructionF1: lift.reconstructionF1!,
    seed: c.altScores!.original!.value,
    logpCommand: cr.logpCommand!,
    commandTokens: cr.commandTokens!,
    logpTask: cr.logpTask!,
    taskTokens: cr.taskTokens!,
    coderReviewer: c.altScores!["coder-reviewer"]!.value,
  };
}

/** Candidates of the tasks already done in `file` (complete tasks only), so a stopped run continues. */
function readDone(file: string, candidates: number): Map<string, Row[]> {
  const byTask = new Map<string, Row[]>();
  if (!existsSync(file)) return byTask;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const row = JSON.parse(line) as Row;
    byTask.set(row.taskId, [...(byTask.get(row.taskId) ?? []), row]);
  }
  // the samples, and the nearest example's command unless a sample already equals it
  for (const [id, rows] of byTask) if (rows.length < candidates) byTask.delete(id);
  return byTask;
}

/** A directory holds one sampling setup; only --tasks may change (the tasks are a prefix of one fixed order). */
function checkSameSettings(dir: string, { tasks: _tasks, ...fixed }: Settings): void {
  const file = join(dir, "settings.json");
  if (existsSync(file)) {
    const before = readFileSync(file, "utf8");
    if (before !== JSON.stringify(fixed, null, 2)) throw new Error(`${dir} holds a run with other settings (${file}); pass another --out.`);
  } else writeFileSync(file, JSON.stringify(fixed, null, 2));
}

async function sampleAndScore(settings: Settings, threads: number, out: string, pairs: Pair[]): Promise<Row[][]> {
  const file = join(out, "candidates.jsonl");
  const done = readDone(file, settings.candidates);
  // Rows of unfinished tasks are dropped: the file is rewritten with complete tasks only.
  writeFileSync(file, [...done.values()].flat().map((r) => JSON.stringify(r) + "\n").join(""));
  const parser = await loadShellParser();
  const loaded = await loadModel({ modelPath: settings.model, gpu: "off", threads, contextSize: settings.examples > 0 ? 512 : 256 });
  const shots = promptShots(settings.examples);
  const session = await ModelSession.create(loaded, { sequences: settings.candidates });
  const scorers = { main: liftScorer, others: [coderReviewerScorer, originalScorer(settings.seed)] };
  const t0 = Date.now();
  let sampled = 0;
  try {
    const all: Row[][] = [];
    for (const [i, pair] of pairs.entries()) {
      let rows = done.get(pair.id);
      if (!rows) {
        const candidates = await candidatesForTask(session, scorers, parser, { id: pair.id, text: pair.task, source: "file" }, { cycle: 0, phase: "before", threshold: settings.threshold }, {
          candidates: settings.candidates,
          temperature: settings.temperature,
          seed: deriveSeed(settings.seed, "selection", pair.id),
          shots,
          exampleCandidate: settings.examples > 0,
        });
        rows = candidates.map((c) => toRow(pair, c, parser));
        // a sample equal to the nearest example's command stands for it (the loop offers it only once)
        const nearest = shots.forTask(pair.task)[0]?.command;
        const lookup = rows.find((r) => r.fromExample) ?? rows.find((r) => r.command === nearest);
        if (lookup) lookup.fromExample = true;
        appendFileSync(file, rows.map((r) => JSON.stringify(r) + "\n").join(""));
        sampled++;
        const perTask = (Date.now() - t0) / 1000 / sampled;
        const left = pairs.length - i - 1;
        process.stderr.write(`\rtask ${i + 1}/${pairs.length}: ${perTask.toFixed(1)} s a task, about ${((perTask * left) / 60).toFixed(0)} min left   `);
      }
      all.push(rows);
    }
    process.stderr.write("\n");
    return all;
  } finally {
    await session.dispose();
    await loaded.model.dispose();
  }
}

function pick(rows: Row[], key: (r: Row) => number): Row {
  let best = rows[0]!;
  for (const r of rows) if (key(r) > key(best)) best = r;
  return best;
}

/** The candidate each task's selector chooses. Random is seeded per task; the oracle takes the best NLC2CMD. */
export function chosen(selector: Selector | "random" | "oracle" | "lookup", tasks: Row[][], seed: number): Row[] {
  if (selector === "lookup") return tasks.map((rows) => rows.find((r) => r.fromExample) ?? rows[0]!);

  if (selector === "random") return tasks.map((rows) => rows[Math.floor(mulberry32(deriveSeed(seed, "random-pick", rows[0]!.taskId))() * rows.length)]!);
  if (selector === "oracle") return tasks.map((rows) => pick(rows, (r) => r.nlc2cmd + (r.template ? 1e-3 : 0) + (r.exact ? 1e-6 : 0)));
  return tasks.map((rows) => pick(rows, selector.score!));
}

/** Mean Spearman(score, NLC2CMD) over the tasks where both vary. */
export function withinTaskSpearman(score: (r: Row) => number, tasks: Row[][]): { mean: number; tasks: number } {
  const rhos = tasks.map((rows) => spearman(rows.map(score), rows.map((r) => r.nlc2cmd))).filter((x) => Number.isFinite(x));
  return { mean: mean(rhos), tasks: rhos.length };
}

interface SelectorResult {
  selector: string;
  nlc2cmd: number;
  nlc2cmdCi: [number, number];
  exact: number;
  exactCi: [number, number];
  template: number;
  templateCi: [number, number];
  firstUtility: number;
  spearman: number | null;
  spearmanTasks: number | null;
}

function summarise(name: string, picks: Row[], seed: number, rho: { mean: number; tasks: number } | null): SelectorResult {
  const ci = (xs: number[]): [number, number] => bootstrapCi(xs, { seed, iterations: 1000 });
  const nlc = picks.map((r) => r.nlc2cmd);
  const exact = picks.map((r) => (r.exact ? 1 : 0));
  const template = picks.map((r) => (r.template ? 1 : 0));
  return {
    selector: name,
    nlc2cmd: mean(nlc),
    nlc2cmdCi: ci(nlc),
    exact: mean(exact),
    exactCi: ci(exact),
    template: mean(template),
    templateCi: ci(template),
    firstUtility: mean(picks.map((r) => (r.firstUtility ? 1 : 0))),
    spearman: rho ? rho.mean : null,
    spearmanTasks: rho ? rho.tasks : null,
  };
}

/**
 * The share of tasks the loop would accept with lift at `threshold` (best gated candidate at or above it), and
 * the coder-reviewer value that accepts the same share: the --threshold that makes a coder-reviewer loop accept
 * as much as the lift loop.
 */
export function acceptanceBridge(tasks: Row[][], threshold: number): { liftAcceptance: number; coderReviewerThreshold: number | null } {
  const bestGated = (rows: Row[], v: (r: Row) => number): number => Math.max(-Infinity, ...rows.filter((r) => r.gatesPass).map(v));
  const liftAcceptance = mean(tasks.map((rows) => (bestGated(rows, (r) => r.lift) >= threshold ? 1 : 0)));
  const accepted = Math.round(liftAcceptance * tasks.length);
  const cr = tasks.map((rows) => bestGated(rows, (r) => r.coderReviewer)).sort((a, b) => b - a);
  return { liftAcceptance, coderReviewerThreshold: accepted > 0 && Number.isFinite(cr[accepted - 1]!) ? cr[accepted - 1]! : null };
}

function markdown(results: SelectorResult[], settings: Settings, n: number): string {
  const f = (x: number): string => x.toFixed(3);
  const ci = (x: number, c: [number, number]): string => `${f(x)} [${f(c[0])}, ${f(c[1])}]`;
  const headers = ["selector", "NLC2CMD [95% CI]", "exact [95% CI]", "template [95% CI]", "right first utility", "within-task Spearman with NLC2CMD (tasks)"];
  const rows = results.map((r) => [
    r.selector,
    ci(r.nlc2cmd, r.nlc2cmdCi),
    ci(r.exact, r.exactCi),
    ci(r.template, r.templateCi),
    f(r.firstUtility),
    r.spearman === null ? "–" : `${Number.isFinite(r.spearman) ? f(r.spearman) : "–"} (${r.spearmanTasks})`,
  ]);
  const line = (cells: string[]): string => `| ${cells.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;
  return [
    `${n} held-out tasks of ${settings.eval} (sha256 ${settings.evalHash.slice(0, 16)}…), ${settings.candidates} candidates each at temperature ${settings.temperature}${settings.examples > 0 ? `, ${settings.examples} examples people wrote in each prompt and the nearest one's command offered as one more candidate (as the loop does)` : ", no examples in the prompts"}, seed ${settings.seed}.`,
    "",
    line(headers),
    line(headers.map(() => "---")),
    ...rows.map(line),
  ].join("\n");
}

async function main(): Promise<void> {
  const { threads, out, ...settings } = parseSettings();
  const set = loadEvalSet(settings.eval, { seed: settings.seed, size: DEFAULT_EVAL_SIZE });
  settings.evalHash = set.hash;
  const pairs = set.pairs.slice(0, settings.tasks);
  mkdirSync(out, { recursive: true });
  checkSameSettings(out, settings);
  const t0 = Date.now();
  const tasks = await sampleAndScore(settings, threads, out, pairs);
  const results = [
    ...(settings.examples > 0 ? [summarise("lookup only (the nearest example's command)", chosen("lookup", tasks, settings.seed), settings.seed, null)] : []),
    summarise("random", chosen("random", tasks, settings.seed), settings.seed, null),
    ...SCORED_SELECTORS.map((s) => summarise(s.name, chosen(s, tasks, settings.seed), settings.seed, withinTaskSpearman(s.score!, tasks))),
    summarise("oracle (best NLC2CMD of the candidates)", chosen("oracle", tasks, settings.seed), settings.seed, null),
  ];
  const bridge = acceptanceBridge(tasks, settings.threshold);
  const gatePassRate = mean(tasks.flat().map((r) => (r.gatesPass ? 1 : 0)));
  const lift = SCORED_SELECTORS.find((x) => x.name === "lift (ours)")!;
  const liftPicksExample = chosen(lift, tasks, settings.seed).filter((r) => r.fromExample).length;
  const report = { settings, tasks: tasks.length, seconds: (Date.now() - t0) / 1000, gatePassRate, ...bridge, results };
  writeFileSync(join(out, "selection.json"), JSON.stringify(report, null, 2) + "\n");
  const md = markdown(results, settings, tasks.length);
  writeFileSync(join(out, "selection.md"), md + "\n");
  process.stdout.write(`${md}\n\n`);
  process.stdout.write(
    measures(
      [
        ["candidates passing the gates", gatePassRate.toFixed(3)],
        [`tasks lift accepts at threshold ${settings.threshold}`, bridge.liftAcceptance.toFixed(3)],
        ["tasks where lift picks the nearest example's command", String(liftPicksExample)],
        ["coder-reviewer threshold accepting as many", bridge.coderReviewerThreshold === null ? "–" : bridge.coderReviewerThreshold.toExponential(3)],
        ["wall time (s)", report.seconds.toFixed(0)],
      ],
    ) + `\n\nwrote ${join(out, "selection.json")} and selection.md\n`,
  );
}

/** Measures one a line, their values aligned. */
function measures(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join("\n");
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`selection: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
