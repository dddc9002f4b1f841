// The language server over stdio (the real bundle, dist/server.js) with the real engine and the tiny fixture model.
// Scores of a random model are noise, so these tests assert behaviour, never numbers. Needs `npm run build`.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  CancellationTokenSource,
  CodeActionRequest,
  ConfigurationRequest,
  DidChangeConfigurationNotification,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  HoverRequest,
  InitializeRequest,
  InitializedNotification,
  LSPErrorCodes,
  LogMessageNotification,
  PublishDiagnosticsNotification,
  RegistrationRequest,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  WorkDoneProgressCreateRequest,
  createProtocolConnection,
  type Diagnostic,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
} from "vscode-languageserver-protocol/node";
import { writeFixtureModel } from "../../tools/gguf/fixtureModel";
import { COMMENTED_SCRIPT, MATCHING_SCRIPT } from "../helpers/scripts";
import { cleanReading } from "../../server/src/lsp/codeActions";
import { DEFAULT_MODEL_FILE } from "../../server/src/knowledge/shipped";
import { oneLine } from "../../server/src/check/findings";
import {
  InversionErrorCodes,
  ListRunsRequest,
  ModelMissingNotification,
  ReadCycleExamplesRequest,
  ReadRunRequest,
  ReloadModelRequest,
  RunCyclesRequest,
  RunViewNotification,
  StatusNotification,
  StopRunRequest,
  VisibleRangesNotification,
  type RunView,
  type ServerStatus,
} from "../../common/protocol";

const ROOT = resolve(__dirname, "../..");
const SERVER = join(ROOT, "dist/server.js");
let tmp: string;
let fixture: string;

before(async () => {
  assert.ok(existsSync(SERVER), `missing ${SERVER}: run npm run build first`);
  tmp = mkdtempSync(join(tmpdir(), "inversion-server-"));
  fixture = await writeFixtureModel(join(tmp, "fixture.gguf"));
});
/** The self-check cache the spawned servers read (the comment check's, measured for real unless a test seeds it). */
const selfCheckDir = (): string => join(tmp, "xdg", "inversion", "self-check");
after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

type Settings = Record<string, unknown> & { diagnostics: Record<string, unknown> };

interface Session {
  conn: ProtocolConnection;
  proc: ChildProcess;
  settings: Settings;
  diagnostics: Map<string, PublishDiagnosticsParams[]>;
  progress: { token: string | number; value: { kind: string; message?: string; percentage?: number } }[];
  statuses: ServerStatus[];
  views: RunView[];
  missing: ModelMissingNotification.Params[];
  /** While set, the answer to the server's configuration request waits for it. */
  configGate?: Promise<void>;
  configRequests: number;
  logs: string[];
  close(): Promise<void>;
}

