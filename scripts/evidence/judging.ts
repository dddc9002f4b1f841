// How well each grounded comment score tells a matching comment from a wrong one, on three sets:
//   train: 1,000 tldr training pairs (the index leaves each pair, and pairs sharing its task or command, out);
//   cheat: the held-out cheat/cheatsheets split (models/cheat-heldout.jsonl), independent of the index;
//   builtin: the self-check's 63 pairs.
// Wrong comments: another pair's comment about a different program (random), and, on cheat, a comment from the same
// sheet (right program, wrong action). Scores: the examples' support, the man pages' support, their combinations,
// and the model's lift. The combination is chosen on `train` and confirmed on `cheat`.
//   node --import tsx scripts/evidence/judging.ts [--model models/inversion-shell.gguf] [--no-model]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Engine, ExampleIndex, programOf, explainCommand, sharedManLibrary, loadShellParser, type ShellParser, mulberry32, shuffled, sharesTaskOrCommand } from "../../server/src/engine/api";
import { liftOf, rocAuc, SELF_CHECK_PAIRS, combineSupport, groundedSupport, manPageText, type Grounding, judgeSupport } from "../../server/src/check/api";
import { EXAMPLE_INDEX_FILE } from "../../common/shipped";

interface JudgePair {
  task: string;
  command: string;
  group?: string;
}

type ScoreFn = (comment: string, pair: JudgePair) => Promise<Record<string, number>>;

function readJsonl(file: string): JudgePair[] {
  return readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as JudgePair & { sheet?: string }).map((p) => ({ task: p.task, command: p.command, group: p.sheet }));
}

/** Each pair with its own comment, and with one wrong comment of each kind. */
function trials(pairs: readonly JudgePair[], seed: number): { pair: JudgePair; comment: string; kind: "match" | "other" | "same-group" }[] {
  const random = mulberry32(seed);
  const out: { pair: JudgePair; comment: string; kind: "match" | "other" | "same-group" }[] = [];
  for (const pair of pairs) {
    out.push({ pair, comment: pair.task, kind: "match" });
    const program = programOf(pair.command);
    const others = pairs.filter((p) => programOf(p.command) !== program);
    if (others.length) out.push({ pair, comment: others[Math.floor(random() * others.length)]!.task, kind: "other" });
    const same = pairs.filter((p) => p.group && p.group === pair.group && p.task !== pair.task && p.command !== pair.command);
    if (same.length) out.push({ pair, comment: same[Math.floor(random() * same.length)]!.task, kind: "same-group" });
  }
  return out;
}

function aucRow(name: string, rows: { kind: string; scores: Record<string, number> }[]): void {
  const keys = Object.keys(rows[0]!.scores);
  for (const wrong of ["other", "same-group"]) {
    if (!rows.some((r) => r.kind === wrong)) continue;
    const cells = keys.map((k) => {
      const m = rows.filter((r) => r.kind === "match").map((r) => r.scores[k]!);
      const w = rows.filter((r) => r.kind === wrong).map((r) => r.scores[k]!);
      const ci = aucCi(m, w);
      return `${rocAuc(m, w).toFixed(3)} [${ci[0].toFixed(2)}, ${ci[1].toFixed(2)}]`;
    });
    console.log(`| ${name} | ${wrong} | ${rows.filter((r) => r.kind === "match").length} | ${cells.join(" | ")} |`);
  }
}

