// `inversion serve`: the OpenAI-compatible subset the remote backend speaks (vLLM's dialect), served by node-llama-cpp
// through the engine's own ModelSession. Not a new engine: a front for one, so one GPU box can serve a team and the
// remote backend has a real server to be tested against.
//
// Endpoints: GET /health, /version, /v1/models; POST /tokenize, /detokenize, /v1/completions (token-ID or text
// prompts, batches, n, seed, stop, prompt_logprobs by token ID, echo with logprobs), /v1/load_lora_adapter,
// /v1/unload_lora_adapter. Bound to 127.0.0.1 unless told otherwise; every request is bounded in size.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { randomUUID, timingSafeEqual } from "node:crypto";
import { realpathSync, statSync } from "node:fs";
import { basename, isAbsolute, relative, resolve } from "node:path";
import type { AddressInfo } from "node:net";
import { loadModel, type GpuSetting, type LoadedModel } from "../engine/runtime";
import { ModelSession } from "../engine/session";
import { AbortError } from "../engine/abort";
import { isLoopbackHost } from "../../../common/backendRef";
import manifest from "../../../package.json";

export const SERVE_API_KEY_ENV = "INVERSION_SERVE_API_KEY";

export interface ServeLimits {
  /** Largest request body, in bytes. */
  bodyBytes: number;
  /** Prompts in one completions request. */
  prompts: number;
  /** Completions per prompt (`n`). */
  n: number;
  /** Top log-probabilities per position (`prompt_logprobs`, `logprobs`). */
  topLogprobs: number;
  /** Stop strings, and the length of each. */
  stops: number;
  stopChars: number;
  /** Characters of a text prompt. */
  promptChars: number;
  /** Requests being answered at once; more get 429 (Retry-After: 1). */
  concurrent: number;
  /** Adapters loaded at once. */
  adapters: number;
}

export const DEFAULT_LIMITS: ServeLimits = {
  bodyBytes: 8 * 1024 * 1024,
  prompts: 256,
  n: 16,
  topLogprobs: 20,
  stops: 4,
  stopChars: 64,
  promptChars: 1_000_000,
  concurrent: 64,
  adapters: 8,
};

export interface ServeOptions {
  modelPath: string;
  gpu?: GpuSetting;
  threads?: number;
  contextSize?: number;
  /** Parallel sequences of each context (the base model's and each adapter's). */
  sequences?: number;
  host?: string;
  port?: number;
  /** Binding to an address other than loopback must be asked for. */
  allowNetwork?: boolean;
  /** Requests must carry `Authorization: Bearer KEY` when set. */
  apiKey?: string;
  /** Serve over https with this certificate and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** The served model's name (default: the file's name without .gguf). */
  name?: string;
  /** Adapters loaded at start, by name. */
  adapters?: Record<string, string>;
  /** Adapters loaded at run time must lie in this directory; without it, run-time loading is allowed on loopback only. */
  loraDir?: string;
  limits?: Partial<ServeLimits>;
  signal?: AbortSignal;
  log?: (line: string) => void;
  onProgress?: (message: string, fraction?: number) => void;
}

export interface ServeStats {
  requests: number;
  inFlight: number;
  /** Requests whose client went away before the answer: their work was cancelled. */
  cancelled: number;
  /** Completions work cancelled mid-way (a subset of the above). */
  cancelledWork: number;
}

export interface RunningServer {
  url: string;
  port: number;
  name: string;
  stats: ServeStats;
  close(): Promise<void>;
}

