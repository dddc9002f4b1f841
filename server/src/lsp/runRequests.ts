// The run requests of the language server (run, stop, list, read): one method per request.
import { ResponseError, type CancellationToken, type Connection, type WorkDoneProgressReporter } from "vscode-languageserver/node";
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import {
  InversionErrorCodes,
  RunViewNotification,
  type InversionSettings,
  type ListRunsRequest,
  type ReadCycleExamplesRequest,
  type ReadRunRequest,
  type RunCyclesRequest,
  type RunOverrides,
  type RunView,
} from "../../../common/protocol";
import { isResume, readRun, readRunExamples, resumedRunOptions, type ResumeOptions, type RunOptions } from "../engine/api";
import type { CycleRecord, RunEvent } from "../engine/types";
import { modelProblem } from "./modelHost";
import { note } from "./protocolTypes";
import { RunManager, listRuns, runFromSettings, runOverridesOf, type ActiveRun } from "./runs";
import { LiveRunView, cycleExamplesView, storedRunView } from "../view/runView";
import { workDoneFor } from "./workDone";
import { RunParamError } from "../../../common/runParams";

export interface RunRequestDeps {
  connection: Connection;
  /** Pulls the current settings from the client. */
  settings: () => Promise<InversionSettings>;
  log: (message: string) => void;
  /** Called when a run ends (a new best adapter may exist). */
  onRunEnded: () => void;
}

export class RunRequests {
  private readonly runs = new RunManager();
  /** A run whose request arrived and whose settings are being read: a stop now stops it before it starts. */
  private starting: AbortController | null = null;
  /** The view of the run going on: where the run stands, for every front end (the one run state). */
  private live: LiveRunView | null = null;

  constructor(private readonly deps: RunRequestDeps) {}

  async onRunCycles(params: RunCyclesRequest.Params | undefined, token: CancellationToken): Promise<RunCyclesRequest.Result> {
    if (this.runs.active || this.starting) throw new ResponseError(InversionErrorCodes.runInProgress, `A run is already in progress (${this.runs.active?.runDir ?? "starting"}); stop it first.`);
    // From here the run can be stopped, also while its settings are read (before, a stop then found no run and was lost).
    const starting = new AbortController();
    this.starting = starting;
    token.onCancellationRequested(() => starting.abort());
    let run: RunOptions | ResumeOptions;
    let opts: RunOptions;
    let named: boolean;
    let done: CycleRecord[];
    let progress: WorkDoneProgressReporter;
    try {
      ({ run, opts, named } = await this.options(params));
      // a resumed run shows its cycles from the start
      done = isResume(run) ? await readRun(run.out).then((r) => r.cycles, () => []) : [];
      progress = await workDoneFor(this.deps.connection, params);
    } finally {
      this.starting = null;
    }
    const view = new LiveRunView(opts.out, opts.cycles, done);
    if (starting.signal.aborted) {
      progress.done();
      const final = view.end(done, true);
      this.deps.log(`Run stopped before it started: ${opts.out}`);
      this.sendView(final);
      return final;
    }
    progress.begin("Inversion: self-improvement", 0, `Starting ${opts.cycles} cycle(s) in ${opts.out}`, true);
    const active = this.runs.start(run, this.eventHandler(view, progress));
    this.cancelOn(active, token, (progress as { token?: CancellationToken }).token);
    this.live = view;
    this.sendView(view.started());
    this.deps.log(`Run started: ${opts.out} (${opts.cycles} cycles, ${opts.tasks} tasks, ${opts.candidates} candidates, learn ${opts.learn})`);
    try {
      const result = await active.promise;
      // A run stopped before its first cycle completed keeps nothing: the directory this server named for it goes, so
      // it is neither the latest run nor offered to resume.
      if (result.cancelled && result.cycles.length === 0 && named) await this.removeRunDir(opts.out);
      const final = view.end(result.cycles, result.cancelled);
      this.deps.log(`${final.status} ${result.runDir}`);
      this.sendView(final);
      return final;
    } catch (err) {
      this.deps.log(`Run failed: ${(err as Error).stack ?? err}`);
      this.sendView(view.failed((err as Error).message));
      throw new ResponseError(InversionErrorCodes.runFailed, `The run failed: ${(err as Error).message}`);
    } finally {
      progress.done();
      this.live = null;
      this.deps.onRunEnded();
    }
  }

  onStopRun(): { stopped: boolean } {
    if (this.starting) {
      this.starting.abort();
      this.deps.log("Run stop requested while the run was starting.");
      return { stopped: true };
    }
    const stopped = this.runs.stop();
    if (stopped) {
      this.sendStopping();
      this.deps.log("Run stop requested.");
    }
    return { stopped };
  }

