// Generation and teacher-forced log-probabilities on one model + adapter, over parallel sequences.
import type { LlamaContextSequence, LlamaText, Token } from "node-llama-cpp" with { "resolution-mode": "import" };
import { type LoadedModel, SequencePool, nodeLlamaCpp } from "./runtime";
import type { Prompt } from "./prompts";
import { throwIfAborted } from "./abort";

export interface GenerateOptions {
  temperature?: number;
  seed?: number;
  maxTokens?: number;
  /** Plain-format prompts stop at the end of the line unless this is false. */
  stopAtNewline?: boolean;
  signal?: AbortSignal;
}

export interface LogProb {
  /** Sum of ln p over the continuation's tokens. */
  sum: number;
  tokens: number;
  perToken: number[];
}

export { AbortError, throwIfAborted } from "./abort";

/**
 * Holds every generating sequence of a context at the same step, so each decode batch carries all of them.
 * Without it, node-llama-cpp dispatches a batch as soon as one sequence has sampled its token; the others (still
 * sampling, or a few microtasks behind) miss it and wait a whole decode, and the batches alternate between part
 * of the sequences and the rest: on a model whose step costs reading every weight, parallel gains little.
 */
class StepBarrier {
  private active = 0;
  private arrived: (() => void)[] = [];

  join(): void {
    this.active++;
  }

  leave(): void {
    this.active--;
    this.releaseIfComplete();
  }

  /** Resolves once every active generation has its token, one macrotask later: node-llama-cpp's dispatch loop
   * has then ended, and all next tokens are queued before the next batch is dispatched. */
  arrive(): Promise<void> {
    return new Promise((resolve) => {
      this.arrived.push(resolve);
      this.releaseIfComplete();
    });
  }

  private releaseIfComplete(): void {
    if (this.arrived.length === 0 || this.arrived.length < this.active) return;
    const waiting = this.arrived;
    this.arrived = [];
    setImmediate(() => waiting.forEach((resolve) => resolve()));
  }
}

/** The internal method node-llama-cpp 3.22.1 uses to fork a sequence's KV cache (llama_memory_seq_cp). */
type ForkableSequence = LlamaContextSequence & {
  _copyStateFromOtherSequence?(other: LlamaContextSequence, upToTokenIndex: number): Promise<boolean>;
};

export interface SessionOptions {
  adapterPath?: string | null;
  sequences?: number;
  /**
   * Reuse evaluated prefixes (default true): a sequence keeps the tokens it shares with the next call (the chat
   * template's fixed part, the inverse prompt before the command, a prompt it just generated from), and the N
   * candidates of a prompt evaluate it once and fork the KV cache. false clears each sequence before every call.
   */
  shareWork?: boolean;
}

export class ModelSession {
  private readonly barrier = new StepBarrier();

  private constructor(
    readonly loaded: LoadedModel,
    readonly adapterPath: string | null,
    private readonly pool: SequencePool,
    private readonly chat: { render(p: Prompt): LlamaText } | null,
    private readonly nlc: typeof import("node-llama-cpp", { with: { "resolution-mode": "import" } }),
    readonly shareWork: boolean,
  ) {}

  static async create(loaded: LoadedModel, opts: SessionOptions): Promise<ModelSession> {
    const nlc = await nodeLlamaCpp();
    const pool = await SequencePool.create(loaded, Math.max(1, opts.sequences ?? 4), opts.adapterPath ?? null);
    let chat: { render(p: Prompt): LlamaText } | null = null;
    if (loaded.hasChatTemplate) {
      const wrapper = nlc.resolveChatWrapper(loaded.model);
      if (wrapper) {
        chat = {
          render: (p) =>
            wrapper.generateContextState({
              chatHistory: [
                { type: "system", text: p.system },
                { type: "user", text: p.user },
                { type: "model", response: [] },
              ],
            }).contextText,
        };
      }
    }
    return new ModelSession(loaded, opts.adapterPath ?? null, pool, chat, nlc, opts.shareWork ?? true);
  }

  get format(): "chat" | "plain" {
    return this.chat ? "chat" : "plain";
  }

