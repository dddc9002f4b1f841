// A model served elsewhere (vLLM, SGLang, `inversion serve`) behind the engine's InferenceSession: generation, the
// inverse reading and every scorer over HTTP. Everything is keyed on token IDs: prompts are tokenized by the server
// (/tokenize) and sent as token-ID lists, and log-probabilities are read back by token ID.
import { basename, dirname, join, resolve } from "node:path";
import { existsSync } from "node:fs";
import type { InferenceSession, GenerateOptions, LogProb } from "../model";
import type { Prompt } from "../prompts";
import { AbortError, throwIfAborted } from "../abort";
import { BACKEND_API_KEY_ENV, backendBase } from "../../../../common/backendRef";
import { BackendError, HttpClient, type HttpOptions } from "./http";
import { Batcher } from "./batcher";
import {
  NoPromptLogProbsError,
  openaiEchoRequest,
  openaiGenerateRequest,
  openaiPromptLogProbsRequest,
  parseOpenaiCompletions,
  parseOpenaiEchoLogProbs,
  parseOpenaiPromptLogProbs,
  parseSglangGenerate,
  parseSglangPromptLogProbs,
  parseTokens,
  sglangGenerateRequest,
  sglangPromptLogProbsRequest,
  type Dialect,
  type GenerateParams,
  type ScoreItem,
} from "./protocol";

export { BackendError } from "./http";
export { NoPromptLogProbsError } from "./protocol";

export type ServerKind = "vllm" | "sglang" | "inversion" | "openai-compatible";

export interface RemoteOptions extends Partial<HttpOptions> {
  /** Prompts per request at most (default 32). */
  batchSize?: number;
  /** Prompt tokens per request at most (default 32768). */
  batchTokens?: number;
  /** What a session reports as its parallelism: how many calls the engine makes at once (default 16). */
  parallelism?: number;
  signal?: AbortSignal;
}

export interface BackendInfo {
  /** The base address, as normalised (no trailing /v1). */
  url: string;
  server: ServerKind;
  dialect: Dialect;
  /** The served base model's name (`model` in requests). */
  model: string;
  contextSize: number;
  /** "chat" when the server renders the model's chat template (/tokenize with messages), else "plain". */
  format: "chat" | "plain";
}

/** An adapter the server has loaded: the name requests use, and the local file it came from. */
export interface RemoteAdapter {
  name: string;
  path: string;
}

const SERVER_NAMES: Record<ServerKind, string> = { vllm: "vLLM", sglang: "SGLang", inversion: "inversion serve", "openai-compatible": "the server" };

type GenerateItem = { tokens: number[]; params: GenerateParams; lora?: string };

export class RemoteBackend {
  private readonly tokenCache = new Map<string, Promise<number[]>>();
  /** How the openai dialect returns prompt log-probabilities; settled by the first scoring request. */
  private logProbRoute: "prompt_logprobs" | "echo" | undefined;
  private readonly scores: Batcher<ScoreItem & { lora?: string }, number[]>;
  private readonly generations: Batcher<GenerateItem, string[]>;
  private readonly adapters = new Map<string, RemoteAdapter>();

  private constructor(
    readonly info: BackendInfo,
    private readonly http: HttpClient,
    private readonly tokenizer: HttpClient,
    private readonly opts: RemoteOptions,
  ) {
    const limits = { items: Math.max(1, opts.batchSize ?? 32), weight: Math.max(1, opts.batchTokens ?? 32768) };
    this.logProbRoute = info.server === "vllm" || info.server === "inversion" ? "prompt_logprobs" : undefined;
    this.scores = new Batcher((_key, items, signal) => this.scoreBatch(items, signal), limits);
    this.generations = new Batcher((_key, items, signal) => this.generateBatch(items, signal), limits);
  }

