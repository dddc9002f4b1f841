// JSON over HTTP to an inference server: a limit on requests in flight, a timeout per try, retries with backoff on
// 429, 5xx and lost connections, cancel through the caller's AbortSignal, and errors that say what happened.
import { AbortError } from "../abort";
import { BACKEND_API_KEY_ENV } from "../../../../common/backendRef";

export interface HttpOptions {
  /** Sent as `Authorization: Bearer …` when set. */
  apiKey?: string;
  /** Requests in flight at most; more wait their turn. */
  concurrency: number;
  /** One try's limit, from sending to the whole answer read. */
  timeoutMs: number;
  /** Tries after the first, for 429, 5xx and connections lost or refused. */
  retries: number;
  /** The first wait before a retry; it doubles each time (a server's Retry-After is honoured up to 30 s). */
  backoffMs: number;
  /** The largest answer read, in bytes. */
  maxResponseBytes: number;
  /** For tests. */
  fetch?: typeof fetch;
}

export const DEFAULT_HTTP: HttpOptions = { concurrency: 4, timeoutMs: 300_000, retries: 4, backoffMs: 500, maxResponseBytes: 256 * 1024 * 1024 };

/** A backend failed; `status` is the HTTP status when the server answered, `body` its error text. */
export class BackendError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly body?: string,
  ) {
    super(message);
    this.name = "BackendError";
  }
}

const RETRIED = new Set([408, 429, 500, 502, 503, 504]);

export class HttpClient {
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly opts: HttpOptions;
  /** Requests sent (every try), for tests and diagnostics. */
  tries = 0;

  constructor(
    /** The server's base address, e.g. http://127.0.0.1:8000 (no trailing /). */
    readonly base: string,
    opts: Partial<HttpOptions> = {},
  ) {
    this.opts = { ...DEFAULT_HTTP, ...opts };
  }

  get(path: string, signal?: AbortSignal): Promise<unknown> {
    return this.request("GET", path, undefined, signal);
  }

  post(path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    return this.request("POST", path, body, signal);
  }

  /** One JSON request, with retries; throws AbortError on the caller's cancel, BackendError otherwise. */
  async request(method: "GET" | "POST", path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw new AbortError();
      const outcome = await this.withSlot(signal, () => this.tryOnce(method, path, payload, signal));
      if (outcome.ok) return outcome.value;
      if (!outcome.retry || attempt >= this.opts.retries) {
        throw new BackendError(`${outcome.message}${attempt > 0 ? ` (after ${attempt + 1} tries)` : ""}`, outcome.status, outcome.body);
      }
      const wait = outcome.retryAfterMs ?? this.opts.backoffMs * 2 ** attempt;
      await sleep(wait, signal);
    }
  }

  private async tryOnce(
    method: string,
    path: string,
    payload: string | undefined,
    signal?: AbortSignal,
  ): Promise<{ ok: true; value: unknown } | { ok: false; retry: boolean; message: string; status?: number; body?: string; retryAfterMs?: number }> {
    const url = `${this.base}${path}`;
    const timeout = AbortSignal.timeout(this.opts.timeoutMs);
    const trySignal = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const headers: Record<string, string> = { accept: "application/json" };
    if (payload !== undefined) headers["content-type"] = "application/json";
    if (this.opts.apiKey) headers.authorization = `Bearer ${this.opts.apiKey}`;
    this.tries++;
    let response: Response;
    try {
      response = await (this.opts.fetch ?? fetch)(url, { method, headers, body: payload, signal: trySignal, redirect: "error" });
    } catch (err) {
      if (signal?.aborted) throw new AbortError();
      if (timeout.aborted) return { ok: false, retry: false, message: `${method} ${url}: no answer in ${this.opts.timeoutMs / 1000} s` };
      return { ok: false, retry: true, message: `${method} ${url}: ${connectionFailure(err)}` };
    }
    let text: string;
    try {
      text = await readLimited(response, this.opts.maxResponseBytes);
    } catch (err) {
      if (signal?.aborted) throw new AbortError();
      if (timeout.aborted) return { ok: false, retry: false, message: `${method} ${url}: the answer did not arrive in ${this.opts.timeoutMs / 1000} s` };
      if (err instanceof BackendError) return { ok: false, retry: false, message: `${method} ${url}: ${err.message}` };
      return { ok: false, retry: true, message: `${method} ${url}: the connection broke while reading the answer (${connectionFailure(err)})` };
    }
    if (!response.ok) {
      const detail = errorDetail(text);
      const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
      const auth = response.status === 401 || response.status === 403 ? ` (set the server's API key in ${BACKEND_API_KEY_ENV})` : "";
      return {
        ok: false,
        retry: RETRIED.has(response.status),
        status: response.status,
        body: detail,
        message: `${method} ${url} answered ${status}${detail ? `: ${detail}` : ""}${auth}`,
        retryAfterMs: retryAfter(response.headers.get("retry-after")),
      };
    }
    try {
      return { ok: true, value: JSON.parse(text) as unknown };
    } catch {
      // some answers are plain text (vLLM's "Success: LoRA adapter … added"); the callers check every shape they read
      return { ok: true, value: text };
    }
  }

  /** Runs `work` once fewer than `concurrency` requests are in flight (first come, first served). */
  private async withSlot<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    if (this.inFlight >= this.opts.concurrency) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          const i = this.waiting.indexOf(go);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(new AbortError());
        };
        const go = (): void => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        if (signal?.aborted) return onAbort();
        signal?.addEventListener("abort", onAbort, { once: true });
        this.waiting.push(go);
      });
    } else this.inFlight++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.inFlight--;
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortError());
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AbortError());
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The answer's text, refused past `limit` bytes. */
async function readLimited(response: Response, limit: number): Promise<string> {
  const declared = Number(response.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel();
    throw new BackendError(`the answer is ${declared} bytes, over the limit of ${limit}`);
  }
  if (!response.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new BackendError(`the answer ran past the limit of ${limit} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The server's own words from an error body: OpenAI's {error: {message}}, FastAPI's {detail}, {message}, or text. */
function errorDetail(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown; detail?: unknown };
    const m = typeof j.error === "object" ? j.error?.message : (j.error ?? j.message ?? j.detail);
    if (m !== undefined) return (typeof m === "string" ? m : JSON.stringify(m)).slice(0, 500);
  } catch {
    // not JSON
  }
  return text.trim().slice(0, 500);
}

function retryAfter(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds, 30) * 1000 : undefined;
}

function connectionFailure(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code;
  if (code === "ECONNREFUSED") return "connection refused (is the server running, and on this port?)";
  if (code === "ECONNRESET" || code === "UND_ERR_SOCKET") return "the connection was reset (did the server stop?)";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "the host name does not resolve";
  return code ?? cause?.message ?? (err as Error).message;
}
