// Worker-thread entry (dist/parseWorker.js): parses whole scripts for the language server, so that a large script
// never blocks its event loop. Spawned and timed by ScriptParseWorker (parseOffThread.ts).
import { parentPort } from "node:worker_threads";
import { loadShellParser, ScriptTooLargeError } from "./parser";
import type { ScriptCommand } from "./types";

export interface ParseJob {
  id: number;
  text: string;
  maxNodes: number;
}

/** `entries` when parsed, else `refused`: why the script was not parsed (for the log). */
export type ParseReply = { id: number; entries: ScriptCommand[] } | { id: number; refused: string };

async function answer(job: ParseJob): Promise<ParseReply> {
  try {
    const parser = await loadShellParser({ wasmDir: __dirname });
    return { id: job.id, entries: parser.parseScript(job.text, { maxNodes: job.maxNodes }) };
  } catch (err) {
    return { id: job.id, refused: err instanceof ScriptTooLargeError ? err.message : `the shell parser failed: ${(err as Error).message}` };
  }
}

parentPort?.on("message", (job: ParseJob) => void answer(job).then((reply) => parentPort?.postMessage(reply)));