async function startServer(settings: Partial<Settings>, server = SERVER): Promise<Session> {
  // Own process group: the finally kills everything the server started.
  const proc = spawn(process.execPath, [server, "--stdio"], { stdio: ["pipe", "pipe", "pipe"], detached: true, env: { ...process.env, XDG_CACHE_HOME: join(tmp, "xdg") } });
  const stderr: string[] = [];
  proc.stderr!.on("data", (d) => stderr.push(String(d)));
  const conn = createProtocolConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
  const s: Session = {
    conn,
    proc,
    settings: {
      model: fixture,
      gpu: "off",
      threads: 1,
      runsDirectory: join(tmp, "runs"),
      hoverAdapter: "base",
      ...settings,
      diagnostics: { enabled: true, debounceMs: 50, maxCommandsPerPass: 50, ...(settings.diagnostics ?? {}) },
    },
    diagnostics: new Map(),
    progress: [],
    statuses: [],
    views: [],
    missing: [],
    configRequests: 0,
    logs: [],
    async close() {
      try {
        await Promise.race([conn.sendRequest(ShutdownRequest.type), new Promise((r) => setTimeout(r, 10_000))]);
        await conn.sendNotification(ExitNotification.type);
      } catch {
        // already gone
      } finally {
        conn.dispose();
        try {
          process.kill(-proc.pid!, "SIGKILL");
        } catch {
          // exited
        }
      }
    },
  };
  conn.onNotification(PublishDiagnosticsNotification.type, (p) => {
    const list = s.diagnostics.get(p.uri) ?? [];
    list.push(p);
    s.diagnostics.set(p.uri, list);
  });
  conn.onNotification("$/progress", (p: Session["progress"][number]) => {
    s.progress.push(p);
  });
  conn.onNotification(StatusNotification.type, (p) => {
    s.statuses.push(p);
  });
  conn.onNotification(RunViewNotification.type, (v) => {
    s.views.push(v);
  });
  conn.onNotification(ModelMissingNotification.type, (p) => {
    s.missing.push(p);
  });
  conn.onNotification(LogMessageNotification.type, (p) => {
    s.logs.push(p.message);
  });
  conn.onRequest(WorkDoneProgressCreateRequest.type, () => undefined);
  conn.onRequest(RegistrationRequest.type, () => undefined);
  conn.onRequest(ConfigurationRequest.type, async (p) => {
    s.configRequests++;
    await s.configGate;
    return p.items.map((i) => (i.section === "inversion" ? s.settings : null));
  });
  conn.listen();
  proc.on("exit", (code) => {
    if (code && code !== 0) console.error(`server exited ${code}\n${stderr.join("")}`);
  });
  await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: null,
    capabilities: { window: { workDoneProgress: true }, workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true } } },
    workspaceFolders: null,
  });
  await conn.sendNotification(InitializedNotification.type, {});
  return s;
}

async function waitFor<T>(what: string, fn: () => T | undefined | null | false, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const uriOf = (name: string) => pathToFileURL(join(tmp, name)).href;
function open(s: Session, name: string, text: string, version = 1): string {
  const uri = uriOf(name);
  void s.conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: "shellscript", version, text } });
  return uri;
}
const lastDiagnostics = (s: Session, uri: string): Diagnostic[] | undefined => s.diagnostics.get(uri)?.at(-1)?.diagnostics;


