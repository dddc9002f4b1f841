// The Inversion language server: one method per request (bash-language-server style), each delegating to a
// small module (diagnostics, scoring, runs, model host).
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
  type CodeActionParams,
  type Connection,
  type Hover,
  type HoverParams,
  type InitializeParams,
  type InitializeResult,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import {
  InversionErrorCodes,
  ListRunsRequest,
  ModelMissingNotification,
  ReadCycleExamplesRequest,
  ReadRunRequest,
  ReloadModelRequest,
  RunCyclesRequest,
  ScoreCommandRequest,
  StopRunRequest,
  VisibleRangesNotification,
  DEFAULT_SETTINGS,
  type CommandScore,
  type InversionSettings,
  type ServerStatus,
} from "../../../common/protocol";
import { loadShellParser, type ParsedCommand, type ScriptCommand, type ShellParser } from "../shell/parser";
import { quickFixes } from "./codeActions";
import { entryAt } from "./commandAt";
import { DiagnosticsScheduler } from "./diagnostics";
import { ModelHost } from "./modelHost";
import { note, req, req0 } from "./protocolTypes";
import { RunRequests } from "./runRequests";
import { hoverFor } from "./hover";
import { shippedGrounding, type Grounding } from "../check/grounded";
import { CommandScoreCache, unscorable } from "./scoring";
import { SelfCheckHost } from "./selfCheckHost";
import { defaultModelPath } from "../knowledge/shipped";
import { modelProblem } from "./modelHost";
import { normalizeSettings } from "./settings";
import { StatusReporter } from "./statusReporter";
import { abortOn } from "./workDone";
import { closedAfterShutdown } from "./afterShutdown";
import { WorkQueue } from "./workQueue";

export function startServer(connection: Connection = createConnection(ProposedFeatures.all)): Connection {
  new InversionServer(connection).listen();
  return connection;
}

export class InversionServer {
  private readonly documents = new TextDocuments(TextDocument);
  private readonly queue = new WorkQueue();
  private readonly scores = new CommandScoreCache();
  private readonly status: StatusReporter;
  private readonly host: ModelHost;
  private readonly diagnostics: DiagnosticsScheduler;
  private readonly runs: RunRequests;
  private readonly selfChecks: SelfCheckHost;
  private settings: InversionSettings = DEFAULT_SETTINGS;
  private hasConfiguration = false;
  private initSettings: unknown = undefined;
  private parserPromise: Promise<ShellParser> | undefined;
  /** Set by the `shutdown` request: from then on requests are refused and notifications dropped (afterShutdown.ts). */
  private shuttingDown = false;

  constructor(private readonly connection: Connection) {
    this.status = new StatusReporter(connection);
    this.host = new ModelHost(
      {
        status: (s) => this.status.update({ progress: undefined, ...s }),
        missing: (modelPath, reason) => void connection.sendNotification(note(ModelMissingNotification.type), { modelPath, reason }),
        log: this.log,
      },
      (fn) => void this.queue.run(-1, undefined, fn).catch((err) => this.log(`dispose failed: ${err}`)),
    );
    this.selfChecks = new SelfCheckHost(this.queue, (selfCheck) => this.status.update({ selfCheck }), this.log);
    this.diagnostics = new DiagnosticsScheduler({
      queue: this.queue,
      host: this.host,
      scorer: this.scores,
      grounding: () => this.grounding(),
      selfCheck: (grounding) => this.selfChecks.of(grounding),
      parser: () => this.parser(),
      settings: () => this.settings,
      getDocument: (uri) => this.documents.get(uri),
      publish: (uri, version, d) => void connection.sendDiagnostics({ uri, version, diagnostics: d }),
      log: this.log,
    });
    this.runs = new RunRequests({
      connection,
      settings: async () => (await this.pullSettings(), this.settings),
      log: this.log,
      onRunEnded: () => this.settings.hoverAdapter === "best" && void this.applySettings(),
    });
  }

  listen(): void {
    const c = closedAfterShutdown(this.connection, () => this.shuttingDown);
    c.onInitialize(this.onInitialize.bind(this));
    c.onInitialized(this.onInitialized.bind(this));
    c.onDidChangeConfiguration(() => void this.applySettings());
    c.onNotification(note(VisibleRangesNotification.type), (p) => this.diagnostics.setVisible(p.uri, p.ranges));
    c.onHover(this.onHover.bind(this));
    c.onCodeAction(this.onCodeAction.bind(this));
    c.onRequest(req(ScoreCommandRequest.type), this.onScoreCommand.bind(this));
    c.onRequest(req(RunCyclesRequest.type), this.runs.onRunCycles.bind(this.runs));
    c.onRequest(req0(StopRunRequest.type), this.runs.onStopRun.bind(this.runs));
    c.onRequest(req0(ListRunsRequest.type), this.runs.onListRuns.bind(this.runs));
    c.onRequest(req(ReadRunRequest.type), this.runs.onReadRun.bind(this.runs));
    c.onRequest(req(ReadCycleExamplesRequest.type), this.runs.onReadCycleExamples.bind(this.runs));
    c.onRequest(req0(ReloadModelRequest.type), this.onReloadModel.bind(this));
    c.onShutdown(this.onShutdown.bind(this));
    this.documents.onDidOpen((e) => this.diagnostics.schedule(e.document.uri, 0));
    this.documents.onDidChangeContent((e) => this.diagnostics.schedule(e.document.uri));
    this.documents.onDidClose((e) => {
      this.diagnostics.close(e.document.uri);
      void c.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
    });
    this.documents.listen(c);
    c.listen();
  }

