// `inversion serve` and the remote backend together, over real HTTP on 127.0.0.1, on the fixture model: every scorer
// through the backend equals the local engine's within 1e-3, seeded samples are identical, a cancel stops the work in
// flight on the server, adapters load and unload, requests are bounded, and a run whose server is killed fails with a
// clear error and resumes.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { tempDir, fixtureModel } from "../helpers/fixture";
import { startServer, type RunningServer } from "../../server/src/serve/server";
import { RemoteBackend, BackendError, type RemoteSession } from "../../server/src/engine/remote/backend";
import { loadModel, type LoadedModel } from "../../server/src/engine/runtime";
import { ModelSession } from "../../server/src/engine/session";
import { coderReviewerScorer, liftScorer, originalScorer } from "../../server/src/engine/scorers";
import { forwardPrompt, inversePrompt, type Shot } from "../../server/src/engine/prompts";
import { invertCommand } from "../../server/src/engine/candidates";
import { AbortError } from "../../server/src/engine/abort";
import { DEFAULT_RUN_OPTIONS, runLoop, type RunOptions } from "../../server/src/engine/loop";
import { Engine } from "../../server/src/engine/api";
import { evaluateExternal, loadEvalSet } from "../../server/src/engine/external";
import { loadShellParser } from "../../server/src/shell/parser";
import { GGML_TYPE, GGUF_VALUE, writeGgufFile, type GgufTensorData } from "../../server/src/engine/adapters/gguf";
import { createRandom, randomNormalValues, writeFixtureModel } from "../../tools/gguf/fixtureModel";

const ROOT = resolve(__dirname, "../..");
let dir: string;
let cleanup: () => Promise<void>;
let modelPath: string;
let server: RunningServer;
let backend: RemoteBackend;
let remote: RemoteSession;
let loaded: LoadedModel;
let local: ModelSession;

before(async () => {
  ({ dir, cleanup } = await tempDir("inversion-serve-"));
  modelPath = await fixtureModel(dir);
  server = await startServer({ modelPath, port: 0, sequences: 4, gpu: "off", threads: 1, contextSize: 256 });
  backend = await RemoteBackend.connect(server.url, { retries: 1, backoffMs: 50 });
  remote = backend.session();
  loaded = await loadModel({ modelPath, gpu: "off", threads: 1, contextSize: 256 });
  local = await ModelSession.create(loaded, { sequences: 4 });
});

after(async () => {
  await local?.dispose();
  await loaded?.model.dispose();
  await server?.close();
  await cleanup();
});

const PAIRS: [string, string][] = [
  ["list files by size", "ls -lS"],
  ["show disk usage of each mounted file system", "df -h"],
  ["find python files under the current directory", "find . -name '*.py'"],
  ["count the lines of a file", "wc -l notes.txt"],
];

/** A generation as the server's stop string returns it: up to and including the first newline (cleanCommand reads
 * only the first line, so the engine sees the same command either way). */
const firstLine = (s: string): string => (s.includes("\n") ? s.slice(0, s.indexOf("\n") + 1) : s);

test("the backend describes inversion serve, plain prompts and the context", () => {
  assert.match(backend.describe(), /^inversion serve at http:\/\/127\.0\.0\.1:\d+, model fixture \(plain prompts, context 256 tokens\)$/);
});

test("every scorer's value through the remote backend equals the local engine's within 1e-3", async () => {
  for (const [task, command] of PAIRS) {
    const reconstruction = await invertCommand(local, command);
    assert.equal(await invertCommand(remote, command), reconstruction, "the inverse reading");
    const input = { task, command, reconstruction };
    for (const scorer of [liftScorer, originalScorer(3), coderReviewerScorer]) {
      const [here, there] = await Promise.all([scorer.score(local, input), scorer.score(remote, input)]);
      assert.ok(Math.abs(here.value - there.value) <= 1e-3, `${scorer.name} of ${command}: ${here.value} here, ${there.value} there`);
      for (const [key, value] of Object.entries(here.parts)) {
        const other = there.parts[key]!;
        assert.ok(Math.abs(value - other) <= 1e-3, `${scorer.name} ${key}: ${value} here, ${other} there`);
      }
    }
  }
});