/** Percentile bootstrap of the AUC, resampling matched and wrong scores separately (1,000 resamples, seed 1). */
function aucCi(m: readonly number[], w: readonly number[]): [number, number] {
  const random = mulberry32(1);
  const draw = (xs: readonly number[]): number[] => xs.map(() => xs[Math.floor(random() * xs.length)]!);
  const aucs = Array.from({ length: 1000 }, () => rocAuc(draw(m), draw(w))).sort((a, b) => a - b);
  return [aucs[25]!, aucs[974]!];
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({ options: { model: { type: "string", default: "models/inversion-shell.gguf" }, "no-model": { type: "boolean", default: false }, n: { type: "string", default: "1000" } } });
  const index = ExampleIndex.fromFile(EXAMPLE_INDEX_FILE);
  const parser: ShellParser = await loadShellParser();
  const library = sharedManLibrary();
  const engine = v["no-model"] ? null : await Engine.open({ modelPath: v.model!, gpu: "off", threads: 1 });
  const manCache = new Map<string, string>();
  const grounding: Grounding = { index, explain: (command) => explainCommand(command, { parser, library }) };
  let verdicts: { warning: boolean; any: boolean }[] = [];
  const ruleRows: string[] = [];
  const manOf = async (command: string): Promise<string> => {
    if (!manCache.has(command)) manCache.set(command, manPageText(await explainCommand(command, { parser, library })));
    return manCache.get(command)!;
  };
  const score: ScoreFn = async (comment, pair) => {
    const examples = index.commentSupport(comment, pair.command, { exclude: sharesTaskOrCommand(pair) }).similarity;
    const manText = await manOf(pair.command);
    const man = manText ? index.textSimilarity(comment, manText) : null;
    const verdict = judgeSupport(await groundedSupport(grounding, comment, pair.command, undefined, sharesTaskOrCommand(pair)), FIT_CHECK);
    verdicts.push({ warning: verdict.strength === "strong", any: verdict.verdict === "differs" });
    const out: Record<string, number> = {
      examples,
      man: man ?? 0,
      mean: man === null ? examples : (examples + man) / 2,
      max: Math.max(examples, man ?? 0),
      grounded: combineSupport({ examples, man }),
    };
    if (engine) out.lift = await liftOf(engine, comment, pair.command);
    return out;
  };
  const trainPairs = shuffled(
    index.examples.filter((e) => e.source === "tldr").map((e) => ({ task: e.description, command: e.command })),
    mulberry32(7),
  ).slice(0, Number(v.n));
  const sets: [string, JudgePair[]][] = [
    ["train (tldr, 1,000)", trainPairs],
    ["cheat (held out)", readJsonl("models/cheat-heldout.jsonl")],
    ["builtin (63)", SELF_CHECK_PAIRS.map((p) => ({ task: p.intent, command: p.command }))],
  ];
  let header = false;
  for (const [name, pairs] of sets) {
    const rows: { kind: string; scores: Record<string, number> }[] = [];
    const kinds: string[] = [];
    verdicts = [];
    for (const t of trials(pairs, 1)) {
      rows.push({ kind: t.kind, scores: await score(t.comment, t.pair) });
      kinds.push(t.kind);
    }
    ruleRows.push(...ruleRates(name, kinds, verdicts));
    if (!header) {
      console.log(`| set | wrong comment | pairs | ${Object.keys(rows[0]!.scores).join(" | ")} |`);
      console.log(`|---|---|---|${Object.keys(rows[0]!.scores).map(() => "---").join("|")}|`);
      header = true;
    }
    aucRow(name, rows);
    if (process.env.PERCENTILES) {
      for (const kind of ["match", "other", "same-group"]) {
        const xs = rows.filter((r) => r.kind === kind).map((r) => r.scores.grounded!).sort((a, b) => a - b);
        if (xs.length) console.error(name, kind, [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 0.8].map((q) => xs[Math.floor(q * xs.length)]!.toFixed(3)).join(" "));
      }
    }
  }
  console.log("\n| set | wrong comment | Warning on matching | Warning on wrong | Warning or Information on matching | … on wrong |");
  console.log("|---|---|---|---|---|---|");
  for (const r of ruleRows) console.log(r);
  await engine?.dispose();
}

/** The product's verdicts (calibration.ts judgeSupport), each pair left out of its own retrieval. */
const FIT_CHECK = { fingerprint: "", basis: "", auc: 1, floor: 0.75, fit: true, matched: [], mismatched: [], measuredAt: "" };

function ruleRates(name: string, kinds: readonly string[], verdicts: readonly { warning: boolean; any: boolean }[]): string[] {
  const pct = (kind: string, key: "warning" | "any"): string => {
    const of = verdicts.filter((_, i) => kinds[i] === kind);
    return `${((100 * of.filter((v) => v[key]).length) / Math.max(1, of.length)).toFixed(1)}%`;
  };
  return ["other", "same-group"].filter((k) => kinds.includes(k)).map((k) => `| ${name} | ${k} | ${pct("match", "warning")} | ${pct(k, "warning")} | ${pct("match", "any")} | ${pct(k, "any")} |`);
}

void main();