  /** Finds out what the server at `url` is and serves; refuses, by name, servers that cannot score. */
  static async connect(url: string, opts: RemoteOptions = {}): Promise<RemoteBackend> {
    let base: string;
    try {
      base = backendBase(url);
    } catch (err) {
      throw new BackendError((err as Error).message);
    }
    const apiKey = opts.apiKey ?? process.env[BACKEND_API_KEY_ENV] ?? undefined;
    const http = new HttpClient(base, { ...opts, apiKey });
    const tokenizer = new HttpClient(base, { ...opts, apiKey, concurrency: Math.max(8, opts.concurrency ?? 8) });
    const found = await detect(http, base, opts.signal);
    const probe = await tokenizer.post("/tokenize", { ...(found.dialect === "openai" ? { model: found.model } : {}), prompt: "Task:", add_special_tokens: true }, opts.signal).catch((err: unknown) => {
      if (err instanceof AbortError) throw err;
      throw new BackendError(`${SERVER_NAMES[found.server]} at ${base} does not tokenize (POST /tokenize): ${(err as Error).message}. Inversion sends token IDs, so it needs the server's tokenizer.`);
    });
    parseTokens(probe);
    const probed = (probe as { max_model_len?: unknown }).max_model_len;
    const contextSize = found.contextSize ?? (typeof probed === "number" && probed > 0 && probed < 1e7 ? probed : 4096);
    const probeOnce = new HttpClient(base, { ...opts, apiKey, retries: 0 });
    const format = found.dialect === "openai" && (await rendersChat(probeOnce, found.model, opts.signal)) ? "chat" : "plain";
    return new RemoteBackend({ url: base, ...found, contextSize, format }, http, tokenizer, opts);
  }

  /** A session on the base model, or on an adapter this backend loaded. */
  session(adapter: RemoteAdapter | null = null): RemoteSession {
    return new RemoteSession(this, adapter);
  }

  get parallelism(): number {
    return Math.max(1, this.opts.parallelism ?? 16);
  }

  /** "vLLM at https://…, model M (plain prompts, 4096 tokens)". */
  describe(): string {
    const { server, url, model, format, contextSize } = this.info;
    return `${SERVER_NAMES[server]} at ${url}, model ${model} (${format} prompts, context ${contextSize} tokens)`;
  }

  /** Requests sent (every try), for tests and diagnostics. */
  get requests(): number {
    return this.http.tries + this.tokenizer.tries;
  }

  // --------------------------------------------------------------------------------------------------------------
  // tokens

  /** The server's tokens for `text` (BOS added as the model wants when `special`); answers are cached. */
  tokenize(text: string, special: boolean): Promise<number[]> {
    const body = { ...(this.info.dialect === "openai" ? { model: this.info.model } : {}), prompt: text, add_special_tokens: special };
    return this.cachedTokens(`${special ? "s" : "n"}\u0000${text}`, body);
  }

  /** The chat template's tokens for a system and a user message, up to where the model's answer starts. */
  tokenizeChat(system: string, user: string): Promise<number[]> {
    const messages = [
      { role: "system", content: system },
      { role: "user", content: user },
    ];
    return this.cachedTokens(`c\u0000${system}\u0000${user}`, { model: this.info.model, messages, add_generation_prompt: true });
  }

  /**
   * The chat template's tokens with the model's answer begun: `answer` as the open final message (vLLM's
   * continue_final_message), tokenized together with the template as a local session tokenizes it.
   */
  tokenizeChatAnswer(system: string, user: string, answer: string): Promise<number[]> {
    const messages = [
      { role: "system", content: system },
      { role: "user", content: user },
      { role: "assistant", content: answer },
    ];
    return this.cachedTokens(`a\u0000${system}\u0000${user}\u0000${answer}`, { model: this.info.model, messages, add_generation_prompt: false, continue_final_message: true });
  }

  private cachedTokens(key: string, body: unknown): Promise<number[]> {
    let tokens = this.tokenCache.get(key);
    if (!tokens) {
      tokens = this.tokenizer.post("/tokenize", body).then(parseTokens);
      tokens.catch(() => this.tokenCache.delete(key));
      this.tokenCache.set(key, tokens);
      if (this.tokenCache.size > 16384) this.tokenCache.delete(this.tokenCache.keys().next().value!);
    }
    return tokens;
  }

  // --------------------------------------------------------------------------------------------------------------
  // scoring and generation, batched

  scoreTokens(item: ScoreItem, adapter: RemoteAdapter | null, signal?: AbortSignal): Promise<number[]> {
    return this.scores.add(adapter?.name ?? "", { ...item, lora: adapter?.name }, item.tokens.length, signal);
  }

