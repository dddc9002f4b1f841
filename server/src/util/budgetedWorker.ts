// Work that may hang or explode, run on a worker thread within a time budget (the worker is terminated past it,
// whatever it was doing) and a heap budget (past it the worker dies, not the process). Jobs run one after another;
// a worker that dies is replaced by the next job. Used by the script parser and the man-page reader.
import { Worker } from "node:worker_threads";

export interface WorkerBudget {
  timeMs: number;
  /** The worker's V8 heap. */
  heapMb: number;
}

export interface WorkerFiles {
  /** The worker's TypeScript source (tests under tsx). */
  source: string;
  /** The bundled worker beside the bundle (dist/…Worker.js). */
  bundle: string;
}

/** What the job's reply becomes, or why there is none: the worker failed, exited or ran past its time. */
export type WorkerOutcome<T> = { value: T } | { failed: string };

export class BudgetedWorker<Job extends { id: number }, Reply extends { id: number }> {
  private worker: Worker | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private lastId = 0;

  constructor(
    private readonly files: WorkerFiles,
    private readonly budget: WorkerBudget,
    /** "the parser worker", "the page reader": how failures name it. */
    private readonly name: string,
    /** What the work is, for the time-out message: "parsing", "reading". */
    private readonly doing: string,
  ) {}

  /** Runs one job after the ones before it, unless `wanted()` says it is no longer needed (then `skipped`). Never rejects. */
  run<T>(job: Omit<Job, "id">, read: (reply: Reply) => T, wanted: () => boolean = () => true, skipped = "not needed any more"): Promise<WorkerOutcome<T>> {
    const next = this.queue.then(() => (wanted() ? this.send({ ...job, id: ++this.lastId } as Job, read) : { failed: skipped }));
    this.queue = next;
    return next;
  }

  dispose(): void {
    if (this.worker) this.drop(this.worker);
  }

  private send<T>(job: Job, read: (reply: Reply) => T): Promise<WorkerOutcome<T>> {
    const worker = (this.worker ??= this.spawn());
    return new Promise((resolve) => {
      const settle = (outcome: WorkerOutcome<T>): void => {
        clearTimeout(timer);
        worker.off("message", onMessage).off("error", onError).off("exit", onExit);
        resolve(outcome);
      };
      const stop = (failed: string): void => {
        this.drop(worker);
        settle({ failed });
      };
      const onMessage = (reply: Reply): void => {
        if (reply.id === job.id) settle({ value: read(reply) });
      };
      const onError = (err: Error): void => stop(`${this.name} failed: ${err.message}`);
      const onExit = (code: number): void => stop(`${this.name} exited with code ${code}`);
      const timer = setTimeout(() => stop(`${this.doing} took over ${this.budget.timeMs / 1000} s`), this.budget.timeMs);
      worker.on("message", onMessage).on("error", onError).on("exit", onExit);
      worker.postMessage(job);
    });
  }

  private spawn(): Worker {
    const worker = spawnWorker(this.files, this.budget.heapMb);
    // A worker that dies between jobs is replaced by the next job; the job running at the time reports why.
    worker.on("error", () => undefined).on("exit", () => this.worker === worker && (this.worker = undefined));
    return worker;
  }

  private drop(worker: Worker): void {
    if (this.worker === worker) this.worker = undefined;
    void worker.terminate();
  }
}

/** From source (tests under tsx) the worker is TypeScript, which a worker cannot load by itself: tsx's hook first. */
function spawnWorker(files: WorkerFiles, heapMb: number): Worker {
  const options = { resourceLimits: { maxOldGenerationSizeMb: heapMb } };
  const worker = __filename.endsWith(".ts")
    ? new Worker(`require(${JSON.stringify(resolveModule("tsx/cjs"))}); require(${JSON.stringify(files.source)});`, { ...options, eval: true })
    : new Worker(files.bundle, options);
  worker.unref(); // an idle worker never keeps the process alive
  return worker;
}

/** A runtime lookup; taking the specifier as a parameter keeps esbuild from resolving it at build time. */
function resolveModule(specifier: string): string {
  return require.resolve(specifier);
}
