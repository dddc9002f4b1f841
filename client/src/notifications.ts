// Handlers of the server's notifications: status (status bar, one message per failing model), missing model, and
// the live run's view (status bar and panel render it as received).
import * as vscode from "vscode";
import { ModelMissingNotification, RunViewNotification, StatusNotification, type RunView, type ServerStatus } from "../../common/protocol";
import { isStaleView } from "../../common/runView";
import type { Ctx } from "./ctx";
import { ProgressPanel } from "./panel";

export function registerNotifications(ctx: Ctx): vscode.Disposable[] {
  return [
    ctx.client.onNotification(StatusNotification.type, (s) => onStatus(ctx, s)),
    ctx.client.onNotification(ModelMissingNotification.type, (p) => onModelMissing(ctx, p)),
    ctx.client.onNotification(RunViewNotification.type, (v) => showRunView(ctx, v)),
  ];
}

function onStatus(ctx: Ctx, s: ServerStatus): void {
  ctx.lastStatus = s;
  ctx.statusBar.setStatus(s);
  ctx.statusEmitter.fire(s);
  if (s.model === "error" && s.modelPath && !ctx.shownError.has(s.modelPath)) {
    // Once per model path: the status bar keeps showing the state afterwards. The server has logged the failure
    // to the same output channel; logging it here again would report it twice.
    ctx.shownError.add(s.modelPath);
    void vscode.window.showErrorMessage(`Inversion: the model could not be loaded: ${(s.message ?? "").split("\n")[0]}`, "Select model", "Show log").then((c) => {
      if (c === "Select model") void vscode.commands.executeCommand("inversion.selectModel");
      else if (c === "Show log") ctx.output.show(true);
    });
  }
  // "none" with a path is a configured model that has not loaded yet: not a missing model.
  if (s.model === "none" && !s.modelPath && !ctx.shownNoModel && vscode.workspace.textDocuments.some((d) => d.languageId === "shellscript")) {
    ctx.shownNoModel = true;
    void ctx.missingModel("Inversion needs a local model (.gguf) for hovers, diagnostics and runs.");
  }
  // The comment check rests on the example index and man pages, not the model: said once per window, with the log.
  if (s.selfCheck && !s.selfCheck.fit && !ctx.shownUnfit.has("comment-check")) {
    ctx.shownUnfit.add("comment-check");
    void vscode.window.showInformationMessage(`Inversion: ${s.selfCheck.summary}`, "Show log").then((c) => c && ctx.output.show(true));
  }
}

function onModelMissing(ctx: Ctx, p: ModelMissingNotification.Params): void {
  if (ctx.shownMissing.has(p.modelPath)) return;
  ctx.shownMissing.add(p.modelPath);
  void ctx.missingModel(`Inversion: ${p.reason}`);
}

/**
 * A view of the run started from this window, from a notification or the run request's answer: the newest becomes
 * the one run state the window shows (the status bar, the progress notification, the panel).
 */
export function showRunView(ctx: Ctx, view: RunView): void {
  if (isStaleView(ctx.live, view)) return;
  ctx.live = view;
  ctx.statusBar.setRun(view);
  ctx.runViewEmitter.fire(view);
  ProgressPanel.current?.showLive(view);
}
