// Inversion's VS Code client: starts the language server (dist/server.js) over IPC, contributes the commands,
// the status-bar item, the output channel and the progress panel.
import * as vscode from "vscode";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import {
  LanguageClient,
  RevealOutputChannelOn,
  State,
  TransportKind,
  WorkDoneProgress,
  type LanguageClientOptions,
  type ServerOptions,
} from "vscode-languageclient/node";
import {
  CycleProgressNotification,
  ListRunsRequest,
  ModelMissingNotification,
  ReadRunRequest,
  ReloadModelRequest,
  RunCyclesRequest,
  ScoreCommandRequest,
  StatusNotification,
  StopRunRequest,
  VisibleRangesNotification,
  cyclePoint,
  type CommandScore,
  type CyclePoint,
  type RunOverrides,
  type ServerStatus,
  type WebviewState,
} from "../../common/protocol";
import { readSettings } from "./config";
import { PANEL_VIEW_TYPE, ProgressPanel, type PanelBackend } from "./panel";
import { StatusBar } from "./statusBar";

/** What `activate` returns: used by the integration tests, and by other extensions if they wish. */
export interface InversionApi {
  client: LanguageClient;
  status(): ServerStatus | null;
  readonly onStatus: vscode.Event<ServerStatus>;
  panel(): ProgressPanel | undefined;
  /** Messages shown to the user about a missing model (tests check there is exactly one). */
  readonly missingModelMessages: string[];
  /** Cancels the run started by "Run self-improvement cycle" the same way the notification's Cancel button does. */
  cancelActiveRun(): boolean;
  statusBarText(): string;
}

interface LiveRun {
  runDir: string;
  points: CyclePoint[];
  running: boolean;
}