describe("language server over stdio", { timeout: 180_000 }, () => {
  let s: Session;
  before(async () => {
    s = await startServer({});
  });
  after(async () => {
    await s?.close();
  });

  test("comments about other programs: two warnings quoting an example with its source, a docs link and two quick fixes", async () => {
    const uri = open(s, "a.sh", COMMENTED_SCRIPT);
    const diags = await waitFor("diagnostics", () => {
      const d = lastDiagnostics(s, uri);
      return d && d.length === 2 ? d : undefined;
    }, 60_000);
    assert.deepEqual(diags.map((d) => [d.range.start, d.severity, d.source, d.code]), [
      [{ line: 2, character: 0 }, 2, "inversion", "intent-mismatch"],
      [{ line: 5, character: 0 }, 2, "inversion", "intent-mismatch"],
    ]);
    assert.match(diags[0]!.codeDescription!.href, /^file:.*\/docs\/SCORING\.md#comment-warnings$/);
    const reading = cleanReading((diags[0]!.data as { reading: string }).reading);
    assert.notEqual(reading, "", "the fixture always produces a reading");
    assert.match(diags[0]!.message as string, /^The comment says “make the script executable”; an example of `rm [^`]*` \(.+?\) says “[^”]+”; the model reads it as: /);
    assert.ok((diags[0]!.message as string).endsWith(oneLine(reading)), "the model's reading closes the message");

    const actions = (await s.conn.sendRequest(CodeActionRequest.type, { textDocument: { uri }, range: diags[0]!.range, context: { diagnostics: [diags[0]!] } })) as {
      title: string;
      edit: { changes: Record<string, { newText: string; range: { start: { line: number }; end: { line: number } } }[]> };
    }[];
    assert.deepEqual(
      actions.map((a) => { const e = a.edit.changes[uri]![0]!; return [e.range.start.line, e.range.end.line, e.newText]; }),
      [[1, 2, `# ${reading}\n`], [1, 1, "# inversion: ignore\n"]],
    );
  });

  test("comments that say what their commands do raise nothing", async () => {
    const uri = open(s, "matching.sh", MATCHING_SCRIPT);
    await waitFor("empty diagnostics", () => lastDiagnostics(s, uri)?.length === 0, 60_000);
  });

  test("# inversion: ignore silences the command below; ignore-file the whole script", async () => {
    const uri = open(s, "ignore.sh", COMMENTED_SCRIPT.replace("# compress the logs", "# inversion: ignore\n# compress the logs"));
    const d = await waitFor("one warning", () => lastDiagnostics(s, uri)?.length === 1 && lastDiagnostics(s, uri), 60_000);
    assert.equal(d[0]!.range.start.line, 2);
    const file = open(s, "ignore-file.sh", COMMENTED_SCRIPT + "# inversion: ignore-file\n");
    await waitFor("no warnings", () => lastDiagnostics(s, file)?.length === 0, 60_000);
  });

  test("edits re-score only the changed document version", async () => {
    const uri = open(s, "edit.sh", COMMENTED_SCRIPT);
    await waitFor("diagnostics", () => lastDiagnostics(s, uri)?.length === 2, 30_000);
    const text = COMMENTED_SCRIPT + "\n# show the kernel version\ndf -h /\n";
    await s.conn.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version: 2 }, contentChanges: [{ text }] });
    const p = await waitFor("diagnostics v2", () => s.diagnostics.get(uri)!.find((d) => d.version === 2 && d.diagnostics.length === 3));
    assert.equal(p.diagnostics.length, 3);
  });

  test("hover: the nearest example with its source and licence, the model's reading, a grounded verdict, the man pages", async () => {
    const uri = open(s, "hover.sh", COMMENTED_SCRIPT);
    await waitFor("self-check measured", () => s.statuses.some((x) => x.selfCheck), 60_000);
    const hover = await s.conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 2, character: 3 } });
    const md = (hover!.contents as unknown as { value: string }).value;
    const paragraphs = md.split("\n\n");
    assert.equal(paragraphs[0], "**Inversion** — `rm -rf build`");
    // someone else's text: its source at a commit, its authors and its licence, linked
    assert.match(paragraphs[1]!, /^\*\*Example\*\* from \[[^\]]+\]\(https:\/\/github\.com\/[^/]+\/[^/]+\/blob\/[0-9a-f]{40}\/[^)]+\) \([^,]+, \[(CC BY 4\\\.0|CC0 1\\\.0|MIT)\]\(https:\/\/[^)]+\)\): `rm [^`]*` — “.+”$/);
    assert.match(paragraphs[2]!, /^\*\*Model\*\* — the model reads this command as: “.+”$/s);
    assert.equal(paragraphs[3], "Comment: “make the script executable”");
    assert.match(paragraphs[4]!, /^⚠ The comment shares almost nothing with what examples( of commands like this| and the man page \(rm\\\(1\\\)\)) say \(its words are what other programs do\)\.$/);
    assert.equal(paragraphs.at(-2), "---");
    assert.match(paragraphs.at(-1)!, /^<sub>Details: comment support 0\.\d{3} \(examples 0\.\d\d, (man page 0\.\d\d|no man page)\) · model's lift for the comment -?\d+\.\d\d bits per word piece\. Comment checks \(examples and man pages\) tell a matching comment from a wrong one \d+% of the time\. \[How scoring works\]\(file:.*SCORING\.md\)<\/sub>$/);
    assert.doesNotMatch(md, /logp|taskTokens|Fidelity/);
    assert.deepEqual(hover!.range!.start, { line: 2, character: 0 });
    // A command without a comment: no comment line and no verdict.
    const h2 = await s.conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 6, character: 1 } });
    const md2 = (h2!.contents as unknown as { value: string }).value;
    assert.doesNotMatch(md2, /Comment:|matches|shares almost nothing|neither/);
    // No command under the cursor: no hover.
    assert.equal(await s.conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 3, character: 0 } }), null);
  });

  test("binary and invalid-UTF-8 documents are skipped with a logged reason", async () => {
    const uri = open(s, "binary.sh", "# list files\nls\u0000\u0001\u0002 -la\n\u0000\u0000ELF");
    await waitFor("empty diagnostics", () => lastDiagnostics(s, uri)?.length === 0);
    assert.equal(await s.conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 1, character: 0 } }), null);
    await waitFor("skip log", () => s.logs.some((l) => l.includes("binary.sh") && /binary/.test(l)));
    const bad = open(s, "bad-utf8.sh", "# list files\nls \ufffd\ufffd\ufffd\ufffd -la\n");
    await waitFor("empty diagnostics", () => lastDiagnostics(s, bad)?.length === 0);
    await waitFor("skip log", () => s.logs.some((l) => l.includes("bad-utf8.sh") && /UTF-8/.test(l)));
    // Over inversion.maxFileBytes: skipped too.
    s.settings.maxFileBytes = 1000;
    await s.conn.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
    const huge = open(s, "huge.sh", COMMENTED_SCRIPT + "\n" + "# say hi\necho hi\n".repeat(200));
    await waitFor("empty diagnostics", () => lastDiagnostics(s, huge)?.length === 0);
    await waitFor("skip log", () => s.logs.some((l) => l.includes("huge.sh") && /maxFileBytes/.test(l)));
    delete s.settings.maxFileBytes;
    await s.conn.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
  });

  test("a 50,000-line script is scored incrementally without blocking hovers", async () => {
    s.settings.diagnostics.maxCommandsPerPass = 5;
    await s.conn.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
    const lines: string[] = [];
    for (let i = 0; lines.length < 50_000; i++) lines.push(`# compress the logs folder into archive ${i}`, `df -h /mnt/disk${i}`);
    const uri = uriOf("big.sh");
    // The editor shows lines 40,000-40,030: scoring starts there.
    await s.conn.sendNotification(VisibleRangesNotification.type, { uri, ranges: [{ startLine: 40_000, endLine: 40_030 }] });
    open(s, "big.sh", lines.join("\n"));
    const first = await waitFor("first batch", () => s.diagnostics.get(uri)?.find((p) => p.diagnostics.length > 0), 60_000);
    assert.ok(first.diagnostics.length <= 5, `first pass capped: ${first.diagnostics.length}`);
    assert.ok(first.diagnostics.every((d) => d.range.start.line >= 40_000 && d.range.start.line <= 40_030), "visible lines first");
    await waitFor("more batches", () => (lastDiagnostics(s, uri)?.length ?? 0) >= 15, 60_000);
    // Hovers still answer while the background passes continue.
    const t0 = Date.now();
    const h = await s.conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 40_001, character: 1 } });
    assert.ok(h, "hover in a big file");
    assert.ok(Date.now() - t0 < 20_000, `hover took ${Date.now() - t0} ms`);
    s.settings.diagnostics.maxCommandsPerPass = 50;
    await s.conn.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
  });

  test("a small run reports work-done progress begin..end and sends its view, versioned, until the final one", async () => {
    const token = "run-1";
    const out = join(tmp, "runs", "small");
    const result = await s.conn.sendRequest(RunCyclesRequest.type, {
      overrides: { cycles: 1, tasks: 2, candidates: 2, learn: "none", out },
      workDoneToken: token,
    });
    assert.equal(result.state, "finished");
    assert.equal(result.points.length, 1);
    assert.match(result.status, /^Run finished: 1 cycle, \d+ examples? accepted, not trained \(learn is none: no weights are trained\)\.$/);
    assert.equal(result.points[0]!.trainSkipped, "learn is none: no weights are trained");
    const views = s.views.filter((v) => v.runDir === out);
    assert.deepEqual(views.map((v) => v.version), views.map((_, i) => i + 1), "one view per change, versions 1, 2, 3, …");
    assert.deepEqual([views[0]!.state, views[0]!.status], ["running", "Starting…"], "the first view is sent as the run starts");
    assert.deepEqual(views.at(-1), result);
    const mine = s.progress.filter((p) => p.token === token).map((p) => p.value.kind);
    assert.equal(mine[0], "begin");
    assert.equal(mine.at(-1), "end");
    assert.ok(mine.includes("report"));
    const listed = await s.conn.sendRequest(ListRunsRequest.type);
    assert.ok(listed.runs.some((r) => r.runDir === out));
    const read = await s.conn.sendRequest(ReadRunRequest.type, { runDir: out });
    assert.deepEqual(
      { ...read, version: 0 },
      { version: 0, runDir: out, points: result.points, state: "stored", status: "1 cycle", percent: 100, heldOut: result.heldOut, resumable: false, placeholder: "", notes: result.notes },
    );
    assert.match(result.heldOut, /^held-out \d\.\d{3}$/);
    // What the cycle accepted, as the panel lists it: exactly the accepted candidates of examples.jsonl, in order.
    const accepted = readFileSync(join(out, "examples.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { cycle: number; accepted: boolean; task: string; command: string }).filter((c) => c.cycle === 1 && c.accepted);
    const examples = await s.conn.sendRequest(ReadCycleExamplesRequest.type, { runDir: out, cycle: 1 });
    assert.deepEqual(examples.examples.map((e) => [e.task, e.command]), accepted.map((c) => [c.task, c.command]));
    assert.match(examples.title, accepted.length ? new RegExp(`^Cycle 1 accepted ${accepted.length} examples? \\(\\d+ of 2 tasks\\)\\.$`) : /^Cycle 1 accepted no examples/);
    for (const e of examples.examples) assert.match(e.score, /^-?\d+\.\d\d$/);
  });

  test("cancelling the request stops the run (server-created progress when no token is given)", async () => {
    const cts = new CancellationTokenSource();
    const nProgress = s.progress.length;
    const out = join(tmp, "runs", "cancelled");
    const started = Date.now();
    const pending = s.conn.sendRequest(RunCyclesRequest.type, { overrides: { cycles: 50, tasks: 20, candidates: 2, learn: "none", out } }, cts.token);
    await waitFor("a progress report", () => s.progress.slice(nProgress).some((p) => p.value.kind === "report"), 60_000);
    cts.cancel();
    const t0 = Date.now();
    try {
      const r = await pending;
      assert.equal(r.state, "cancelled");
      assert.ok(r.points.length < 50, "stopped early");
    } catch (err) {
      assert.equal((err as { code?: number }).code, LSPErrorCodes.RequestCancelled);
    }
    await waitFor("end of progress", () => s.progress.slice(nProgress).some((p) => p.value.kind === "end"), 30_000);
    await waitFor("the final view", () => s.views.some((v) => v.runDir === out && v.state === "cancelled"), 30_000);
    assert.ok(Date.now() - t0 < 30_000, `cancel took ${Date.now() - t0} ms (run lasted ${Date.now() - started} ms)`);
  });

  test("the stop request stops a running run", async () => {
    const out = join(tmp, "runs", "stopped");
    const pending = s.conn.sendRequest(RunCyclesRequest.type, { overrides: { cycles: 50, tasks: 20, candidates: 2, learn: "none", out }, workDoneToken: "stop-1" });
    await waitFor("running", () => s.progress.some((p) => p.token === "stop-1" && p.value.kind === "report"), 60_000);
    // A second run while one is active is refused.
    await assert.rejects(s.conn.sendRequest(RunCyclesRequest.type, { overrides: { cycles: 1, tasks: 1, out: join(tmp, "runs", "x") } }), /already in progress/);
    // Stopped once a cycle is complete: the run keeps it and can be resumed.
    await waitFor("cycle 1 complete", () => s.views.some((v) => v.runDir === out && v.points.length >= 1), 120_000);
    const nLogs = s.logs.length;
    assert.deepEqual(await s.conn.sendRequest(StopRunRequest.type), { stopped: true });
    const r = await pending;
    assert.equal(r.state, "cancelled");
    assert.equal(r.resumable, true);
    assert.ok(s.views.some((v) => v.runDir === out && v.state === "stopping"), "between the stop and the end, the run's view says it is stopping");
    // The engine reports a cancel as an event; the server words the editor's way to continue, not the CLI's.
    const cancelLog = s.logs.slice(nLogs).find((l) => /cancelled; cycles up to/.test(l));
    assert.match(cancelLog ?? "", /Continue it with “Inversion: Resume run”/);
    assert.doesNotMatch(s.logs.slice(nLogs).join("\n"), /--resume/);
    assert.equal(s.progress.filter((p) => p.token === "stop-1").at(-1)!.value.kind, "end");
  });

  test("a stop that arrives while a run is still reading its settings stops it before it starts (before, it was lost and the run went on)", async () => {
    let release!: () => void;
    s.configGate = new Promise<void>((r) => (release = r));
    const asked = s.configRequests;
    const pending = s.conn.sendRequest(RunCyclesRequest.type, { overrides: { cycles: 1, tasks: 2, candidates: 2, learn: "none" } });
    try {
      await waitFor("the run reading its settings", () => s.configRequests > asked);
      assert.deepEqual(await s.conn.sendRequest(StopRunRequest.type), { stopped: true });
    } finally {
      s.configGate = undefined;
      release();
    }
    const r = await pending;
    assert.deepEqual([r.state, r.points.length, r.resumable, r.status], ["cancelled", 0, false, "Run stopped before its first cycle completed; no cycle was kept."]);
    assert.equal(existsSync(r.runDir), false, "nothing was written");
    assert.deepEqual(await s.conn.sendRequest(StopRunRequest.type), { stopped: false }, "and nothing runs");
  });

  test("a run stopped before its first cycle completed leaves no run behind: not listed, not the latest, not offered to resume", async () => {
    const n = s.views.length;
    const pending = s.conn.sendRequest(RunCyclesRequest.type, { overrides: { cycles: 50, tasks: 200, candidates: 2, learn: "none" } });
    const runDir = await waitFor("the run's directory", () => s.views.slice(n).find((v) => v.state === "running" && existsSync(join(v.runDir, "config.json")))?.runDir, 60_000);
    assert.ok(runDir.startsWith(join(tmp, "runs")), "the server named it, under the runs directory");
    assert.deepEqual(await s.conn.sendRequest(StopRunRequest.type), { stopped: true });
    const r = await pending;
    assert.equal(r.runDir, runDir);
    assert.deepEqual([r.state, r.points.length, r.resumable], ["cancelled", 0, false]);
    assert.equal(r.placeholder, "The run was stopped before its first cycle completed; no cycle was kept.");
    assert.equal(existsSync(runDir), false, "the directory the server named for it is gone");
    const listed = await s.conn.sendRequest(ListRunsRequest.type);
    assert.ok(!listed.runs.some((x) => x.runDir === runDir));
    assert.notEqual(listed.latest, runDir);
  });
});

