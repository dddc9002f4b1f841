// The remote backend's wire formats against recorded vLLM and SGLang answers (test/fixtures/backends, written from
// their documented formats: a null first prompt log-probability, top-k tokens before the prompt's own, wrong echoed
// strings), and its HTTP behaviour against small fake servers on 127.0.0.1: which servers it accepts and refuses
// (llama.cpp's llama-server, by name), retries with backoff, cancel, bounds. No model is loaded here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
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
  sglangGenerateRequest,
  sglangPromptLogProbsRequest,
  type ScoreItem,
} from "../../server/src/engine/remote/protocol";
import { BackendError, HttpClient } from "../../server/src/engine/remote/http";
import { RemoteBackend } from "../../server/src/engine/remote/backend";
import { AbortError } from "../../server/src/engine/abort";
import { backendBase, backendUrlProblem, isLoopbackHost } from "../../common/backendRef";

const FIXTURES = join(__dirname, "../fixtures/backends");
const recorded = (name: string): unknown => JSON.parse(readFileSync(join(FIXTURES, name), "utf8"));

const A: ScoreItem = { tokens: [100, 200, 300, 400, 500], split: 3 };
const B: ScoreItem = { tokens: [100, 200, 301, 401], split: 2 };

test("vLLM prompt_logprobs are read by token ID: the null first entry, top-k tokens listed first and wrong decoded_token strings change nothing", () => {
  const values = parseOpenaiPromptLogProbs(recorded("vllm-prompt-logprobs.json"), [A, B], "vLLM");
  assert.deepEqual(values, [
    [-0.5, -3.0],
    [-1.75, -0.125],
  ]);
  // a prompt the server evaluated differently (e.g. a BOS added) is refused, not misread
  const shifted = { tokens: [1, 100, 200, 300, 400], split: 3 };
  assert.throws(() => parseOpenaiPromptLogProbs(recorded("vllm-prompt-logprobs.json"), [shifted, B], "vLLM"), /evaluated other tokens than prompt 0/);
  // an entry that does not name the prompt's token is an error, never a neighbour's value
  const other = { tokens: [100, 200, 300, 999, 500], split: 3 };
  const answer = recorded("vllm-prompt-logprobs.json") as { choices: { prompt_token_ids?: unknown }[] };
  for (const c of answer.choices) delete c.prompt_token_ids;
  assert.throws(() => parseOpenaiPromptLogProbs(answer, [other, B], "vLLM"), /no log-probability for token 999/);
});

test("an answer without prompt_logprobs names the servers that can score", () => {
  const answer = { choices: [{ index: 0, text: " x", finish_reason: "length" }] };
  assert.throws(
    () => parseOpenaiPromptLogProbs(answer, [A], "the server"),
    (err: Error) => err instanceof NoPromptLogProbsError && /vLLM/.test(err.message) && /SGLang/.test(err.message) && /TGI/.test(err.message) && /inversion serve/.test(err.message) && /llama-server refuses echo/.test(err.message),
  );
});

test("an echo's log-probabilities are read by position: its token strings (split wrongly, vllm#5334) are never read", () => {
  assert.deepEqual(parseOpenaiEchoLogProbs(recorded("vllm-echo.json"), [A, B], "vLLM"), [
    [-0.5, -3.0],
    [-1.75, -0.125],
  ]);
  // with return_tokens_as_token_ids the strings name IDs, and a mismatch is caught
  const answer = recorded("vllm-echo.json") as { choices: { logprobs: { tokens: string[] } }[] };
  answer.choices[0]!.logprobs.tokens = ["token_id:100", "token_id:200", "token_id:300", "token_id:401", "token_id:500"];
  assert.throws(() => parseOpenaiEchoLogProbs(answer, [A, B], "vLLM"), /names token 401 where the prompt holds 400/);
});

test("SGLang's input_token_logprobs start at logprob_start_len with a null entry, and are checked by token ID", () => {
  assert.deepEqual(parseSglangPromptLogProbs(recorded("sglang-input-logprobs.json"), [A, B], "SGLang"), [
    [-0.5, -3.0],
    [-1.75, -0.125],
  ]);
  const wrong = { tokens: [100, 200, 300, 401, 500], split: 3 };
  assert.throws(() => parseSglangPromptLogProbs(recorded("sglang-input-logprobs.json"), [wrong, B], "SGLang"), /names token 400 where the prompt holds 401/);
  assert.throws(() => parseSglangPromptLogProbs([{ text: "", meta_info: {} }, { text: "", meta_info: {} }], [A, B], "SGLang"), NoPromptLogProbsError);
});

