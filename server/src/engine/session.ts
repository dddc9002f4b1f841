// Generation and teacher-forced log-probabilities on one model + adapter, over parallel sequences.
import type { LlamaContextSequence, LlamaText, Token } from "node-llama-cpp" with { "resolution-mode": "import" };
import { type LoadedModel, SequencePool, nodeLlamaCpp } from "./runtime";
import type { Prompt } from "./prompts";
import { throwIfAborted } from "./abort";
import { llamaRounds } from "./rounds";
import type { InferenceSession } from "./model";

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

export class ModelSession implements InferenceSession {
  private scope: object = {};

  private constructor(
    readonly loaded: LoadedModel,
    readonly adapterPath: string | null,
    private readonly pool: SequencePool,
    private readonly chat: { render(p: Prompt): LlamaText } | null,
    private readonly nlc: typeof import("node-llama-cpp", { with: { "resolution-mode": "import" } }),
    readonly shareWork: boolean,
  ) {}

  /**
   * Every call into llama.cpp (a decode, a KV-cache edit) goes through the process's rounds (rounds.ts), placed by the
   * sequence it uses: the batches llama.cpp decodes, and so every number and sampled token, repeat for the same seed.
   */
  private step<T>(seq: LlamaContextSequence, start: () => Promise<T>): Promise<T> {
    return llamaRounds.call(start, this.pool.idOf(seq));
  }

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

  /**
   * What callers may cache about this session's answers (scorers keep the empty-command baseline per task):
   * `reset` replaces it, so nothing computed before a reset is reused after it.
   */
  get cacheScope(): object {
    return this.scope;
  }

  /**
   * Puts the session back as it was created: every sequence's cache cleared, the sequences handed out in their
   * first order again, callers' caches dropped. Work after a reset repeats exactly as on a new session, so a run
   * resets its sessions at each cycle and a resumed run repeats the cycle it redoes. Call it with no work running.
   */
  async reset(): Promise<void> {
    this.scope = {};
    await this.pool.reset((seq) => this.step(seq, () => seq.clearHistory()));
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
    return this.sampleMany(this.promptTokens(prompt), n, opts);
  }

  /** `n` samples of `tokens` (completion i with seed + i), the prompt evaluated once per group with shareWork. */
  private async sampleMany(tokens: Token[], n: number, opts: GenerateOptions): Promise<string[]> {
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
    // one step: the leader's cache edit and decode, then the followers' copies of it
    await this.step(leader!, async () => {
      const kept = await this.keepPrefix(leader!, prefix, prefix.length);
      if (kept < prefix.length) await leader!.evaluateWithoutGeneratingNewTokens(prefix.slice(kept));
      if (signal?.aborted) return;
      for (const seq of followers) {
        if (seq.compareContextTokens(prefix).firstDifferentIndex >= prefix.length) continue;
        await seq.clearHistory();
        const forked = prefix.length > 0 && (await seq._copyStateFromOtherSequence?.(leader!, prefix.length));
        if (!forked) await seq.clearHistory(); // generateOn evaluates the whole prompt
      }
    });
    throwIfAborted(signal);
  }