test("log-probabilities are the same token for token, and prompts with examples are fitted to the context alike", async () => {
  const [here, there] = await Promise.all([local.logProb(inversePrompt("tar -czf logs.tgz /var/log"), " pack the logs"), remote.logProb(inversePrompt("tar -czf logs.tgz /var/log"), " pack the logs")]);
  assert.equal(there.tokens, here.tokens);
  here.perToken.forEach((v, i) => assert.ok(Math.abs(v - there.perToken[i]!) <= 1e-4));
  assert.deepEqual(await remote.tokenizeWith(inversePrompt("ls"), " list"), local.tokenizeWith(inversePrompt("ls"), " list"));
  // more examples than the 256-token context holds: both keep the same nearest ones
  const shots: Shot[] = Array.from({ length: 12 }, (_, i) => ({ task: `an example task number ${i} about files and directories`, command: `find /srv/data${i} -type f -name '*.log' -mtime +${i}` }));
  const build = (s: readonly Shot[]) => forwardPrompt("remove old log files", s);
  const fitted = local.withShots(build, shots, 64);
  assert.deepEqual(await remote.withShots(build, shots, 64), fitted);
  assert.ok(fitted.plain.includes("number 0") && !fitted.plain.includes("number 11"), "some examples fit, not all");
});

test("a model with a chat template: the server renders it (/tokenize with messages) and every scorer still matches", async () => {
  const chatml =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  const chatPath = await writeFixtureModel(join(dir, "chat.gguf"), { seed: 1, chatTemplate: chatml });
  const chatServer = await startServer({ modelPath: chatPath, port: 0, sequences: 2, gpu: "off", threads: 1, contextSize: 256 });
  const chatLoaded = await loadModel({ modelPath: chatPath, gpu: "off", threads: 1, contextSize: 256 });
  const chatLocal = await ModelSession.create(chatLoaded, { sequences: 2 });
  try {
    const chatRemote = (await RemoteBackend.connect(chatServer.url, { retries: 0 })).session();
    assert.equal(chatRemote.format, "chat");
    for (const [task, command] of PAIRS) {
      // the answer is tokenized with the template, as here: SentencePiece alone would add a space token
      assert.deepEqual(await chatRemote.tokenizeWith(inversePrompt(command), ` ${task}`), chatLocal.tokenizeWith(inversePrompt(command), ` ${task}`));
      const input = { task, command, reconstruction: "" };
      for (const scorer of [liftScorer, coderReviewerScorer]) {
        const [here, there] = await Promise.all([scorer.score(chatLocal, input), scorer.score(chatRemote, input)]);
        for (const [key, value] of Object.entries(here.parts)) assert.ok(Math.abs(value - there.parts[key]!) <= 1e-3, `${scorer.name} ${key}`);
      }
    }
    const opts = { temperature: 0.8, seed: 4, maxTokens: 12 };
    assert.deepEqual(await chatRemote.completeMany(forwardPrompt("list files"), 2, opts), await chatLocal.completeMany(forwardPrompt("list files"), 2, opts));
  } finally {
    await chatLocal.dispose();
    await chatLoaded.model.dispose();
    await chatServer.close();
  }
});

test("seeded samples through the backend are identical to the local engine's", async () => {
  for (const [task] of PAIRS) {
    const prompt = forwardPrompt(task);
    const opts = { temperature: 0.8, seed: 11, maxTokens: 24 };
    const [here, there] = await Promise.all([local.completeMany(prompt, 3, opts), remote.completeMany(prompt, 3, opts)]);
    assert.deepEqual(there, here.map(firstLine));
    assert.notEqual(here[0], here[1], "seed + i: the samples differ");
    assert.equal(await remote.complete(prompt, { temperature: 0.8, seed: 5 }), firstLine(await local.complete(prompt, { temperature: 0.8, seed: 5 })));
  }
});