/** Refuses binding beyond this machine unless asked. */
export function bindProblem(host: string, allowNetwork: boolean): string | null {
  if (isLoopbackHost(host) || allowNetwork) return null;
  return `inversion serve binds to 127.0.0.1 unless told otherwise: to serve ${host} (other machines), pass --allow-network, and set ${SERVE_API_KEY_ENV} (clients send it as INVERSION_BACKEND_API_KEY) and --tls-cert/--tls-key (clients reach other machines only over https).`;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = "BadRequestError",
  ) {
    super(message);
  }
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const host = opts.host ?? "127.0.0.1";
  const refused = bindProblem(host, opts.allowNetwork ?? false);
  if (refused) throw new Error(refused);
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const log = opts.log ?? (() => undefined);
  const loaded = await loadModel({ modelPath: opts.modelPath, gpu: opts.gpu, threads: opts.threads, contextSize: opts.contextSize, signal: opts.signal, onProgress: opts.onProgress });
  const sequences = Math.max(1, opts.sequences ?? 8);
  let base: ModelSession;
  try {
    base = await ModelSession.create(loaded, { sequences });
  } catch (err) {
    await loaded.model.dispose();
    throw err;
  }
  const name = opts.name ?? basename(loaded.path).replace(/\.gguf$/i, "");
  const models = new ServedModels(loaded, base, name, sequences, limits.adapters);
  try {
    for (const [adapter, path] of Object.entries(opts.adapters ?? {})) await models.load(adapter, resolve(path));
  } catch (err) {
    await models.dispose();
    throw err;
  }
  const stats: ServeStats = { requests: 0, inFlight: 0, cancelled: 0, cancelledWork: 0 };
  const ctx: Ctx = { models, limits, stats, log, loraDir: opts.loraDir ? realpathSync(opts.loraDir) : null, loopback: isLoopbackHost(host), vocab: vocabularySize(loaded) };
  const handler = (req: IncomingMessage, res: ServerResponse): void => void handle(ctx, opts.apiKey, req, res);
  const server: Server = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, handler) : createHttpServer(handler);
  server.requestTimeout = 0; // long generations; the client's own timeout applies
  server.headersTimeout = 30_000;
  await new Promise<void>((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 8000, host, () => resolvePromise());
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(":") ? `[${host}]` : host;
  const url = `${opts.tls ? "https" : "http"}://${shown}:${port}`;
  log(`Serving ${name} (${loaded.path}, context ${loaded.contextSize}, ${sequences} sequences) at ${url}`);
  let closed = false;
  return {
    url,
    port,
    name,
    stats,
    async close() {
      if (closed) return;
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await models.dispose();
    },
  };
}

interface Ctx {
  models: ServedModels;
  limits: ServeLimits;
  stats: ServeStats;
  log: (line: string) => void;
  loraDir: string | null;
  loopback: boolean;
  vocab: number;
}

/** The base model's session, and one session per loaded adapter (each its own context). */
class ServedModels {
  private readonly adapters = new Map<string, { path: string; session: Promise<ModelSession> }>();

  constructor(
    readonly loaded: LoadedModel,
    readonly base: ModelSession,
    readonly name: string,
    private readonly sequences: number,
    private readonly max: number,
  ) {}

  async session(model: unknown): Promise<ModelSession> {
    if (model === undefined || model === null || model === this.name) return this.base;
    if (typeof model !== "string") throw new HttpError(400, "`model` must be a string.");
    const adapter = this.adapters.get(model);
    if (!adapter) throw new HttpError(404, `The model \`${model}\` does not exist.`, "NotFoundError");
    return adapter.session;
  }

  list(): { name: string; path: string }[] {
    return [...this.adapters.entries()].map(([name, a]) => ({ name, path: a.path }));
  }

  async load(name: string, path: string): Promise<void> {
    if (name === this.name) throw new HttpError(400, `${name} is the base model's name.`);
    const known = this.adapters.get(name);
    if (known) {
      if (known.path === path) return;
      throw new HttpError(400, `An adapter named ${name} is loaded already (from ${basename(known.path)}); unload it first.`);
    }
    if (this.adapters.size >= this.max) throw new HttpError(400, `${this.max} adapters are loaded, the most this server holds; unload one first.`);
    const session = ModelSession.create(this.loaded, { sequences: this.sequences, adapterPath: path });
    this.adapters.set(name, { path, session });
    try {
      await session;
    } catch (err) {
      this.adapters.delete(name);
      throw new HttpError(400, `Could not load the adapter: ${(err as Error).message.split("\n")[0]}`);
    }
  }

