// Cancellation and work-done progress helpers for request handlers.
import {
  WorkDoneProgress,
  type CancellationToken,
  type Connection,
  type WorkDoneProgressBegin,
  type WorkDoneProgressEnd,
  type WorkDoneProgressReport,
  type WorkDoneProgressReporter,
} from "vscode-languageserver/node";

/** An AbortController aborted as soon as any of the tokens is cancelled. */
export function abortOn(...tokens: (CancellationToken | undefined)[]): AbortController {
  const ac = new AbortController();
  for (const t of tokens) {
    if (!t) continue;
    if (t.isCancellationRequested) ac.abort();
    else t.onCancellationRequested(() => ac.abort());
  }
  return ac;
}

/** Work-done progress for a request: the client's token when it sent one, else a server-initiated one. */
export async function workDoneFor(connection: Connection, params: { workDoneToken?: string | number } | undefined): Promise<WorkDoneProgressReporter> {
  const t = params?.workDoneToken;
  if (t === undefined) return connection.window.createWorkDoneProgress();
  const send = (value: WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd): void =>
    void connection.sendProgress(WorkDoneProgress.type, t, value);
  return {
    begin: (title, percentage, message, cancellable) => send({ kind: "begin", title, percentage, message, cancellable }),
    report: (a: number | string, b?: string) =>
      send(typeof a === "number" ? { kind: "report", percentage: a, message: b } : { kind: "report", message: a }),
    done: () => send({ kind: "end" }),
  } as WorkDoneProgressReporter;
}
