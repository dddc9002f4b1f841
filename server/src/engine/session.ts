// Generation and teacher-forced log-probabilities on one model + adapter, over parallel sequences.
import type { LlamaContextSequence, LlamaText, Token } from "node-llama-cpp" with { "resolution-mode": "import" };
import { type LoadedModel, SequencePool, nodeLlamaCpp } from "./runtime";
import type { Prompt } from "./prompts";

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

export class AbortError extends Error {
  constructor(message = "The operation was cancelled.") {
    super(message);
    this.name = "AbortError";
  }
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortError();
}

export class ModelSession {
  private constructor(
    readonly loaded: LoadedModel,
    readonly adapterPath: string | null,
    private readonly pool: SequencePool,
    private readonly chat: { render(p: Prompt): LlamaText } | null,
    private readonly nlc: typeof import("node-llama-cpp", { with: { "resolution-mode": "import" } }),
  ) {}

  static async create(loaded: LoadedModel, opts: { adapterPath?: string | null; sequences?: number }): Promise<ModelSession> {
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
    return new ModelSession(loaded, opts.adapterPath ?? null, pool, chat, nlc);
  }

  get format(): "chat" | "plain" {
    return this.chat ? "chat" : "plain";
  }

  get parallelism(): number {
    return this.pool.size;
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

  /** One completion; plain-format prompts stop at the end of the line. */
  async complete(prompt: Prompt, opts: GenerateOptions = {}): Promise<string> {
    throwIfAborted(opts.signal);
    const tokens = this.promptTokens(prompt);
    return this.pool.use((seq) => this.generateOn(seq, tokens, opts));
  }

  /** `n` completions of the same prompt on parallel sequences; completion i uses seed + i. */
  async completeMany(prompt: Prompt, n: number, opts: GenerateOptions = {}): Promise<string[]> {
    const tokens = this.promptTokens(prompt);
    return Promise.all(
      Array.from({ length: n }, (_, i) =>
        this.pool.use((seq) => this.generateOn(seq, tokens, { ...opts, seed: opts.seed === undefined ? undefined : opts.seed + i })),
      ),
    );
  }

  private async generateOn(seq: LlamaContextSequence, tokens: Token[], opts: GenerateOptions): Promise<string> {
    throwIfAborted(opts.signal);
    const model = this.loaded.model;
    const maxTokens = opts.maxTokens ?? 48;
    const room = this.loaded.contextSize - tokens.length - 1;
    if (room <= 0) throw new RangeError(`The prompt (${tokens.length} tokens) does not fit the context (${this.loaded.contextSize} tokens).`);
    await seq.clearHistory();
    const out: Token[] = [];
    const stopAtNewline = !this.chat && opts.stopAtNewline !== false;
    const temperature = opts.temperature ?? 0;
    for await (const token of seq.evaluate(tokens, { temperature, seed: temperature > 0 ? opts.seed : undefined })) {
      if (opts.signal?.aborted) break;
      if (model.isEogToken(token)) break;
      out.push(token);
      if (out.length >= Math.min(maxTokens, room)) break;
      if (stopAtNewline && model.detokenize([token]).includes("\n")) break;
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
      await seq.clearHistory();
      const input = tokens.slice(0, -1).map((token, p) =>
        p >= split - 1
          ? ([token, { generateNext: { logits: { filter: { tokens: [tokens[p + 1]!], includeTop: 1 } }, totalLogitWeight: true } }] as const)
          : token,
      );
      // `includeMax` is unreliable in 3.22.1; `includeTop: 1` adds the max logit, which comes first in the sorted map.
      const results = await seq.controlledEvaluate(input as Parameters<LlamaContextSequence["controlledEvaluate"]>[0]);
      throwIfAborted(signal);
      const perToken: number[] = [];
      for (let p = split - 1; p < tokens.length - 1; p++) {
        const next = results[p]?.next;
        const logits = next?.logits;
        const target = logits?.get(tokens[p + 1]!);
        const max = logits?.values().next().value;
        if (target === undefined || max === undefined || !next?.totalLogitWeight) throw new Error("llama.cpp returned no logits for a scored position");
        perToken.push(target - max - Math.log(next.totalLogitWeight));
      }
      return { sum: perToken.reduce((a, b) => a + b, 0), tokens: perToken.length, perToken };
    });
  }

  /** Full-vocabulary logits at the end of `prompt` followed by `continuation`'s tokens (for tests). */
  async fullLogits(prompt: Prompt, continuation: string): Promise<{ tokens: Token[]; split: number; logits: Map<Token, number>[] }> {
    const { tokens, split } = this.tokenizeWith(prompt, continuation);
    return this.pool.use(async (seq) => {
      await seq.clearHistory();
      const input = tokens.slice(0, -1).map((token, p) => (p >= split - 1 ? ([token, { generateNext: { logits: true } }] as const) : token));
      const results = await seq.controlledEvaluate(input as Parameters<LlamaContextSequence["controlledEvaluate"]>[0]);
      const logits: Map<Token, number>[] = [];
      for (let p = split - 1; p < tokens.length - 1; p++) logits.push(results[p]!.next!.logits!);
      return { tokens, split, logits };
    });
  }

  async dispose(): Promise<void> {
    await this.pool.dispose();
  }
}
