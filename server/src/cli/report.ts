// `inversion report`: one row per cycle.
import type { CycleRecord, ExternalEval, GroundingStats } from "../engine/api";

const f = (x: number | undefined | null, digits = 3): string => (x === undefined || x === null || Number.isNaN(x) ? "-" : x.toFixed(digits));
const pct = (x: number | undefined | null): string => (x === undefined || x === null ? "-" : `${(100 * x).toFixed(1)}%`);

export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

export function cycleTable(cycles: CycleRecord[]): string {
  const headers = ["cycle", "tasks", "accept", "sel.mean", "before", "after", "Δ", "loss first→last", "tok/s", "distinct cmds", "programs", "external", "ungrounded", "minutes"];
  const rows = cycles.map((c) => [
    String(c.cycle),
    String(c.tasks.train),
    pct(c.selection.acceptanceRate),
    f(c.selection.meanScore),
    f(c.before.meanScore),
    f(c.after?.meanScore),
    c.after ? f(c.after.meanScore - c.before.meanScore) : "-",
    c.train ? `${f(c.train.lossFirst)}→${f(c.train.lossLast)}` : c.trainSkipped ? "skipped" : "-",
    c.train ? c.train.tokensPerSecond.toFixed(0) : "-",
    String(c.selection.distinctCommands),
    String(c.selection.distinctPrograms),
    c.external ? `${f(c.external.nlc2cmd)} [${f(c.external.nlc2cmdCi[0])}, ${f(c.external.nlc2cmdCi[1])}]` : "-",
    groundingCell(c.grounding),
    f((c.timings.totalMs ?? 0) / 60000, 1),
  ]);
  return formatTable(headers, rows);
}

/** Readings the man pages contradict, of those checked ("-" for runs recorded before grounding existed). */
export function groundingCell(g: GroundingStats | undefined): string {
  return g ? `${g.ungrounded}/${g.examples}` : "-";
}

const ci = (v: number, c: [number, number]): string => `${f(v)} [${f(c[0])}, ${f(c[1])}]`;

export function externalSummary(e: ExternalEval): string {
  return [
    `external evaluation: ${e.n} held-out pairs from ${e.dataset} (split sha256 ${e.datasetHash.slice(0, 12)}…)`,
    `  NLC2CMD         ${ci(e.nlc2cmd, e.nlc2cmdCi)}`,
    `  exact match     ${ci(e.exactMatch, e.exactMatchCi)}`,
    `  template match  ${ci(e.templateMatch, e.templateMatchCi)}`,
    `  mean lift score ${f(e.meanLift)}; Spearman(lift, NLC2CMD) ${f(e.spearmanLift)}` +
      (e.spearmanOriginal !== undefined ? `; Spearman(original, NLC2CMD) ${f(e.spearmanOriginal)}` : ""),
  ].join("\n");
}
