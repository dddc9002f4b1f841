// The wire formats, as pure functions: requests built from token IDs, answers read back by token ID.
//
// Two dialects, read from the servers' own sources (see docs/SCALE-OUT.md, "Serving elsewhere"):
// - "openai": POST /v1/completions with vLLM's extensions (vLLM, and `inversion serve`, which speaks the same subset).
//   `prompt` is a batch of token-ID lists; `prompt_logprobs: 0` returns, per choice, a list as long as the prompt
//   whose first entry is null and whose others map "<token id>" to {logprob, rank, decoded_token}; choices come
//   prompt by prompt, `n` each, numbered by `index`. `echo` with `logprobs` is the older route to the same numbers
//   (`logprobs.token_logprobs`, first null); its token strings are unreliable (vllm#5334), so nothing here reads them:
//   positions and token IDs only.
// - "sglang": SGLang's native POST /generate with `input_ids`, `return_logprob` and `logprob_start_len`;
//   `meta_info.input_token_logprobs` holds [logprob, token id, text] for the prompt from logprob_start_len on, the
//   first always [null, id, …].
import { BackendError } from "./http";

export type Dialect = "openai" | "sglang";

/** Teacher-forced scoring of one token list: ln p(tokens[p] | tokens[..p]) for p from `split` on (split ≥ 1). */
export interface ScoreItem {
  tokens: number[];
  split: number;
}

export interface GenerateParams {
  n: number;
  maxTokens: number;
  temperature: number;
  /** Only with temperature > 0. */
  seed?: number;
  /** Stop strings; each stays at the end of the text that hit it, as llama.cpp's stop at a newline keeps it. */
  stop: string[];
}

/**
 * node-llama-cpp samples with top-k 40 and top-p 0.95 unless told otherwise (LlamaContext's defaults); remote
 * sampling asks for the same, so a sampled candidate comes from the same distribution here and there.
 */
export const SAMPLING = { topK: 40, topP: 0.95 } as const;