  generate(tokens: number[], params: GenerateParams, adapter: RemoteAdapter | null, signal?: AbortSignal): Promise<string[]> {
    const key = JSON.stringify([adapter?.name ?? "", params.n, params.maxTokens, params.temperature, params.seed ?? null, params.stop]);
    return this.generations.add(key, { tokens, params, lora: adapter?.name }, tokens.length * params.n, signal);
  }

  private async scoreBatch(items: (ScoreItem & { lora?: string })[], signal: AbortSignal): Promise<number[][]> {
    const model = items[0]!.lora ?? this.info.model;
    const name = `${SERVER_NAMES[this.info.server]} at ${this.info.url}`;
    if (this.info.dialect === "sglang") return parseSglangPromptLogProbs(await this.http.post("/generate", sglangPromptLogProbsRequest(items, items[0]!.lora), signal), items, name);
    if (this.logProbRoute !== "echo") {
      try {
        const answer = await this.http.post("/v1/completions", openaiPromptLogProbsRequest(model, items), signal);
        const values = parseOpenaiPromptLogProbs(answer, items, name);
        this.logProbRoute = "prompt_logprobs";
        return values;
      } catch (err) {
        // a server that does not know vLLM's prompt_logprobs may still echo the prompt with its log-probabilities
        const refused = err instanceof NoPromptLogProbsError || (err instanceof BackendError && err.status === 400 && /prompt_logprobs/i.test(err.body ?? ""));
        if (this.logProbRoute === "prompt_logprobs" || !refused) throw err;
      }
    }
    try {
      const values = parseOpenaiEchoLogProbs(await this.http.post("/v1/completions", openaiEchoRequest(model, items), signal), items, name);
      this.logProbRoute = "echo";
      return values;
    } catch (err) {
      // llama-server answers an echo with 500 "Only no echo is supported"; others refuse it with a 4xx
      const refused = err instanceof BackendError && err.status !== undefined && ((err.status >= 400 && err.status < 500) || /echo/i.test(err.body ?? ""));
      if (refused) throw new NoPromptLogProbsError(name, `it refused echo: ${(err as BackendError).body ?? (err as Error).message}`);
      throw err;
    }
  }

  private async generateBatch(items: GenerateItem[], signal: AbortSignal): Promise<string[][]> {
    const { params, lora } = items[0]!;
    const prompts = items.map((i) => i.tokens);
    if (this.info.dialect === "openai") return parseOpenaiCompletions(await this.http.post("/v1/completions", openaiGenerateRequest(lora ?? this.info.model, prompts, params), signal), prompts.length, params.n);
    // SGLang's order of several prompts' several samples is not documented: several samples go one prompt a request
    if (params.n === 1) return parseSglangGenerate(await this.http.post("/generate", sglangGenerateRequest(prompts, params, lora), signal), prompts.length, 1);
    return Promise.all(prompts.map(async (p) => parseSglangGenerate(await this.http.post("/generate", sglangGenerateRequest([p], params, lora), signal), 1, params.n)[0]!));
  }

  // --------------------------------------------------------------------------------------------------------------
  // adapters

  /**
   * Has the server load a LoRA adapter made by this loop (a GGUF file here), named after the file. `inversion serve`
   * loads the GGUF itself; vLLM and SGLang load a PEFT adapter, written beside the GGUF (ADAPTER.peft/). Either way the
   * path is the server's to read: the same machine, or a shared file system.
   */
  async loadAdapter(ggufPath: string, opts: { baseModelPath?: string; signal?: AbortSignal } = {}): Promise<RemoteAdapter> {
    const path = resolve(ggufPath);
    const name = `inversion-${basename(path).replace(/\.gguf$/i, "").replace(/[^A-Za-z0-9._-]/g, "_")}`;
    const known = this.adapters.get(name);
    if (known) return known;
    let served = path;
    if (this.info.server !== "inversion") {
      served = join(dirname(path), `${basename(path).replace(/\.gguf$/i, "")}.peft`);
      if (!existsSync(served)) {
        const { exportPeftAdapter } = await import("../adapters/peft.js");
        exportPeftAdapter({ adapterPath: path, outDir: served, baseModelPath: opts.baseModelPath });
      }
    }
    const route = this.info.dialect === "sglang" ? "/load_lora_adapter" : "/v1/load_lora_adapter";
    try {
      const answer = await this.http.post(route, { lora_name: name, lora_path: served }, opts.signal);
      if (typeof answer === "object" && answer !== null && (answer as { success?: unknown }).success === false) {
        throw new BackendError(String((answer as { error_message?: unknown; message?: unknown }).error_message ?? (answer as { message?: unknown }).message ?? "success: false"));
      }
    } catch (err) {
      if (err instanceof AbortError) throw err;
      const needs =
        this.info.server === "vllm"
          ? " vLLM loads adapters at run time only when started with --enable-lora, --max-lora-rank at least the adapter's rank, and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True in its environment."
          : this.info.server === "sglang"
            ? " SGLang loads adapters when started with --enable-lora (and --max-lora-rank, --lora-target-modules)."
            : "";
      throw new BackendError(`${SERVER_NAMES[this.info.server]} at ${this.info.url} did not load the adapter ${served} (${(err as Error).message}). The path must be one the server can read (the same machine, or a shared file system).${needs}`);
    }
    const adapter = { name, path };
    this.adapters.set(name, adapter);
    return adapter;
  }