  get parallelism(): number {
    return this.pool.size;
  }

  /** Input tokens this session has evaluated so far: what shareWork saves. */
  get evaluatedTokens(): number {
    return this.pool.evaluatedTokens;
  }

  /** Tokens of `prompt` followed by `continuation`, and where the continuation starts. */
  tokenizeWith(prompt: Prompt, continuation: string): { tokens: Token[]; split: number } {
    const model = this.loaded.model;
    const bos = model.tokens.shouldPrependBosToken && model.tokens.bos != null ? [model.tokens.bos] : [];
    let prefix: Token[];
    let whole: Token[];
    if (this.chat) {
      const text = this.chat.render(prompt);
      prefix = text.tokenize(model.tokenizer);
      whole = new this.nlc.LlamaText([text, continuation]).tokenize(model.tokenizer);
    } else {
      prefix = [...bos, ...model.tokenize(prompt.plain)];
      whole = [...bos, ...model.tokenize(prompt.plain + continuation)];
    }
    // SPM/BPE merge across the boundary: the continuation starts where the two tokenizations first differ.
    let split = 0;
    while (split < prefix.length && split < whole.length && prefix[split] === whole[split]) split++;
    return { tokens: whole, split: Math.max(1, split) };
  }

  promptTokens(prompt: Prompt): Token[] {
    return this.tokenizeWith(prompt, "").tokens;
  }

  /**
   * The prompt with as many of its retrieved examples (nearest first) as leave `reserve` tokens of the context for
   * the answer: the farthest are dropped first, and a question too long for any example gets none.
   */
  withShots<S>(build: (shots: readonly S[]) => Prompt, shots: readonly S[], reserve: number): Prompt {
    for (let n = shots.length; n > 0; n--) {
      const prompt = build(shots.slice(0, n));
      if (this.promptTokens(prompt).length + reserve < this.loaded.contextSize) return prompt;
    }
    return build([]);
  }

  /** One completion; plain-format prompts stop at the end of the line. */
  async complete(prompt: Prompt, opts: GenerateOptions = {}): Promise<string> {
    throwIfAborted(opts.signal);
    const tokens = this.promptTokens(prompt);
    return this.pool.use((seq) => this.generateOn(seq, tokens, opts), tokens);
  }

  /**
   * `n` completions of the same prompt on parallel sequences; completion i uses seed + i. With shareWork the
   * prompt is evaluated once per group of sequences and its KV cache forked to the others.
   */
  async completeMany(prompt: Prompt, n: number, opts: GenerateOptions = {}): Promise<string[]> {
    const tokens = this.promptTokens(prompt);
    const optsFor = (i: number): GenerateOptions => ({ ...opts, seed: opts.seed === undefined ? undefined : opts.seed + i });
    if (!this.shareWork) return Promise.all(Array.from({ length: n }, (_, i) => this.pool.use((seq) => this.generateOn(seq, tokens, optsFor(i)))));
    const out: string[] = [];
    for (let first = 0; first < n; first += this.pool.size) {
      const group = Math.min(this.pool.size, n - first);
      const texts = await this.pool.useMany(
        group,
        async (seqs) => {
          await this.forkPrompt(seqs, tokens, opts.signal);
          return Promise.all(seqs.map((seq, j) => this.generateOn(seq, tokens, optsFor(first + j))));
        },
        tokens,
      );
      out.push(...texts);
    }
    return out;
  }

  /** Leaves every sequence holding all but the last prompt token, evaluated once on the first and forked. */
  private async forkPrompt(seqs: LlamaContextSequence[], tokens: Token[], signal?: AbortSignal): Promise<void> {
    const [leader, ...followers] = seqs as ForkableSequence[];
    const prefix = tokens.slice(0, -1);
    const kept = await this.keepPrefix(leader!, prefix, prefix.length);
    if (kept < prefix.length) await leader!.evaluateWithoutGeneratingNewTokens(prefix.slice(kept));
    throwIfAborted(signal);
    for (const seq of followers) {
      if (seq.compareContextTokens(prefix).firstDifferentIndex >= prefix.length) continue;
      await seq.clearHistory();
      const forked = prefix.length > 0 && (await seq._copyStateFromOtherSequence?.(leader!, prefix.length));
      if (!forked) await seq.clearHistory(); // generateOn evaluates the whole prompt
    }
  }

