// The @vscode/test-electron `run()` contract: mocha (tdd) over the compiled *.test.js next to this file.
// Runs unchanged under test-electron (desktop VS Code) and under the offline route (test/vscode/run.ts).
import * as path from "node:path";
import * as fs from "node:fs";
import Mocha from "mocha";
import * as vscode from "vscode";

/** Written by test/vscode/run.ts into the test workspace (env vars do not reliably reach the extension host). */
function testConfig(): { grep?: string; results?: string } {
  const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  try {
    return root ? JSON.parse(fs.readFileSync(path.join(root, ".inversion-test.json"), "utf8")) : {};
  } catch {
    return {};
  }
}

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: "tdd", color: false, timeout: 120_000, reporter: "spec" });
  const dir = __dirname;
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".test.js")).sort()) mocha.addFile(path.join(dir, f));
  const cfg = testConfig();
  const grep = cfg.grep ?? process.env.INVERSION_TEST_GREP;
  if (grep) mocha.grep(grep);
  return new Promise((resolve, reject) => {
    try {
      const runner = mocha.run((failures) => {
        const out = cfg.results ?? process.env.INVERSION_TEST_RESULTS;
        if (out) fs.writeFileSync(out, JSON.stringify({ failures, passes: runner.stats?.passes ?? 0, tests: runner.stats?.tests ?? 0 }));
        if (failures > 0) reject(new Error(`${failures} test(s) failed.`));
        else resolve();
      });
    } catch (err) {
      reject(err);
    }
  });
}