  /** Asks the server to drop an adapter this backend loaded (a failure is not an error: the server may have gone). */
  async unloadAdapter(adapter: RemoteAdapter, signal?: AbortSignal): Promise<void> {
    if (!this.adapters.delete(adapter.name)) return;
    const route = this.info.dialect === "sglang" ? "/unload_lora_adapter" : "/v1/unload_lora_adapter";
    await this.http.post(route, { lora_name: adapter.name }, signal).catch(() => undefined);
  }
}

export class RemoteSession implements InferenceSession {
  private scope: object = {};

  constructor(
    readonly backend: RemoteBackend,
    readonly adapter: RemoteAdapter | null,
  ) {}

  get format(): "chat" | "plain" {
    return this.backend.info.format;
  }

  get parallelism(): number {
    return this.backend.parallelism;
  }

  get adapterPath(): string | null {
    return this.adapter?.path ?? null;
  }

  get cacheScope(): object {
    return this.scope;
  }

  get contextSize(): number {
    return this.backend.info.contextSize;
  }

  async reset(): Promise<void> {
    this.scope = {};
  }

  /** The adapter stays loaded: whoever loaded it unloads it (RemoteBackend.unloadAdapter). */
  async dispose(): Promise<void> {}

  /** The prompt's tokens, as a local session makes them: the chat template's, or BOS and the plain text's. */
  promptTokens(prompt: Prompt): Promise<number[]> {
    return this.format === "chat" ? this.backend.tokenizeChat(prompt.system, prompt.user) : this.backend.tokenize(prompt.plain, true);
  }

  /**
   * Tokens of `prompt` followed by `continuation`, and where the continuation starts, as the local session finds them:
   * the prompt alone and the prompt with the continuation are tokenized (by the server), and the continuation starts
   * where the two first differ (SPM/BPE merge across the boundary). Chat prompts: the template with the answer begun
   * (continue_final_message), never the continuation tokenized on its own (SentencePiece would add a space).
   */
  async tokenizeWith(prompt: Prompt, continuation: string): Promise<{ tokens: number[]; split: number }> {
    const [prefix, whole] = await Promise.all(
      this.format === "chat"
        ? [this.promptTokens(prompt), this.backend.tokenizeChatAnswer(prompt.system, prompt.user, continuation)]
        : [this.backend.tokenize(prompt.plain, true), this.backend.tokenize(prompt.plain + continuation, true)],
    );
    let split = 0;
    while (split < prefix.length && split < whole.length && prefix[split] === whole[split]) split++;
    return { tokens: whole, split: Math.max(1, split) };
  }

  async withShots<S>(build: (shots: readonly S[]) => Prompt, shots: readonly S[], reserve: number): Promise<Prompt> {
    for (let n = shots.length; n > 0; n--) {
      const prompt = build(shots.slice(0, n));
      if ((await this.promptTokens(prompt)).length + reserve < this.contextSize) return prompt;
    }
    return build([]);
  }

  async complete(prompt: Prompt, opts: GenerateOptions = {}): Promise<string> {
    return (await this.sample(prompt, 1, opts))[0]!;
  }

