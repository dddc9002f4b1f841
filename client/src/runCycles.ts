// "Run self-improvement cycle": one run at a time, with notification progress and a Cancel button that stops the
// run on the server (the server aborts the engine and trainer, then answers with the run's final view).
import * as vscode from "vscode";
import { randomUUID } from "node:crypto";
import { WorkDoneProgress } from "vscode-languageclient/node";
import { RunCyclesRequest, StopRunRequest, type RunOverrides, type RunView } from "../../common/protocol";
import type { Ctx } from "./ctx";
import { ProgressPanel } from "./panel";

type Progress = vscode.Progress<{ message?: string; increment?: number }>;

export async function runCycles(ctx: Ctx, overrides?: RunOverrides): Promise<RunCyclesRequest.Result | undefined> {
  if (ctx.activeRunCancel) {
    void vscode.window.showInformationMessage("Inversion: a run is already in progress.", "Show progress").then((c) => c && vscode.commands.executeCommand("inversion.showPanel"));
    return undefined;
  }
  const cts = new vscode.CancellationTokenSource();
  ctx.activeRunCancel = cts;
  try {
    return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: "Inversion", cancellable: true }, (progress, token) => {
      token.onCancellationRequested(() => cts.cancel());
      return runWithProgress(ctx, overrides, progress, cts.token);
    });
  } finally {
    ctx.activeRunCancel = null;
    cts.dispose();
  }
}

async function runWithProgress(ctx: Ctx, overrides: RunOverrides | undefined, progress: Progress, token: vscode.CancellationToken): Promise<RunView | undefined> {
  const workDoneToken = randomUUID();
  let stopAsked = false;
  const sub = forwardProgress(ctx, workDoneToken, progress, () => stopAsked);
  try {
    ctx.live = null;
    const request = ctx.client.sendRequest(RunCyclesRequest.type, { overrides, workDoneToken });
    // Registered after the run request is sent, so the stop reaches the server after it even when the cancel came
    // before the request went out; the server stops a run that is still starting.
    // Cancel stops the run rather than the request, so the answer is still the run's final view.
    const onCancel = token.onCancellationRequested(() => {
      stopAsked = true;
      progress.report({ message: "Stopping the run…" });
      void ctx.client.sendRequest(StopRunRequest.type);
    });
    const view = await request.finally(() => onCancel.dispose());
    ctx.statusBar.setRunProgress(null);
    ctx.live = view;
    ProgressPanel.current?.showLive(view);
    tellRunEnded(view, stopAsked);
    return view;
  } catch (err) {
    ctx.statusBar.setRunProgress(null);
    const message = (err as Error).message;
    ctx.output.error(`Run failed: ${message}`);
    void vscode.window.showErrorMessage(`Inversion: ${message}`, "Show log").then((c) => c && ctx.output.show(true));
    return undefined;
  } finally {
    sub.dispose();
  }
}

/** The server's summary, with the panel and, for a run that can continue, this editor's way to resume it. */
function tellRunEnded(view: RunView, stopAsked: boolean): void {
  const resume = view.resumable ? " Continue it with “Inversion: Resume run”." : "";
  // A stop that arrived once the last cycle was done is answered too, not left without a word.
  const late = stopAsked && view.state === "finished" ? " The stop came after its last cycle had completed." : "";
  const actions = view.resumable ? ["Show panel", "Resume run"] : ["Show panel"];
  void vscode.window.showInformationMessage(`Inversion: ${view.status}${late}${resume}`, ...actions).then((c) => {
    if (c === "Show panel") void vscode.commands.executeCommand("inversion.showPanel", view.runDir);
    else if (c === "Resume run") void vscode.commands.executeCommand("inversion.resumeRun", view.runDir);
  });
}

/** Work-done progress from the server, as increments of the notification's progress bar. */
function forwardProgress(ctx: Ctx, workDoneToken: string, progress: Progress, stopping: () => boolean): vscode.Disposable {
  let last = 0;
  return ctx.client.onProgress(WorkDoneProgress.type, workDoneToken, (v) => {
    if (v.kind === "end") return;
    const pct = v.percentage ?? last;
    progress.report({ message: stopping() ? `Stopping the run… (${v.message ?? ""})` : v.message, increment: Math.max(0, pct - last) });
    last = Math.max(last, pct);
  });
}
