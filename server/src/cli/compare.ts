// `inversion report --compare RUN_A RUN_B ...`: runs side by side per cycle, and the same as an SVG chart.
import type { CycleRecord } from "../engine/api";
import { formatTable } from "./report";
import { cyclePoint } from "../view/runView";

export interface NamedRun {
  name: string;
  config: { train?: string; selection?: string; scorer?: string };
  cycles: CycleRecord[];
  /** Distinct external predictions per cycle (index 0: the starting weights), from external.jsonl. */
  distinct?: (number | null)[];
}

/** Distinct predictions per cycle; a cycle without rows evaluated unchanged weights, so it repeats the last count. */
export function distinctByCycle(rows: { cycle: number; prediction: string }[], cycles: number): (number | null)[] {
  const by = new Map<number, Set<string>>();
  for (const r of rows) by.set(r.cycle, (by.get(r.cycle) ?? new Set()).add(r.prediction));
  const out: (number | null)[] = [];
  for (let c = 0; c <= cycles; c++) out.push(by.get(c)?.size ?? (c > 0 ? out[c - 1]! : null));
  return out;
}

const f = (x: number | undefined | null): string => (x === undefined || x === null || Number.isNaN(x) ? "-" : x.toFixed(3));

/** The external score each cycle ends with; cycle 0 is the starting weights. */
export function externalSeries(run: NamedRun): (number | null)[] {
  const first = run.cycles[0]?.externalBefore?.nlc2cmd ?? null;
  return [first, ...run.cycles.map((c) => c.external?.nlc2cmd ?? null)];
}

export function compareTable(runs: NamedRun[]): string {
  const maxCycle = Math.max(0, ...runs.map((r) => r.cycles.length));
  const headers = ["cycle", ...runs.flatMap((r) => [`${r.name} accept`, `${r.name} held-out`, `${r.name} NLC2CMD [95% CI]`])];
  const rows: string[][] = [];
  for (let i = 0; i <= maxCycle; i++) {
    const cells = [String(i)];
    for (const run of runs) {
      if (i === 0) {
        const c = run.cycles[0];
        const e = c?.externalBefore;
        cells.push("-", f(c?.before.meanScore), e ? `${f(e.nlc2cmd)} [${f(e.nlc2cmdCi[0])}, ${f(e.nlc2cmdCi[1])}]` : "-");
        continue;
      }
      const c = run.cycles[i - 1];
      const e = c?.external;
      cells.push(
        c ? `${(100 * c.selection.acceptanceRate).toFixed(0)}%` : "",
        c ? f((c.after ?? c.before).meanScore) : "",
        e ? `${f(e.nlc2cmd)} [${f(e.nlc2cmdCi[0])}, ${f(e.nlc2cmdCi[1])}]` : c ? "-" : "",
      );
    }
    rows.push(cells);
  }
  return formatTable(headers, rows);
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (ch) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[ch]!);
}

/**
 * The held-out score after each cycle's training, the starting weights' score at cycle 0: the panel's "held-out
 * after" series (a cycle that did not train has no point, as in the panel).
 */
export function heldOutAfterSeries(run: NamedRun): (number | null)[] {
  const points = run.cycles.map(cyclePoint);
  return [points[0]?.scoreBefore ?? null, ...points.map((p) => p.scoreAfter)];
}

/** The mean training loss of each cycle (the panel's loss series); cycle 0 has none. */
export function trainLossSeries(run: NamedRun): (number | null)[] {
  return [null, ...run.cycles.map((c) => cyclePoint(c).trainLoss)];
}

/** Line charts, one panel per metric, one line per run. Self-contained SVG (no fonts or scripts fetched). */
export function compareSvg(runs: NamedRun[]): string {
  // Score and loss are the run view's point fields (server/src/view/runView.ts), charted as the editor's panel does.
  const panels: { title: string; series: (run: NamedRun) => (number | null)[] }[] = [
    { title: "External NLC2CMD (held-out real pairs)", series: externalSeries },
    { title: "Held-out intrinsic score after training (lift)", series: heldOutAfterSeries },
    { title: "Acceptance rate", series: (r) => [null, ...r.cycles.map((c) => cyclePoint(c).acceptanceRate)] },
    { title: "Train loss (mean)", series: trainLossSeries },
    { title: "Distinct answers to the held-out tasks", series: (r) => r.distinct ?? [] },
    { title: "External template match", series: (r) => [r.cycles[0]?.externalBefore?.templateMatch ?? null, ...r.cycles.map((c) => c.external?.templateMatch ?? null)] },
  ];
  const W = 420;
  const H = 240;
  const pad = 40;
  const parts: string[] = [];
  panels.forEach((panel, p) => {
    const ox = (p % 2) * W;
    const oy = Math.floor(p / 2) * H;
    const all = runs.flatMap((r) => panel.series(r)).filter((v): v is number => v !== null && Number.isFinite(v));
    const lo = all.length ? Math.min(...all) : 0;
    const hi = all.length ? Math.max(...all) : 1;
    const span = hi - lo || 1;
    // Each panel is scaled to its own range, so a narrow range gets enough digits to show how narrow it is.
    const label = (v: number): string => v.toFixed(hi - lo < 0.1 ? 3 : 2);
    const n = Math.max(2, ...runs.map((r) => panel.series(r).length));
    const x = (i: number): number => ox + pad + ((W - 2 * pad) * i) / (n - 1);
    const y = (v: number): number => oy + H - pad - ((H - 2 * pad) * (v - lo)) / span;
    parts.push(`<text x="${ox + pad}" y="${oy + 20}" font-size="13" font-family="sans-serif">${escapeXml(panel.title)}</text>`);
    parts.push(`<line x1="${ox + pad}" y1="${oy + H - pad}" x2="${ox + W - pad}" y2="${oy + H - pad}" stroke="#999"/>`);
    parts.push(`<text x="${ox + 4}" y="${y(hi) + 4}" font-size="10" font-family="sans-serif">${label(hi)}</text>`);
    parts.push(`<text x="${ox + 4}" y="${y(lo) + 4}" font-size="10" font-family="sans-serif">${label(lo)}</text>`);
    parts.push(`<text x="${ox + W / 2}" y="${oy + H - 12}" font-size="10" font-family="sans-serif">cycle</text>`);
    runs.forEach((run, k) => {
      const pts = panel
        .series(run)
        .map((v, i) => (v === null || !Number.isFinite(v) ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`))
        .filter((s): s is string => s !== null);
      if (pts.length) parts.push(`<polyline fill="none" stroke="${COLORS[k % COLORS.length]}" stroke-width="2" points="${pts.join(" ")}"/>`);
    });
  });
  const legend = runs
    .map((r, k) => `<text x="${10 + 200 * (k % 4)}" y="${Math.ceil(panels.length / 2) * H + 20 + 16 * Math.floor(k / 4)}" font-size="12" font-family="sans-serif" fill="${COLORS[k % COLORS.length]}">■ ${escapeXml(r.name)}</text>`)
    .join("");
  const rowsOfPanels = Math.ceil(panels.length / 2);
  const height = rowsOfPanels * H + 30 + 16 * Math.ceil(runs.length / 4);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${height}" viewBox="0 0 ${2 * W} ${height}"><rect width="100%" height="100%" fill="white"/>${parts.join("")}${legend}</svg>\n`;
}
