// The one interface the engine calls a model through: node-llama-cpp on this machine (session.ts, ModelSession) or
// a server over HTTP (remote/, RemoteSession). Generation, the inverse reading, every scorer, task writing and the
// external evaluation take an InferenceSession, never a concrete class.
import type { GenerateOptions, LogProb } from "./session";
import type { Prompt } from "./prompts";

export type { GenerateOptions, LogProb };

export interface InferenceSession {
  /** "chat" when prompts are rendered with the model's chat template, "plain" otherwise (prompts.ts). */
  readonly format: "chat" | "plain";
  /** How many completions or log-probabilities are worth asking for at once (sequences, or a server's batch). */
  readonly parallelism: number;
  /** The adapter these weights carry (a file for a local session, the adapter's file for a remote one), or null. */
  readonly adapterPath: string | null;
  /**
   * What callers may cache about this session's answers (scorers keep the empty-command baseline per task): `reset`
   * replaces it, so nothing computed before a reset is reused after it.
   */
  readonly cacheScope: object;

  /** One completion; plain-format prompts stop at the end of the line. */
  complete(prompt: Prompt, opts?: GenerateOptions): Promise<string>;
  /** `n` completions of the same prompt; with a seed, completion i uses seed + i. */
  completeMany(prompt: Prompt, n: number, opts?: GenerateOptions): Promise<string[]>;
  /** Teacher-forced ln p(continuation | prompt). */
  logProb(prompt: Prompt, continuation: string, signal?: AbortSignal): Promise<LogProb>;
  /**
   * The prompt with as many of its retrieved examples (nearest first) as leave `reserve` tokens of the context for the
   * answer. A local session answers at once (its tokenizer is here); a remote one asks its server to tokenize. Callers
   * take a plain value as it is (`fitted`), so a local session's work keeps its exact order.
   */
  withShots<S>(build: (shots: readonly S[]) => Prompt, shots: readonly S[], reserve: number): Prompt | Promise<Prompt>;
  /** Back to the state it was created in (caches cleared); call it with no work running. */
  reset(): Promise<void>;
  dispose(): Promise<void>;
}

/** Whether `value` must be awaited (a remote session's `withShots`); a plain value is used as it is, with no await. */
export function isPending<T>(value: T | Promise<T>): value is Promise<T> {
  return value instanceof Promise;
}