  async unload(name: string): Promise<void> {
    const adapter = this.adapters.get(name);
    if (!adapter) throw new HttpError(404, `No adapter named ${name} is loaded.`, "NotFoundError");
    this.adapters.delete(name);
    await (await adapter.session).dispose();
  }

  async dispose(): Promise<void> {
    for (const name of [...this.adapters.keys()]) await this.unload(name).catch(() => undefined);
    await this.base.dispose();
    await this.loaded.model.dispose();
  }
}

function vocabularySize(loaded: LoadedModel): number {
  let n = 0;
  for (const _ of loaded.model.iterateAllTokens()) n++;
  return n;
}

async function handle(ctx: Ctx, apiKey: string | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
  ctx.stats.requests++;
  ctx.stats.inFlight++;
  const abort = new AbortController();
  // the client went away before its answer: stop the work it asked for
  res.on("close", () => {
    if (!res.writableFinished) {
      ctx.stats.cancelled++;
      abort.abort();
    }
  });
  try {
    if (apiKey && !authorized(req.headers.authorization, apiKey)) throw new HttpError(401, "Missing or wrong API key (Authorization: Bearer …).", "AuthenticationError");
    if (ctx.stats.inFlight > ctx.limits.concurrent) {
      res.setHeader("retry-after", "1");
      throw new HttpError(429, `${ctx.limits.concurrent} requests are being answered; try again shortly.`, "RateLimitError");
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    const route = `${req.method} ${url.pathname.replace(/\/+$/, "") || "/"}`;
    const body = req.method === "POST" ? await readBody(req, ctx.limits.bodyBytes) : undefined;
    const answer = await route_(ctx, route, body, abort.signal);
    if (typeof answer === "string") send(res, 200, answer, "text/plain; charset=utf-8");
    else send(res, 200, JSON.stringify(answer), "application/json");
  } catch (err) {
    if (abort.signal.aborted) return; // nobody to answer
    const e = err instanceof HttpError ? err : err instanceof RangeError ? new HttpError(400, err.message) : new HttpError(500, (err as Error).message, "InternalServerError");
    if (e.status >= 500) ctx.log(`error: ${(err as Error).stack ?? e.message}`);
    send(res, e.status, JSON.stringify({ error: { message: e.message, type: e.type, param: null, code: e.status }, object: "error", message: e.message }), "application/json");
  } finally {
    ctx.stats.inFlight--;
  }
}

function authorized(header: string | undefined, key: string): boolean {
  const given = Buffer.from(header?.replace(/^Bearer\s+/i, "") ?? "");
  const want = Buffer.from(key);
  return given.length === want.length && timingSafeEqual(given, want);
}

function send(res: ServerResponse, status: number, body: string, type: string): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolvePromise, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) return reject(new HttpError(413, `The request is ${declared} bytes; this server takes at most ${limit}.`));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new HttpError(413, `The request runs past ${limit} bytes, the most this server takes.`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      try {
        resolvePromise(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        reject(new HttpError(400, "The request body is not JSON."));
      }
    });
    req.on("error", reject);
  });
}

async function route_(ctx: Ctx, route: string, body: unknown, signal: AbortSignal): Promise<unknown> {
  switch (route) {
    case "GET /health":
      return {};
    case "GET /version":
      return { version: manifest.version, server: "inversion" };
    case "GET /v1/models":
      return models(ctx);
    case "POST /tokenize":
      return tokenize(ctx, object(body));
    case "POST /detokenize":
      return detokenize(ctx, object(body));
    case "POST /v1/completions":
      return completions(ctx, object(body), signal);
    case "POST /v1/load_lora_adapter":
      return loadAdapter(ctx, object(body));
    case "POST /v1/unload_lora_adapter": {
      const b = object(body);
      await ctx.models.unload(text(b.lora_name, "lora_name"));
      return `Success: LoRA adapter '${b.lora_name as string}' removed successfully.`;
    }
    default:
      throw new HttpError(404, `No route ${route}.`, "NotFoundError");
  }
}

