// Hostile input to the language server over stdio (the real bundle, dist/server.js): a script large enough to block
// a parse on the main thread, a frame whose header cannot be read, and run requests a workspace or a bad client
// could shape (a resumed run's recorded model, a malformed request). Needs `npm run build`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  ConfigurationRequest,
  DidOpenTextDocumentNotification,
  HoverRequest,
  InitializeRequest,
  InitializedNotification,
  LogMessageNotification,
  RegistrationRequest,
  StreamMessageReader,
  StreamMessageWriter,
  WorkDoneProgressCreateRequest,
  createProtocolConnection,
  type ProtocolConnection,
} from "vscode-languageserver-protocol/node";
import { InversionErrorCodes, RunCyclesRequest } from "../../common/protocol";
import { writeFixtureModel } from "../../tools/gguf/fixtureModel";

const SERVER = join(resolve(__dirname, "../.."), "dist/server.js");
let tmp: string;
let fixture: string;
const children: ChildProcess[] = [];

before(async () => {
  assert.ok(existsSync(SERVER), `missing ${SERVER}: run npm run build first`);
  tmp = mkdtempSync(join(tmpdir(), "inversion-hostile-server-"));
  fixture = await writeFixtureModel(join(tmp, "fixture.gguf"));
});
after(() => {
  for (const child of children) child.kill("SIGKILL");
  rmSync(tmp, { recursive: true, force: true });
});

function spawnServer(): ChildProcess {
  const child = spawn(process.execPath, [SERVER, "--stdio"], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, XDG_CACHE_HOME: join(tmp, "xdg") } });
  children.push(child);
  return child;
}

test("a 2 MB script of 398,000 commented commands: a hover on line 1 is answered before the whole parse finishes", { timeout: 120_000 }, async () => {
  const child = spawnServer();
  const conn = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const logs: string[] = [];
  conn.onNotification(LogMessageNotification.type, (p) => void logs.push(p.message));
  conn.onRequest(RegistrationRequest.type, () => undefined);
  // A model path that does not exist: the hover answers at once with what is missing, no model work involved.
  const settings = { model: join(tmp, "missing.gguf"), runsDirectory: join(tmp, "runs"), hoverAdapter: "base", diagnostics: { enabled: true, debounceMs: 0 } };
  conn.onRequest(ConfigurationRequest.type, (p) => p.items.map(() => settings));
  conn.listen();
  await conn.sendRequest(InitializeRequest.type, { processId: process.pid, rootUri: null, capabilities: { workspace: { configuration: true } }, workspaceFolders: null });
  await conn.sendNotification(InitializedNotification.type, {});

  const uri = pathToFileURL(join(tmp, "huge.sh")).href;
  const text = "# list the files\nls -la\n" + "#a\nb\n".repeat(398_000);
  const parseDone = (): boolean => logs.some((m) => m.includes(uri) && /Parsed |Not scoring /.test(m));
  await conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: "shellscript", version: 1, text } });
  const hover = await conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 1, character: 1 } });
  const parseFinishedBeforeHover = parseDone();
  const deadline = Date.now() + 90_000;
  while (!parseDone() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  conn.dispose();

  assert.deepEqual(
    { answered: hover !== null, parseFinishedBeforeHover, parseFinishedAtAll: parseDone() },
    { answered: true, parseFinishedBeforeHover: false, parseFinishedAtAll: true },
  );
});

test("a frame with Content-Length: abc makes the server exit non-zero, naming the reason on stderr", { timeout: 30_000 }, async () => {
  const child = spawnServer();
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += String(d)));
  const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
  child.stdin!.write("Content-Length: abc\r\n\r\n{}"); // stdin stays open: a deaf server would run on
  const code = await Promise.race([exited, new Promise<"still running">((res) => setTimeout(() => res("still running"), 5000))]);
  assert.deepEqual({ code, reason: /Content-Length value must be a number/.test(stderr) }, { code: 1, reason: true });
});

// 23 (hostile review) --------------------------------------------------------------------------------------------
/** A server whose settings are a small run's on the fixture model, ready for run requests. */
async function runServer(runsDirectory: string): Promise<ProtocolConnection> {
  const child = spawnServer();
  const conn = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const settings = { model: fixture, runsDirectory, hoverAdapter: "base", gpu: "off", threads: 1, cycles: 1, tasks: 1, candidates: 1, learn: "none" };
  conn.onRequest(ConfigurationRequest.type, (p) => p.items.map(() => settings));
  conn.onRequest(RegistrationRequest.type, () => undefined);
  conn.onRequest(WorkDoneProgressCreateRequest.type, () => undefined);
  conn.listen();
  await conn.sendRequest(InitializeRequest.type, { processId: process.pid, rootUri: null, capabilities: { workspace: { configuration: true } }, workspaceFolders: null });
  await conn.sendNotification(InitializedNotification.type, {});
  return conn;
}

test("a runCycles request with overrides {constructor: 1} is refused and creates nothing", { timeout: 60_000 }, async () => {
  const runs = join(tmp, "runs-malformed");
  const conn = await runServer(runs);
  try {
    const refused = await conn.sendRequest(RunCyclesRequest.type, JSON.parse('{"overrides": {"constructor": 1}}') as RunCyclesRequest.Params).then(
      () => null,
      (err: { code?: number; message: string }) => ({ code: err.code, message: err.message }),
    );
    assert.deepEqual({ refused, created: existsSync(runs) }, { refused: { code: InversionErrorCodes.invalidParams, message: "Unknown run overrides: constructor." }, created: false });
  } finally {
    conn.dispose();
  }
});

