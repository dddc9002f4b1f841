// "Run self-improvement cycle": one run at a time, with notification progress and a Cancel button that stops the
// run on the server (the server aborts the engine and trainer, then answers with the run's final view).
import * as vscode from "vscode";
import { randomUUID } from "node:crypto";
import { InversionErrorCodes, RunCyclesRequest, StopRunRequest, type RunOverrides, type RunView } from "../../common/protocol";
import { runGoesOn } from "../../common/runView";
import type { Ctx } from "./ctx";
import { showRunView } from "./notifications";

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
  // The server reports $/progress for LSP clients in general; this window shows the run's views instead. Giving it a
  // token of ours keeps it from opening a second, server-created progress notification here.
  const workDoneToken = randomUUID();
  let stopAsked = false;
  const sub = progressFromViews(ctx, progress);
  try {
    // a new run (a resumed one too) starts its views at version 1
    ctx.live = null;
    ctx.statusBar.setRun(null);
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
    showRunView(ctx, view);
    tellRunEnded(view, stopAsked);
    return view;
  } catch (err) {
    const message = (err as Error).message;
    ctx.output.error(`Run failed: ${message}`);
    const modelUnusable = (err as { code?: unknown }).code === InversionErrorCodes.modelUnusable;
    void vscode.window.showErrorMessage(`Inversion: ${message}`, ...(modelUnusable ? ["Select model", "Show log"] : ["Show log"])).then((c) => {
      if (c === "Select model") void vscode.commands.executeCommand("inversion.selectModel");
      else if (c === "Show log") ctx.output.show(true);
    });
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

/** The run's views as the notification's line and increments of its progress bar. */
function progressFromViews(ctx: Ctx, progress: Progress): vscode.Disposable {
  let last = 0;
  return ctx.runViewEmitter.event((view) => {
    if (!runGoesOn(view)) return;
    progress.report({ message: view.status, increment: Math.max(0, view.percent - last) });
    last = Math.max(last, view.percent);
  });
}