test("completions are taken in index order, prompt by prompt, n each", () => {
  assert.deepEqual(parseOpenaiCompletions(recorded("vllm-completions.json"), 2, 2), [
    [" ls -lS\n", " ls -S"],
    [" df -h\n", " du -sh\n"],
  ]);
  assert.throws(() => parseOpenaiCompletions(recorded("vllm-completions.json"), 3, 1), /4 choices for 3 asked/);
  assert.deepEqual(parseSglangGenerate(recorded("sglang-generate.json"), 2, 1), [[" ls -lS\n"], [" du -sh\n"]]);
});

test("requests carry token IDs, vLLM's and SGLang's own fields, and a seed only when sampling", () => {
  const lp = openaiPromptLogProbsRequest("m", [A, B]);
  assert.deepEqual(lp.prompt, [A.tokens, B.tokens]);
  assert.equal(lp.prompt_logprobs, 0);
  assert.equal(lp.return_token_ids, true);
  const echo = openaiEchoRequest("m", [A]);
  assert.equal(echo.echo, true);
  assert.equal(echo.max_tokens, 0);
  const greedy = openaiGenerateRequest("m", [A.tokens], { n: 1, maxTokens: 48, temperature: 0, seed: 5, stop: ["\n"] });
  assert.equal(greedy.seed, undefined);
  assert.equal(greedy.include_stop_str_in_output, true);
  const sampled = openaiGenerateRequest("m", [A.tokens], { n: 3, maxTokens: 48, temperature: 0.7, seed: 5, stop: [] });
  assert.deepEqual([sampled.seed, sampled.n, sampled.top_k, sampled.top_p, sampled.stop], [5, 3, 40, 0.95, undefined]);
  const sg = sglangPromptLogProbsRequest([A, B], "inversion-a");
  assert.deepEqual(sg.logprob_start_len, [2, 1]);
  assert.deepEqual(sg.lora_path, ["inversion-a", "inversion-a"]);
  assert.equal((sg.sampling_params as { max_new_tokens: number }).max_new_tokens, 0);
  const sgGen = sglangGenerateRequest([A.tokens], { n: 2, maxTokens: 10, temperature: 0.5, seed: 9, stop: ["\n"] });
  assert.deepEqual(sgGen.sampling_params, { n: 2, max_new_tokens: 10, temperature: 0.5, top_k: 40, top_p: 0.95, sampling_seed: 9, stop: ["\n"], no_stop_trim: true });
});

test("backend URLs: https anywhere, http only on this machine, no credentials", () => {
  assert.equal(backendUrlProblem("https://gpu-box:8000"), null);
  assert.equal(backendUrlProblem("http://127.0.0.1:8000/v1"), null);
  assert.equal(backendUrlProblem("http://[::1]:8000"), null);
  assert.equal(backendUrlProblem("http://localhost:8000"), null);
  assert.match(backendUrlProblem("http://gpu-box:8000")!, /plain http to another machine/);
  assert.match(backendUrlProblem("http://10.0.0.2:8000")!, /plain http/);
  assert.match(backendUrlProblem("https://user:pw@gpu-box")!, /INVERSION_BACKEND_API_KEY/);
  assert.match(backendUrlProblem("ftp://x")!, /https/);
  assert.match(backendUrlProblem("gpu-box:8000")!, /https/);
  assert.equal(backendBase("http://127.0.0.1:8000/v1/"), "http://127.0.0.1:8000");
  assert.ok(isLoopbackHost("127.3.2.1") && isLoopbackHost("[::1]") && !isLoopbackHost("128.0.0.1"));
});

// ------------------------------------------------------------------------------------------------------------------
// fake servers on 127.0.0.1

type Route = (body: Record<string, unknown> | undefined, req: IncomingMessage, res: ServerResponse) => unknown;

