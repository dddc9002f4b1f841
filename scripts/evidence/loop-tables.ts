// Table (b) of docs/RESULTS.md from the run directories of scripts/evidence/loop.sh: per run and cycle the external
// NLC2CMD with its 95% CI, exact and template match, acceptance, training loss, distinct answers to the held-out
// tasks and Spearman(intrinsic, NLC2CMD); a summary row per run. The chart is `inversion report --compare --svg`'s
// (loop.sh).
//   node --import tsx scripts/evidence/loop-tables.ts --out FILE.md RUN_DIR...
import { parseArgs } from "node:util";
import { writeFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { readRun, type CycleRecord, type ExternalEval } from "../../server/src/engine/api";

interface NamedRun {
  name: string;
  config: { learn?: string; selection?: string; scorer?: string };
  cycles: CycleRecord[];
}

const f = (x: number | undefined | null): string => (x === undefined || x === null || !Number.isFinite(x) ? "–" : x.toFixed(3));
const withCi = (x: number, ci: [number, number]): string => `${f(x)} [${f(ci[0])}, ${f(ci[1])}]`;
const line = (cells: string[]): string => `| ${cells.join(" | ")} |`;

function table(headers: string[], rows: string[][]): string {
  return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
}

/** The external evaluation the weights of cycle i end with (0: the starting weights). */
function externalAt(cycles: CycleRecord[], i: number): ExternalEval | null {
  return i === 0 ? (cycles[0]?.externalBefore ?? null) : (cycles[i - 1]?.external ?? null);
}

function spearmanCell(e: ExternalEval | null): string {
  if (!e) return "–";
  return e.spearmanOriginal === undefined ? f(e.spearmanLift) : `${f(e.spearmanLift)} / ${f(e.spearmanOriginal)}`;
}

function perCycleTable(run: NamedRun): string {
  const headers = ["cycle", "NLC2CMD [95% CI]", "exact", "template", "acceptance", "accepted", "loss first → last", "distinct answers", "Spearman(lift[ / original], NLC2CMD)"];
  const rows: string[][] = [];
  for (let i = 0; i <= run.cycles.length; i++) {
    const e = externalAt(run.cycles, i);
    const c = i > 0 ? run.cycles[i - 1]! : null;
    rows.push([
      String(i),
      e ? withCi(e.nlc2cmd, e.nlc2cmdCi) : "–",
      f(e?.exactMatch),
      f(e?.templateMatch),
      c ? `${(100 * c.selection.acceptanceRate).toFixed(0)}%` : "–",
      c ? String(c.selection.acceptedExamples) : "–",
      c?.train ? `${f(c.train.lossFirst)} → ${f(c.train.lossLast)}` : c ? "not trained" : "–",
      e?.distinctPredictions === undefined ? "–" : String(e.distinctPredictions),
      spearmanCell(e),
    ]);
  }
  return `### ${run.name} (learn ${run.config.learn ?? "lora"}, select ${run.config.selection ?? "best"}, scorer ${run.config.scorer ?? "lift"})\n\n${table(headers, rows)}`;
}

function summaryTable(runs: NamedRun[]): string {
  const headers = ["run", "NLC2CMD, start → last cycle [95% CI]", "template match", "accepted examples", "distinct answers", "Spearman(lift[ / original], NLC2CMD), last cycle", "minutes"];
  const rows = runs.map((run) => {
    const first = externalAt(run.cycles, 0);
    const last = externalAt(run.cycles, run.cycles.length);
    const accepted = run.cycles.reduce((a, c) => a + c.selection.acceptedExamples, 0);
    const minutes = run.cycles.reduce((a, c) => a + (c.timings.totalMs ?? 0), 0) / 60000;
    return [
      run.name,
      `${first ? withCi(first.nlc2cmd, first.nlc2cmdCi) : "–"} → ${last ? withCi(last.nlc2cmd, last.nlc2cmdCi) : "–"}`,
      `${f(first?.templateMatch)} → ${f(last?.templateMatch)}`,
      String(accepted),
      `${first?.distinctPredictions ?? "–"} → ${last?.distinctPredictions ?? "–"}`,
      spearmanCell(last),
      minutes.toFixed(1),
    ];
  });
  return table(headers, rows);
}

async function main(): Promise<void> {
  const { values: v, positionals: dirs } = parseArgs({ options: { out: { type: "string" } }, allowPositionals: true });
  if (dirs.length === 0) throw new Error("usage: loop-tables.ts [--out FILE.md] RUN_DIR...");
  const runs: NamedRun[] = await Promise.all(
    dirs.map(async (d) => {
      const r = await readRun(resolve(d));
      return { name: basename(resolve(d)), config: r.config as NamedRun["config"], cycles: r.cycles };
    }),
  );
  const md = [summaryTable(runs), ...runs.map(perCycleTable)].join("\n\n") + "\n";
  process.stdout.write(md);
  if (v.out) writeFileSync(v.out, md);
}

main().catch((err: unknown) => {
  process.stderr.write(`loop-tables: ${(err as Error).message}\n`);
  process.exit(1);
});