  /**
   * Trims `seq` to the longest prefix of `tokens` it already holds, at most `max` tokens (everything when work is
   * not shared), and returns how many tokens it kept. Call it inside the step that decodes after it.
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
    const out: Token[] = [];
    const stopAtNewline = !this.chat && opts.stopAtNewline !== false;
    const temperature = opts.temperature ?? 0;
    // each token is one step: the first also trims the cache, evaluates the prompt and samples; the others feed
    // back the last token and sample the next
    let tokensOut: AsyncGenerator<Token, void, Token | undefined> | undefined;
    try {
      let next = await this.step(seq, async () => {
        const kept = await this.keepPrefix(seq, tokens, tokens.length - 1);
        tokensOut = seq.evaluate(tokens.slice(kept), { temperature, seed: temperature > 0 ? opts.seed : undefined });
        return tokensOut.next();
      });
      while (!next.done) {
        const token = next.value;
        if (opts.signal?.aborted) break;
        if (model.isEogToken(token)) break;
        out.push(token);
        if (out.length >= Math.min(maxTokens, room)) break;
        if (stopAtNewline && model.detokenize([token]).includes("\n")) break;
        next = await this.step(seq, () => tokensOut!.next());
      }
    } finally {
      await tokensOut?.return(undefined);
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
      // one step: the cache trimmed, then every scored position in one batched decode
      const { kept, results } = await this.step(seq, async () => {
        // Logits are needed from position split - 1 on, so at most that many tokens are reused.
        const kept = await this.keepPrefix(seq, tokens, split - 1);
        const input = tokens.slice(kept, -1).map((token, i) =>
          kept + i >= split - 1
            ? ([token, { generateNext: { logits: { filter: { tokens: [tokens[kept + i + 1]!], includeTop: 1 } }, totalLogitWeight: true } }] as const)
            : token,
        );
        // `includeMax` is unreliable in 3.22.1; `includeTop: 1` adds the max logit, which comes first in the sorted map.
        return { kept, results: await seq.controlledEvaluate(input as Parameters<LlamaContextSequence["controlledEvaluate"]>[0]) };
      });
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

  // Token-level calls for `inversion serve` (serve/): the same work as complete, completeMany and logProb, on the token
  // IDs a client sent. Added beside them, not under them, so the engine's own calls run exactly as before.

  /** The context's size in tokens. */
  get contextSize(): number {
    return this.loaded.contextSize;
  }

  /** `n` completions of `tokens`: one as `complete` makes it, several as `completeMany` does (seed + i each). */
  async completeTokens(tokens: Token[], n: number, opts: GenerateOptions = {}): Promise<string[]> {
    throwIfAborted(opts.signal);
    if (n === 1) return [await this.pool.use((seq) => this.generateOn(seq, tokens, opts), tokens)];
    return this.sampleMany(tokens, n, opts);
  }

  /**
   * Teacher-forced ln p(tokens[p] | tokens[..p]) for every p from `from` (at least 1) on, as `logProb` computes them;
   * with `top`, also the `top` most likely tokens at each of those positions and their log-probabilities.
   */
  async logProbTokens(tokens: Token[], from: number, opts: { signal?: AbortSignal; top?: number } = {}): Promise<{ perToken: number[]; top: [Token, number][][] }> {
    throwIfAborted(opts.signal);
    const split = Math.max(1, from);
    if (tokens.length > this.loaded.contextSize) throw new RangeError(`Text of ${tokens.length} tokens does not fit the context (${this.loaded.contextSize}).`);
    if (split >= tokens.length) return { perToken: [], top: [] };
    const k = Math.max(1, opts.top ?? 0);
    return this.pool.use(async (seq) => {
      const kept = await this.keepPrefix(seq, tokens, split - 1);
      const input = tokens.slice(kept, -1).map((token, i) =>
        kept + i >= split - 1
          ? ([token, { generateNext: { logits: { filter: { tokens: [tokens[kept + i + 1]!], includeTop: k } }, totalLogitWeight: true } }] as const)
          : token,
      );
      const results = await this.step(seq, () => seq.controlledEvaluate(input as Parameters<LlamaContextSequence["controlledEvaluate"]>[0]));
      throwIfAborted(opts.signal);
      const perToken: number[] = [];
      const top: [Token, number][][] = [];
      for (let p = split - 1; p < tokens.length - 1; p++) {
        const next = results[p - kept]?.next;
        const logits = next?.logits;
        const target = logits?.get(tokens[p + 1]!);
        const max = logits?.values().next().value;
        if (!logits || target === undefined || max === undefined || !next?.totalLogitWeight) throw new Error("llama.cpp returned no logits for a scored position");
        const logZ = max + Math.log(next.totalLogitWeight);
        perToken.push(target - max - Math.log(next.totalLogitWeight));
        if (opts.top) top.push([...logits.entries()].slice(0, opts.top).map(([t, v]) => [t, v - logZ]));
      }
      return { perToken, top };
    }, tokens);
  }

  async dispose(): Promise<void> {
    await this.pool.dispose();
  }
}