describe("language server without a usable model", { timeout: 60_000 }, () => {
  test("a missing model gives one clear notification, no hovers, and a clear run error", async () => {
    const s = await startServer({ model: join(tmp, "does-not-exist.gguf") });
    try {
      const m = await waitFor("modelMissing", () => s.missing[0]);
      assert.match(m.reason, /does not exist/);
      await waitFor("missing status", () => s.statuses.at(-1)?.model === "missing");
      const uri = open(s, "nomodel.sh", COMMENTED_SCRIPT);
      // The comment check rests on examples and man pages: it warns without a model, quoting the examples only.
      const diags = await waitFor("two warnings without a model", () => lastDiagnostics(s, uri)?.length === 2 && lastDiagnostics(s, uri));
      assert.doesNotMatch(diags[0]!.message as string, /the model reads/);
      const hover = await s.conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 2, character: 1 } });
      const md = (hover!.contents as unknown as { value: string }).value;
      assert.match(md, /\*\*Example\*\* from \[[^\]]+\]\(https:/);
      assert.match(md, /does not exist.*\[Select a model\]\(command:inversion\.selectModel\)/s);
      await assert.rejects(s.conn.sendRequest(RunCyclesRequest.type, { overrides: { cycles: 1 } }), (err: { code?: number; message: string }) => {
        assert.deepEqual([err.code, /does not exist.*Select model/s.test(err.message)], [InversionErrorCodes.modelUnusable, true]);
        return true;
      });
      // Config changes that keep the same missing model do not repeat the message.
      await s.conn.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(s.missing.length, 1);
    } finally {
      await s.close();
    }
  });

  test("a corrupt model file: status 'error' with the reason, no crash, no retry loop", async () => {
    const bad = join(tmp, "corrupt.gguf");
    writeFileSync(bad, "this is not a gguf file");
    const s = await startServer({ model: bad });
    try {
      const uri = open(s, "corrupt.sh", COMMENTED_SCRIPT);
      await waitFor("error status", () => s.statuses.some((x) => x.model === "error"), 30_000);
      assert.ok(s.statuses.find((x) => x.model === "error")!.message, "the error says why");
      // No model reading: the example and the man pages, which need no model.
      const grounded = await s.conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 2, character: 1 } });
      const md = (grounded!.contents as unknown as { value: string }).value;
      assert.match(md, /\*\*Example\*\* from \[[^\]]+\]\(https:/);
      assert.match(md, /\*\*From the man pages\*\*\n\n`rm`/);
      assert.doesNotMatch(md, /reads this command as/);
      const loads = s.logs.filter((l) => /Loading model/.test(l)).length;
      await s.conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 5, character: 1 } });
      assert.equal(s.logs.filter((l) => /Loading model/.test(l)).length, loads, "no reload until the settings change");
      assert.equal(s.proc.exitCode, null, "server alive");
    } finally {
      await s.close();
    }
  });

  test("no model set: the shipped default model is used, no notification", async () => {
    const s = await startServer({ model: "" });
    try {
      const status = await waitFor("a status naming a model", () => s.statuses.find((x) => x.modelPath), 10_000);
      assert.equal(status.modelPath, join(ROOT, DEFAULT_MODEL_FILE));
      assert.equal(s.missing.length, 0);
    } finally {
      await s.close();
    }
  });

  test("no model set and no default model installed: status 'none', no notification", async () => {
    // The bundle run from a copy outside the package: no Inversion package.json above it, so no models/ either.
    const bundle = copyBundle(join(tmp, "bundle-outside-the-package"));
    const s = await startServer({ model: "" }, join(bundle, "server.js"));
    try {
      await waitFor("a status with the reason", () => s.statuses.find((x) => x.message === "No model is set (inversion.model)."), 10_000);
      assert.deepEqual([s.statuses.at(-1)!.model, s.statuses.at(-1)!.modelPath], ["none", null]);
      assert.equal(s.missing.length, 0);
    } finally {
      await s.close();
    }
  });
});