  /**
   * Trims `seq` to the longest prefix of `tokens` it already holds, at most `max` tokens (everything when work is
   * not shared), and returns how many tokens it kept.
   */
  private async keepPrefix(seq: LlamaContextSequence, tokens: Token[], max: number): Promise<number> {
    const keep = this.shareWork ? Math.min(max, seq.compareContextTokens(tokens).firstDifferentIndex) : 0;
    if (keep === 0) await seq.clearHistory();
    else if (keep < seq.nextTokenIndex) await seq.eraseContextTokenRanges([{ start: keep, end: seq.nextTokenIndex }]);
    return keep;
  }

  private async generateOn(seq: LlamaContextSequence, tokens: Token[], opts: GenerateOptions): Promise<string> {
    throwIfAborted(opts.signal);
    const model = this.loaded.model;
    const maxTokens = opts.maxTokens ?? 48;
    const room = this.loaded.contextSize - tokens.length - 1;
    if (room <= 0) throw new RangeError(`The prompt (${tokens.length} tokens) does not fit the context (${this.loaded.contextSize} tokens).`);
    const kept = await this.keepPrefix(seq, tokens, tokens.length - 1);
    const out: Token[] = [];
    const stopAtNewline = !this.chat && opts.stopAtNewline !== false;
    const temperature = opts.temperature ?? 0;
    this.barrier.join();
    try {
      for await (const token of seq.evaluate(tokens.slice(kept), { temperature, seed: temperature > 0 ? opts.seed : undefined })) {
        if (opts.signal?.aborted) break;
        if (model.isEogToken(token)) break;
        out.push(token);
        if (out.length >= Math.min(maxTokens, room)) break;
        if (stopAtNewline && model.detokenize([token]).includes("\n")) break;
        await this.barrier.arrive();
      }
    } finally {
      this.barrier.leave();
    }
    throwIfAborted(opts.signal);
    return model.detokenize(out);
  }

  /** Teacher-forced ln p(continuation | prompt), in one batched decode. */
  async logProb(prompt: Prompt, continuation: string, signal?: AbortSignal): Promise<LogProb> {
    throwIfAborted(signal);
    const { tokens, split } = this.tokenizeWith(prompt, continuation);
    if (tokens.length > this.loaded.contextSize) throw new RangeError(`Text of ${tokens.length} tokens does not fit the context (${this.loaded.contextSize}).`);
    if (split >= tokens.length) return { sum: 0, tokens: 0, perToken: [] };
    return this.pool.use(async (seq) => {
      // Logits are needed from position split - 1 on, so at most that many tokens are reused.
      const kept = await this.keepPrefix(seq, tokens, split - 1);
      const input = tokens.slice(kept, -1).map((token, i) =>
        kept + i >= split - 1
          ? ([token, { generateNext: { logits: { filter: { tokens: [tokens[kept + i + 1]!], includeTop: 1 } }, totalLogitWeight: true } }] as const)
          : token,
      );
      // `includeMax` is unreliable in 3.22.1; `includeTop: 1` adds the max logit, which comes first in the sorted map.
      const results = await seq.controlledEvaluate(input as Parameters<LlamaContextSequence["controlledEvaluate"]>[0]);
      throwIfAborted(signal);
      const perToken: number[] = [];
      for (let p = split - 1; p < tokens.length - 1; p++) {
        const next = results[p - kept]?.next;
        const logits = next?.logits;
        const target = logits?.get(tokens[p + 1]!);
        const max = logits?.values().next().value;
        if (target === undefined || max === undefined || !next?.totalLogitWeight) throw new Error("llama.cpp returned no logits for a scored position");
        perToken.push(target - max - Math.log(next.totalLogitWeight));
      }
      return { sum: perToken.reduce((a, b) => a + b, 0), tokens: perToken.length, perToken };
    }, tokens);
  }

  async dispose(): Promise<void> {
    await this.pool.dispose();
  }
}
