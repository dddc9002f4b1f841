// Man pages read and parsed on a worker thread, within a time budget (the worker is terminated past it, whatever it
// was doing) and a heap budget (past it the worker dies, not the server). A page with 100k `.ig` lines took 110 s on
// the language server's main thread, and a link to /dev/zero grew the process to 16 GB; the same pattern as the
// script parser's worker (shell/parseOffThread.ts).
import { Worker } from "node:worker_threads";
import { join } from "node:path";
import { PAGE_LIMITS, type PageLimits } from "./limits";
import type { ManPage } from "./page";
import type { PageJob, PageReply } from "./pageWorker";

export interface PageReadBudget {
  timeMs: number;
  /** The worker's V8 heap. */
  heapMb: number;
  limits: PageLimits;
}

/**
 * bash(1) reads and parses in ~60 ms, a 7 MB page at the size caps in ~1 s; the time budget leaves room for a starved
 * machine and the worker's start-up (counted in the first page's budget).
 */
export const PAGE_READ_BUDGET: PageReadBudget = { timeMs: 10_000, heapMb: 1024, limits: PAGE_LIMITS };

/** The parsed page, or why it could not be read. */
export type PageReadOutcome = { page: ManPage } | { unreadable: string };

export interface PageReader {
  read(file: string): Promise<PageReadOutcome>;
}

export class ManPageWorker implements PageReader {
  private worker: Worker | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private lastId = 0;

  constructor(private readonly budget: PageReadBudget = PAGE_READ_BUDGET) {}

  /** Reads one page; reads run one after another, each within the budget. Never rejects. */
  read(file: string): Promise<PageReadOutcome> {
    const job = this.queue.then(() => this.run(file));
    this.queue = job;
    return job;
  }

  dispose(): void {
    if (this.worker) this.drop(this.worker);
  }

  private run(file: string): Promise<PageReadOutcome> {
    const worker = (this.worker ??= this.spawn());
    const job: PageJob = { id: ++this.lastId, file, limits: this.budget.limits };
    return new Promise((resolve) => {
      const settle = (outcome: PageReadOutcome): void => {
        clearTimeout(timer);
        worker.off("message", onMessage).off("error", onError).off("exit", onExit);
        resolve(outcome);
      };
      const stop = (unreadable: string): void => {
        this.drop(worker);
        settle({ unreadable });
      };
      const onMessage = (reply: PageReply): void => {
        if (reply.id === job.id) settle("page" in reply ? { page: reply.page } : { unreadable: reply.unreadable });
      };
      const onError = (err: Error): void => stop(`the page reader failed: ${err.message}`);
      const onExit = (code: number): void => stop(`the page reader exited with code ${code}`);
      const timer = setTimeout(() => stop(`reading took over ${this.budget.timeMs / 1000} s`), this.budget.timeMs);
      worker.on("message", onMessage).on("error", onError).on("exit", onExit);
      worker.postMessage(job);
    });
  }

  private spawn(): Worker {
    const worker = spawnPageWorker(this.budget.heapMb);
    // A worker that dies between jobs is replaced by the next job; the job running at the time reports why.
    worker.on("error", () => undefined).on("exit", () => this.worker === worker && (this.worker = undefined));
    return worker;
  }

  private drop(worker: Worker): void {
    if (this.worker === worker) this.worker = undefined;
    void worker.terminate();
  }
}

let shared: ManPageWorker | undefined;

/** One page worker per process (every ManLibrary that is not given its own reader). */
export function sharedManPageWorker(): ManPageWorker {
  shared ??= new ManPageWorker();
  return shared;
}

/**
 * The bundle's worker is dist/manPageWorker.js beside dist/server.js and dist/cli.js. From source (tests under tsx)
 * it is TypeScript, which a worker cannot load by itself: tsx's require hook is loaded first.
 */
function spawnPageWorker(heapMb: number): Worker {
  const options = { resourceLimits: { maxOldGenerationSizeMb: heapMb } };
  const worker = __filename.endsWith(".ts")
    ? new Worker(`require(${JSON.stringify(resolveModule("tsx/cjs"))}); require(${JSON.stringify(join(__dirname, "pageWorker.ts"))});`, { ...options, eval: true })
    : new Worker(join(__dirname, "manPageWorker.js"), options);
  worker.unref(); // an idle reader never keeps the process alive
  return worker;
}

/** A runtime lookup; taking the specifier as a parameter keeps esbuild from resolving it at build time. */
function resolveModule(specifier: string): string {
  return require.resolve(specifier);
}
