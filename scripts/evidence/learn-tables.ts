// The tables of docs/RESULTS.md, "Learning from its own output", from scripts/evidence/learn.sh's run directories
// (OUT/<split>/<variant>): per split the lookup-only row, then per variant and cycle the intrinsic score on the run's
// held-out tasks (lift, and the original experiment's score), acceptance, the external scores on the split with 95%
// CIs, distinct answers; per variant the paired difference of cycle N against cycle 0 over the same pairs with a
// paired bootstrap CI; and the Spearman across cycles between the intrinsic and the external score.
//   node --import tsx scripts/evidence/learn-tables.ts [--out FILE.md] OUT_DIR
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { readRun, readRunExamples, RunMemory, memoryPairs, shotsWithMemory, type CycleRecord, type ExternalItem, bootstrapCi, mean, pairedDifference, spearman, nlc2cmdScore, loadShellParser, type ShellParser, ExampleIndex, loadEvalSet, type Pair } from "../../server/src/engine/api";
import { EXAMPLE_INDEX_FILE } from "../../common/shipped";
import { firstUtility } from "../shell-model/evaluate";

const SPLIT_FILES: Record<string, string> = { tldr: "models/tldr-heldout.jsonl", cheat: "models/cheat-heldout.jsonl" };
const VARIANT_ORDER = ["none", "memory", "lora", "both", "no-select"];

type Item = Pick<ExternalItem, "id" | "task" | "reference" | "prediction" | "nlc2cmd"> & { cycle: number };

const f = (x: number | null | undefined, digits = 3): string => (x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(digits));
const withCi = (x: number, ci: [number, number], digits = 3): string => `${f(x, digits)} [${f(ci[0], digits)}, ${f(ci[1], digits)}]`;
const table = (headers: string[], rows: string[][]): string =>
  [headers, headers.map(() => "---"), ...rows].map((cells) => `| ${cells.join(" | ")} |`).join("\n");

function readItems(runDir: string): Item[] {
  const file = join(runDir, "external.jsonl");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Item);
}

/** The external items of the weights and memory cycle i ends with: the last cycle ≤ i that measured them. */
function itemsAt(items: readonly Item[], i: number): Item[] {
  const measured = [...new Set(items.map((x) => x.cycle))].filter((c) => c <= i);
  if (measured.length === 0) return [];
  const at = Math.max(...measured);
  return items.filter((x) => x.cycle === at).sort((a, b) => a.id.localeCompare(b.id));
}

const rightProgram = (parser: ShellParser) => (prediction: string, reference: string): number => {
  const u = firstUtility(prediction, parser);
  return u !== null && u === firstUtility(reference, parser) ? 1 : 0;
};

/** The held-out (intrinsic) stats cycle i ends with: its `after`, or its `before` when nothing changed. */
function intrinsicAt(cycles: readonly CycleRecord[], i: number): { lift: number; original?: number } | null {
  const stats = i === 0 ? cycles[0]?.before : (cycles[i - 1]?.after ?? cycles[i]?.before ?? cycles[i - 1]?.before);
  return stats ? { lift: stats.meanScore, original: stats.meanOriginalScore } : null;
}

/** The split's pairs a run was scored on: the seeded subset of its recorded size. */
function runPairs(split: string, config: { seed?: number; evalSize?: number }): Pair[] {
  return loadEvalSet(SPLIT_FILES[split]!, { seed: config.seed ?? 1, size: config.evalSize ?? 300 }).pairs;
}

function lookupRow(pairs: readonly Pair[], index: ExampleIndex, parser: ShellParser): string[] {
  const answers = pairs.map((p) => index.byTask(p.task, { k: 1 })[0]?.example.command ?? "");
  const right = pairs.map((p, i) => 100 * rightProgram(parser)(answers[i]!, p.command));
  const nlc = pairs.map((p, i) => nlc2cmdScore(answers[i]!, p.command, parser));
  return ["lookup only (index top-1)", withCi(mean(right), bootstrapCi(right, { seed: 1 }), 1), withCi(mean(nlc), bootstrapCi(nlc, { seed: 1 })), String(new Set(answers).size)];
}

/** How many of the split's tasks got a memory pair among their k examples with the run's final memory. */
async function memoryReach(runDir: string, split: string, config: { seed?: number; evalSize?: number }, index: ExampleIndex, k: number): Promise<string> {
  const memory = new RunMemory(index);
  memory.add(memoryPairs(await readRunExamples(runDir)));
  const remembered = new Set(memory.pairs().map((p) => p.command));
  const shots = shotsWithMemory(index, memory, k);
  const pairs = runPairs(split, config);
  const reached = pairs.filter((p) => shots.forTask(p.task, p).some((s) => remembered.has(s.command))).length;
  return `${reached} of ${pairs.length} (memory ${memory.size})`;
}

