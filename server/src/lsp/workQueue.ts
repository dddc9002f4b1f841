// Serialises model work with priorities: hovers (0) run before background diagnostics (1). Work items whose
// AbortSignal fired before they started are dropped. Never blocks the event loop: each item is awaited.
export class AbortedError extends Error {
  constructor() {
    super("aborted");
    this.name = "AbortError";
  }
}

interface Item {
  priority: number;
  seq: number;
  run: () => Promise<void>;
}

export class WorkQueue {
  private readonly items: Item[] = [];
  private running = false;
  private seq = 0;

  run<T>(priority: number, signal: AbortSignal | undefined, fn: (signal?: AbortSignal) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const item: Item = {
        priority,
        seq: this.seq++,
        run: async () => {
          if (signal?.aborted) return reject(new AbortedError());
          try {
            resolve(await fn(signal));
          } catch (err) {
            reject(err);
          }
        },
      };
      this.items.push(item);
      this.items.sort((a, b) => a.priority - b.priority || a.seq - b.seq);
      void this.pump();
    });
  }

  get pending(): number {
    return this.items.length;
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.items.length) {
        const item = this.items.shift()!;
        await item.run();
        // Let I/O (new requests, cancellations, edits) through between items.
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.running = false;
    }
  }
}
