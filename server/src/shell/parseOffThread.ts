// Whole-script parses on a worker thread, within a time budget (the worker is terminated past it, whatever it was
// doing) and a node budget (the worker refuses a tree that large before walking it). A 2 MB script of tiny commented
// commands took 15 s and 0.9 GB on the language server's main thread; there it blocked every hover and edit.
import { Worker } from "node:worker_threads";
import { join } from "node:path";
import type { ParseJob, ParseReply } from "./parseWorker";
import type { ScriptCommand } from "./types";

export interface ParseBudget {
  timeMs: number;
  maxNodes: number;
  /** The worker's V8 heap: past it the worker dies (ERR_WORKER_OUT_OF_MEMORY), not the server. */
  heapMb: number;
}

/** Real scripts of 2 MB (the default inversion.maxFileBytes) have ~150k nodes; 2 MB of `#a\nb\n` has 1.6 million. */
export const PARSE_BUDGET: ParseBudget = { timeMs: 15_000, maxNodes: 1_000_000, heapMb: 2048 };

/** The script was not parsed: over a budget, or the worker failed. The message says which, for the log. */
export class ParseRefusedError extends Error {
  override name = "ParseRefusedError";
}

export class ScriptParseWorker {
  private worker: Worker | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private lastId = 0;

  constructor(private readonly budget: ParseBudget = PARSE_BUDGET) {}

  /** Parses one script; jobs run one after another, each within the budget. One no longer `wanted` is skipped. */
  parse(text: string, wanted: () => boolean = () => true): Promise<ScriptCommand[]> {
    const job = this.queue.then(() => (wanted() ? this.run(text) : Promise.reject(new ParseRefusedError("a newer version replaced it"))));
    this.queue = job.catch(() => undefined);
    return job;
  }

  dispose(): void {
    if (this.worker) this.drop(this.worker);
  }

  private run(text: string): Promise<ScriptCommand[]> {
    const worker = (this.worker ??= this.spawn());
    const job: ParseJob = { id: ++this.lastId, text, maxNodes: this.budget.maxNodes };
    return new Promise((resolve, reject) => {
      const settle = (outcome: ScriptCommand[] | ParseRefusedError): void => {
        clearTimeout(timer);
        worker.off("message", onMessage).off("error", onError).off("exit", onExit);
        if (outcome instanceof ParseRefusedError) reject(outcome);
        else resolve(outcome);
      };
      const stop = (reason: string): void => {
        this.drop(worker);
        settle(new ParseRefusedError(reason));
      };
      const onMessage = (reply: ParseReply): void => {
        if (reply.id !== job.id) return;
        settle("entries" in reply ? reply.entries : new ParseRefusedError(reply.refused));
      };
      const onError = (err: Error): void => stop(`the parser worker failed: ${err.message}`);
      const onExit = (code: number): void => stop(`the parser worker exited with code ${code}`);
      const timer = setTimeout(() => stop(`parsing took over ${this.budget.timeMs / 1000} s`), this.budget.timeMs);
      worker.on("message", onMessage).on("error", onError).on("exit", onExit);
      worker.postMessage(job);
    });
  }

  private spawn(): Worker {
    const worker = spawnParseWorker(this.budget.heapMb);
    // A worker that dies between jobs is replaced by the next job; the job running at the time reports why.
    worker.on("error", () => undefined).on("exit", () => this.worker === worker && (this.worker = undefined));
    return worker;
  }

  private drop(worker: Worker): void {
    if (this.worker === worker) this.worker = undefined;
    void worker.terminate();
  }
}

/**
 * The bundle's worker is dist/parseWorker.js beside dist/server.js. From source (tests under tsx) it is TypeScript,
 * which a worker cannot load by itself: tsx's require hook is loaded first.
 */
function spawnParseWorker(heapMb: number): Worker {
  const options = { resourceLimits: { maxOldGenerationSizeMb: heapMb } };
  const worker = __filename.endsWith(".ts")
    ? new Worker(`require(${JSON.stringify(resolveModule("tsx/cjs"))}); require(${JSON.stringify(join(__dirname, "parseWorker.ts"))});`, { ...options, eval: true })
    : new Worker(join(__dirname, "parseWorker.js"), options);
  worker.unref(); // an idle parser never keeps the process alive
  return worker;
}

/** A runtime lookup; taking the specifier as a parameter keeps esbuild from resolving it at build time. */
function resolveModule(specifier: string): string {
  return require.resolve(specifier);
}
