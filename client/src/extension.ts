// Inversion's VS Code client: starts the language server (dist/server.js) over IPC, registers the command table,
// the notification handlers, the status-bar item, the output channel and the progress panel.
import * as vscode from "vscode";
import { existsSync } from "node:fs";
import { DidChangeConfigurationNotification, LanguageClient, RevealOutputChannelOn, State, TransportKind, type LanguageClientOptions, type ServerOptions } from "vscode-languageclient/node";
import type { ServerStatus, WebviewState } from "../../common/protocol";
import { DEFAULT_MODEL_FILE } from "../../common/shipped";
import { registerCommands } from "./commands";
import { readSettings } from "./config";
import { Ctx } from "./ctx";
import { registerNotifications } from "./notifications";
import { PANEL_VIEW_TYPE, ProgressPanel } from "./panel";
import { StatusBar } from "./statusBar";
import { testHooks, type TestHooks } from "./testHooks";
import { WorkspaceSettingsGate } from "./trust";
import { trackVisibleRanges } from "./visibleRanges";

/** What `activate` returns: the language server's status, for other extensions and the integration tests. */
export interface InversionApi {
  status(): ServerStatus | null;
  readonly onStatus: vscode.Event<ServerStatus>;
  /** Only in the VS Code suite's extension host (client/src/testHooks.ts). */
  readonly testHooks?: TestHooks;
}

export async function activate(context: vscode.ExtensionContext): Promise<InversionApi> {
  const output = vscode.window.createOutputChannel("Inversion", { log: true });
  const statusBar = new StatusBar(context.asAbsolutePath(DEFAULT_MODEL_FILE));
  const client = createClient(context, output);
  // Decides before the server starts which values of the model settings it may receive; tells it when that changes.
  const workspaceSettings = new WorkspaceSettingsGate(context.workspaceState, () => client.isRunning() && void client.sendNotification(DidChangeConfigurationNotification.type, { settings: null }));
  const ctx = new Ctx(context, client, output, statusBar, workspaceSettings);
  context.subscriptions.push(
    output,
    statusBar,
    workspaceSettings,
    ctx.statusEmitter,
    ctx.runViewEmitter,
    client.onDidChangeState((e) => statusBar.setClient(e.newState === State.Running ? "running" : e.newState === State.Starting ? "starting" : "stopped")),
    ...registerNotifications(ctx),
    ...trackVisibleRanges(client),
    ...registerCommands(ctx),
    vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: WebviewState | undefined) {
        ProgressPanel.revive(panel, context.extensionUri, ctx.backend, state);
      },
    }),
    { dispose: () => ProgressPanel.current?.dispose() },
    client,
  );
  try {
    await client.start();
  } catch (err) {
    output.appendLine(`The language server did not start: ${(err as Error).message}`);
    statusBar.setClient("stopped");
  }
  return api(ctx);
}

function createClient(context: vscode.ExtensionContext, output: vscode.LogOutputChannel): LanguageClient {
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
        configuration: (params) =>
          params.items.map((item) => (item.section === "inversion" ? readSettings(context.globalStorageUri, item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined) : null)) as never,
      },
    },
    initializationOptions: () => ({ settings: readSettings(context.globalStorageUri) }),
  };
  return new LanguageClient("inversion", "Inversion", serverOptions, clientOptions);
}

function api(ctx: Ctx): InversionApi {
  return { status: () => ctx.lastStatus, onStatus: ctx.statusEmitter.event, testHooks: testHooks(ctx) };
}

export function deactivate(): Thenable<void> | undefined {
  return undefined;
}
