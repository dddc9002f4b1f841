// The `inversion` CLI run from source in a child process, as tests drive it.
import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";

export const ROOT = resolve(__dirname, "../..");

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `inversion ARGS`; `onStdout` sees each chunk (and the child, to signal it). No INVERSION_MODEL leaks in. */
export function cli(args: string[], onStdout?: (chunk: string, child: ChildProcess, all: string) => void): Promise<CliResult> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "server/src/cli/main.ts"), ...args], {
      cwd: ROOT,
      env: { ...process.env, GGML_NO_BACKTRACE: "1", INVERSION_MODEL: "" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(d.toString(), child, stdout);
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code, signal) => done({ code, signal, stdout, stderr }));
  });
}