test("a run through the backend writes the same candidates, readings and scores as a local run", async () => {
  const opts = (out: string, extra: Partial<RunOptions> = {}): RunOptions => ({
    ...DEFAULT_RUN_OPTIONS,
    modelPath,
    out,
    cycles: 1,
    tasks: 2,
    candidates: 2,
    threads: 1,
    gpu: "off",
    learn: "none",
    heldOutTasks: 2,
    threshold: 0.01,
    contextSize: 256,
    compareScorers: true,
    ...extra,
  });
  await runLoop(opts(join(dir, "local")));
  await runLoop(opts(join(dir, "remote"), { backend: server.url }));
  await runLoop(opts(join(dir, "split"), { backend: server.url, backendFor: "learner" }));
  const read = async (name: string) =>
    (await readFile(join(dir, name, "examples.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { task: string; command: string; reconstruction: string; score: { value: number }; altScores?: Record<string, { value: number }> });
  const here = await read("local");
  for (const name of ["remote", "split"]) {
    const there = await read(name);
    assert.equal(there.length, here.length, name);
    there.forEach((c, i) => {
      const h = here[i]!;
      assert.deepEqual([c.task, c.command, c.reconstruction], [h.task, h.command, h.reconstruction], `${name}: candidate ${i}`);
      assert.ok(Math.abs(c.score.value - h.score.value) <= 1e-3, `${name}: lift of candidate ${i}`);
      assert.ok(Math.abs(c.altScores!.original!.value - h.altScores!.original!.value) <= 1e-3, `${name}: original of candidate ${i}`);
    });
  }
  const config = JSON.parse(await readFile(join(dir, "remote", "config.json"), "utf8")) as { backend?: string };
  assert.equal(config.backend, server.url, "the run records its backend");
  // a resume takes the backend from its caller: one recorded differently is refused, as a model is
  await assert.rejects(runLoop({ ...opts(join(dir, "remote")), resume: { cycles: 2 } }), /was recorded with the backend http:\/\/127\.0\.0\.1:\d+, but the backend given is \(none\)/);
});

test("a cancel stops the requests in flight: the caller hears at once, the server stops generating", async () => {
  const long = { temperature: 1, seed: 3, maxTokens: 200, stopAtNewline: false };
  const t0 = Date.now();
  await remote.completeMany(forwardPrompt("write a long story"), 16, long);
  const full = Date.now() - t0;
  const cancelledBefore = server.stats.cancelled;
  const ac = new AbortController();
  const pending = remote.completeMany(forwardPrompt("write a long story"), 16, { ...long, signal: ac.signal });
  while (server.stats.inFlight === 0) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, Math.min(100, full / 4)));
  const abortedAt = Date.now();
  ac.abort();
  await assert.rejects(pending, AbortError);
  assert.ok(Date.now() - abortedAt < 100, "the caller is answered at once");
  while (server.stats.inFlight > 0) await new Promise((r) => setTimeout(r, 5));
  const settled = Date.now() - abortedAt;
  assert.equal(server.stats.cancelled, cancelledBefore + 1, "the server saw its client go");
  assert.ok(server.stats.cancelledWork >= 1, "the generation was cancelled mid-way");
  assert.ok(settled < full / 2, `the server stopped (${settled} ms after the cancel; a whole generation takes ${full} ms)`);
});

/** A random LoRA adapter for the fixture (llama, 2 layers, width 32, 2 KV heads of 8). */
function writeAdapter(path: string): string {
  const random = createRandom(5);
  const rows: Record<string, [number, number]> = { attn_q: [32, 32], attn_k: [32, 16], attn_v: [32, 16], attn_output: [32, 32] };
  const tensors: GgufTensorData[] = [];
  const f32 = (v: Float32Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  for (const layer of [0, 1]) {
    for (const [m, [nIn, nOut]] of Object.entries(rows)) {
      tensors.push({ name: `blk.${layer}.${m}.weight.lora_a`, dims: [nIn, 4], type: GGML_TYPE.F32, data: f32(randomNormalValues(random, nIn * 4, 0.3)) });
      tensors.push({ name: `blk.${layer}.${m}.weight.lora_b`, dims: [4, nOut], type: GGML_TYPE.F32, data: f32(randomNormalValues(random, 4 * nOut, 0.3)) });
    }
  }
  tensors.sort((x, y) => (x.name < y.name ? -1 : 1));
  writeGgufFile(path, [
    { key: "general.type", type: GGUF_VALUE.string, value: "adapter" },
    { key: "general.architecture", type: GGUF_VALUE.string, value: "llama" },
    { key: "adapter.type", type: GGUF_VALUE.string, value: "lora" },
    { key: "adapter.lora.alpha", type: GGUF_VALUE.f32, value: 8 },
  ], tensors);
  return path;
}

test("an adapter loaded into the server (POST /v1/load_lora_adapter) scores as the same adapter here, and unloads", async () => {
  const path = writeAdapter(join(dir, "cycle-001-test.gguf"));
  const adapter = await backend.loadAdapter(path);
  assert.equal(adapter.name, "inversion-cycle-001-test");
  const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: { id: string; parent: string | null }[] };
  assert.deepEqual(models.data.map((m) => [m.id, m.parent]), [["fixture", null], ["inversion-cycle-001-test", "fixture"]]);
  const adapted = await ModelSession.create(loaded, { sequences: 2, adapterPath: path });
  try {
    const input = { task: PAIRS[0]![0], command: PAIRS[0]![1], reconstruction: "" };
    const [here, there, base] = await Promise.all([liftScorer.score(adapted, input), liftScorer.score(backend.session(adapter), input), liftScorer.score(remote, input)]);
    assert.ok(Math.abs(here.parts.logpWithCommand! - there.parts.logpWithCommand!) <= 1e-3);
    assert.ok(Math.abs(here.parts.logpWithCommand! - base.parts.logpWithCommand!) > 1e-2, "the adapter changes the numbers");
  } finally {
    await adapted.dispose();
  }
  await backend.unloadAdapter(adapter);
  const after = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: unknown[] };
  assert.equal(after.data.length, 1);
});

