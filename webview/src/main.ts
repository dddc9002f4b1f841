// The progress panel: line charts per cycle of one run (intrinsic score before/after training, acceptance rate,
// training loss, external evaluation when present). Talks to the extension host only through typed messages;
// persists its state with setState so it survives reloads and hiding.
import {
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartDataset,
} from "chart.js";
import type { CyclePoint, HostToWebview, RunInfo, WebviewState, WebviewToHost } from "../../common/protocol";

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Legend, Tooltip);

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): WebviewState | undefined;
  setState(state: WebviewState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();

const initial = vscode.getState();
let state: WebviewState = {
  runDir: initial?.runDir ?? null,
  points: Array.isArray(initial?.points) ? initial.points : [],
  runs: Array.isArray(initial?.runs) ? initial.runs : [],
  status: typeof initial?.status === "string" ? initial.status : "",
};

function cssColor(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

const COLORS = {
  blue: cssColor("--vscode-charts-blue", "#3794ff"),
  green: cssColor("--vscode-charts-green", "#89d185"),
  orange: cssColor("--vscode-charts-orange", "#d18616"),
  purple: cssColor("--vscode-charts-purple", "#b180d7"),
  red: cssColor("--vscode-charts-red", "#f14c4c"),
  fg: cssColor("--vscode-foreground", "#cccccc"),
  grid: cssColor("--vscode-editorWidget-border", "rgba(128,128,128,0.25)"),
};

type Metric = (p: CyclePoint) => number | null;

interface ChartSpec {
  id: string;
  title: string;
  yMax?: number;
  series: { label: string; color: string; value: Metric }[];
  /** Hidden while no point has a value for any series (e.g. external evaluation). */
  optional?: boolean;
}

const SPECS: ChartSpec[] = [
  {
    id: "score",
    title: "Intrinsic score (mean)",
    yMax: 1,
    series: [
      { label: "training tasks", color: COLORS.orange, value: (p) => p.selectionScore },
      { label: "held-out before", color: COLORS.blue, value: (p) => p.scoreBefore },
      { label: "held-out after", color: COLORS.green, value: (p) => p.scoreAfter },
    ],
  },
  { id: "acceptance", title: "Acceptance rate", yMax: 1, series: [{ label: "accepted / tasks", color: COLORS.blue, value: (p) => p.acceptanceRate }] },
  { id: "loss", title: "Training loss (mean)", series: [{ label: "loss", color: COLORS.purple, value: (p) => p.trainLoss }] },
  { id: "external", title: "External evaluation (NLC2CMD)", yMax: 1, optional: true, series: [{ label: "nlc2cmd", color: COLORS.red, value: (p) => p.external }] },
];

const charts = new Map<string, Chart<"line", (number | null)[], string>>();

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function buildLayout(): void {
  const root = document.getElementById("app")!;
  root.textContent = "";
  const header = el("div", { class: "header" });
  const label = el("label", { for: "run" }, "Run ");
  const select = el("select", { id: "run", "aria-label": "Run" });
  select.addEventListener("change", () => {
    if (select.value) post({ type: "openRun", runDir: select.value });
  });
  const refresh = el("button", { id: "refresh", title: "Refresh the list of runs" }, "↻");
  refresh.addEventListener("click", () => post({ type: "refreshRuns" }));
  header.append(label, select, refresh);
  const status = el("div", { id: "status", role: "status" });
  const empty = el("div", { id: "empty" }, "No cycles yet. Run “Inversion: Run self-improvement cycle” or open a past run.");
  const grid = el("div", { class: "grid" });
  // In the document before the charts exist, so each one measures its box at construction rather than on a later frame.
  root.append(header, status, empty, grid);
  for (const spec of SPECS) {
    const box = el("section", { class: "chart", id: `box-${spec.id}` });
    box.append(el("h3", {}, spec.title));
    const wrap = el("div", { class: "canvas-wrap" });
    const canvas = el("canvas", { id: `chart-${spec.id}`, role: "img", "aria-label": spec.title });
    wrap.append(canvas);
    box.append(wrap);
    grid.append(box);
    const chart = new Chart<"line", (number | null)[], string>(canvas, {
      type: "line",
      data: {
        labels: [],
        datasets: spec.series.map(
          (s): ChartDataset<"line", (number | null)[]> => ({
            label: s.label,
            data: [],
            borderColor: s.color,
            backgroundColor: s.color,
            spanGaps: true,
            tension: 0.2,
            pointRadius: 3,
          }),
        ),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: { title: { display: true, text: "cycle", color: COLORS.fg }, ticks: { color: COLORS.fg }, grid: { color: COLORS.grid } },
          y: { min: 0, max: spec.yMax, ticks: { color: COLORS.fg }, grid: { color: COLORS.grid } },
        },
        plugins: { legend: { labels: { color: COLORS.fg } }, tooltip: { enabled: true } },
      },
    });
    charts.set(spec.id, chart);
  }
}

function post(m: WebviewToHost): void {
  vscode.postMessage(m);
}

function render(): void {
  const points = [...state.points].sort((a, b) => a.cycle - b.cycle);
  const labels = points.map((p) => String(p.cycle));
  for (const spec of SPECS) {
    const chart = charts.get(spec.id)!;
    chart.data.labels = labels;
    spec.series.forEach((s, i) => {
      chart.data.datasets[i].data = points.map((p) => {
        const v = s.value(p);
        return typeof v === "number" && Number.isFinite(v) ? v : null;
      });
    });
    const hasData = points.some((p) => spec.series.some((s) => typeof s.value(p) === "number"));
    const box = document.getElementById(`box-${spec.id}`)!;
    const wasHidden = box.hidden;
    box.hidden = !!spec.optional && !hasData;
    // A chart created or kept inside a hidden box has a 0×0 canvas; Chart.js's ResizeObserver would only fix that a
    // frame later, so size it now and the first draw is real.
    if (wasHidden && !box.hidden) chart.resize();
    chart.update("none");
  }
  const select = document.getElementById("run") as HTMLSelectElement;
  select.textContent = "";
  const runs = [...state.runs];
  if (state.runDir && !runs.some((r) => r.runDir === state.runDir)) runs.unshift({ runDir: state.runDir, name: baseName(state.runDir), time: 0 });
  if (runs.length === 0) select.append(el("option", { value: "" }, "(no runs)"));
  for (const r of runs) {
    const o = el("option", { value: r.runDir, title: r.runDir }, r.name);
    if (r.runDir === state.runDir) o.selected = true;
    select.append(o);
  }
  document.getElementById("status")!.textContent = state.status;
  document.getElementById("empty")!.hidden = points.length > 0;
  document.body.dataset.points = String(points.length);
  document.body.dataset.runDir = state.runDir ?? "";
  vscode.setState(state);
  post({ type: "rendered", runDir: state.runDir, points: points.length });
}

function baseName(p: string): string {
  const parts = p.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? p;
}

function upsert(point: CyclePoint): void {
  const i = state.points.findIndex((p) => p.cycle === point.cycle);
  if (i >= 0) state.points[i] = point;
  else state.points.push(point);
}

function isHostMessage(m: unknown): m is HostToWebview {
  return !!m && typeof m === "object" && typeof (m as { type?: unknown }).type === "string";
}

function handle(m: HostToWebview): void {
  switch (m.type) {
    case "init":
      state = { runDir: m.runDir, points: [...m.points], runs: m.runs.length ? m.runs : state.runs, status: m.live ? "Run in progress…" : state.status && m.runDir === state.runDir ? state.status : "" };
      break;
    case "cycle":
      if (state.runDir !== m.runDir) {
        // A new live run: switch to it.
        state = { ...state, runDir: m.runDir, points: [] };
      }
      upsert(m.point);
      break;
    case "status":
      if (m.runDir && state.runDir !== m.runDir && m.running) state = { ...state, runDir: m.runDir, points: [] };
      state.status = m.text;
      break;
    case "runs":
      state.runs = m.runs as RunInfo[];
      break;
    case "error":
      state.status = `Error: ${m.message}`;
      break;
    default:
      return;
  }
  render();
}

window.addEventListener("message", (event: MessageEvent) => {
  if (isHostMessage(event.data)) handle(event.data);
});

buildLayout();
render();
post({ type: "ready", runDir: state.runDir });