export async function activate(context: vscode.ExtensionContext): Promise<InversionApi> {
  const output = vscode.window.createOutputChannel("Inversion", { log: true });
  const statusBar = new StatusBar();
  const statusEmitter = new vscode.EventEmitter<ServerStatus>();
  context.subscriptions.push(output, statusBar, statusEmitter);
  let lastStatus: ServerStatus | null = null;
  let live: LiveRun | null = null;
  let activeRunCancel: vscode.CancellationTokenSource | null = null;
  const missingModelMessages: string[] = [];
  const shownMissing = new Set<string>();
  let shownNoModel = false;
  const shownError = new Set<string>();

  const serverModule = context.asAbsolutePath("dist/server.js");
  if (!existsSync(serverModule)) {
    void vscode.window.showErrorMessage(`Inversion: the language server bundle is missing (${serverModule}). Run \`npm run build\`.`);
  }
  const serverOptions: ServerOptions = {
    run: { module: serverModule, transport: TransportKind.ipc },
    debug: { module: serverModule, transport: TransportKind.ipc, options: { execArgv: ["--nolazy", "--inspect=6019"] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "shellscript" },
      { scheme: "untitled", language: "shellscript" },
    ],
    outputChannel: output,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    synchronize: { configurationSection: "inversion" },
    middleware: {
      workspace: {
        // The server asks for the `inversion` section; answer with resolved paths and defaults filled in.
        configuration: (params, token, next) =>
          params.items.map((item) => (item.section === "inversion" ? readSettings(context.globalStorageUri, item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined) : null)) as never,
      },
    },
    initializationOptions: () => ({ settings: readSettings(context.globalStorageUri) }),
  };
  const client = new LanguageClient("inversion", "Inversion", serverOptions, clientOptions);

  context.subscriptions.push(
    client.onDidChangeState((e) => {
      statusBar.setClient(e.newState === State.Running ? "running" : e.newState === State.Starting ? "starting" : "stopped");
    }),
    client.onNotification(StatusNotification.type, (s) => {
      lastStatus = s;
      statusBar.setStatus(s);
      statusEmitter.fire(s);
      if (s.model === "error" && s.modelPath && !shownError.has(s.modelPath)) {
        // Once per model path: the status bar keeps showing the state afterwards.
        shownError.add(s.modelPath);
        void vscode.window.showErrorMessage(`Inversion: the model could not be loaded: ${(s.message ?? "").split("\n")[0]}`, "Select model", "Show log").then((c) => {
          if (c === "Select model") void vscode.commands.executeCommand("inversion.selectModel");
          else if (c === "Show log") output.show(true);
        });
      }
      if (s.model === "none" && !shownNoModel && vscode.workspace.textDocuments.some((d) => d.languageId === "shellscript")) {
        shownNoModel = true;
        void missingModel("Inversion needs a local model (.gguf) for hovers, diagnostics and runs.");
      }
    }),
    client.onNotification(ModelMissingNotification.type, (p) => {
      if (shownMissing.has(p.modelPath)) return;
      shownMissing.add(p.modelPath);
      void missingModel(`Inversion: ${p.reason}`);
    }),
    client.onNotification(CycleProgressNotification.type, (p) => {
      if (!live || live.runDir !== p.runDir) live = { runDir: p.runDir, points: [], running: true };
      let text: string | null = null;
      if (p.event.type === "cycle") {
        const point = cyclePoint(p.event.record);
        live.points = [...live.points.filter((x) => x.cycle !== point.cycle), point];
      } else if (p.event.type === "phase") text = `cycle ${p.event.cycle}: ${p.event.message} ${p.event.done}/${p.event.total}`;
      else if (p.event.type === "train") text = `cycle ${p.event.cycle}: training ${p.event.progress.step}/${p.event.progress.totalSteps}, loss ${p.event.progress.loss.toFixed(3)}`;
      else if (p.event.type === "log") output.appendLine(`[run] ${p.event.message}`);
      if (text) statusBar.setRunProgress(text);
      ProgressPanel.current?.onRunEvent(p, text);
    }),
  );

  // Visible lines of shell scripts: the server scores large scripts from there first.
  let visibleTimer: NodeJS.Timeout | undefined;
  const sendVisible = (): void => {
    if (visibleTimer) clearTimeout(visibleTimer);
    visibleTimer = setTimeout(() => {
      if (!client.isRunning()) return;
      const byDoc = new Map<string, { startLine: number; endLine: number }[]>();
      for (const e of vscode.window.visibleTextEditors) {
        if (e.document.languageId !== "shellscript") continue;
        const list = byDoc.get(e.document.uri.toString()) ?? [];
        for (const r of e.visibleRanges) list.push({ startLine: r.start.line, endLine: r.end.line });
        byDoc.set(e.document.uri.toString(), list);
      }
      for (const [uri, ranges] of byDoc) void client.sendNotification(VisibleRangesNotification.type, { uri, ranges });
    }, 150);
  };
  context.subscriptions.push(
    vscode.window.onDidChangeTextEditorVisibleRanges(sendVisible),
    vscode.window.onDidChangeVisibleTextEditors(sendVisible),
    client.onDidChangeState((e) => e.newState === State.Running && sendVisible()),
  );

  async function missingModel(message: string): Promise<void> {
    missingModelMessages.push(message);
    const choice = await vscode.window.showWarningMessage(message, "Select model", "Open settings");
    if (choice === "Select model") await vscode.commands.executeCommand("inversion.selectModel");
    else if (choice === "Open settings") await vscode.commands.executeCommand("workbench.action.openSettings", "inversion.model");
  }

  const backend: PanelBackend = {
    listRuns: async () => {
      const r = await client.sendRequest(ListRunsRequest.type);
      return { runs: r.runs, latest: r.latest };
    },
    readRun: async (runDir) => (await client.sendRequest(ReadRunRequest.type, { runDir })).cycles.map(cyclePoint),
    live: () => live,
    log: (m) => output.appendLine(m),
  };

  async function runCycles(overrides?: RunOverrides): Promise<RunCyclesRequest.Result | undefined> {
    if (activeRunCancel) {
      void vscode.window.showInformationMessage("Inversion: a run is already in progress.", "Show progress").then((c) => c && vscode.commands.executeCommand("inversion.showPanel"));
      return undefined;
    }
    const cts = new vscode.CancellationTokenSource();
    activeRunCancel = cts;
    try {
      return await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: "Inversion", cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => cts.cancel());
          const workDoneToken = randomUUID();
          let last = 0;
          const sub = client.onProgress(WorkDoneProgress.type, workDoneToken, (v) => {
            if (v.kind === "end") return;
            const pct = v.percentage ?? last;
            progress.report({ message: v.message, increment: Math.max(0, pct - last) });
            last = Math.max(last, pct);
          });
          try {
            live = null;
            const result = await client.sendRequest(RunCyclesRequest.type, { overrides, workDoneToken }, cts.token);
            if (live) (live as LiveRun).running = false;
            const text = result.cancelled ? `Run cancelled after ${result.cycles.length} cycle(s).` : `Run finished: ${result.cycles.length} cycle(s).`;
            output.appendLine(`${text} ${result.runDir}`);
            statusBar.setRunProgress(null);
            ProgressPanel.current?.onRunEnded(result.runDir, text);
            return result;
          } catch (err) {
            statusBar.setRunProgress(null);
            if (live) (live as LiveRun).running = false;
            if (cts.token.isCancellationRequested) {
              output.appendLine("Run cancelled.");
              return { runDir: live?.runDir ?? "", cycles: [], cancelled: true };
            }
            const message = (err as Error).message;
            output.appendLine(`Run failed: ${message}`);
            void vscode.window.showErrorMessage(`Inversion: ${message}`, "Show log").then((c) => c && output.show(true));
            return undefined;
          } finally {
            sub.dispose();
          }
        },
      );
    } finally {
      activeRunCancel = null;
      cts.dispose();
    }
  }

  context.subscriptions.push(
    vscode.commands.registerCommand("inversion.runCycles", (overrides?: RunOverrides) => runCycles(overrides)),
    vscode.commands.registerCommand("inversion.stopRun", async () => {
      const r = await client.sendRequest(StopRunRequest.type);
      if (!r.stopped) void vscode.window.setStatusBarMessage("Inversion: no run in progress", 3000);
      return r;
    }),
    vscode.commands.registerCommand("inversion.showPanel", (runDir?: string) => ProgressPanel.show(context.extensionUri, backend, typeof runDir === "string" ? runDir : undefined)),
    vscode.commands.registerCommand("inversion.openRun", async (runDir?: string) => {
      if (typeof runDir !== "string") {
        const { runs } = await backend.listRuns();
        if (runs.length === 0) {
          void vscode.window.showInformationMessage("Inversion: no runs yet in the runs directory.");
          return undefined;
        }
        const pick = await vscode.window.showQuickPick(
          runs.map((r) => ({ label: r.name, description: new Date(r.time).toLocaleString(), detail: r.runDir, runDir: r.runDir })),
          { title: "Open an Inversion run" },
        );
        if (!pick) return undefined;
        runDir = pick.runDir;
      }
      return ProgressPanel.show(context.extensionUri, backend, runDir);
    }),
    vscode.commands.registerCommand("inversion.scoreAtCursor", async (): Promise<CommandScore | null> => {
      const editor = vscode.window.activeTextEditor;
      if (!editor || editor.document.languageId !== "shellscript") {
        void vscode.window.setStatusBarMessage("Inversion: open a shell script and place the cursor on a command", 4000);
        return null;
      }
      const pos = editor.selection.active;
      const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: "Inversion: scoring" }, (_p, token) =>
        client.sendRequest(ScoreCommandRequest.type, { uri: editor.document.uri.toString(), position: { line: pos.line, character: pos.character } }, token),
      );
      if (!r) {
        void vscode.window.setStatusBarMessage(lastStatus?.model === "ready" ? "Inversion: no command at the cursor" : `Inversion: model ${lastStatus?.model ?? "not ready"}`, 4000);
        return null;
      }
      output.appendLine(`Score: ${r.command}\n  reading: ${r.reading}\n  fidelity: ${r.fidelity?.value ?? "n/a"}\n  agreement: ${r.agreement?.value ?? "n/a"}${r.intent ? ` (comment: ${r.intent})` : ""}`);
      // The result is cached now: the hover at the cursor shows it in full.
      await vscode.commands.executeCommand("editor.action.showHover");
      return r;
    }),
    vscode.commands.registerCommand("inversion.selectModel", async (value?: string) => {
      let model = typeof value === "string" ? value : undefined;
      if (model === undefined) {
        const choice = await vscode.window.showQuickPick(
          [
            { label: "$(file) Choose a .gguf file…", id: "file" },
            { label: "$(cloud-download) Enter a Hugging Face URI (hf:user/repo/file.gguf)…", id: "hf" },
          ],
          { title: "Inversion: select model" },
        );
        if (!choice) return undefined;
        if (choice.id === "file") {
          const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { "GGUF model": ["gguf"] }, title: "Select a GGUF model" });
          if (!picked?.[0]) return undefined;
          model = picked[0].fsPath;
        } else {
          model = await vscode.window.showInputBox({
            title: "Inversion: model URI",
            prompt: "node-llama-cpp model URI; downloaded once into the model cache",
            placeHolder: "hf:user/repo/model.Q4_K_M.gguf",
            validateInput: (v) => (/^(hf:|https?:)/.test(v.trim()) ? undefined : "Start with hf: or https:"),
          });
          if (!model) return undefined;
          model = model.trim();
        }
      }
      const target = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
      await vscode.workspace.getConfiguration("inversion").update("model", model, target);
      shownMissing.delete(model);
      shownError.delete(model);
      if (client.isRunning()) await client.sendRequest(ReloadModelRequest.type);
      return model;
    }),
    vscode.commands.registerCommand("inversion.showLog", () => output.show(true)),
    vscode.commands.registerCommand("inversion.restartServer", async () => {
      await client.restart();
    }),
    vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: WebviewState | undefined) {
        ProgressPanel.revive(panel, context.extensionUri, backend, state);
      },
    }),
    { dispose: () => ProgressPanel.current?.dispose() },
  );

  context.subscriptions.push(client);
  try {
    await client.start();
  } catch (err) {
    output.appendLine(`The language server did not start: ${(err as Error).message}`);
    statusBar.setClient("stopped");
  }

  return {
    client,
    status: () => lastStatus,
    onStatus: statusEmitter.event,
    panel: () => ProgressPanel.current,
    missingModelMessages,
    cancelActiveRun: () => {
      if (!activeRunCancel) return false;
      activeRunCancel.cancel();
      return true;
    },
    statusBarText: () => statusBar.text,
  };
}

export function deactivate(): Thenable<void> | undefined {
  return undefined;
}
