// The progress panel: line charts per cycle of one run (intrinsic score before/after training, acceptance rate,
// training loss, external evaluation when present), rendered from the run view the server computed. Talks to the
// extension host only through typed messages; persists its state with setState so it survives reloads and hiding.
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
import type { ChartNotes, CycleExamplesView, CyclePoint, HostToWebview, RunInfo, RunView, WebviewState, WebviewToHost } from "../../common/protocol";
import { isStaleView } from "../../common/runView";

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
  view: initial?.view && Array.isArray(initial.view.points) ? initial.view : null,
  runs: Array.isArray(initial?.runs) ? initial.runs : [],
  error: typeof initial?.error === "string" ? initial.error : "",
  examples: initial?.examples && Array.isArray(initial.examples.examples) ? initial.examples : null,
  cycleChosen: initial?.cycleChosen === true,
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

interface Series {
  label: string;
  color: string;
  value: Metric;
  /** Line style: a dashed line drawn over a wider solid one stays visible where the two values are equal. */
  dash?: number[];
  width?: number;
  radius?: number;
  /** Chart.js `order`: lower is drawn later, on top. */
  order?: number;
}

interface ChartSpec {
  id: string;
  title: string;
  yMax?: number;
  series: Series[];
  /** Hidden while no point has a value for any series (e.g. external evaluation). */
  optional?: boolean;
  /** Which of the server's notes goes under the chart. */
  note?: keyof ChartNotes;
}

const SPECS: ChartSpec[] = [
  {
    id: "score",
    title: "Intrinsic score (mean)",
    yMax: 1,
    series: [
      { label: "training tasks", color: COLORS.orange, value: (p) => p.selectionScore },
      // "after" wide and underneath, "before" dashed on top: where they are equal both still show
      { label: "held-out before", color: COLORS.blue, value: (p) => p.scoreBefore, dash: [6, 4], width: 2, radius: 3, order: 0 },
      { label: "held-out after", color: COLORS.green, value: (p) => p.scoreAfter, width: 6, radius: 6, order: 1 },
    ],
    note: "score",
  },
  { id: "acceptance", title: "Acceptance rate", yMax: 1, series: [{ label: "accepted / tasks", color: COLORS.blue, value: (p) => p.acceptanceRate }] },
  { id: "loss", title: "Training loss (mean)", series: [{ label: "loss", color: COLORS.purple, value: (p) => p.trainLoss }], note: "loss" },
  { id: "external", title: "External evaluation (NLC2CMD)", yMax: 1, optional: true, series: [{ label: "nlc2cmd", color: COLORS.red, value: (p) => p.external }] },
];

