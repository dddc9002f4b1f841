import {
  CodeActionKind,
  DidChangeConfigurationNotification,
  ProposedFeatures,
  ResponseError,
  TextDocumentSyncKind,
  TextDocuments,
  createConnection,
  type CancellationToken,
  type CodeAction,
  type Connection,
  type Hover,
  type WorkDoneProgressReporter,
  WorkDoneProgress,
  type WorkDoneProgressBegin,
  type WorkDoneProgressEnd,
  type WorkDoneProgressReport,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
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
  DEFAULT_SETTINGS,
  type CommandScore,
  type InversionSettings,
  type ServerStatus,
} from "../../../common/protocol";
import { latestRun, readRun } from "../engine/api";
import type { RunEvent } from "../engine/types";
import { loadShellParser, type ScriptCommand, type ShellParser } from "../shell/parser";
import { DIAGNOSTIC_SOURCE, DiagnosticsScheduler, type MismatchData } from "./diagnostics";
import { ModelHost, modelProblem } from "./modelHost";
import { note, req, req0 } from "./protocolTypes";
import { RunManager, describe, listRuns, percent, runOptions } from "./runs";
import { Scorer, hoverMarkdown, unscorable } from "./scoring";
import { normalizeSettings } from "./settings";
import { WorkQueue } from "./workQueue";

export function entryAt(entries: ScriptCommand[], line: number, character: number): ScriptCommand | undefined {
  return entries.find((e) => {
    if (line < e.startLine || line > e.endLine) return false;
    if (line === e.startLine && character < e.startCol) return false;
    if (line === e.endLine && character > e.endCol) return false;
    return true;
  });
}

function abortOn(token: CancellationToken | undefined, ...more: (CancellationToken | undefined)[]): AbortController {
  const ac = new AbortController();
  for (const t of [token, ...more]) {
    if (!t) continue;
    if (t.isCancellationRequested) ac.abort();
    else t.onCancellationRequested(() => ac.abort());
  }
  return ac;
}

