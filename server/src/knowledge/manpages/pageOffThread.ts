// Man pages read and parsed on a worker thread, within a time budget (the worker is terminated past it, whatever it
// was doing) and a heap budget (past it the worker dies, not the server). A page with 100k `.ig` lines took 110 s on
// the language server's main thread, and a link to /dev/zero grew the process to 16 GB; the same pattern as the
// script parser's worker (shell/parseOffThread.ts).
import { join } from "node:path";
import { BudgetedWorker, type WorkerBudget } from "../../util/budgetedWorker";
import { PAGE_LIMITS, type PageLimits } from "./limits";
import type { ManPage } from "./page";
import type { PageJob, PageReply } from "./pageWorker";

export interface PageReadBudget extends WorkerBudget {
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
  private readonly worker: BudgetedWorker<PageJob, PageReply>;

  constructor(private readonly budget: PageReadBudget = PAGE_READ_BUDGET) {
    // The bundle's worker is dist/manPageWorker.js beside dist/server.js and dist/cli.js.
    const files = { source: join(__dirname, "pageWorker.ts"), bundle: join(__dirname, "manPageWorker.js") };
    this.worker = new BudgetedWorker(files, budget, "the page reader", "reading");
  }

  /** Reads one page; reads run one after another, each within the budget. Never rejects. */
  async read(file: string): Promise<PageReadOutcome> {
    const read = (reply: PageReply): PageReadOutcome => ("page" in reply ? { page: reply.page } : { unreadable: reply.unreadable });
    const outcome = await this.worker.run({ file, limits: this.budget.limits }, read);
    return "failed" in outcome ? { unreadable: outcome.failed } : outcome.value;
  }

  dispose(): void {
    this.worker.dispose();
  }
}

let shared: ManPageWorker | undefined;

/** One page worker per process (every ManLibrary that is not given its own reader). */
export function sharedManPageWorker(): ManPageWorker {
  shared ??= new ManPageWorker();
  return shared;
}
