// The extension's shared state: the language client, the output channel, the status bar and what has already been
// told to the user. Commands and notification handlers receive it (rust-analyzer's `Ctx`).
import * as vscode from "vscode";
import type { LanguageClient } from "vscode-languageclient/node";
import { ListRunsRequest, ReadCycleExamplesRequest, ReadRunRequest, type RunView, type ServerStatus } from "../../common/protocol";
import type { PanelBackend } from "./panel";
import type { StatusBar } from "./statusBar";
import type { WorkspaceSettingsGate } from "./trust";

export class Ctx {
  lastStatus: ServerStatus | null = null;
  /** The latest view the server sent of the run started from this window (the highest version). */
  live: RunView | null = null;
  activeRunCancel: vscode.CancellationTokenSource | null = null;
  /** Messages shown to the user about a missing model (the VS Code suite counts them: client/src/testHooks.ts). */
  readonly missingModelMessages: string[] = [];
  /** Model paths already reported as missing or failing (each is told once). */
  readonly shownMissing = new Set<string>();
  readonly shownError = new Set<string>();
  /** Model paths whose failed self-check the user has been told about. */
  readonly shownUnfit = new Set<string>();
  shownNoModel = false;
  readonly statusEmitter = new vscode.EventEmitter<ServerStatus>();
  /** Each newer view of the run started from this window (`live`), as it is taken. */
  readonly runViewEmitter = new vscode.EventEmitter<RunView>();
  readonly backend: PanelBackend;

  constructor(
    readonly extension: vscode.ExtensionContext,
    readonly client: LanguageClient,
    readonly output: vscode.LogOutputChannel,
    readonly statusBar: StatusBar,
    readonly workspaceSettings: WorkspaceSettingsGate,
  ) {
    this.backend = {
      listRuns: async () => {
        const r = await client.sendRequest(ListRunsRequest.type);
        return { runs: r.runs, latest: r.latest };
      },
      readRun: (runDir) => client.sendRequest(ReadRunRequest.type, { runDir }),
      readCycleExamples: (runDir, cycle) => client.sendRequest(ReadCycleExamplesRequest.type, { runDir, cycle }),
      live: () => this.live,
      log: (m) => output.appendLine(m),
    };
  }

  /** A warning with the two ways to set a model. */
  async missingModel(message: string): Promise<void> {
    this.missingModelMessages.push(message);
    const choice = await vscode.window.showWarningMessage(message, "Select model", "Open settings");
    if (choice === "Select model") await vscode.commands.executeCommand("inversion.selectModel");
    else if (choice === "Open settings") await vscode.commands.executeCommand("workbench.action.openSettings", "inversion.model");
  }
}