function models(ctx: Ctx): unknown {
  const created = Math.floor(Date.now() / 1000);
  const card = (id: string, root: string, parent: string | null) => ({ id, object: "model", created, owned_by: "inversion", root, parent, max_model_len: ctx.models.loaded.contextSize });
  return { object: "list", data: [card(ctx.models.name, basename(ctx.models.loaded.path), null), ...ctx.models.list().map((a) => card(a.name, basename(a.path), ctx.models.name))] };
}

// ------------------------------------------------------------------------------------------------------------------
// checking a request

function object(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new HttpError(400, "The request body must be a JSON object.");
  return body as Record<string, unknown>;
}

function text(v: unknown, name: string): string {
  if (typeof v !== "string" || v.length === 0) throw new HttpError(400, `\`${name}\` must be a non-empty string.`);
  return v;
}

function int(v: unknown, name: string, min: number, max: number, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw new HttpError(400, `\`${name}\` must be a whole number from ${min} to ${max}.`);
  return v;
}

function bool(v: unknown, name: string, fallback: boolean): boolean {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "boolean") throw new HttpError(400, `\`${name}\` must be true or false.`);
  return v;
}

/** The text's tokens as a prompt starts (BOS when the model adds one and `special`), as ModelSession makes them. */
function tokensOf(ctx: Ctx, s: string, special: boolean): number[] {
  if (s.length > ctx.limits.promptChars) throw new HttpError(400, `A prompt of ${s.length} characters is over the limit of ${ctx.limits.promptChars}.`);
  const model = ctx.models.loaded.model;
  const bos = special && model.tokens.shouldPrependBosToken && model.tokens.bos != null ? [model.tokens.bos as number] : [];
  return [...bos, ...(model.tokenize(s) as number[])];
}

function tokenList(ctx: Ctx, v: unknown, name: string): number[] {
  if (!Array.isArray(v) || v.some((t) => !Number.isInteger(t) || (t as number) < 0 || (t as number) >= ctx.vocab)) {
    throw new HttpError(400, `\`${name}\` must be a list of token IDs from 0 to ${ctx.vocab - 1}.`);
  }
  return v as number[];
}

/** `prompt` as OpenAI takes it: a string, strings, token IDs, or lists of token IDs. */
function prompts(ctx: Ctx, v: unknown, special: boolean): number[][] {
  let out: number[][];
  if (typeof v === "string") out = [tokensOf(ctx, v, special)];
  else if (Array.isArray(v) && v.length > 0 && v.every((p) => typeof p === "string")) out = (v as string[]).map((p) => tokensOf(ctx, p, special));
  else if (Array.isArray(v) && v.length > 0 && v.every((t) => typeof t === "number")) out = [tokenList(ctx, v, "prompt")];
  else if (Array.isArray(v) && v.length > 0 && v.every((p) => Array.isArray(p))) out = v.map((p, i) => tokenList(ctx, p, `prompt[${i}]`));
  else throw new HttpError(400, "`prompt` must be a string, a list of strings, a list of token IDs, or a list of such lists.");
  if (out.length > ctx.limits.prompts) throw new HttpError(400, `${out.length} prompts in one request; this server takes at most ${ctx.limits.prompts}.`);
  const context = ctx.models.loaded.contextSize;
  for (const [i, p] of out.entries()) {
    if (p.length === 0) throw new HttpError(400, `Prompt ${i} is empty.`);
    if (p.length > context) throw new HttpError(400, `Prompt ${i} has ${p.length} tokens; the context holds ${context}.`);
  }
  return out;
}