export function startServer(connection: Connection = createConnection(ProposedFeatures.all)): Connection {
  const documents = new TextDocuments(TextDocument);
  const queue = new WorkQueue();
  const scorer = new Scorer();
  const runs = new RunManager();
  let settings: InversionSettings = DEFAULT_SETTINGS;
  let hasConfiguration = false;
  let initSettings: unknown = undefined;
  let parserPromise: Promise<ShellParser> | undefined;
  const log = (m: string): void => connection.console.log(`[${new Date().toISOString().slice(11, 23)}] ${m}`);

  const status: ServerStatus = {
    pid: process.pid,
    model: "none",
    modelPath: null,
    adapterPath: null,
    message: null,
    run: "idle",
    runDir: null,
    lastCycle: null,
  };
  let statusTimer: NodeJS.Timeout | undefined;
  const sendStatus = (): void => {
    // Coalesce bursts (loading progress) to at most ~10 per second.
    if (statusTimer) return;
    statusTimer = setTimeout(() => {
      statusTimer = undefined;
      void connection.sendNotification(note(StatusNotification.type), { ...status });
    }, 100);
  };

  const host = new ModelHost(
    {
      status: (s) => {
        Object.assign(status, s);
        if (s.progress === undefined) delete status.progress;
        sendStatus();
      },
      missing: (modelPath, reason) => void connection.sendNotification(note(ModelMissingNotification.type), { modelPath, reason }),
      log,
    },
    (fn) => void queue.run(-1, undefined, fn).catch((err) => log(`dispose failed: ${err}`)),
  );

  const parser = (): Promise<ShellParser> => {
    parserPromise ??= loadShellParser({ wasmDir: __dirname }).catch((err) => {
      parserPromise = undefined;
      throw err;
    });
    return parserPromise;
  };

  const diagnostics = new DiagnosticsScheduler({
    queue,
    host,
    scorer,
    parser,
    settings: () => settings,
    getDocument: (uri) => documents.get(uri),
    publish: (uri, version, d) => void connection.sendDiagnostics({ uri, version, diagnostics: d }),
    log,
  });

  async function pullSettings(): Promise<void> {
    let raw: unknown = initSettings;
    if (hasConfiguration) {
      try {
        raw = await connection.workspace.getConfiguration({ section: "inversion" });
      } catch (err) {
        log(`Could not read the configuration: ${(err as Error).message}`);
      }
    }
    settings = normalizeSettings(raw);
  }

  async function applySettings(opts: { force?: boolean } = {}): Promise<void> {
    await pullSettings();
    const changed = await host.configure(settings, opts);
    if (changed || opts.force) scorer.clear();
    for (const doc of documents.all()) diagnostics.schedule(doc.uri, 0);
  }

  connection.onInitialize((params) => {
    hasConfiguration = !!params.capabilities.workspace?.configuration;
    initSettings = (params.initializationOptions as { settings?: unknown } | undefined)?.settings;
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
      },
      serverInfo: { name: "inversion-language-server", version: "0.1.0" },
    };
  });

  connection.onInitialized(async () => {
    if (hasConfiguration) void connection.client.register(DidChangeConfigurationNotification.type, { section: "inversion" }).catch(() => undefined);
    await applySettings();
    sendStatus();
    log(`Inversion language server ${process.pid} ready (node ${process.version}).`);
  });

  connection.onDidChangeConfiguration(() => void applySettings());

  connection.onNotification(note(VisibleRangesNotification.type), (p) => diagnostics.setVisible(p.uri, p.ranges));

  documents.onDidOpen((e) => diagnostics.schedule(e.document.uri, 0));
  documents.onDidChangeContent((e) => diagnostics.schedule(e.document.uri));
  documents.onDidClose((e) => {
    diagnostics.close(e.document.uri);
    void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });

  async function scoreAt(uri: string, line: number, character: number, token?: CancellationToken): Promise<CommandScore | null> {
    const doc = documents.get(uri);
    if (!doc) return null;
    const parsed = await diagnostics.entries(doc);
    if (!parsed.entries) return null;
    const entry = entryAt(parsed.entries, line, character);
    if (!entry || unscorable(entry)) return null;
    const ac = abortOn(token);
    const engine = await host.get(ac.signal);
    if (!engine || ac.signal.aborted) return null;
    return queue.run(0, ac.signal, (s) => scorer.full(engine, entry, s));
  }

  connection.onHover(async (params, token): Promise<Hover | null> => {
    try {
      const r = await scoreAt(params.textDocument.uri, params.position.line, params.position.character, token);
      if (!r) return null;
      return {
        contents: { kind: "markdown", value: hoverMarkdown(r, settings.diagnostics.threshold) },
        range: { start: { line: r.range.startLine, character: r.range.startCol }, end: { line: r.range.endLine, character: r.range.endCol } },
      };
    } catch (err) {
      if (token.isCancellationRequested) return null;
      log(`Hover failed: ${(err as Error).stack ?? err}`);
      return null;
    }
  });

  connection.onRequest(req(ScoreCommandRequest.type), async (params, token) => {
    try {
      return await scoreAt(params.uri, params.position.line, params.position.character, token);
    } catch (err) {
      if (token.isCancellationRequested) return null;
      throw new ResponseError(1, (err as Error).message);
    }
  });

  connection.onCodeAction((params): CodeAction[] => {
    const doc = documents.get(params.textDocument.uri);
    if (!doc) return [];
    const actions: CodeAction[] = [];
    for (const d of params.context.diagnostics) {
      if (d.source !== DIAGNOSTIC_SOURCE) continue;
      const data = d.data as MismatchData | undefined;
      const reading = data?.reading?.replace(/\s+/g, " ").trim();
      if (!reading) continue;
      const lineText = doc.getText({ start: { line: d.range.start.line, character: 0 }, end: { line: d.range.start.line, character: d.range.start.character } });
      const indent = /^\s*/.exec(lineText)?.[0] ?? "";
      actions.push({
        title: `Insert the model's reading as a comment: “${reading.length > 60 ? reading.slice(0, 57) + "…" : reading}”`,
        kind: CodeActionKind.QuickFix,
        diagnostics: [d],
        edit: {
          changes: {
            [params.textDocument.uri]: [{ range: { start: { line: d.range.start.line, character: 0 }, end: { line: d.range.start.line, character: 0 } }, newText: `${indent}# ${reading}\n` }],
          },
        },
      });
    }
    return actions;
  });

  /** Work-done progress for a request: the client's token when it sent one, else a server-initiated one. */
  async function workDoneFor(params: { workDoneToken?: string | number } | undefined): Promise<WorkDoneProgressReporter> {
    const t = params?.workDoneToken;
    if (t === undefined) return connection.window.createWorkDoneProgress();
    const send = (value: WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd): void =>
      void connection.sendProgress(WorkDoneProgress.type, t, value);
    return {
      begin: (title, percentage, message, cancellable) => send({ kind: "begin", title, percentage, message, cancellable }),
      report: (a: number | string, b?: string) =>
        send(typeof a === "number" ? { kind: "report", percentage: a, message: b } : { kind: "report", message: a }),
      done: () => send({ kind: "end" }),
    } as WorkDoneProgressReporter;
  }

  connection.onRequest(req(RunCyclesRequest.type), async (params, token) => {
    if (runs.active) throw new ResponseError(2, `A run is already in progress (${runs.active.runDir}); stop it first.`);
    await pullSettings();
    let opts;
    try {
      opts = runOptions(settings, params?.overrides);
    } catch (err) {
      throw new ResponseError(3, (err as Error).message);
    }
    const problem = modelProblem(opts.modelPath);
    if (problem) throw new ResponseError(4, `${problem} Use “Inversion: Select model”.`);
    const progress = await workDoneFor(params);
    progress.begin("Inversion: self-improvement", 0, `Starting ${opts.cycles} cycle(s) in ${opts.out}`, true);
    let pct = 0;
    const onEvent = (e: RunEvent): void => {
      void connection.sendNotification(note(CycleProgressNotification.type), { runDir: opts.out, event: e });
      if (e.type === "log") log(`run: ${e.message}`);
      if (e.type === "cycle") {
        status.lastCycle = { cycle: e.record.cycle, meanScoreBefore: e.record.selection?.meanScore ?? e.record.before.meanScore, meanScoreAfter: e.record.after?.meanScore ?? null };
        sendStatus();
      }
      const text = describe(e, opts.cycles);
      if (text) {
        pct = percent(e, opts.cycles, pct);
        progress.report(pct, text);
      }
    };
    const active = runs.start(opts, onEvent);
    const onCancel = (): void => {
      if (runs.active === active && !active.abort.signal.aborted) {
        log("Run cancellation requested.");
        active.abort.abort();
        status.run = "cancelling";
        sendStatus();
      }
    };
    token.onCancellationRequested(onCancel);
    (progress as { token?: CancellationToken }).token?.onCancellationRequested(onCancel);
    status.run = "running";
    status.runDir = opts.out;
    status.lastCycle = null;
    sendStatus();
    log(`Run started: ${opts.out} (${opts.cycles} cycles, ${opts.tasks} tasks, ${opts.candidates} candidates, train ${opts.train})`);
    try {
      const result = await active.promise;
      log(`Run ${result.cancelled ? "cancelled" : "finished"}: ${result.runDir}, ${result.cycles.length} cycle(s) recorded.`);
      return result;
    } catch (err) {
      log(`Run failed: ${(err as Error).stack ?? err}`);
      throw new ResponseError(5, `The run failed: ${(err as Error).message}`);
    } finally {
      progress.done();
      status.run = "idle";
      sendStatus();
      // A new best adapter may exist now.
      if (settings.hoverAdapter === "best") void applySettings();
    }
  });

  connection.onRequest(req0(StopRunRequest.type), () => {
    const stopped = runs.stop();
    if (stopped) {
      status.run = "cancelling";
      sendStatus();
      log("Run stop requested.");
    }
    return { stopped };
  });

  connection.onRequest(req0(ListRunsRequest.type), async () => {
    await pullSettings();
    return {
      runsDirectory: settings.runsDirectory,
      runs: await listRuns(settings.runsDirectory),
      latest: settings.runsDirectory ? await latestRun(settings.runsDirectory) : null,
    };
  });

  connection.onRequest(req(ReadRunRequest.type), async (params) => {
    try {
      const r = await readRun(params.runDir);
      return { runDir: params.runDir, cycles: r.cycles, config: r.config };
    } catch (err) {
      throw new ResponseError(6, `Cannot read the run ${params.runDir}: ${(err as Error).message}`);
    }
  });

  connection.onRequest(req0(ReloadModelRequest.type), async () => {
    await applySettings({ force: true });
    void host.get();
    return { ...status };
  });

  connection.onShutdown(async () => {
    runs.stop();
    await runs.active?.promise.catch(() => undefined);
    await host.dispose();
  });

  documents.listen(connection);
  connection.listen();
  return connection;
}