test("resuming a run whose config.json names an https model is refused naming both models, and nothing connects", { timeout: 120_000 }, async () => {
  let connections = 0;
  const modelServer = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((listening) => modelServer.listen(0, "127.0.0.1", listening));
  const planted = `https://127.0.0.1:${(modelServer.address() as AddressInfo).port}/evil.gguf`;
  const out = join(tmp, "runs-resume", "run-1");
  const conn = await runServer(join(tmp, "runs-resume"));
  try {
    await conn.sendRequest(RunCyclesRequest.type, { overrides: { out } });
    const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(out, "config.json"), JSON.stringify({ ...config, modelPath: planted }));
    const refused = await conn.sendRequest(RunCyclesRequest.type, { overrides: { out, resume: true, cycles: 2 } }).then(
      () => "resumed",
      (err: Error) => err.message,
    );
    assert.deepEqual(
      { namesBoth: refused.includes(`was recorded with the model ${planted}, but the model given is ${fixture}.`), connections },
      { namesBoth: true, connections: 0 },
      refused,
    );
  } finally {
    conn.dispose();
    modelServer.close();
  }
});

// Issue 23 items 9 and 10 ------------------------------------------------------------------------------------------
import { mkdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { DidChangeConfigurationNotification, ShutdownRequest } from "vscode-languageserver-protocol/node";
import { ListRunsRequest, ReadRunRequest } from "../../common/protocol";

/** A server on the fixture model with these settings (besides a small run's), ready for requests. */
async function serverWith(settings: Record<string, unknown>): Promise<ProtocolConnection> {
  const child = spawnServer();
  const conn = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const all = { model: fixture, hoverAdapter: "base", gpu: "off", threads: 1, cycles: 1, tasks: 1, candidates: 1, ...settings };
  conn.onRequest(ConfigurationRequest.type, (p) => p.items.map(() => all));
  conn.onRequest(RegistrationRequest.type, () => undefined);
  conn.onRequest(WorkDoneProgressCreateRequest.type, () => undefined);
  conn.listen();
  await conn.sendRequest(InitializeRequest.type, { processId: process.pid, rootUri: null, capabilities: { workspace: { configuration: true } }, workspaceFolders: null });
  await conn.sendNotification(InitializedNotification.type, {});
  return conn;
}

/** A request's answer, its error ({code, message}), or "no answer" after `ms`. */
function answerOf<T>(request: Promise<T>, ms = 10_000): Promise<T | { code?: number; message: string } | "no answer"> {
  const refused = request.catch((err: { code?: number; message: string }) => ({ code: err.code, message: err.message }));
  return Promise.race([refused, new Promise<"no answer">((res) => setTimeout(() => res("no answer"), ms))]);
}

test("after shutdown the server refuses every request with InvalidRequest, and starts no run", { timeout: 60_000 }, async () => {
  const runs = join(tmp, "runs-after-shutdown");
  const conn = await serverWith({ runsDirectory: runs });
  try {
    await conn.sendRequest(ShutdownRequest.type);
    const refused = { code: -32600, message: "The server is shutting down and takes no more requests." };
    const run = await answerOf(conn.sendRequest(RunCyclesRequest.type, { overrides: { out: join(runs, "run-1") } }));
    const list = await answerOf(conn.sendRequest(ListRunsRequest.type));
    assert.deepEqual({ run, list, created: existsSync(runs) }, { run: refused, list: refused, created: false });
  } finally {
    conn.dispose();
  }
});

test("a FIFO named cycles.jsonl in the runs directory: the run list still answers and the run is refused by name", { timeout: 60_000 }, async () => {
  const runs = join(tmp, "runs-fifo");
  const run = join(runs, "run-1");
  mkdirSync(run, { recursive: true });
  const config = { version: 2, modelPath: fixture, out: run, topics: ["files"], startedAt: "2026-01-01T00:00:00.000Z", evalHash: null, evalPairs: 0, warmStart: null };
  writeFileSync(join(run, "config.json"), JSON.stringify(config));
  assert.equal(spawnSync("mkfifo", [join(run, "cycles.jsonl")]).status, 0);
  // hovers on the best adapter read the latest run's cycles.jsonl at start and at every settings change
  const conn = await serverWith({ runsDirectory: runs, hoverAdapter: "best" });
  try {
    for (let i = 0; i < 5; i++) await conn.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
    const list = await answerOf(conn.sendRequest(ListRunsRequest.type));
    const read = await answerOf(conn.sendRequest(ReadRunRequest.type, { runDir: run }));
    assert.deepEqual(
      {
        listed: typeof list === "object" && "runs" in list ? list.runs.map((r) => r.name) : list,
        refused: typeof read === "object" && "message" in read && read.message.includes(`${join(run, "cycles.jsonl")} cannot be read: not a regular file (a FIFO)`),
      },
      { listed: ["run-1"], refused: true },
      JSON.stringify(read),
    );
  } finally {
    conn.dispose();
  }
});
