// Serialises model work with priorities: hovers (0) run before background diagnostics (1). Work items whose
// AbortSignal fired before they started are dropped. A running *preemptible* item (background scoring) is aborted
// when more urgent work arrives, so a hover waits for at most one token step, not a whole score; the caller retries
// it later (results already computed are cached). Never blocks the event loop: each item is awaited.
import { AbortError } from "../engine/abort";

/** The item was aborted to let more urgent work run; retry it later. */
export class PreemptedError extends AbortError {
  constructor() {
    super("preempted by more urgent work");
    this.name = "PreemptedError";
  }
}

interface Item {
  priority: number;
  seq: number;
  preemptible: boolean;
  run: (preempt: AbortController) => Promise<void>;
}

export class WorkQueue {
  private readonly items: Item[] = [];
  private running: { item: Item; preempt: AbortController } | null = null;
  private pumping = false;
  private seq = 0;
  preemptions = 0;

  run<T>(priority: number, signal: AbortSignal | undefined, fn: (signal?: AbortSignal) => Promise<T>, opts: { preemptible?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const item: Item = {
        priority,
        seq: this.seq++,
        preemptible: !!opts.preemptible,
        run: async (preempt) => {
          if (signal?.aborted) return reject(new AbortError());
          const combined = opts.preemptible ? AbortSignal.any(signal ? [signal, preempt.signal] : [preempt.signal]) : signal;
          try {
            const value = await fn(combined);
            resolve(value);
          } catch (err) {
            reject(preempt.signal.aborted && !signal?.aborted ? new PreemptedError() : err);
          }
        },
      };
      this.items.push(item);
      this.items.sort((a, b) => a.priority - b.priority || a.seq - b.seq);
      const r = this.running;
      if (r && r.item.preemptible && priority < r.item.priority && !r.preempt.signal.aborted) {
        this.preemptions++;
        r.preempt.abort();
      }
      void this.pump();
    });
  }

  get pending(): number {
    return this.items.length;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.items.length) {
        const item = this.items.shift()!;
        const preempt = new AbortController();
        this.running = { item, preempt };
        try {
          await item.run(preempt);
        } finally {
          this.running = null;
        }
        // Let I/O (new requests, cancellations, edits) through between items.
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.pumping = false;
    }
  }
}

