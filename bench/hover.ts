// Hover latency of the language server (the real bundle over stdio) for one-line commands: cold (a command not yet
// scored; the model already loaded) and cached (the same hover again), p50/p95; and the server's peak RSS (VmHWM).
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  ConfigurationRequest,
  DidOpenTextDocumentNotification,
  ExitNotification,
  HoverRequest,
  InitializeRequest,
  InitializedNotification,
  RegistrationRequest,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  WorkDoneProgressCreateRequest,
  createProtocolConnection,
} from "vscode-languageserver-protocol/node";
import { FIT, seedSelfCheck, shippedGroundedIdentity } from "../test/helpers/selfCheck";
import { BENCH_THREADS, median, percentile, realShapeModels } from "./common";

const ROOT = resolve(__dirname, "..");
const COMMANDS = [
  "ls -la /tmp", "du -sh ~/Downloads", "find . -name '*.py'", "grep -rn TODO src", "tar -czf logs.tgz /var/log",
  "df -h", "ps aux | grep node", "wc -l README.md", "chmod +x run.sh", "git log --oneline -5",
];

export async function benchHover(): Promise<void> {
  console.log(`\n## Hover latency and language-server memory (issue 8), ${BENCH_THREADS} threads\n`);
  execFileSync(process.execPath, [join(ROOT, "esbuild.mjs"), "--only=server"], { cwd: ROOT, stdio: "ignore" });
  console.log("model | cold p50 / p95 ms | cached p50 / p95 ms | server peak RSS MB");
  for (const { name, path } of await realShapeModels()) {
    const r = await measureHover(path);
    console.log(`${name} | ${r.cold.p50.toFixed(0)} / ${r.cold.p95.toFixed(0)} | ${r.cached.p50.toFixed(1)} / ${r.cached.p95.toFixed(1)} | ${r.peakRssMb.toFixed(0)}`);
  }
}

async function measureHover(modelPath: string): Promise<{ cold: { p50: number; p95: number }; cached: { p50: number; p95: number }; peakRssMb: number }> {
  const tmp = mkdtempSync(join(tmpdir(), "inversion-bench-hover-"));
  // A seeded self-check of the comment check: the hover reads it; measuring it here would only add scoring first.
  seedSelfCheck(join(tmp, "xdg", "inversion", "self-check"), shippedGroundedIdentity(), FIT);
  const proc = spawn(process.execPath, [join(ROOT, "dist/server.js"), "--stdio"], {
    stdio: ["pipe", "pipe", "ignore"],
    detached: true,
    env: { ...process.env, XDG_CACHE_HOME: join(tmp, "xdg"), GGML_NO_BACKTRACE: "1" },
  });
  const conn = createProtocolConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
  const settings = { model: modelPath, gpu: "off", threads: BENCH_THREADS, hoverAdapter: "base", runsDirectory: join(tmp, "runs"), diagnostics: { enabled: false } };
  conn.onRequest(ConfigurationRequest.type, (p) => p.items.map((i) => (i.section === "inversion" ? settings : null)));
  conn.onRequest(WorkDoneProgressCreateRequest.type, () => undefined);
  conn.onRequest(RegistrationRequest.type, () => undefined);
  conn.listen();
  try {
    await conn.sendRequest(InitializeRequest.type, { processId: process.pid, rootUri: null, capabilities: { workspace: { configuration: true } }, workspaceFolders: null });
    await conn.sendNotification(InitializedNotification.type, {});
    const uri = pathToFileURL(join(tmp, "bench.sh")).href;
    const text = ["echo warm-up", ...COMMANDS].join("\n") + "\n";
    await conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: "shellscript", version: 1, text } });
    const hover = async (line: number): Promise<number> => {
      const t = performance.now();
      const h = await conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line, character: 1 } });
      if (!h) throw new Error(`no hover on line ${line}`);
      return performance.now() - t;
    };
    await hover(0); // loads the model
    const cold: number[] = [];
    const cached: number[] = [];
    for (let line = 1; line <= COMMANDS.length; line++) cold.push(await hover(line));
    for (let round = 0; round < 3; round++) for (let line = 1; line <= COMMANDS.length; line++) cached.push(await hover(line));
    const status = readFileSync(`/proc/${proc.pid}/status`, "utf8");
    const peakKb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    const stats = (xs: number[]) => ({ p50: median(xs), p95: percentile(xs, 95) });
    return { cold: stats(cold), cached: stats(cached), peakRssMb: peakKb / 1024 };
  } finally {
    await Promise.race([conn.sendRequest(ShutdownRequest.type).catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
    await conn.sendNotification(ExitNotification.type).catch(() => undefined);
    conn.dispose();
    try {
      process.kill(-proc.pid!, "SIGKILL");
    } catch {
      // exited
    }
    rmSync(tmp, { recursive: true, force: true });
  }
}