function tokenize(ctx: Ctx, b: Record<string, unknown>): unknown {
  const context = ctx.models.loaded.contextSize;
  if (b.messages !== undefined) {
    if (ctx.models.base.format !== "chat") throw new HttpError(400, "This model has no chat template: tokenize a prompt, not messages.");
    const messages = Array.isArray(b.messages) ? (b.messages as unknown[]) : [];
    const text = (role: string): string => {
      const m = messages.find((x) => typeof x === "object" && x !== null && (x as { role?: unknown }).role === role) as { content?: unknown } | undefined;
      if (m !== undefined && typeof m.content !== "string") throw new HttpError(400, "Each message's `content` must be a string.");
      return (m?.content as string | undefined) ?? "";
    };
    const roles = messages.map((m) => (m as { role?: unknown })?.role);
    const answered = roles.length === 3 && roles[2] === "assistant";
    if (!(roles[0] === "system" && roles[1] === "user" && (roles.length === 2 || answered))) {
      throw new HttpError(400, "`messages` must be a system and a user message, and optionally the assistant's begun answer (the prompts this server renders).");
    }
    const continued = bool(b.continue_final_message, "continue_final_message", false);
    const generation = bool(b.add_generation_prompt, "add_generation_prompt", !continued);
    if (answered ? !continued || generation : continued || !generation) {
      throw new HttpError(400, "Send add_generation_prompt: true for a system and a user message, or continue_final_message: true (and add_generation_prompt: false) with the assistant's begun answer.");
    }
    const system = text("system");
    const user = text("user");
    const answer = answered ? text("assistant") : "";
    if (system.length + user.length + answer.length > ctx.limits.promptChars) throw new HttpError(400, `The messages are over the limit of ${ctx.limits.promptChars} characters.`);
    // the template with the answer begun, tokenized together, exactly as ModelSession scores a continuation
    const tokens = (answered ? ctx.models.base.tokenizeWith({ system, user, plain: "" }, answer).tokens : ctx.models.base.promptTokens({ system, user, plain: "" })) as number[];
    return { count: tokens.length, max_model_len: context, tokens };
  }
  if (typeof b.prompt !== "string") throw new HttpError(400, "`prompt` must be a string.");
  const tokens = tokensOf(ctx, b.prompt, bool(b.add_special_tokens, "add_special_tokens", true));
  return { count: tokens.length, max_model_len: context, tokens };
}

function detokenize(ctx: Ctx, b: Record<string, unknown>): unknown {
  const tokens = tokenList(ctx, b.tokens, "tokens");
  if (tokens.length > ctx.models.loaded.contextSize * 4) throw new HttpError(400, "Too many tokens.");
  return { prompt: ctx.models.loaded.model.detokenize(tokens as never) };
}

async function loadAdapter(ctx: Ctx, b: Record<string, unknown>): Promise<string> {
  const name = text(b.lora_name, "lora_name");
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(name)) throw new HttpError(400, "`lora_name` may hold letters, digits, '.', '_' and '-' (at most 128).");
  const given = text(b.lora_path, "lora_path");
  if (!isAbsolute(given)) throw new HttpError(400, "`lora_path` must be an absolute path on the server.");
  if (!ctx.loraDir && !ctx.loopback) throw new HttpError(403, "This server loads adapters at run time only from its --lora-dir.", "PermissionError");
  let path: string;
  try {
    path = realpathSync(given);
    if (!statSync(path).isFile()) throw new Error("not a file");
  } catch {
    throw new HttpError(400, `No adapter file at ${given}.`);
  }
  if (ctx.loraDir) {
    const inside = relative(ctx.loraDir, path);
    if (inside.startsWith("..") || isAbsolute(inside)) throw new HttpError(403, `Adapters are loaded only from inside ${ctx.loraDir}.`, "PermissionError");
  }
  await ctx.models.load(name, path);
  ctx.log(`Loaded adapter ${name} (${path})`);
  return `Success: LoRA adapter '${name}' added successfully.`;
}

// ------------------------------------------------------------------------------------------------------------------
// completions

