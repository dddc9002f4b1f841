// Whole-script parses on a worker thread, within a time budget (the worker is terminated past it, whatever it was
// doing) and a node budget (the worker refuses a tree that large before walking it). A 2 MB script of tiny commented
// commands took 15 s and 0.9 GB on the language server's main thread; there it blocked every hover and edit.
import { join } from "node:path";
import { BudgetedWorker } from "../util/budgetedWorker";
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
  private readonly worker: BudgetedWorker<ParseJob, ParseReply>;

  constructor(private readonly budget: ParseBudget = PARSE_BUDGET) {
    // The bundle's worker is dist/parseWorker.js beside dist/server.js.
    const files = { source: join(__dirname, "parseWorker.ts"), bundle: join(__dirname, "parseWorker.js") };
    this.worker = new BudgetedWorker(files, budget, "the parser worker", "parsing");
  }

  /** Parses one script; jobs run one after another, each within the budget. One no longer `wanted` is skipped. */
  async parse(text: string, wanted: () => boolean = () => true): Promise<ScriptCommand[]> {
    const read = (reply: ParseReply): ScriptCommand[] | string => ("entries" in reply ? reply.entries : reply.refused);
    const outcome = await this.worker.run({ text, maxNodes: this.budget.maxNodes }, read, wanted, "a newer version replaced it");
    if ("failed" in outcome) throw new ParseRefusedError(outcome.failed);
    if (typeof outcome.value === "string") throw new ParseRefusedError(outcome.value);
    return outcome.value;
  }

  dispose(): void {
    this.worker.dispose();
  }
}