describe("language server in the packaged extension's layout", { timeout: 60_000 }, () => {
  test("with node-llama-cpp but no tree-sitter packages beside the bundle (as in the .vsix), the model loads", async () => {
    const pkg = join(tmp, "packaged");
    const bundle = copyBundle(join(pkg, "dist"));
    mkdirSync(join(pkg, "node_modules"), { recursive: true });
    symlinkSync(join(ROOT, "node_modules", "node-llama-cpp"), join(pkg, "node_modules", "node-llama-cpp"));
    const s = await startServer({}, join(bundle, "server.js"));
    try {
      const uri = open(s, "packaged.sh", COMMENTED_SCRIPT);
      // a hover asks for the model's reading (the comment check alone needs no model)
      void s.conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 2, character: 1 } });
      const loaded = await waitFor("the model loaded or failed", () => s.statuses.find((x) => x.model === "ready" || x.model === "error"), 30_000);
      assert.equal(loaded.model, "ready", loaded.message ?? "");
    } finally {
      await s.close();
    }
  });
});

/** The server bundle's files (scripts and wasm, as the .vsix ships dist/) copied into `dir`. */
function copyBundle(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(join(ROOT, "dist")).filter((f) => /\.(js|wasm)$/.test(f))) copyFileSync(join(ROOT, "dist", f), join(dir, f));
  return dir;
}