const UNSUPPORTED = ["suffix", "best_of", "logit_bias", "use_beam_search", "guided_json", "guided_regex", "response_format", "prompt_embeds"];

async function completions(ctx: Ctx, b: Record<string, unknown>, signal: AbortSignal): Promise<unknown> {
  for (const key of UNSUPPORTED) if (b[key] !== undefined && b[key] !== null && b[key] !== false) throw new HttpError(400, `\`${key}\` is not supported by inversion serve.`);
  if (b.stream === true) throw new HttpError(400, "Streaming is not supported by inversion serve.");
  for (const key of ["presence_penalty", "frequency_penalty"]) if (b[key] !== undefined && b[key] !== null && b[key] !== 0) throw new HttpError(400, `\`${key}\` is not supported by inversion serve.`);
  if (b.top_k !== undefined && b.top_k !== null && b.top_k !== 40) throw new HttpError(400, "inversion serve samples with top_k 40 (node-llama-cpp's default).");
  if (b.top_p !== undefined && b.top_p !== null && b.top_p !== 0.95) throw new HttpError(400, "inversion serve samples with top_p 0.95 (node-llama-cpp's default).");
  const session = await ctx.models.session(b.model);
  const context = ctx.models.loaded.contextSize;
  const list = prompts(ctx, b.prompt, bool(b.add_special_tokens, "add_special_tokens", true));
  const n = int(b.n, "n", 1, ctx.limits.n, 1);
  const maxTokens = int(b.max_tokens, "max_tokens", 0, context, 16);
  const temperature = b.temperature === undefined || b.temperature === null ? 1 : b.temperature;
  if (typeof temperature !== "number" || !Number.isFinite(temperature) || temperature < 0 || temperature > 5) throw new HttpError(400, "`temperature` must be a number from 0 to 5.");
  const seed = b.seed === undefined || b.seed === null ? undefined : int(b.seed, "seed", 0, 2 ** 31 - 1, 0);
  const echo = bool(b.echo, "echo", false);
  const logprobs = b.logprobs === undefined || b.logprobs === null ? null : int(b.logprobs, "logprobs", 0, ctx.limits.topLogprobs, 0);
  const promptLogprobs = b.prompt_logprobs === undefined || b.prompt_logprobs === null ? null : int(b.prompt_logprobs, "prompt_logprobs", 0, ctx.limits.topLogprobs, 0);
  const stops = b.stop === undefined || b.stop === null ? [] : typeof b.stop === "string" ? [b.stop] : b.stop;
  if (!Array.isArray(stops) || stops.length > ctx.limits.stops || stops.some((s) => typeof s !== "string" || s.length === 0 || s.length > ctx.limits.stopChars)) {
    throw new HttpError(400, `\`stop\` must be at most ${ctx.limits.stops} non-empty strings of at most ${ctx.limits.stopChars} characters.`);
  }
  const includeStop = bool(b.include_stop_str_in_output, "include_stop_str_in_output", false);
  const returnIds = bool(b.return_token_ids, "return_token_ids", false);
  const asIds = bool(b.return_tokens_as_token_ids, "return_tokens_as_token_ids", false);
  if (logprobs !== null && (!echo || maxTokens > 0)) {
    throw new HttpError(400, "inversion serve returns log-probabilities of prompt tokens (prompt_logprobs, or echo with max_tokens 0 and logprobs), not of generated tokens.");
  }
  const model = ctx.models.loaded.model;
  const decode = (tokens: readonly number[]): string => model.detokenize(tokens as never);
  const stopAtNewline = (stops as string[]).includes("\n");

  const perPrompt = await Promise.all(
    list.map(async (tokens) => {
      const needsScores = promptLogprobs !== null || logprobs !== null;
      const scored = needsScores ? await session.logProbTokens(tokens as never, 1, { signal, top: Math.max(promptLogprobs ?? 0, logprobs ?? 0) }) : null;
      let texts: string[] = Array.from({ length: n }, () => "");
      if (maxTokens > 0) {
        if (tokens.length + 1 >= context) throw new HttpError(400, `The prompt (${tokens.length} tokens) leaves no room in the context (${context}) for an answer.`);
        try {
          texts = await session.completeTokens(tokens as never, n, { temperature, seed, maxTokens, stopAtNewline, signal });
        } catch (err) {
          if (err instanceof AbortError || signal.aborted) ctx.stats.cancelledWork++;
          throw err;
        }
      }
      return { tokens, scored, texts: texts.map((t) => cutAtStop(t, stops as string[], includeStop)) };
    }),
  );

  const choices: unknown[] = [];
  let completionTokens = 0;
  let promptTokens = 0;
  for (const { tokens, scored, texts } of perPrompt) {
    promptTokens += tokens.length;
    const promptEntries =
      promptLogprobs === null || !scored
        ? undefined
        : [null, ...scored.perToken.map((lp, i) => promptEntry(tokens[i + 1]!, lp, scored.top[i] ?? [], promptLogprobs, decode))];
    for (const t of texts) {
      const generated = t.text ? (model.tokenize(t.text) as number[]).length : 0;
      completionTokens += generated;
      choices.push({
        index: choices.length,
        text: echo ? decode(tokens) + t.text : t.text,
        logprobs: logprobs !== null && scored ? echoLogprobs(tokens, scored, logprobs, decode, asIds) : null,
        finish_reason: t.stopped || generated < maxTokens ? "stop" : "length",
        stop_reason: t.stopped ?? null,
        ...(promptEntries ? { prompt_logprobs: promptEntries } : {}),
        ...(returnIds ? { prompt_token_ids: tokens } : {}),
      });
    }
  }
  return {
    id: `cmpl-${randomUUID()}`,
    object: "text_completion",
    created: Math.floor(Date.now() / 1000),
    model: typeof b.model === "string" ? b.model : ctx.models.name,
    choices,
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
  };
}

