// Calls made together become one request: items queued under the same key in the same turn of the event loop (the
// engine asks for a task's candidates, readings and scores with Promise.all) are sent as one batch, up to a size.
// Each caller keeps its own AbortSignal: a cancelled item is answered with AbortError at once, and a batch whose
// items were all cancelled aborts its request, so the server sees the connection close and can stop.
import { AbortError } from "../abort";

interface Pending<I, R> {
  item: I;
  weight: number;
  signal?: AbortSignal;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
  settled: boolean;
  onAbort?: () => void;
}

export interface BatchLimits {
  /** Items per request at most. */
  items: number;
  /** Total weight (tokens) per request at most; one item heavier than this goes alone. */
  weight: number;
}

export class Batcher<I, R> {
  private readonly queues = new Map<string, Pending<I, R>[]>();
  private scheduled = false;

  constructor(
    private readonly send: (key: string, items: I[], signal: AbortSignal) => Promise<R[]>,
    private readonly limits: BatchLimits,
  ) {}

  add(key: string, item: I, weight: number, signal?: AbortSignal): Promise<R> {
    if (signal?.aborted) return Promise.reject(new AbortError());
    return new Promise<R>((resolve, reject) => {
      const p: Pending<I, R> = { item, weight, signal, resolve, reject, settled: false };
      if (signal) {
        p.onAbort = () => this.settle(p, () => reject(new AbortError()));
        signal.addEventListener("abort", p.onAbort, { once: true });
      }
      const queue = this.queues.get(key) ?? [];
      queue.push(p);
      this.queues.set(key, queue);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private settle(p: Pending<I, R>, how: () => void): void {
    if (p.settled) return;
    p.settled = true;
    if (p.onAbort) p.signal?.removeEventListener("abort", p.onAbort);
    how();
  }

  private flush(): void {
    this.scheduled = false;
    const queues = [...this.queues.entries()];
    this.queues.clear();
    for (const [key, queue] of queues) {
      let batch: Pending<I, R>[] = [];
      let weight = 0;
      for (const p of queue) {
        if (p.settled) continue; // cancelled while queued
        if (batch.length > 0 && (batch.length >= this.limits.items || weight + p.weight > this.limits.weight)) {
          this.run(key, batch);
          batch = [];
          weight = 0;
        }
        batch.push(p);
        weight += p.weight;
      }
      if (batch.length > 0) this.run(key, batch);
    }
  }

  private run(key: string, batch: Pending<I, R>[]): void {
    const controller = new AbortController();
    // the request is aborted once no one is waiting for it any more
    const watch = (): void => {
      if (batch.every((p) => p.settled)) controller.abort();
    };
    for (const p of batch) p.signal?.addEventListener("abort", watch, { once: true });
    this.send(
      key,
      batch.map((p) => p.item),
      controller.signal,
    ).then(
      (results) => batch.forEach((p, i) => this.settle(p, () => p.resolve(results[i]!))),
      (err: unknown) => batch.forEach((p) => this.settle(p, () => p.reject(p.signal?.aborted ? new AbortError() : err))),
    ).finally(() => {
      for (const p of batch) p.signal?.removeEventListener("abort", watch);
    });
  }
}