/** A server that cannot return the log-probabilities of a prompt's tokens, which every scorer needs. */
export class NoPromptLogProbsError extends BackendError {
  constructor(server: string, why: string) {
    super(
      `${server} cannot return the log-probabilities of a prompt's tokens (${why}). Inversion's scores (the lift, original's reading, ` +
        "coder-reviewer) are teacher-forced log-probabilities, so a backend must return them by token: vLLM (prompt_logprobs), " +
        "SGLang (/generate with return_logprob and logprob_start_len), or `inversion serve` (node-llama-cpp, this package). " +
        "TGI returns them too (decoder_input_details on its native /generate), but Inversion does not speak TGI's API yet. " +
        "llama.cpp's llama-server refuses echo and ignores prompt_logprobs, so it cannot be a backend: serve the GGUF with `inversion serve` instead.",
    );
    this.name = "NoPromptLogProbsError";
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function bad(what: string): BackendError {
  return new BackendError(`The backend's answer is not what its API documents: ${what}.`);
}

// ------------------------------------------------------------------------------------------------------------------
// openai (vLLM, inversion serve)
// ------------------------------------------------------------------------------------------------------------------

export function openaiPromptLogProbsRequest(model: string, items: readonly ScoreItem[]): Record<string, unknown> {
  return { model, prompt: items.map((i) => i.tokens), max_tokens: 1, temperature: 0, prompt_logprobs: 0, return_token_ids: true };
}

export function openaiEchoRequest(model: string, items: readonly ScoreItem[]): Record<string, unknown> {
  return { model, prompt: items.map((i) => i.tokens), max_tokens: 0, echo: true, logprobs: 0, temperature: 0, return_tokens_as_token_ids: true };
}

export function openaiGenerateRequest(model: string, prompts: readonly number[][], g: GenerateParams): Record<string, unknown> {
  return {
    model,
    prompt: prompts,
    n: g.n,
    max_tokens: g.maxTokens,
    temperature: g.temperature,
    ...(g.temperature > 0 ? { top_k: SAMPLING.topK, top_p: SAMPLING.topP } : {}),
    ...(g.temperature > 0 && g.seed !== undefined ? { seed: g.seed } : {}),
    ...(g.stop.length ? { stop: g.stop, include_stop_str_in_output: true } : {}),
  };
}

/** The choices in `index` order, `count` of them; each must be an object. */
function openaiChoices(res: unknown, count: number): Record<string, unknown>[] {
  if (!isObject(res) || !Array.isArray(res.choices)) throw bad("no `choices` list");
  const choices = res.choices as unknown[];
  if (choices.length !== count) throw bad(`${choices.length} choices for ${count} asked`);
  const out: Record<string, unknown>[] = new Array(count);
  for (const [i, c] of choices.entries()) {
    if (!isObject(c)) throw bad(`choice ${i} is not an object`);
    const index = typeof c.index === "number" ? c.index : i;
    if (!Number.isInteger(index) || index < 0 || index >= count || out[index]) throw bad(`choice index ${String(c.index)} is out of place`);
    out[index] = c;
  }
  return out;
}

/** A prompt token's log-probability from a prompt_logprobs entry, keyed by token ID (never by its text). */
function promptEntryLogProb(entry: unknown, token: number, where: string): number {
  if (!isObject(entry)) throw bad(`${where}: no log-probabilities at a scored position`);
  const v = entry[String(token)];
  const logprob = typeof v === "number" ? v : isObject(v) ? v.logprob : undefined;
  if (typeof logprob !== "number" || Number.isNaN(logprob)) throw bad(`${where}: no log-probability for token ${token}, which the prompt holds there`);
  return logprob;
}

/** Per item, ln p of each token from its split on, from vLLM's `prompt_logprobs`. */
export function parseOpenaiPromptLogProbs(res: unknown, items: readonly ScoreItem[], server: string): number[][] {
  const choices = openaiChoices(res, items.length);
  return items.map((item, i) => {
    const c = choices[i]!;
    checkPromptTokens(c.prompt_token_ids, item.tokens, i);
    const lps = c.prompt_logprobs;
    if (lps === undefined || lps === null) throw new NoPromptLogProbsError(server, "its answer has no prompt_logprobs");
    if (!Array.isArray(lps) || lps.length !== item.tokens.length) throw bad(`prompt ${i}: prompt_logprobs has ${Array.isArray(lps) ? lps.length : "no"} entries for ${item.tokens.length} tokens`);
    const out: number[] = [];
    for (let p = item.split; p < item.tokens.length; p++) out.push(promptEntryLogProb(lps[p], item.tokens[p]!, `prompt ${i}, position ${p}`));
    return out;
  });
}

/** Per item, ln p of each token from its split on, from an echo's `logprobs.token_logprobs` (by position only). */
export function parseOpenaiEchoLogProbs(res: unknown, items: readonly ScoreItem[], server: string): number[][] {
  const choices = openaiChoices(res, items.length);
  return items.map((item, i) => {
    const lp = choices[i]!.logprobs;
    if (!isObject(lp) || !Array.isArray(lp.token_logprobs)) throw new NoPromptLogProbsError(server, "its echo has no token_logprobs");
    const values = lp.token_logprobs as unknown[];
    if (values.length < item.tokens.length) throw bad(`prompt ${i}: token_logprobs has ${values.length} entries for ${item.tokens.length} prompt tokens`);
    // With return_tokens_as_token_ids the strings are "token_id:N": checked when they are; other strings are ignored.
    const names = Array.isArray(lp.tokens) ? (lp.tokens as unknown[]) : [];
    const out: number[] = [];
    for (let p = item.split; p < item.tokens.length; p++) {
      const named = typeof names[p] === "string" ? /^token_id:(\d+)$/.exec(names[p] as string) : null;
      if (named && Number(named[1]) !== item.tokens[p]) throw bad(`prompt ${i}, position ${p}: the echo names token ${named[1]} where the prompt holds ${item.tokens[p]}`);
      const v = values[p];
      if (typeof v !== "number" || Number.isNaN(v)) throw bad(`prompt ${i}, position ${p}: no log-probability`);
      out.push(v);
    }
    return out;
  });
}

/** Per prompt, its `n` texts, from a completions answer. */
export function parseOpenaiCompletions(res: unknown, prompts: number, n: number): string[][] {
  const choices = openaiChoices(res, prompts * n);
  return Array.from({ length: prompts }, (_, i) =>
    Array.from({ length: n }, (_, j) => {
      const text = choices[i * n + j]!.text;
      if (typeof text !== "string") throw bad(`choice ${i * n + j} has no text`);
      return text;
    }),
  );
}

function checkPromptTokens(echoed: unknown, sent: readonly number[], i: number): void {
  if (!Array.isArray(echoed)) return;
  if (echoed.length !== sent.length || echoed.some((t, k) => t !== sent[k])) {
    throw new BackendError(`The backend evaluated other tokens than prompt ${i}'s (${echoed.length} for ${sent.length} sent): it must take the token IDs as they are.`);
  }
}

// ------------------------------------------------------------------------------------------------------------------
// sglang
// ------------------------------------------------------------------------------------------------------------------

export function sglangPromptLogProbsRequest(items: readonly ScoreItem[], lora?: string): Record<string, unknown> {
  return {
    input_ids: items.map((i) => i.tokens),
    sampling_params: { max_new_tokens: 0, temperature: 0 },
    return_logprob: true,
    // the first returned entry is always null, so start one before the first scored token
    logprob_start_len: items.map((i) => i.split - 1),
    ...(lora ? { lora_path: items.map(() => lora) } : {}),
  };
}

export function sglangGenerateRequest(prompts: readonly number[][], g: GenerateParams, lora?: string): Record<string, unknown> {
  return {
    input_ids: prompts,
    sampling_params: {
      n: g.n,
      max_new_tokens: g.maxTokens,
      temperature: g.temperature,
      ...(g.temperature > 0 ? { top_k: SAMPLING.topK, top_p: SAMPLING.topP } : {}),
      ...(g.temperature > 0 && g.seed !== undefined ? { sampling_seed: g.seed } : {}),
      ...(g.stop.length ? { stop: g.stop, no_stop_trim: true } : {}),
    },
    ...(lora ? { lora_path: prompts.map(() => lora) } : {}),
  };
}

function sglangOutputs(res: unknown, count: number): Record<string, unknown>[] {
  const list = Array.isArray(res) ? res : [res];
  if (list.length !== count) throw bad(`${list.length} outputs for ${count} asked`);
  return list.map((o, i) => {
    if (!isObject(o)) throw bad(`output ${i} is not an object`);
    return o;
  });
}

export function parseSglangPromptLogProbs(res: unknown, items: readonly ScoreItem[], server: string): number[][] {
  const outputs = sglangOutputs(res, items.length);
  return items.map((item, i) => {
    const meta = outputs[i]!.meta_info;
    const entries = isObject(meta) ? meta.input_token_logprobs : undefined;
    if (!Array.isArray(entries)) throw new NoPromptLogProbsError(server, "its answer has no meta_info.input_token_logprobs");
    const start = item.split - 1;
    if (entries.length !== item.tokens.length - start) throw bad(`prompt ${i}: ${entries.length} input log-probabilities for ${item.tokens.length - start} tokens from position ${start}`);
    const out: number[] = [];
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k] as unknown;
      const p = start + k;
      if (!Array.isArray(e) || e[1] !== item.tokens[p]) throw bad(`prompt ${i}, position ${p}: the entry names token ${Array.isArray(e) ? String(e[1]) : "?"} where the prompt holds ${item.tokens[p]}`);
      if (p < item.split) continue; // the first entry is always null
      if (typeof e[0] !== "number" || Number.isNaN(e[0])) throw bad(`prompt ${i}, position ${p}: no log-probability`);
      out.push(e[0]);
    }
    return out;
  });
}

/** Per prompt, its `n` texts; SGLang answers one output per prompt and sample, prompt by prompt. */
export function parseSglangGenerate(res: unknown, prompts: number, n: number): string[][] {
  const outputs = sglangOutputs(res, prompts * n);
  return Array.from({ length: prompts }, (_, i) =>
    Array.from({ length: n }, (_, j) => {
      const text = outputs[i * n + j]!.text;
      if (typeof text !== "string") throw bad(`output ${i * n + j} has no text`);
      return text;
    }),
  );
}

// ------------------------------------------------------------------------------------------------------------------
// tokenizer endpoints (vLLM, SGLang and inversion serve all answer POST /tokenize with {tokens: number[]})
// ------------------------------------------------------------------------------------------------------------------

export function parseTokens(res: unknown): number[] {
  if (!isObject(res) || !Array.isArray(res.tokens) || res.tokens.some((t) => !Number.isInteger(t) || (t as number) < 0)) throw bad("/tokenize gave no list of token IDs");
  return res.tokens as number[];
}