function variantTables(split: string, variant: string, runDir: string, parser: ShellParser, index: ExampleIndex): Promise<{ perCycle: string; summary: string[] }> {
  return readRun(runDir).then(async ({ cycles, config }) => {
    const learn = (config as { learn?: string }).learn;
    const reach = learn === "memory" || learn === "both" ? await memoryReach(runDir, split, config as { seed?: number; evalSize?: number }, index, (config as { examples?: number }).examples ?? 3) : "–";
    const items = readItems(runDir);
    const right = rightProgram(parser);
    const rows: string[][] = [];
    const intrinsic: number[] = [];
    const external: number[] = [];
    for (let i = 0; i <= cycles.length; i++) {
      const at = itemsAt(items, i);
      const own = intrinsicAt(cycles, i);
      const c = i > 0 ? cycles[i - 1]! : null;
      const nlc = at.map((x) => x.nlc2cmd);
      const programs = at.map((x) => 100 * right(x.prediction, x.reference));
      if (own && at.length) {
        intrinsic.push(own.lift);
        external.push(mean(nlc));
      }
      rows.push([
        String(i),
        own ? `${f(own.lift)} / ${f(own.original)}` : "–",
        c ? `${(100 * c.selection.acceptanceRate).toFixed(0)}% (${c.selection.acceptedExamples})` : "–",
        at.length ? withCi(mean(nlc), bootstrapCi(nlc, { seed: 1 })) : "–",
        at.length ? withCi(mean(programs), bootstrapCi(programs, { seed: 1 }), 1) : "–",
        at.length ? String(new Set(at.map((x) => x.prediction)).size) : "–",
      ]);
    }
    const first = itemsAt(items, 0);
    const last = itemsAt(items, cycles.length);
    const paired = (score: (x: Item) => number): string => {
      if (!first.length || first.length !== last.length) return "–";
      const d = pairedDifference(first.map(score), last.map(score), { seed: 1 });
      return `${withCi(d.mean, d.ci)}${d.ci[0] > 0 ? " ↑" : d.ci[1] < 0 ? " ↓" : ""}`;
    };
    const perCycle =
      `#### ${split}: ${variant} (${cycles.length} cycles)\n\n` +
      table(["cycle", "held-out intrinsic: lift / original", "acceptance (examples)", "NLC2CMD [95% CI]", "right program % [95% CI]", "distinct answers"], rows);
    // the cycle whose NLC2CMD differs most upward from cycle 0: ten looks, so its interval is not corrected for choosing
    let best = "–";
    let bestMean = -Infinity;
    for (let i = 1; i <= cycles.length && first.length; i++) {
      const at = itemsAt(items, i);
      if (at.length !== first.length) continue;
      const d = pairedDifference(first.map((x) => x.nlc2cmd), at.map((x) => x.nlc2cmd), { seed: 1 });
      if (d.mean > bestMean) [bestMean, best] = [d.mean, `cycle ${i}: ${withCi(d.mean, d.ci)}`];
    }
    const summary = [
      variant,
      String(cycles.length),
      paired((x) => x.nlc2cmd),
      best,
      paired((x) => 100 * right(x.prediction, x.reference)),
      f(spearman(intrinsic, external)),
      reach,
    ];
    return { perCycle, summary };
  });
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { out: { type: "string" } }, allowPositionals: true });
  const root = positionals[0];
  if (!root) throw new Error("usage: learn-tables.ts [--out FILE.md] OUT_DIR");
  const parser = await loadShellParser();
  const index = ExampleIndex.fromFile(EXAMPLE_INDEX_FILE);
  const parts: string[] = [];
  for (const split of Object.keys(SPLIT_FILES)) {
    const dir = join(root, split);
    if (!existsSync(dir)) continue;
    const variants = readdirSync(dir).filter((v) => existsSync(join(dir, v, "cycles.jsonl"))).sort((a, b) => VARIANT_ORDER.indexOf(a) - VARIANT_ORDER.indexOf(b));
    const results = [];
    const first = variants.length ? ((await readRun(join(dir, variants[0]!))).config as { seed?: number; evalSize?: number }) : {};
    for (const v of variants) results.push(await variantTables(split, v, join(dir, v), parser, index));
    parts.push(
      `### ${split} split\n\n` +
        table(["row", "right program % [95% CI]", "NLC2CMD [95% CI]", "distinct answers"], [lookupRow(runPairs(split, first), index, parser)]) +
        "\n\n" +
        table(
          ["variant", "cycles", "NLC2CMD, last − cycle 0 [paired 95% CI]", "NLC2CMD, best cycle − cycle 0 (chosen after looking: uncorrected)", "right program %, last − cycle 0 [paired 95% CI]", "Spearman(intrinsic lift, NLC2CMD) across cycles", "split tasks whose prompt held a memory pair, last cycle"],
          results.map((r) => r.summary),
        ) +
        "\n\n" +
        results.map((r) => r.perCycle).join("\n\n"),
    );
  }
  const text = parts.join("\n\n") + "\n";
  if (values.out) writeFileSync(values.out, text);
  process.stdout.write(text);
}

void main();