  /** One listing of the runs directory answers both: the runs, newest first, and so the latest. */
  async onListRuns(): Promise<ListRunsRequest.Result> {
    const { runsDirectory } = await this.deps.settings();
    const runs = await listRuns(runsDirectory);
    return { runsDirectory, runs, latest: runs[0]?.runDir ?? null };
  }

  async onReadRun(params: ReadRunRequest.Params): Promise<ReadRunRequest.Result> {
    try {
      return storedRunView(params.runDir, (await readRun(params.runDir)).cycles);
    } catch (err) {
      throw new ResponseError(InversionErrorCodes.runUnreadable, `Cannot read the run ${params.runDir}: ${(err as Error).message}`);
    }
  }

  async onReadCycleExamples(params: ReadCycleExamplesRequest.Params): Promise<ReadCycleExamplesRequest.Result> {
    if (!params || typeof params.runDir !== "string" || !Number.isSafeInteger(params.cycle)) throw new ResponseError(InversionErrorCodes.invalidParams, "readCycleExamples takes a runDir and a cycle number.");
    try {
      const [{ cycles }, candidates] = await Promise.all([readRun(params.runDir), readRunExamples(params.runDir)]);
      return cycleExamplesView(params.runDir, params.cycle, candidates, cycles.find((c) => c.cycle === params.cycle));
    } catch (err) {
      throw new ResponseError(InversionErrorCodes.runUnreadable, `Cannot read the examples of ${params.runDir}: ${(err as Error).message}`);
    }
  }

  /** Stops the active run and waits for it (server shutdown). */
  async shutdown(): Promise<void> {
    this.runs.stop();
    await this.runs.active?.promise.catch(() => undefined);
  }

  /**
   * The run asked for (a new one, or a resume); the options it runs with (a resume's recorded ones, to its recorded
   * or given total); and whether this server named its directory (a new run given no directory).
   */
  private async options(params: RunCyclesRequest.Params | undefined): Promise<{ run: RunOptions | ResumeOptions; opts: RunOptions; named: boolean }> {
    const settings = await this.deps.settings();
    let run: RunOptions | ResumeOptions;
    let overrides: RunOverrides;
    try {
      overrides = runOverridesOf(params);
      run = runFromSettings(settings, overrides);
    } catch (err) {
      throw new ResponseError(InversionErrorCodes.invalidParams, (err as Error).message);
    }
    const problem = modelProblem(run.modelPath);
    if (problem) throw new ResponseError(InversionErrorCodes.modelUnusable, `${problem} Use “Inversion: Select model”.`);
    if (!isResume(run)) return { run, opts: run, named: overrides.out === undefined && !existsSync(run.out) };
    try {
      return { run, opts: await resumedRunOptions(run), named: false };
    } catch (err) {
      const code = err instanceof RunParamError ? InversionErrorCodes.invalidParams : InversionErrorCodes.runFailed;
      throw new ResponseError(code, `Cannot resume ${run.out}: ${(err as Error).message}`);
    }
  }

  private async removeRunDir(dir: string): Promise<void> {
    try {
      await rm(dir, { recursive: true, force: true });
      this.deps.log(`No cycle completed: removed ${dir}.`);
    } catch (err) {
      this.deps.log(`No cycle completed, but ${dir} could not be removed: ${(err as Error).message}`);
    }
  }

  private eventHandler(view: LiveRunView, progress: WorkDoneProgressReporter): (e: RunEvent) => void {
    return (e) => {
      if (e.type === "log") this.deps.log(`run: ${e.message}`);
      if (e.type === "cancelled") this.deps.log(`run: cancelled; cycles up to ${e.lastCompleteCycle} are kept. Continue it with “Inversion: Resume run”.`);
      const next = view.apply(e);
      if (!next) return;
      this.sendView(next);
      // $/progress says what the view says, for LSP clients that show work-done progress
      progress.report(next.percent, next.status);
    };
  }

  private sendView(view: RunView): void {
    void this.deps.connection.sendNotification(note(RunViewNotification.type), view);
  }

  private sendStopping(): void {
    if (this.live && this.live.current.state === "running") this.sendView(this.live.stopping());
  }

  private cancelOn(active: ActiveRun, ...tokens: (CancellationToken | undefined)[]): void {
    const onCancel = (): void => {
      if (this.runs.active !== active || active.abort.signal.aborted) return;
      this.deps.log("Run cancellation requested.");
      active.abort.abort();
      this.sendStopping();
    };
    for (const t of tokens) t?.onCancellationRequested(onCancel);
  }
}
