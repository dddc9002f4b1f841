// The run requests of the language server (run, stop, list, read): one method per request.
import { ResponseError, type CancellationToken, type Connection, type WorkDoneProgressReporter } from "vscode-languageserver/node";
import { CycleProgressNotification, type InversionSettings, type ListRunsRequest, type ReadRunRequest, type RunCyclesRequest } from "../../../common/protocol";
import { latestRun, readRun, type RunOptions } from "../engine/api";
import type { RunEvent } from "../engine/types";
import { modelProblem } from "./modelHost";
import { note } from "./protocolTypes";
import { RunManager, describe, listRuns, percent, runOptions, runOverridesOf, type ActiveRun } from "./runs";
import type { StatusReporter } from "./statusReporter";
import { workDoneFor } from "./workDone";

export interface RunRequestDeps {
  connection: Connection;
  status: StatusReporter;
  /** Pulls the current settings from the client. */
  settings: () => Promise<InversionSettings>;
  log: (message: string) => void;
  /** Called when a run ends (a new best adapter may exist). */
  onRunEnded: () => void;
}

export class RunRequests {
  private readonly runs = new RunManager();

  constructor(private readonly deps: RunRequestDeps) {}

  async onRunCycles(params: RunCyclesRequest.Params | undefined, token: CancellationToken): Promise<RunCyclesRequest.Result> {
    if (this.runs.active) throw new ResponseError(2, `A run is already in progress (${this.runs.active.runDir}); stop it first.`);
    const opts = await this.options(params);
    const progress = await workDoneFor(this.deps.connection, params);
    progress.begin("Inversion: self-improvement", 0, `Starting ${opts.cycles} cycle(s) in ${opts.out}`, true);
    const active = this.runs.start(opts, this.eventHandler(opts, progress));
    this.cancelOn(active, token, (progress as { token?: CancellationToken }).token);
    this.deps.status.update({ run: "running", runDir: opts.out, lastCycle: null });
    this.deps.log(`Run started: ${opts.out} (${opts.cycles} cycles, ${opts.tasks} tasks, ${opts.candidates} candidates, train ${opts.train})`);
    try {
      const result = await active.promise;
      this.deps.log(`Run ${result.cancelled ? "cancelled" : "finished"}: ${result.runDir}, ${result.cycles.length} cycle(s) recorded.`);
      return result;
    } catch (err) {
      this.deps.log(`Run failed: ${(err as Error).stack ?? err}`);
      throw new ResponseError(5, `The run failed: ${(err as Error).message}`);
    } finally {
      progress.done();
      this.deps.status.update({ run: "idle" });
      this.deps.onRunEnded();
    }
  }

  onStopRun(): { stopped: boolean } {
    const stopped = this.runs.stop();
    if (stopped) {
      this.deps.status.update({ run: "cancelling" });
      this.deps.log("Run stop requested.");
    }
    return { stopped };
  }

  async onListRuns(): Promise<ListRunsRequest.Result> {
    const { runsDirectory } = await this.deps.settings();
    return {
      runsDirectory,
      runs: await listRuns(runsDirectory),
      latest: runsDirectory ? await latestRun(runsDirectory) : null,
    };
  }

  async onReadRun(params: ReadRunRequest.Params): Promise<ReadRunRequest.Result> {
    try {
      const r = await readRun(params.runDir);
      return { runDir: params.runDir, cycles: r.cycles, config: r.config };
    } catch (err) {
      throw new ResponseError(6, `Cannot read the run ${params.runDir}: ${(err as Error).message}`);
    }
  }

  /** Stops the active run and waits for it (server shutdown). */
  async shutdown(): Promise<void> {
    this.runs.stop();
    await this.runs.active?.promise.catch(() => undefined);
  }

  private async options(params: RunCyclesRequest.Params | undefined): Promise<RunOptions> {
    const settings = await this.deps.settings();
    let opts: RunOptions;
    try {
      opts = runOptions(settings, runOverridesOf(params));
    } catch (err) {
      throw new ResponseError(3, (err as Error).message);
    }
    const problem = modelProblem(opts.modelPath);
    if (problem) throw new ResponseError(4, `${problem} Use “Inversion: Select model”.`);
    return opts;
  }

  private eventHandler(opts: RunOptions, progress: WorkDoneProgressReporter): (e: RunEvent) => void {
    let pct = 0;
    return (e) => {
      void this.deps.connection.sendNotification(note(CycleProgressNotification.type), { runDir: opts.out, event: e });
      if (e.type === "log") this.deps.log(`run: ${e.message}`);
      if (e.type === "cycle") {
        const r = e.record;
        // Held-out scores on both sides: before and after this cycle's training.
        this.deps.status.update({ lastCycle: { cycle: r.cycle, meanScoreBefore: r.before.meanScore, meanScoreAfter: r.after?.meanScore ?? null } });
      }
      const text = describe(e, opts.cycles);
      if (text) {
        pct = percent(e, opts.cycles, pct);
        progress.report(pct, text);
      }
    };
  }

  private cancelOn(active: ActiveRun, ...tokens: (CancellationToken | undefined)[]): void {
    const onCancel = (): void => {
      if (this.runs.active !== active || active.abort.signal.aborted) return;
      this.deps.log("Run cancellation requested.");
      active.abort.abort();
      this.deps.status.update({ run: "cancelling" });
    };
    for (const t of tokens) t?.onCancellationRequested(onCancel);
  }
}
