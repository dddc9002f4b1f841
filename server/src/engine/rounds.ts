// Every call into llama.cpp runs in rounds, so the batches llama.cpp decodes do not depend on timing.
//
// Why: llama.cpp's numbers for a token depend on the batch that decoded it. It splits a batch of several sequences
// into micro-batches of consecutive sequence ids with equal token counts, and its kernels change with a micro-batch's
// size (on CPU, flash attention takes a tiled path from 64 queries of one sequence on, which rounds differently).
// node-llama-cpp decodes together whatever sequences have queued a request when it dispatches, and they queue in the
// order their previous results come back from its sampling threads: a race. So the same seeded work made other
// batches from run to run, log-probabilities moved in the 4th–5th digit and sometimes a sampled token changed.
//
// How: a call made while a round runs waits for the next one. A round starts one macrotask after the previous round
// handed back its results, so everything those results set in motion (the next token, the next prompt, a sequence
// handed to a waiting caller) has run and made its calls; it starts them (in sequence order, below), waits for
// all of them, then hands every result back, in the order they were made. JavaScript runs deterministically given
// the order of outside events, and a round lets none reach its callers in another order; so the calls, their order
// and every batch repeat. Concurrent callers advance in lockstep: each decode carries one step of every one of them.
//
// This leans on node-llama-cpp 3.22.1 (pinned): a call queues its decode within microtasks, and the context
// dispatches a macrotask later (or at once when every sequence has queued), so a round's decodes on one context share
// one batch. One scheduler serves the process, so sessions used together (the learner writing while the base model
// judges) interleave the same way every time. A call holds at most one decode (cache edits before or after it are
// fine) and never waits for another call: that one could not start before its own round ended.
//
// Order: a round starts its calls by the sequence each one uses (ascending; calls without one last, each group in the
// order made). Decodes queue in the order their calls start, node-llama-cpp batches them in that order, and llama.cpp
// (split KV cache, one stream per sequence) makes one micro-batch of each run of consecutive sequence ids: 16 one-token
// sequences queued in reverse cost 16 passes over the weights instead of one (`npm run bench -- real` prints the cost).

interface Call {
  start: () => Promise<unknown>;
  sequence: number;
  settle: (result: PromiseSettledResult<unknown>) => void;
}

export class Rounds {
  private queued: Call[] = [];
  private running = false;

  /**
   * Runs `start` in the next round; resolves (or rejects) with its result once every call of that round has ended.
   * `sequence`: the id of the context sequence it decodes on, which decides where it starts within the round.
   */
  call<T>(start: () => Promise<T>, sequence = Number.MAX_SAFE_INTEGER): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queued.push({ start, sequence, settle: (r) => (r.status === "fulfilled" ? resolve(r.value as T) : reject(r.reason)) });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running) return;
    this.running = true;
    // a macrotask later: every microtask the previous round's results started has run by then
    setImmediate(() => void this.round());
  }

  private async round(): Promise<void> {
    const calls = this.queued;
    this.queued = [];
    const started: Promise<unknown>[] = new Array(calls.length);
    const bySequence = calls.map((_, i) => i).sort((a, b) => calls[a]!.sequence - calls[b]!.sequence); // stable
    for (const i of bySequence) {
      try {
        started[i] = calls[i]!.start();
      } catch (err) {
        started[i] = Promise.reject(err);
      }
    }
    const results = await Promise.allSettled(started);
    this.running = false;
    for (const [i, c] of calls.entries()) c.settle(results[i]!);
    // calls made meanwhile by others wait for the next round; the results' continuations (microtasks) join it
    if (this.queued.length > 0) this.schedule();
  }
}

/** The process's one scheduler: every ModelSession's calls into llama.cpp go through it. */
export const llamaRounds = new Rounds();
