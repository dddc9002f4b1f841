// Hostile input to the language server over stdio (the real bundle, dist/server.js): a script large enough to block
// a parse on the main thread, and a frame whose header cannot be read. Needs `npm run build`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
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
  createProtocolConnection,
} from "vscode-languageserver-protocol/node";

const SERVER = join(resolve(__dirname, "../.."), "dist/server.js");
let tmp: string;
const children: ChildProcess[] = [];

before(() => {
  assert.ok(existsSync(SERVER), `missing ${SERVER}: run npm run build first`);
  tmp = mkdtempSync(join(tmpdir(), "inversion-hostile-server-"));
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