test("requests are bounded and checked; binding beyond this machine must be asked for", async () => {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { error?: { message: string } } };
  };
  assert.equal((await post("/v1/completions", "x".repeat(9 * 1024 * 1024))).status, 413);
  assert.match((await post("/v1/completions", { prompt: Array.from({ length: 257 }, () => [1, 2]) })).body.error!.message, /at most 256/);
  assert.match((await post("/v1/completions", { prompt: [1, 999999] })).body.error!.message, /token IDs from 0 to/);
  assert.equal((await post("/v1/completions", { model: "nope", prompt: [1, 2] })).status, 404);
  assert.match((await post("/v1/completions", { prompt: [1, 2], max_tokens: 4, logprobs: 1 })).body.error!.message, /not of generated tokens/);
  assert.match((await post("/v1/completions", { prompt: [1, 2], n: 17 })).body.error!.message, /`n` must be a whole number from 1 to 16/);
  assert.match((await post("/v1/completions", { prompt: Array.from({ length: 300 }, () => 5) })).body.error!.message, /the context holds 256/);
  assert.match((await post("/v1/load_lora_adapter", { lora_name: "x", lora_path: "relative.gguf" })).body.error!.message, /absolute path/);
  assert.equal((await post("/nowhere", {})).status, 404);
  // echo with logprobs: the classic route to the same numbers
  const tokens = await backend.tokenize("Command: ls\nTask: list files", true);
  const echoed = await post("/v1/completions", { prompt: tokens, echo: true, max_tokens: 0, logprobs: 0, return_tokens_as_token_ids: true });
  const lp = (echoed.body as unknown as { choices: { logprobs: { token_logprobs: (number | null)[]; tokens: string[] } }[] }).choices[0]!.logprobs;
  assert.equal(lp.token_logprobs[0], null);
  assert.equal(lp.tokens[1], `token_id:${tokens[1]}`);
  const scored = await backend.scoreTokens({ tokens, split: 1 }, null);
  lp.token_logprobs.slice(1).forEach((v, i) => assert.ok(Math.abs(v! - scored[i]!) <= 1e-6));
  await assert.rejects(startServer({ modelPath, host: "0.0.0.0", port: 0 }), /pass --allow-network/);
});

