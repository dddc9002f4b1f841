// "Run self-improvement cycle": one run at a time, with notification progress and a Cancel button that cancels
// the LSP request (the server aborts the engine and trainer).
import * as vscode from "vscode";
import { randomUUID } from "node:crypto";
import { WorkDoneProgress } from "vscode-languageclient/node";
import { RunCyclesRequest, type RunOverrides } from "../../common/protocol";
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

async function runWithProgress(ctx: Ctx, overrides: RunOverrides | undefined, progress: Progress, token: vscode.CancellationToken): Promise<RunCyclesRequest.Result | undefined> {
  const workDoneToken = randomUUID();
  const sub = forwardProgress(ctx, workDoneToken, progress);
  try {
    ctx.live = null;
    const result = await ctx.client.sendRequest(RunCyclesRequest.type, { overrides, workDoneToken }, token);
    runEnded(ctx);
    const text = runSummary(result);
    ctx.output.info(`${text} ${result.runDir}`);
    ProgressPanel.current?.onRunEnded(result.runDir, text);
    const actions = result.cancelled ? ["Show panel", "Resume run"] : ["Show panel"];
    void vscode.window.showInformationMessage(`Inversion: ${text}`, ...actions).then((c) => {
      if (c === "Show panel") void vscode.commands.executeCommand("inversion.showPanel", result.runDir);
      else if (c === "Resume run") void vscode.commands.executeCommand("inversion.resumeRun", result.runDir);
    });
    return result;
  } catch (err) {
    runEnded(ctx);
    if (token.isCancellationRequested) {
      ctx.output.appendLine("Run cancelled.");
      return { runDir: ctx.live?.runDir ?? "", cycles: [], cancelled: true };
    }
    const message = (err as Error).message;
    ctx.output.error(`Run failed: ${message}`);
    void vscode.window.showErrorMessage(`Inversion: ${message}`, "Show log").then((c) => c && ctx.output.show(true));
    return undefined;
  } finally {
    sub.dispose();
  }
}

/** "Run finished: 2 cycles, 5 examples accepted, trained in 2 cycles." — or why it did not train. */
export function runSummary(result: RunCyclesRequest.Result): string {
  const cycles = result.cycles;
  const accepted = cycles.reduce((n, c) => n + (c.selection?.accepted ?? 0), 0);
  const trained = cycles.filter((c) => c.train).length;
  const why = cycles.at(-1)?.trainSkipped ?? (cycles.length ? "no examples to train on" : "no cycle completed");
  const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? "" : "s"}`;
  const training = trained ? `trained in ${plural(trained, "cycle")}` : `not trained (${why})`;
  return `Run ${result.cancelled ? "cancelled" : "finished"}: ${plural(cycles.length, "cycle")}, ${plural(accepted, "example")} accepted, ${training}.`;
}

function runEnded(ctx: Ctx): void {
  ctx.statusBar.setRunProgress(null);
  if (ctx.live) ctx.live.running = false;
}

/** Work-done progress from the server, as increments of the notification's progress bar. */
function forwardProgress(ctx: Ctx, workDoneToken: string, progress: Progress): vscode.Disposable {
  let last = 0;
  return ctx.client.onProgress(WorkDoneProgress.type, workDoneToken, (v) => {
    if (v.kind === "end") return;
    const pct = v.percentage ?? last;
    progress.report({ message: v.message, increment: Math.max(0, pct - last) });
    last = Math.max(last, pct);
  });
}