/** OpenAI's stop strings: the text ends where the first of them starts (or, with include, after it). */
function cutAtStop(text: string, stops: readonly string[], include: boolean): { text: string; stopped?: string } {
  let at = -1;
  let hit: string | undefined;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (at < 0 || i < at)) {
      at = i;
      hit = s;
    }
  }
  if (at < 0 || hit === undefined) return { text };
  return { text: text.slice(0, include ? at + hit.length : at), stopped: hit };
}

/** vLLM's prompt_logprobs entry: the prompt's token, then the top `k`, each {logprob, rank, decoded_token}. */
function promptEntry(token: number, logprob: number, top: [number, number][], k: number, decode: (t: number[]) => string): Record<string, unknown> {
  const rankOf = top.findIndex(([t]) => t === token);
  const entry: Record<string, unknown> = { [String(token)]: { logprob, rank: rankOf >= 0 ? rankOf + 1 : null, decoded_token: decode([token]) } };
  for (const [i, [t, lp]] of top.slice(0, k).entries()) entry[String(t)] ??= { logprob: lp, rank: i + 1, decoded_token: decode([t]) };
  return entry;
}

/** The OpenAI (legacy) logprobs object of an echoed prompt: the first token has none. */
function echoLogprobs(
  tokens: number[],
  scored: { perToken: number[]; top: [number, number][][] },
  k: number,
  decode: (t: number[]) => string,
  asIds: boolean,
): Record<string, unknown> {
  const name = (t: number): string => (asIds ? `token_id:${t}` : decode([t]));
  const names = tokens.map(name);
  const offsets: number[] = [];
  let at = 0;
  for (const s of names) {
    offsets.push(at);
    at += s.length;
  }
  return {
    tokens: names,
    token_logprobs: [null, ...scored.perToken],
    top_logprobs: [null, ...scored.top.map((top, i) => Object.fromEntries([[name(tokens[i + 1]!), scored.perToken[i]!], ...top.slice(0, k).map(([t, lp]) => [name(t), lp])]))],
    text_offset: offsets,
  };
}