test("with an API key the server refuses requests without it; the client sends it from INVERSION_BACKEND_API_KEY", async () => {
  const keyed = await startServer({ modelPath, port: 0, sequences: 2, gpu: "off", threads: 1, contextSize: 256, apiKey: "s3cret" });
  try {
    const res = await fetch(`${keyed.url}/v1/models`);
    assert.equal(res.status, 401);
    await assert.rejects(RemoteBackend.connect(keyed.url, { retries: 0 }), /401 Unauthorized.*INVERSION_BACKEND_API_KEY/s);
    process.env.INVERSION_BACKEND_API_KEY = "s3cret";
    try {
      const b = await RemoteBackend.connect(keyed.url, { retries: 0 });
      assert.match(await b.session().complete(forwardPrompt("list files")), /./);
    } finally {
      delete process.env.INVERSION_BACKEND_API_KEY;
    }
  } finally {
    await keyed.close();
  }
});

/** `inversion serve` as its own process (the CLI), so it can be killed. */
function serveProcess(port: number): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "server/src/cli/main.ts"), "serve", "--model", modelPath, "--port", String(port), "--sequences", "4", "--gpu", "off", "--threads", "1", "--context", "256"], {
      cwd: ROOT,
      env: { ...process.env, GGML_NO_BACKTRACE: "1" },
    });
    let out = "";
    let err = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const url = /^(http:\/\/\S+)\n/m.exec(out);
      if (url) resolvePromise({ child, url: url[1]! });
    });
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    child.on("exit", (code) => reject(new Error(`inversion serve exited ${code}: ${err}`)));
  });
}

test("a run whose server is killed stops with a clear error and resumes once the server is back", async () => {
  const first = await serveProcess(0);
  const port = Number(new URL(first.url).port);
  const out = join(dir, "killed");
  const opts: RunOptions = { ...DEFAULT_RUN_OPTIONS, modelPath, out, backend: first.url, cycles: 3, tasks: 2, candidates: 2, threads: 1, gpu: "off", learn: "none", heldOutTasks: 2, threshold: 0.01, contextSize: 256 };
  const failure = await runLoop(opts, {
    onEvent: (e) => {
      if (e.type === "cycle" && e.record.cycle === 1) first.child.kill("SIGKILL");
    },
  }).then(
    () => null,
    (err: Error) => err,
  );
  assert.ok(failure instanceof BackendError, `a BackendError, got ${String(failure)}`);
  assert.match(failure.message, /connection refused \(is the server running, and on this port\?\)|the connection was reset/);
  assert.match(failure.message, /The run keeps 1 complete cycle\(s\); once the backend answers again, continue it with --resume\./);
  const second = await serveProcess(port);
  try {
    const resumed = await runLoop({ ...opts, resume: {} });
    assert.deepEqual(resumed.cycles.map((c) => c.cycle), [1, 2, 3]);
  } finally {
    second.child.kill("SIGTERM");
  }
});

