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
import { RunCyclesRequest } from "../../common/protocol";
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
  const settings = { model: fixture, runsDirectory, hoverAdapter: "base", gpu: "off", threads: 1, cycles: 1, tasks: 1, candidates: 1, train: "none" };
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
    assert.deepEqual({ refused, created: existsSync(runs) }, { refused: { code: 3, message: "Unknown run overrides: constructor." }, created: false });
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
