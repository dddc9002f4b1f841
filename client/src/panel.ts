// The progress panel (webview): the server computes each run's view, the host passes it on, and the webview renders
// it and keeps a copy in setState.
import * as vscode from "vscode";
import { isWebviewToHost, type CycleExamplesView, type HostToWebview, type RunInfo, type RunView, type WebviewState, type WebviewToHost } from "../../common/protocol";
import { runGoesOn } from "../../common/runView";
import { panelHtml } from "./panelHtml";

export const PANEL_VIEW_TYPE = "inversion.progress";

export interface PanelBackend {
  listRuns(): Promise<{ runs: RunInfo[]; latest: string | null }>;
  readRun(runDir: string): Promise<RunView>;
  /** The examples a cycle of a run accepted (the server words them). */
  readCycleExamples(runDir: string, cycle: number): Promise<CycleExamplesView>;
  /** The latest view of the run started from this window, if any. */
  live(): RunView | null;
  log(message: string): void;
}

export class ProgressPanel implements vscode.Disposable {
  static current: ProgressPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private runDir: string | null = null;

  static show(extensionUri: vscode.Uri, backend: PanelBackend, runDir?: string): ProgressPanel {
    if (ProgressPanel.current) {
      ProgressPanel.current.panel.reveal(undefined, true);
      if (runDir) void ProgressPanel.current.open(runDir);
      return ProgressPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(PANEL_VIEW_TYPE, "Inversion progress", { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, ProgressPanel.options(extensionUri));
    const p = new ProgressPanel(panel, extensionUri, backend, runDir ?? null);
    return p;
  }

  /** Restores a panel after a window reload (registerWebviewPanelSerializer). */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, backend: PanelBackend, state: WebviewState | undefined): ProgressPanel {
    ProgressPanel.current?.dispose();
    panel.webview.options = ProgressPanel.options(extensionUri);
    return new ProgressPanel(panel, extensionUri, backend, state?.view?.runDir ?? null);
  }

  static options(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, "webview", "dist")] };
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly backend: PanelBackend,
    initialRun: string | null,
  ) {
    ProgressPanel.current = this;
    this.runDir = initialRun;
    this.render();
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: unknown) => {
        if (isWebviewToHost(m)) void this.onMessage(m);
      }),
    );
  }

  /** A fresh nonce on every render. */
  private render(): void {
    const script = this.panel.webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, "webview", "dist", "main.js"));
    this.panel.webview.html = panelHtml({ cspSource: this.panel.webview.cspSource, scriptUri: script.toString() });
  }

  private post(m: HostToWebview): void {
    void this.panel.webview.postMessage(m);
  }

  private async onMessage(m: WebviewToHost): Promise<void> {
    try {
      switch (m.type) {
        case "ready": {
          const live = this.backend.live();
          const want = this.runDir ?? m.runDir ?? (live && runGoesOn(live) ? live.runDir : null);
          await this.open(want ?? undefined);
          break;
        }
        case "openRun": {
          // Only a run the host listed (or the live one): the webview cannot make the host read other directories.
          const listing = await this.backend.listRuns();
          if (!this.isKnownRun(m.runDir, listing.runs)) throw new Error(`Not a run of the runs directory: ${m.runDir}`);
          await this.open(m.runDir, listing);
          break;
        }
        case "refreshRuns":
          this.post({ type: "runs", runs: (await this.backend.listRuns()).runs });
          break;
        case "openCycle":
          // The same rule as openRun: only a run the host listed, or the live one.
          if (!this.isKnownRun(m.runDir, (await this.backend.listRuns()).runs)) throw new Error(`Not a run of the runs directory: ${m.runDir}`);
          this.post({ type: "cycleExamples", examples: await this.backend.readCycleExamples(m.runDir, m.cycle) });
          break;
        case "rendered":
          break;
      }
    } catch (err) {
      this.post({ type: "error", message: (err as Error).message });
    }
  }

  private isKnownRun(runDir: string, listed: readonly RunInfo[]): boolean {
    return this.backend.live()?.runDir === runDir || listed.some((r) => r.runDir === runDir);
  }

  /**
   * Shows a run: the live one from memory, a past one from its run directory, or (no argument) the latest.
   * `listing`: the runs directory as the caller already listed it (one listing per message from the webview).
   */
  async open(runDir?: string, listing?: { runs: RunInfo[]; latest: string | null }): Promise<void> {
    const { runs, latest } = listing ?? (await this.backend.listRuns());
    const live = this.backend.live();
    const target = runDir ?? (live ? live.runDir : latest);
    this.runDir = target ?? null;
    this.post({ type: "runs", runs });
    if (!target) return;
    this.post({ type: "view", view: live?.runDir === target ? live : await this.backend.readRun(target) });
  }

  /** A new view of the live run: shown when the panel shows that run, or a run has just started (the panel follows it). */
  showLive(view: RunView): void {
    const started = view.runDir !== this.runDir && view.state === "running" && view.version === 1;
    if (view.runDir !== this.runDir && !started && this.runDir !== null) return;
    this.runDir = view.runDir;
    this.post({ type: "view", view });
    if (!runGoesOn(view)) void this.backend.listRuns().then(({ runs }) => this.post({ type: "runs", runs }));
  }

  dispose(): void {
    if (ProgressPanel.current === this) ProgressPanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}