/** Shown when no run is: the server words everything about a run (its placeholder, status and notes). */
const NO_RUN = "No run yet. Run “Inversion: Run self-improvement cycle” or open a past run.";

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
  const empty = el("div", { id: "empty" }, NO_RUN);
  const grid = el("div", { class: "grid" });
  // In the document before the charts exist, so each one measures its box at construction rather than on a later frame.
  root.append(header, status, empty, grid, buildExamples());
  for (const spec of SPECS) {
    const box = el("section", { class: "chart", id: `box-${spec.id}` });
    box.append(el("h3", {}, spec.title));
    const wrap = el("div", { class: "canvas-wrap" });
    const canvas = el("canvas", { id: `chart-${spec.id}`, role: "img", "aria-label": spec.title });
    wrap.append(canvas);
    box.append(wrap);
    if (spec.note) box.append(el("p", { class: "note", id: `note-${spec.id}` }));
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
            pointRadius: s.radius ?? 3,
            borderWidth: s.width ?? 3,
            borderDash: s.dash ?? [],
            order: s.order ?? 0,
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

/** "Accepted examples": what a cycle kept for training, one cycle at a time, as the server words it. */
function buildExamples(): HTMLElement {
  const box = el("section", { id: "examples", class: "examples" });
  const head = el("div", { class: "header" });
  head.append(el("h3", {}, "Accepted examples"));
  const select = el("select", { id: "cycle", "aria-label": "Cycle" });
  select.addEventListener("change", () => {
    const runDir = state.view?.runDir;
    if (!runDir || !select.value) return;
    state.cycleChosen = true;
    post({ type: "openCycle", runDir, cycle: Number(select.value) });
  });
  head.append(select);
  const table = el("table", { id: "examples-table" });
  const header = el("tr");
  for (const h of ["Task", "Command", "The model reads it as", "Score", "From"]) header.append(el("th", {}, h));
  table.append(el("thead"), el("tbody"));
  table.tHead!.append(header);
  box.append(head, el("p", { id: "examples-title", class: "note" }), table, el("p", { id: "examples-more", class: "note" }));
  return box;
}

/** Asks for the latest cycle's examples unless the user chose a cycle of this run. */
function followLatestCycle(view: RunView | null): void {
  const latest = view?.points.at(-1)?.cycle;
  if (!view || latest === undefined || state.cycleChosen) return;
  if (state.examples?.runDir === view.runDir && state.examples.cycle === latest) return;
  post({ type: "openCycle", runDir: view.runDir, cycle: latest });
}

function renderExamples(view: RunView | null): void {
  const box = document.getElementById("examples")!;
  const points = view?.points ?? [];
  box.hidden = points.length === 0;
  const shown = state.examples && state.examples.runDir === view?.runDir ? state.examples : null;
  const select = document.getElementById("cycle") as HTMLSelectElement;
  select.textContent = "";
  for (const p of points) {
    const o = el("option", { value: String(p.cycle) }, `cycle ${p.cycle}`);
    if (shown?.cycle === p.cycle) o.selected = true;
    select.append(o);
  }
  document.getElementById("examples-title")!.textContent = shown?.title ?? "";
  document.getElementById("examples-more")!.textContent = shown?.more ?? "";
  const body = (document.getElementById("examples-table") as HTMLTableElement).tBodies[0]!;
  body.textContent = "";
  // Model output and tasks are text, never markup.
  for (const x of shown?.examples ?? []) {
    const row = el("tr");
    row.append(el("td", {}, x.task), el("td", { class: "command" }, x.command), el("td", {}, x.reading), el("td", { class: "score" }, x.score), el("td", {}, x.from));
    body.append(row);
  }
  document.body.dataset.examples = shown ? `${shown.cycle}:${shown.examples.length}` : "";
}

function render(): void {
  const view = state.view;
  const points = view?.points ?? [];
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
    if (spec.note) document.getElementById(`note-${spec.id}`)!.textContent = view?.notes?.[spec.note] ?? "";
  }
  const select = document.getElementById("run") as HTMLSelectElement;
  select.textContent = "";
  const runs = [...state.runs];
  const runDir = view?.runDir ?? null;
  if (runDir && !runs.some((r) => r.runDir === runDir)) runs.unshift({ runDir, name: baseName(runDir), time: 0 });
  if (runs.length === 0) select.append(el("option", { value: "" }, "(no runs)"));
  for (const r of runs) {
    const o = el("option", { value: r.runDir, title: r.runDir }, r.name);
    if (r.runDir === runDir) o.selected = true;
    select.append(o);
  }
  document.getElementById("status")!.textContent = state.error ? `Error: ${state.error}` : (view?.status ?? "");
  const empty = document.getElementById("empty")!;
  empty.textContent = view ? (view.placeholder ?? "") : NO_RUN;
  empty.hidden = points.length > 0 || !empty.textContent;
  renderExamples(view);
  document.body.dataset.points = String(points.length);
  document.body.dataset.runDir = runDir ?? "";
  vscode.setState(state);
  post({ type: "rendered", runDir, points: points.length });
}

function baseName(p: string): string {
  const parts = p.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? p;
}

function isHostMessage(m: unknown): m is HostToWebview {
  return !!m && typeof m === "object" && typeof (m as { type?: unknown }).type === "string";
}

function handle(m: HostToWebview): void {
  switch (m.type) {
    case "view":
      if (isStaleView(state.view, m.view)) return;
      // another run: its examples are asked for afresh, following its latest cycle
      if (state.view?.runDir !== m.view.runDir) state = { ...state, examples: null, cycleChosen: false };
      state = { ...state, view: m.view, error: "" };
      followLatestCycle(m.view);
      break;
    case "runs":
      state.runs = m.runs as RunInfo[];
      break;
    case "cycleExamples":
      if (m.examples.runDir !== state.view?.runDir) return;
      state.examples = m.examples as CycleExamplesView;
      break;
    case "error":
      state.error = m.message;
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
post({ type: "ready", runDir: state.view?.runDir ?? null });