  private readonly log = (m: string): void => this.connection.console.log(`[${new Date().toISOString().slice(11, 23)}] ${m}`);

  private onInitialize(params: InitializeParams): InitializeResult {
    this.hasConfiguration = !!params.capabilities.workspace?.configuration;
    this.initSettings = (params.initializationOptions as { settings?: unknown } | undefined)?.settings;
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
      },
      serverInfo: { name: "inversion-language-server", version: "0.1.0" },
    };
  }

  private async onInitialized(): Promise<void> {
    if (this.hasConfiguration) void this.connection.client.register(DidChangeConfigurationNotification.type, { section: "inversion" }).catch(() => undefined);
    await this.applySettings();
    this.status.send();
    this.log(`Inversion language server ${process.pid} ready (node ${process.version}).`);
  }

  private async onHover(params: HoverParams, token: CancellationToken): Promise<Hover | null> {
    try {
      const entry = await this.commandAt(params.textDocument.uri, params.position.line, params.position.character);
      if (!entry) return null;
      const grounding = this.grounding();
      const markdown = await hoverFor(entry, {
        parser: await this.parser(),
        grounding: "error" in grounding ? null : grounding,
        selfCheck: (g) => this.selfChecks.ready(g),
        score: (parsed) => this.score(entry, token, parsed),
        noModel: modelProblem(this.settings.model) ?? undefined,
        signal: abortOn(token).signal,
      });
      return {
        contents: { kind: "markdown", value: markdown },
        range: { start: { line: entry.startLine, character: entry.startCol }, end: { line: entry.endLine, character: entry.endCol } },
      };
    } catch (err) {
      if (token.isCancellationRequested) return null;
      this.log(`Hover failed: ${(err as Error).stack ?? err}`);
      return null;
    }
  }

  private async onScoreCommand(params: ScoreCommandRequest.Params, token: CancellationToken): Promise<CommandScore | null> {
    try {
      return await this.scoreAt(params.uri, params.position.line, params.position.character, token);
    } catch (err) {
      if (token.isCancellationRequested) return null;
      throw new ResponseError(InversionErrorCodes.scoreFailed, (err as Error).message);
    }
  }

  private onCodeAction(params: CodeActionParams): CodeAction[] {
    const doc = this.documents.get(params.textDocument.uri);
    return doc ? quickFixes(doc, params) : [];
  }

  private async onReloadModel(): Promise<ServerStatus> {
    await this.applySettings({ force: true });
    void this.host.get();
    return this.status.snapshot();
  }

  private async onShutdown(): Promise<void> {
    this.shuttingDown = true;
    await this.runs.shutdown();
    await this.host.dispose();
  }

  private async scoreAt(uri: string, line: number, character: number, token?: CancellationToken): Promise<CommandScore | null> {
    const entry = await this.commandAt(uri, line, character);
    return entry ? this.score(entry, token) : null;
  }

  /** The scorable command at a position of an open document. */
  private async commandAt(uri: string, line: number, character: number): Promise<ScriptCommand | null> {
    const doc = this.documents.get(uri);
    if (!doc) return null;
    const entries = await this.diagnostics.entriesAround(doc, line);
    const entry = entries ? entryAt(entries, line, character) : undefined;
    return entry && !unscorable(entry) ? entry : null;
  }

  private async score(entry: ScriptCommand, token?: CancellationToken, parsed?: ParsedCommand): Promise<CommandScore | null> {
    const ac = abortOn(token);
    const engine = await this.host.get(ac.signal);
    if (!engine || ac.signal.aborted) return null;
    return this.queue.run(0, ac.signal, (s) => this.scores.full(engine, entry, s, parsed));
  }

  /** The example index (loaded on first use) and this machine's man pages. */
  private grounding(): Grounding | { error: string } {
    const g = shippedGrounding(() => this.parser());
    if ("error" in g && !this.loggedGroundingError) {
      this.loggedGroundingError = true;
      this.log(`Comment checks and examples are unavailable: ${g.error}`);
    }
    return g;
  }

  private loggedGroundingError = false;

  private parser(): Promise<ShellParser> {
    this.parserPromise ??= loadShellParser({ wasmDir: __dirname }).catch((err) => {
      this.parserPromise = undefined;
      throw err;
    });
    return this.parserPromise;
  }

  private async pullSettings(): Promise<void> {
    let raw: unknown = this.initSettings;
    if (this.hasConfiguration) {
      try {
        raw = await this.connection.workspace.getConfiguration({ section: "inversion" });
      } catch (err) {
        this.log(`Could not read the configuration: ${(err as Error).message}`);
      }
    }
    const settings = normalizeSettings(raw, (m) => this.log(m));
    this.settings = settings.model ? settings : { ...settings, model: defaultModelPath() ?? "" };
  }

  private async applySettings(opts: { force?: boolean } = {}): Promise<void> {
    await this.pullSettings();
    const changed = await this.host.configure(this.settings, opts);
    if (changed || opts.force) this.scores.clear();
    for (const doc of this.documents.all()) this.diagnostics.schedule(doc.uri, 0);
  }
}
