// Headless Debian Chromium for the webview and VS Code tests (playwright-core downloads no browser).
import { execFileSync } from "node:child_process";

/** Without the background-networking flags Chromium keeps dialing out from this offline machine. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-dev-shm-usage",
];

export function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    try {
      return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
    } catch {
      // try the next name
    }
  }
  throw new Error("No Chromium found: install Debian's chromium (test/vscode/setup.sh chromium) or set CHROMIUM_PATH.");
}
