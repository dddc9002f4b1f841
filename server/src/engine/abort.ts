// The one cancellation error of Inversion: the engine, the trainer and the language server's work queue throw it.

export class AbortError extends Error {
  constructor(message = "The operation was cancelled.") {
    super(message);
    this.name = "AbortError";
  }
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortError();
}