test("the engine's one-shot calls (score, invert) through --backend equal the local model's", async () => {
  const here = await Engine.open({ modelPath, gpu: "off", threads: 1, contextSize: 256, examples: 0 });
  const there = await Engine.open({ modelPath: "", backend: server.url, examples: 0 });
  try {
    assert.match(there.modelPath, /^inversion serve at http:\/\/127\.0\.0\.1/);
    const [a, b] = await Promise.all([here.score("list files by size", "ls -lS", { compare: true }), there.score("list files by size", "ls -lS", { compare: true })]);
    assert.equal(b.reconstruction, a.reconstruction);
    assert.ok(Math.abs(a.score.value - b.score.value) <= 1e-3);
    assert.ok(Math.abs(a.altScores.original!.value - b.altScores.original!.value) <= 1e-3);
    assert.equal(await there.invert("tar -xzf a.tgz"), await here.invert("tar -xzf a.tgz"));
  } finally {
    await here.dispose();
    await there.dispose();
  }
});

test("the external evaluation through the backend (inversion eval --backend) equals the local one", async () => {
  const file = join(dir, "pairs.tsv");
  await writeFile(file, PAIRS.map(([task, command]) => `${task}\t${command}`).join("\n") + "\n");
  const set = loadEvalSet(file, { seed: 1, size: 4 });
  const parser = await loadShellParser();
  const [here, there] = await Promise.all([evaluateExternal(local, local, parser, set, { seed: 1, compareOriginal: true }), evaluateExternal(remote, remote, parser, set, { seed: 1, compareOriginal: true })]);
  assert.deepEqual(there.items.map((i) => i.prediction), here.items.map((i) => i.prediction));
  assert.ok(Math.abs(there.summary.meanLift - here.summary.meanLift) <= 1e-3);
  assert.ok(Math.abs(there.summary.meanOriginal! - here.summary.meanOriginal!) <= 1e-3);
  assert.equal(there.summary.nlc2cmd, here.summary.nlc2cmd);
});

test("a LoRA run through the backend trains here and has the server load each cycle's adapter, then unload it", { skip: process.env.INVERSION_SKIP_NATIVE_TESTS ? "INVERSION_SKIP_NATIVE_TESTS is set" : false }, async () => {
  const out = join(dir, "lora");
  const logs: string[] = [];
  const run = await runLoop(
    { ...DEFAULT_RUN_OPTIONS, modelPath, out, backend: server.url, cycles: 2, tasks: 2, candidates: 2, threads: 1, gpu: "off", learn: "lora", heldOutTasks: 2, threshold: 0, contextSize: 256 },
    { onEvent: (e) => e.type === "log" && logs.push(e.message) },
  );
  assert.deepEqual(run.cycles.map((c) => c.cycle), [1, 2]);
  for (const c of run.cycles) {
    assert.ok(c.train && c.train.examples > 0, "trained here");
    assert.ok(c.after, "measured with the adapter, on the server");
  }
  assert.ok(logs.some((l) => /^Backend: inversion serve at .*the learner and the judge run there\.$/.test(l)));
  const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: { id: string }[] };
  assert.deepEqual(models.data.map((m) => m.id), ["fixture"], "every adapter unloaded");
});

function cli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "server/src/cli/main.ts"), ...args], { cwd: ROOT, env: { ...process.env, GGML_NO_BACKTRACE: "1" } });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolvePromise({ code, stderr }));
  });
}

test("the CLI refuses plain http to another machine and serving beyond this one unless asked, before loading anything", async () => {
  const run = await cli(["run", "--model", modelPath, "--out", join(dir, "never"), "--backend", "http://gpu-box:8000"]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /--backend: http:\/\/gpu-box:8000 would send prompts and the API key over plain http to another machine/);
  const serve = await cli(["serve", "--model", modelPath, "--host", "0.0.0.0"]);
  assert.equal(serve.code, 2);
  assert.match(serve.stderr, /binds to 127\.0\.0\.1 unless told otherwise: .* pass --allow-network/);
});
