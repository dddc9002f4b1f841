// Worker-thread entry (dist/manPageWorker.js): reads and parses man pages for the language server and the CLI, so
// that a hostile page never blocks their event loop. Spawned and timed by ManPageWorker (pageOffThread.ts).
import { parentPort } from "node:worker_threads";
import { readPageSource } from "./pageFile";
import { parseManPage, type ManPage } from "./page";
import { UnreadablePageError, type PageLimits } from "./limits";

export interface PageJob {
  id: number;
  file: string;
  limits: PageLimits;
}

/** `page` when read, else `unreadable`: why it was not (shown as "page could not be read: <why>"). */
export type PageReply = { id: number; page: ManPage } | { id: number; unreadable: string };

function answer(job: PageJob): PageReply {
  try {
    return { id: job.id, page: parseManPage(readPageSource(job.file, job.limits), job.limits) };
  } catch (err) {
    const why = (err as Error).message;
    return { id: job.id, unreadable: err instanceof UnreadablePageError ? why : `parsing failed: ${why}` };
  }
}

parentPort?.on("message", (job: PageJob) => parentPort?.postMessage(answer(job)));