async function fakeServer(routes: Record<string, Route>): Promise<{ url: string; seen: { route: string; body: unknown }[]; closed: number; close(): Promise<void> }> {
  const seen: { route: string; body: unknown }[] = [];
  const state = { closed: 0 };
  const server = createServer((req, res) => {
    let raw = "";
    req.on("data", (d: Buffer) => (raw += d.toString()));
    req.on("end", async () => {
      const route = `${req.method} ${req.url}`;
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined;
      seen.push({ route, body });
      res.on("close", () => {
        if (!res.writableFinished) state.closed++;
      });
      const handler = routes[route];
      if (!handler) {
        res.writeHead(404, { "content-type": "application/json" });
        return res.end(JSON.stringify({ detail: "Not Found" }));
      }
      const answer = await handler(body, req, res);
      if (answer === undefined || res.writableEnded) return;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    get closed() {
      return state.closed;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const tokenizeRoute: Route = (body) => {
  if (body?.messages) return undefined as never; // handled below
  return { count: 2, max_model_len: 32768, tokens: [100, 200] };
};

function reject(res: ServerResponse, status: number, message: string): undefined {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ object: "error", message, type: "BadRequestError", param: null, code: status }));
  return undefined;
}

test("a vLLM server is recognised, scored by prompt_logprobs in batches, and its answers read by token ID", async () => {
  const fake = await fakeServer({
    "GET /v1/models": () => recorded("vllm-models.json"),
    "POST /tokenize": (body, _req, res) => (body?.messages ? reject(res, 400, "chat template not found") : tokenizeRoute(body, _req, res)),
    "POST /v1/completions": () => recorded("vllm-prompt-logprobs.json"),
  });
  try {
    const backend = await RemoteBackend.connect(fake.url, { retries: 0 });
    assert.match(backend.describe(), /^vLLM at http:\/\/127\.0\.0\.1:\d+, model Qwen\/Qwen2\.5-Coder-1\.5B-Instruct \(plain prompts, context 32768 tokens\)$/);
    // two calls made together go as one request of two prompts
    const [a, b] = await Promise.all([backend.scoreTokens(A, null), backend.scoreTokens(B, null)]);
    assert.deepEqual([a, b], [
      [-0.5, -3.0],
      [-1.75, -0.125],
    ]);
    const sent = fake.seen.filter((s) => s.route === "POST /v1/completions");
    assert.equal(sent.length, 1);
    assert.deepEqual((sent[0]!.body as { prompt: number[][] }).prompt, [A.tokens, B.tokens]);
    assert.equal((sent[0]!.body as { model: string }).model, "Qwen/Qwen2.5-Coder-1.5B-Instruct");
  } finally {
    await fake.close();
  }
});

test("an SGLang server is recognised and scored through /generate with input_ids and logprob_start_len", async () => {
  const fake = await fakeServer({
    "GET /v1/models": () => recorded("sglang-models.json"),
    "POST /tokenize": () => ({ tokens: [100, 200], count: 2, max_model_len: 32768 }),
    "POST /generate": (body) => (body?.return_logprob ? recorded("sglang-input-logprobs.json") : recorded("sglang-generate.json")),
  });
  try {
    const backend = await RemoteBackend.connect(fake.url, { retries: 0 });
    assert.match(backend.describe(), /^SGLang at /);
    const [a, b] = await Promise.all([backend.scoreTokens(A, null), backend.scoreTokens(B, null)]);
    assert.deepEqual([a, b], [
      [-0.5, -3.0],
      [-1.75, -0.125],
    ]);
    const sent = fake.seen.find((s) => s.route === "POST /generate")!.body as { input_ids: number[][]; logprob_start_len: number[] };
    assert.deepEqual(sent.input_ids, [A.tokens, B.tokens]);
    assert.deepEqual(sent.logprob_start_len, [2, 1]);
    const params = { n: 1, maxTokens: 16, temperature: 0, stop: ["\n"] };
    assert.deepEqual(await Promise.all([backend.generate(A.tokens, params, null), backend.generate(B.tokens, params, null)]), [[" ls -lS\n"], [" du -sh\n"]]);
  } finally {
    await fake.close();
  }
});

test("llama.cpp's llama-server is refused by name, with the servers that can score", async () => {
  const fake = await fakeServer({ "GET /v1/models": () => recorded("llamacpp-models.json") });
  try {
    await assert.rejects(RemoteBackend.connect(fake.url, { retries: 0 }), (err: Error) => err instanceof NoPromptLogProbsError && /llama\.cpp's llama-server at http/.test(err.message) && /vLLM/.test(err.message) && /inversion serve/.test(err.message));
  } finally {
    await fake.close();
  }
});

test("a server that ignores prompt_logprobs and refuses echo (as llama-server does) fails with the clear error, after trying echo", async () => {
  const fake = await fakeServer({
    "GET /v1/models": () => ({ object: "list", data: [{ id: "m", object: "model", owned_by: "someone" }] }),
    "POST /tokenize": (body, _req, res) => (body?.messages ? reject(res, 400, "no") : { tokens: [1, 2] }),
    "POST /v1/completions": (body, _req, res) =>
      body?.echo ? reject(res, 500, "Only no echo is supported") : { choices: [{ index: 0, text: " x", finish_reason: "length" }] },
  });
  try {
    const backend = await RemoteBackend.connect(fake.url, { retries: 0 });
    await assert.rejects(backend.scoreTokens(A, null), (err: Error) => err instanceof NoPromptLogProbsError && /refused echo: Only no echo is supported/.test(err.message));
    const fake2Routes = fake.seen.filter((s) => s.route === "POST /v1/completions").map((s) => Boolean((s.body as { echo?: boolean }).echo));
    assert.deepEqual(fake2Routes, [false, true]);
  } finally {
    await fake.close();
  }
  const refusing = await fakeServer({
    "GET /v1/models": () => ({ object: "list", data: [{ id: "m", object: "model", owned_by: "someone" }] }),
    "POST /tokenize": (body, _req, res) => (body?.messages ? reject(res, 400, "no") : { tokens: [1, 2] }),
    "POST /v1/completions": (body, _req, res) => (body?.echo ? reject(res, 400, "Only no echo is supported") : { choices: [{ index: 0, text: " x" }] }),
  });
  try {
    const backend = await RemoteBackend.connect(refusing.url, { retries: 0 });
    await assert.rejects(backend.scoreTokens(A, null), (err: Error) => err instanceof NoPromptLogProbsError && /refused echo: Only no echo is supported/.test(err.message) && /SGLang/.test(err.message));
  } finally {
    await refusing.close();
  }
});

test("429 and 5xx are retried with backoff (Retry-After honoured); 4xx is not; a dead server fails with what happened", async () => {
  let calls = 0;
  const fake = await fakeServer({
    "GET /busy": (_b, _req, res) => {
      calls++;
      if (calls <= 2) {
        res.writeHead(429, { "retry-after": "0", "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: "busy" } }));
        return undefined;
      }
      return { ok: true };
    },
    "GET /bad": (_b, _req, res) => reject(res, 400, "prompt too long"),
    "GET /down": (_b, _req, res) => reject(res, 503, "loading"),
  });
  try {
    const http = new HttpClient(fake.url, { retries: 3, backoffMs: 10 });
    assert.deepEqual(await http.get("/busy"), { ok: true });
    assert.equal(calls, 3);
    const before = http.tries;
    await assert.rejects(http.get("/bad"), (err: Error) => err instanceof BackendError && err.status === 400 && /answered 400 Bad Request: prompt too long/.test(err.message));
    assert.equal(http.tries - before, 1);
    const t0 = Date.now();
    await assert.rejects(http.get("/down"), (err: Error) => /answered 503 Service Unavailable: loading \(after 4 tries\)/.test(err.message));
    assert.ok(Date.now() - t0 >= 10 + 20 + 40, "backoff doubles");
  } finally {
    await fake.close();
  }
  const dead = new HttpClient(fake.url, { retries: 1, backoffMs: 10 });
  await assert.rejects(dead.get("/busy"), (err: Error) => err instanceof BackendError && /connection refused \(is the server running, and on this port\?\) \(after 2 tries\)/.test(err.message));
});

test("a cancel answers AbortError at once and closes the request the server is working on", async () => {
  const fake = await fakeServer({
    "GET /slow": () => new Promise(() => undefined), // never answers
  });
  try {
    const http = new HttpClient(fake.url, { retries: 2 });
    const ac = new AbortController();
    const pending = http.get("/slow", ac.signal);
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    ac.abort();
    await assert.rejects(pending, AbortError);
    assert.ok(Date.now() - t0 < 500);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(fake.closed, 1, "the server saw the connection close");
    assert.equal(http.tries, 1, "a cancel is not retried");
  } finally {
    await fake.close();
  }
});

test("a try past its timeout fails, and an answer past the size limit is refused", async () => {
  const fake = await fakeServer({
    "GET /slow": () => new Promise(() => undefined),
    "GET /huge": () => ({ data: "x".repeat(5000) }),
  });
  try {
    await assert.rejects(new HttpClient(fake.url, { timeoutMs: 150, retries: 0 }).get("/slow"), /no answer in 0\.15 s/);
    await assert.rejects(new HttpClient(fake.url, { maxResponseBytes: 1000, retries: 0 }).get("/huge"), /over the limit of 1000|past the limit of 1000/);
  } finally {
    await fake.close();
  }
});

test("the editor's backend comes from the user's setting only: a bad URL is dropped with a reason, a run request cannot set one", async () => {
  const { normalizeSettings } = await import("../../server/src/lsp/settings.js");
  const { runOptionsFromSettings, runOverridesOf } = await import("../../server/src/lsp/runs.js");
  const problems: string[] = [];
  assert.equal(normalizeSettings({ backend: "http://gpu-box:8000" }, (m) => problems.push(m)).backend, "");
  assert.match(problems[0]!, /^inversion\.backend: .*plain http to another machine.*The model runs on this machine\.$/);
  const settings = normalizeSettings({ backend: " https://gpu-box:8000 ", runsDirectory: "/tmp/runs" });
  assert.equal(settings.backend, "https://gpu-box:8000");
  assert.equal(runOptionsFromSettings(settings).backend, "https://gpu-box:8000");
  assert.equal(runOptionsFromSettings({ ...settings, backend: "" }).backend, undefined);
  assert.throws(() => runOverridesOf({ overrides: { backend: "https://evil.example" } }), /Unknown run overrides: backend/);
  assert.equal(runOptionsFromSettings(settings, runOverridesOf({ overrides: { backendFor: "learner" } })).backendFor, "learner");
});