  async completeMany(prompt: Prompt, n: number, opts: GenerateOptions = {}): Promise<string[]> {
    return this.sample(prompt, n, opts);
  }

  private async sample(prompt: Prompt, n: number, opts: GenerateOptions): Promise<string[]> {
    throwIfAborted(opts.signal);
    const tokens = await this.promptTokens(prompt);
    throwIfAborted(opts.signal);
    const room = this.contextSize - tokens.length - 1;
    if (room <= 0) throw new RangeError(`The prompt (${tokens.length} tokens) does not fit the context (${this.contextSize} tokens).`);
    const temperature = opts.temperature ?? 0;
    const params: GenerateParams = {
      n,
      maxTokens: Math.min(opts.maxTokens ?? 48, room),
      temperature,
      seed: temperature > 0 ? opts.seed : undefined,
      stop: this.format === "plain" && opts.stopAtNewline !== false ? ["\n"] : [],
    };
    return this.backend.generate(tokens, params, this.adapter, opts.signal);
  }

  async logProb(prompt: Prompt, continuation: string, signal?: AbortSignal): Promise<LogProb> {
    throwIfAborted(signal);
    const { tokens, split } = await this.tokenizeWith(prompt, continuation);
    throwIfAborted(signal);
    if (tokens.length > this.contextSize) throw new RangeError(`Text of ${tokens.length} tokens does not fit the context (${this.contextSize}).`);
    if (split >= tokens.length) return { sum: 0, tokens: 0, perToken: [] };
    const perToken = await this.backend.scoreTokens({ tokens, split }, this.adapter, signal);
    return { sum: perToken.reduce((a, b) => a + b, 0), tokens: perToken.length, perToken };
  }
}

/** What the server at `base` is: its kind and API, its base model, and the context its /v1/models states. */
async function detect(http: HttpClient, base: string, signal?: AbortSignal): Promise<{ server: ServerKind; dialect: Dialect; model: string; contextSize?: number }> {
  let listing: unknown;
  try {
    listing = await http.get("/v1/models", signal);
  } catch (err) {
    if (err instanceof AbortError) throw err;
    if (!(err instanceof BackendError) || err.status === undefined) throw new BackendError(`Cannot reach the backend at ${base}: ${(err as Error).message}`);
    if (err.status === 401 || err.status === 403 || err.status >= 500) throw err;
    // no OpenAI model listing: name the servers that answer otherwise
    const tgi = await http.get("/info", signal).catch(() => null);
    if (tgi && typeof tgi === "object" && "model_id" in tgi) throw new NoPromptLogProbsError(`TGI at ${base}`, "through its OpenAI-compatible API");
    throw new BackendError(`${base} does not list its models (GET /v1/models answered ${err.status}): is it vLLM, SGLang or \`inversion serve\`?`);
  }
  const data = (listing as { data?: unknown }).data;
  const models = Array.isArray(data) ? (data as { id?: unknown; owned_by?: unknown; parent?: unknown; max_model_len?: unknown }[]) : [];
  const model = models.find((m) => m && typeof m.id === "string" && !m.parent) ?? models.find((m) => m && typeof m.id === "string");
  if (!model) throw new BackendError(`${base} lists no model (GET /v1/models).`);
  const owner = String(model.owned_by ?? "");
  if (owner === "llamacpp") throw new NoPromptLogProbsError(`llama.cpp's llama-server at ${base}`, "it refuses echo and ignores prompt_logprobs");
  const server: ServerKind = owner === "vllm" || owner === "sglang" || owner === "inversion" ? owner : "openai-compatible";
  const contextSize = typeof model.max_model_len === "number" && model.max_model_len > 0 ? model.max_model_len : undefined;
  return { server, dialect: server === "sglang" ? "sglang" : "openai", model: model.id as string, contextSize };
}

/** Whether the server renders the model's chat template (vLLM and `inversion serve` take messages at /tokenize). */
async function rendersChat(tokenizer: HttpClient, model: string, signal?: AbortSignal): Promise<boolean> {
  const messages = [
    { role: "system", content: "S" },
    { role: "user", content: "U" },
  ];
  try {
    parseTokens(await tokenizer.post("/tokenize", { model, messages, add_generation_prompt: true }, signal));
    return true;
  } catch (err) {
    if (err instanceof AbortError) throw err;
    return false;
  }
}
