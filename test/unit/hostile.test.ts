// The hostile-input corpus (issues 11 and 23): each test feeds one bad input that hung, corrupted or misled before,
// and asserts the one outcome that is promised instead (docs/RELIABILITY.md).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdir, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { dirname, join, resolve, sep } from "node:path";
import { tempDir, fixtureModel } from "../helpers/fixture";
import { checkModelFile, resolveModelPath, withStallLimit } from "../../server/src/engine/runtime";
import { runLoop, DEFAULT_RUN_OPTIONS, bestAdapter, readRun } from "../../server/src/engine/api";
import type { RunOptions } from "../../server/src/engine/loop";
import { CorruptRunError, RunStore, repairRun } from "../../server/src/engine/store";
import { lockRunDir, RunLockedError, LOCK_FILE } from "../../server/src/engine/runLock";
import { trainerExitMessage } from "../../server/src/engine/train/index";
import { addonPath, gpuBackendLibs, searchRoots } from "../../server/src/engine/train/native";
import { RunManager, runOverridesOf } from "../../server/src/lsp/runs";
import { modelProblem, resolveHoverAdapter } from "../../server/src/lsp/modelHost";
import { runOptions as cliRunOptions, type Values } from "../../server/src/cli/args";
import { RunParamError } from "../../common/runParams";
import { isWebviewToHost } from "../../common/protocol";

const ROOT = resolve(__dirname, "../..");
let dir: string;
let cleanup: () => Promise<void>;
let model: string;

before(async () => {
  ({ dir, cleanup } = await tempDir("inversion-hostile-"));
  model = await fixtureModel(dir);
});
after(() => cleanup());

function cli(args: string[], timeoutMs = 60_000): { code: number | null; stderr: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "server/src/cli/main.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, GGML_NO_BACKTRACE: "1", INVERSION_MODEL: "" },
    encoding: "utf8",
    timeout: timeoutMs,
  });
  return { code: r.status, stderr: r.stderr, ms: Date.now() - t0 };
}

const small = (out: string, extra: Partial<RunOptions> = {}): RunOptions => ({
  ...DEFAULT_RUN_OPTIONS,
  modelPath: model,
  out,
  cycles: 1,
  tasks: 2,
  candidates: 2,
  threads: 1,
  gpu: "off",
  learn: "none",
  heldOutTasks: 2,
  contextSize: 256,
  ...extra,
});

// 11.2 -----------------------------------------------------------------------------------------------------------
test("an 88-byte GGUF claiming 2^62 tensors and keys is refused in under a second", async () => {
  const bad = Buffer.alloc(88);
  bad.write("GGUF", 0, "latin1");
  bad.writeUInt32LE(3, 4);
  bad.writeBigUInt64LE(1n << 62n, 8);
  bad.writeBigUInt64LE(1n << 62n, 16);
  const path = join(dir, "bomb.gguf");
  await writeFile(path, bad);
  const t0 = Date.now();
  await assert.rejects(checkModelFile(path), /Corrupt or truncated GGUF file .*tensors, more than the 88-byte file can hold/);
  assert.ok(Date.now() - t0 < 1000, `${Date.now() - t0} ms`);
});

test("a GGUF whose metadata array claims more items than the file holds is refused", async () => {
  const key = Buffer.from("tokenizer.ggml.tokens");
  const header = Buffer.alloc(24 + 8 + key.length + 4 + 4 + 8);
  let o = header.write("GGUF", 0, "latin1");
  o = header.writeUInt32LE(3, o);
  o = header.writeBigUInt64LE(0n, o);
  o = header.writeBigUInt64LE(1n, o);
  o = header.writeBigUInt64LE(BigInt(key.length), o);
  o += key.copy(header, o);
  o = header.writeUInt32LE(9, o); // array
  o = header.writeUInt32LE(8, o); // of strings
  header.writeBigUInt64LE(1n << 40n, o);
  const path = join(dir, "array-bomb.gguf");
  await writeFile(path, header);
  await assert.rejects(checkModelFile(path), /1099511627776 array items of metadata entry 0, more than the \d+-byte file can hold/);
});

// 11.3 -----------------------------------------------------------------------------------------------------------
test("a run directory locked by a live process is refused with who holds it", async () => {
  const out = join(dir, "locked");
  await mkdir(out);
  const lock = await lockRunDir(out);
  try {
    await assert.rejects(lockRunDir(out), (err: unknown) => err instanceof RunLockedError && err.message.includes(`pid ${process.pid}`));
    await assert.rejects(runLoop(small(out)), RunLockedError);
    assert.deepEqual(await readdir(out), [LOCK_FILE]);
  } finally {
    await lock.release();
  }
});

test("a lock left by a killed process does not block the next run", async () => {
  const out = join(dir, "stale-lock");
  await mkdir(out);
  const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  await writeFile(join(out, LOCK_FILE), JSON.stringify({ pid: Number(dead.stdout), host: (await import("node:os")).hostname(), started: null, since: "then" }));
  const lock = await lockRunDir(out);
  const owner = JSON.parse(await readFile(join(out, LOCK_FILE), "utf8")) as { pid: number };
  await lock.release();
  assert.equal(owner.pid, process.pid);
});

// 11.4 -----------------------------------------------------------------------------------------------------------
test("a corrupt line in the middle of cycles.jsonl is refused with file and line, kept, and repaired only on request", async () => {
  const out = join(dir, "corrupt");
  await runLoop(small(out, { cycles: 3 }));
  const cyclesFile = join(out, "cycles.jsonl");
  const lines = (await readFile(cyclesFile, "utf8")).split("\n");
  lines[1] = lines[1]!.slice(0, 20) + "#" + lines[1]!.slice(21);
  const damaged = lines.join("\n");
  await writeFile(cyclesFile, damaged);

  await assert.rejects(runLoop({ ...small(out), resume: { cycles: 4 } }), (err: unknown) => err instanceof CorruptRunError && /cycles\.jsonl line 2 is corrupt/.test(err.message));
  await assert.rejects(readRun(out), /cycles\.jsonl line 2 is corrupt.*inversion repair/s);
  assert.equal(await readFile(cyclesFile, "utf8"), damaged, "the original is left as it was");

  const { keptCycles, backups } = await repairRun(new RunStore(out));
  assert.equal(keptCycles, 1);
  assert.equal(await readFile(backups.find((b) => b.includes("cycles.jsonl"))!, "utf8"), damaged);
  assert.deepEqual((await readRun(out)).cycles.map((c) => c.cycle), [1]);
});

test("a torn last line is still repaired by a resume", async () => {
  const out = join(dir, "torn");
  await runLoop(small(out, { cycles: 1 }));
  await writeFile(join(out, "cycles.jsonl"), (await readFile(join(out, "cycles.jsonl"), "utf8")) + '{"cycle": 2, "startedAt": "20');
  const r = await runLoop({ ...small(out), resume: { cycles: 2 } });
  assert.deepEqual(r.cycles.map((c) => c.cycle), [1, 2]);
});

test("a foreign config.json is refused as not an Inversion run", async () => {
  const out = join(dir, "foreign");
  await mkdir(out);
  await writeFile(join(out, "config.json"), JSON.stringify({ name: "something else" }));
  await assert.rejects(readRun(out), /not an Inversion run configuration/);
  await writeFile(join(out, "config.json"), JSON.stringify({ version: 99 }));
  await assert.rejects(readRun(out), /written by a newer Inversion \(record version 99/);
});

// 11.5 -----------------------------------------------------------------------------------------------------------
test("--out under /proc fails at once with the reason", () => {
  const r = cli(["run", "--model", model, "--out", "/proc/inversion-run", "--learn", "none", "--threads", "1"], 20_000);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /Cannot create the directory \/proc\/inversion-run/);
});

// 11.8 -----------------------------------------------------------------------------------------------------------
test("every bad run option is refused before any work, naming the flag", () => {
  const cases: [Values, RegExp][] = [
    [{ lr: "0" }, /--lr must be a number above 0/],
    [{ epochs: "0" }, /--epochs must be an integer at least 1/],
    [{ "lora-rank": "1.5" }, /--lora-rank must be an integer/],
    [{ "lora-rank": "100000" }, /--lora-rank must be .* at most 256/],
    [{ "batch-size": "0" }, /--batch-size must be an integer at least 1/],
    [{ "lora-alpha": "-5" }, /--lora-alpha must be a number above 0/],
    [{ threads: "-1" }, /--threads must be an integer at least 0/],
    [{ cycles: "1.5" }, /--cycles must be an integer/],
    [{ temperature: "1e9" }, /--temperature must be a number at least 0 and at most 5/],
    [{ tasks: "2.5" }, /--tasks must be an integer/],
  ];
  for (const [flags, message] of cases) {
    assert.throws(() => cliRunOptions(flags as Values, model, join(dir, "never")), (err: unknown) => err instanceof RunParamError && message.test(err.message), JSON.stringify(flags));
  }
});

test("a bad option exits 2 and writes no run directory", () => {
  const out = join(dir, "bad-lr");
  const r = cli(["run", "--model", model, "--out", out, "--lr", "0"]);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(existsSync(out), false);
});

// 11.7 -----------------------------------------------------------------------------------------------------------
test("malformed runCycles parameters are refused before a run starts", () => {
  assert.throws(() => runOverridesOf([]), /must be an object/);
  assert.throws(() => runOverridesOf({ overrides: [1, 2] }), /overrides must be an object/);
  assert.throws(() => runOverridesOf({ overrides: { cycles: 1.5 } }), /overrides\.cycles must be an integer/);
  assert.throws(() => runOverridesOf({ overrides: { cycle: 2 } }), /Unknown run overrides: cycle/);
  assert.throws(() => runOverridesOf({ overrides: { out: 5 } }), /overrides\.out must be a directory path/);
  assert.deepEqual(runOverridesOf({ overrides: { cycles: 2, learn: "none" } }), { cycles: 2, learn: "none" });
});

// 11.1 -----------------------------------------------------------------------------------------------------------
test("models are fetched only from hf: and https:, never plain http", () => {
  assert.match(modelProblem("http://example.com/model.gguf") ?? "", /only from hf: URIs or https:\/\/ URLs/);
  assert.match(modelProblem("file:///etc/passwd") ?? "", /"file:" is not accepted/);
  assert.equal(modelProblem("hf:user/repo/model.gguf"), null);
  assert.equal(modelProblem("https://huggingface.co/u/r/resolve/main/m.gguf"), null);
});

test("a run's records cannot point the hover model at an adapter outside the run", async () => {
  const out = join(dir, "escape");
  await runLoop(small(out));
  const record = JSON.parse((await readFile(join(out, "cycles.jsonl"), "utf8")).trim()) as Record<string, unknown>;
  const after = { candidates: 1, acceptedTasks: 1, acceptanceRate: 1, meanScore: 0.9, distinctCommands: 1, distinctPrograms: 1 };
  await writeFile(join(out, "cycles.jsonl"), JSON.stringify({ ...record, after, adapterPath: "../../../etc/evil.gguf" }) + "\n");
  await assert.rejects(bestAdapter(out), /^Error: The adapter \.\.\/\.\.\/\.\.\/etc\/evil\.gguf named in .* is refused/);
  await writeFile(join(out, "adapters", "cycle-001.gguf"), "an adapter");
  await writeFile(join(out, "cycles.jsonl"), JSON.stringify({ ...record, after, adapterPath: "adapters/cycle-001.gguf" }) + "\n");
  assert.equal(await bestAdapter(out), join(out, "adapters", "cycle-001.gguf"));
});

// 11.10 ----------------------------------------------------------------------------------------------------------
test("a killed trainer is reported as killed, not as out of memory", () => {
  const message = trainerExitMessage(null, "SIGKILL", "");
  assert.match(message, /^the trainer process was killed \(SIGKILL\)/);
  assert.match(trainerExitMessage(1, null, "ggml: failed to allocate 4 GB"), /^out of memory/);
});

test("stray temporary files of a dead writer are removed when a run resumes", async () => {
  const out = join(dir, "stray");
  await runLoop(small(out));
  await writeFile(join(out, "cycles.jsonl.12345.tmp"), "partial");
  await writeFile(join(out, "adapters", "cycle-002-x.gguf.tmp"), "partial");
  await runLoop({ ...small(out), resume: { cycles: 2 } });
  const left = [...(await readdir(out)), ...(await readdir(join(out, "adapters")))].filter((n) => n.endsWith(".tmp"));
  assert.deepEqual(left, []);
});

// 11.6 -----------------------------------------------------------------------------------------------------------
test("the trainer dies with its parent, even after kill -9, and leaves no .tmp", async (t) => {
  try {
    addonPath();
  } catch (err) {
    return t.skip(`no native trainer: ${(err as Error).message}`);
  }
  const out = join(dir, "orphan");
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(ROOT, "server/src/cli/main.ts"), "run", "--model", model, "--out", out, "--cycles", "1", "--tasks", "2", "--candidates", "2", "--select", "all", "--learn", "lora", "--threads", "1", "--epochs", "100", "--lora-rank", "4", "--json"],
    { cwd: ROOT, env: { ...process.env, GGML_NO_BACKTRACE: "1" }, stdio: ["ignore", "pipe", "ignore"] },
  );
  await new Promise<void>((resolvePromise) => child.stdout.on("data", (d: Buffer) => d.toString().includes('"type":"train"') && resolvePromise()));
  const trainer = spawnSync("pgrep", ["-P", String(child.pid)], { encoding: "utf8" }).stdout.trim().split("\n").filter(Boolean).map(Number);
  assert.equal(trainer.length, 1, "one trainer child");
  child.kill("SIGKILL");
  const gone = async (): Promise<boolean> => {
    for (let i = 0; i < 50; i++) {
      try {
        process.kill(trainer[0]!, 0);
      } catch {
        return true;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  };
  assert.equal(await gone(), true, "the trainer exited within 5 s of its parent");
  const tmp = (await readdir(join(out, "adapters"))).filter((n) => n.endsWith(".tmp"));
  assert.deepEqual(tmp, []);
});

// 11.5 (server) ----------------------------------------------------------------------------------------------------
test("a run that does not answer a stop gives its slot back", async () => {
  const runs = new RunManager(50);
  runs.active = { runDir: "/proc/stuck", abort: new AbortController(), promise: new Promise(() => undefined) };
  assert.equal(runs.stop(), true);
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(runs.active, null);
});

// 11.1 (webview) ---------------------------------------------------------------------------------------------------
test("webview messages are checked field by field", () => {
  assert.equal(isWebviewToHost({ type: "openRun", runDir: "/runs/run-a" }), true);
  assert.equal(isWebviewToHost({ type: "openRun", runDir: { path: "/etc" } }), false);
  assert.equal(isWebviewToHost({ type: "openRun" }), false);
  assert.equal(isWebviewToHost({ type: "rendered", runDir: null, points: "many" }), false);
  assert.equal(isWebviewToHost([{ type: "ready" }]), false);
});

// 11.11 ------------------------------------------------------------------------------------------------------------
test("a seeded run repeats byte for byte", async () => {
  const a = join(dir, "seeded-a");
  const b = join(dir, "seeded-b");
  await runLoop(small(a, { cycles: 2, temperature: 0.9 }));
  await runLoop(small(b, { cycles: 2, temperature: 0.9 }));
  const examples = await readFile(join(a, "examples.jsonl"), "utf8");
  assert.ok(examples.length > 0);
  assert.equal(await readFile(join(b, "examples.jsonl"), "utf8"), examples);
});

// 23 (hostile review) --------------------------------------------------------------------------------------------
const inside = (root: string) => (p: string): boolean => p === root || p.startsWith(root + sep);

test("a folder's node_modules never supplies the trainer's native libraries", () => {
  const folder = join(dir, "workspace-with-libs");
  const gpu = `${process.platform}-${process.arch}-cuda`;
  const pkg = join(folder, "node_modules", "@node-llama-cpp", gpu);
  const lib = join(pkg, "bins", gpu, "libggml-cuda.so");
  mkdirSync(dirname(lib), { recursive: true });
  writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: `@node-llama-cpp/${gpu}`, version: "3.22.1" }));
  writeFileSync(lib, "planted");
  const cwd = process.cwd();
  process.chdir(folder);
  try {
    const roots = searchRoots();
    assert.deepEqual(
      { fromFolder: [...roots, ...gpuBackendLibs()].filter(inside(folder)), outsideThePackage: roots.filter((r) => !inside(ROOT)(r)) },
      { fromFolder: [], outsideThePackage: [] },
    );
  } finally {
    process.chdir(cwd);
  }
});

async function recordOf(out: string): Promise<Record<string, unknown>> {
  return JSON.parse((await readFile(join(out, "cycles.jsonl"), "utf8")).trim().split("\n").at(-1)!) as Record<string, unknown>;
}

test("a resumed run loads the model it is given, never the one its config.json names", async () => {
  const out = join(dir, "resume-model");
  await runLoop(small(out));
  const planted = await fixtureModel(dir, "planted.gguf");
  const config = JSON.parse(await readFile(join(out, "config.json"), "utf8")) as Record<string, unknown>;
  await writeFile(join(out, "config.json"), JSON.stringify({ ...config, modelPath: planted }));
  const cycles = await readFile(join(out, "cycles.jsonl"), "utf8");
  await assert.rejects(runLoop({ ...small(out), resume: { cycles: 2 } }), (err: Error) =>
    err.message.startsWith(`${resolve(out)} was recorded with the model ${planted}, but the model given is ${model}.`),
  );
  assert.equal(await readFile(join(out, "cycles.jsonl"), "utf8"), cycles, "nothing ran");
});

test("a model server that resets every connection fails the download after 3 tries, in seconds", { timeout: 60_000 }, async () => {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/evil.gguf`;
  const t0 = Date.now();
  try {
    await assert.rejects(resolveModelPath(url, { modelsDirectory: join(dir, "downloads") }), (err: Error) =>
      err.message.startsWith(`Could not download ${url}: 127.0.0.1 did not answer in 3 tries`),
    );
    assert.deepEqual({ connections, fast: Date.now() - t0 < 20_000 }, { connections: 3, fast: true });
  } finally {
    server.close();
  }
});

test("a download that receives nothing for the stall limit is given up, and its signal aborted", async () => {
  let given: AbortSignal | undefined;
  const silent = (signal: AbortSignal): Promise<never> => ((given = signal), new Promise<never>(() => undefined));
  await assert.rejects(withStallLimit(silent, undefined, 100), { message: "no data arrived for 0.1 s, so the download was given up" });
  assert.equal(given?.aborted, true);
});

test("a resume refuses a recorded adapter outside the run's adapters/, naming the file and the run", async () => {
  const out = join(dir, "resume-escape");
  await runLoop(small(out));
  await mkdir(join(dir, "outside"), { recursive: true });
  await writeFile(join(dir, "outside", "x.gguf"), "planted");
  await writeFile(join(out, "cycles.jsonl"), JSON.stringify({ ...(await recordOf(out)), adapterPath: "../outside/x.gguf" }) + "\n");
  await assert.rejects(runLoop({ ...small(out), resume: { cycles: 2 } }), (err: Error) =>
    err.message.startsWith(`The adapter ../outside/x.gguf named in ${join(resolve(out), "cycles.jsonl")} is refused: its real path`),
  );
});

test("the best adapter of a run is refused when a symbolic link leads out of the run", async () => {
  const runs = join(dir, "symlinked-runs");
  const out = join(runs, "run-1");
  await runLoop(small(out));
  await mkdir(join(dir, "outside"), { recursive: true });
  await writeFile(join(dir, "outside", "real.gguf"), "planted");
  await symlink(join(dir, "outside", "real.gguf"), join(out, "adapters", "link.gguf"));
  const after = { candidates: 1, acceptedTasks: 1, acceptanceRate: 1, meanScore: 0.99, distinctCommands: 1, distinctPrograms: 1 };
  await writeFile(join(out, "cycles.jsonl"), JSON.stringify({ ...(await recordOf(out)), after, adapterPath: "adapters/link.gguf" }) + "\n");
  await assert.rejects(bestAdapter(out), (err: Error) => err.message.startsWith(`The adapter adapters/link.gguf named in ${join(out, "cycles.jsonl")} is refused: its real path`));
  const logs: string[] = [];
  assert.equal(await resolveHoverAdapter("best", runs, (m) => logs.push(m)), null);
  assert.ok(logs.some((m) => m.includes("adapters/link.gguf") && m.includes(out)), logs.join("\n"));
});

test("a runCycles request naming a prototype key (constructor, __proto__, toString) is refused", () => {
  for (const key of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
    const params = JSON.parse(`{"overrides": {"${key}": 1}}`) as unknown;
    assert.throws(() => runOverridesOf(params), { message: `Unknown run overrides: ${key}.` }, key);
  }
  assert.throws(() => runOverridesOf(JSON.parse('{"constructor": 1}')), { message: "Unknown fields of the run request: constructor." });
  assert.throws(() => runOverridesOf({ workDoneToken: {} }), { message: "workDoneToken must be a string or a number." });
});

// Issue 23, items 8 and 10: files named on the command line, numbers in flags, a run's input files, empty GGUFs and
// `inversion report` on a damaged run. -------------------------------------------------------------------------
import { truncate } from "node:fs/promises";
import { loadModel } from "../../server/src/engine/runtime";
import { writeGguf } from "../../tools/gguf/writer";
import { num as cliInteger } from "../../server/src/cli/args";
import { DEFAULT_SETTINGS } from "../../common/protocol";

function fifoAt(name: string): string {
  const path = join(dir, name);
  if (!existsSync(path)) assert.equal(spawnSync("mkfifo", [path]).status, 0, "mkfifo");
  return path;
}

async function commentedScript(name: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, "# list the files\nls -la\n");
  return path;
}

/** `inversion check --format json FILE…`: the exit code and each file's error ("" when the file was checked). */
function checkFiles(files: string[], timeoutMs = 30_000): { code: number | null; errors: Record<string, string>; ms: number } {
  const t0 = Date.now();
  const args = [join(ROOT, "server/src/cli/main.ts"), "check", "--model", model, "--threads", "1", "--format", "json", ...files];
  const env = { ...process.env, GGML_NO_BACKTRACE: "1", INVERSION_MODEL: "" };
  const r = spawnSync(process.execPath, ["--import", "tsx", ...args], { cwd: ROOT, env, encoding: "utf8", timeout: timeoutMs });
  const report = r.stdout ? (JSON.parse(r.stdout) as { files: { file: string; error?: string }[] }) : { files: [] };
  return { code: r.status, errors: Object.fromEntries(report.files.map((f) => [f.file, f.error ?? ""])), ms: Date.now() - t0 };
}

test("inversion check refuses a FIFO at once, and still checks the file after it", () => {
  const fifo = fifoAt("check.fifo");
  const script = join(dir, "after-fifo.sh");
  writeFileSync(script, "# list the files\nls -la\n");
  const r = checkFiles([fifo, script]);
  assert.deepEqual({ code: r.code, errors: r.errors }, { code: 1, errors: { [fifo]: "not a regular file (a FIFO)", [script]: "" } });
});

test("inversion check refuses /dev/zero instead of reading it until the string length runs out", async () => {
  const script = await commentedScript("after-zero.sh");
  const r = checkFiles(["/dev/zero", script]);
  assert.deepEqual({ code: r.code, errors: r.errors }, { code: 1, errors: { "/dev/zero": "not a regular file (a character device)", [script]: "" } });
});

test("inversion check refuses a script over inversion.maxFileBytes without reading it; one at the limit is checked", async () => {
  const limit = DEFAULT_SETTINGS.maxFileBytes;
  const [over, at] = [join(dir, "over.sh"), join(dir, "at-limit.sh")];
  await writeFile(over, "#" + "x".repeat(limit));
  await writeFile(at, "#" + "x".repeat(limit - 1));
  const r = checkFiles([over, at]);
  assert.deepEqual(r.errors, { [over]: `the file is ${limit + 1} bytes, over the limit of ${limit} bytes`, [at]: "" });
});

test("inversion eval refuses a FIFO or an oversized file as --eval, naming the flag, before loading the model", async () => {
  const fifo = fifoAt("eval.fifo");
  const huge = join(dir, "huge-pairs.tsv");
  await writeFile(huge, "");
  await truncate(huge, 64 * 1024 * 1024 + 1); // sparse: no disk used
  const fromFifo = cli(["eval", "--model", model, "--eval", fifo], 30_000);
  const fromHuge = cli(["eval", "--model", model, "--eval", huge], 30_000);
  assert.deepEqual(
    [fromFifo, fromHuge].map((r) => ({ code: r.code, stderr: r.stderr })),
    [
      { code: 1, stderr: `inversion: error: --eval ${fifo} cannot be read: not a regular file (a FIFO). Pass a readable regular file as --eval.\n` },
      { code: 1, stderr: `inversion: error: --eval ${huge} cannot be read: the file is 67108865 bytes, over the limit of 67108864 bytes. Pass a readable regular file as --eval.\n` },
    ],
  );
});

test("number flags take plain decimal only: 0x10, 0b11, 0o17, 1e1 and Infinity are usage errors naming the flag", () => {
  const whole = (flag: string, text: string): string => `--${flag} needs a number written in decimal digits (like 12), got "${text}".`;
  for (const text of ["0x10", "0b11", "0o17", "1e1", "Infinity", " 3", ""]) {
    assert.throws(() => cliRunOptions({ cycles: text } as Values, model, "out"), { message: whole("cycles", text) }, text);
  }
  assert.throws(() => cliInteger("0x10", "max-pairs", 3000), { message: whole("max-pairs", "0x10") });
  assert.throws(() => cliInteger("2.5", "max-pairs", 3000), { message: '--max-pairs must be a whole number, got "2.5".' });
  assert.throws(() => cliRunOptions({ lr: "0x1" } as Values, model, "out"), { message: '--lr needs a number written in decimal (like 0.5 or 1e-4), got "0x1".' });
  const fine = cliRunOptions({ cycles: "16", lr: "1e-4", threshold: ".5", temperature: "0.7" } as Values, model, "out");
  assert.deepEqual([fine.cycles, fine.learningRate, fine.threshold, fine.temperature], [16, 1e-4, 0.5, 0.7]);
  const out = join(dir, "hex-cycles");
  const r = cli(["run", "--model", model, "--out", out, "--cycles", "0x10"]);
  assert.deepEqual({ code: r.code, stderr: r.stderr, created: existsSync(out) }, { code: 2, stderr: `inversion: ${whole("cycles", "0x10")}\n`, created: false });
});

test("a run whose --commands, --eval or --model file is missing or a FIFO stops before its run directory is created", () => {
  const missing = join(dir, "no-such-file");
  const fifo = fifoAt("run-input.fifo");
  const cases = [
    { flag: "--commands", path: missing, why: "the file does not exist" },
    { flag: "--commands", path: fifo, why: "not a regular file (a FIFO)" },
    { flag: "--eval", path: missing, why: "the file does not exist" },
    { flag: "--model", path: missing, why: "the file does not exist" },
  ];
  for (const [i, { flag, path, why }] of cases.entries()) {
    const out = join(dir, `missing-input-${i}`);
    const args = ["run", "--model", model, "--out", out, "--learn", "none", "--cycles", "1", "--tasks", "1", "--threads", "1", flag, path];
    const r = cli(args, 30_000);
    const expected = `inversion: error: ${flag} ${path} cannot be read: ${why}. Pass a readable regular file as ${flag}.\n`;
    assert.deepEqual({ code: r.code, stderr: r.stderr, created: existsSync(out) }, { code: 1, stderr: expected, created: false }, `${flag} ${path}`);
  }
});

test("an empty or cut-short GGUF is named as such, never 'Cannot read properties of undefined'", async () => {
  const notModel = (path: string, why: string): { message: string } => ({ message: `${path} is not a GGUF model: ${why}; download it again.` });
  const empty = join(dir, "empty.gguf");
  await writeFile(empty, "");
  await assert.rejects(checkModelFile(empty), notModel(empty, "the file is empty (0 bytes)"));
  const cut = join(dir, "cut-at-6.gguf");
  await writeFile(cut, Buffer.from("GGUF\x03\x00", "latin1"));
  await assert.rejects(checkModelFile(cut), notModel(cut, "the file is cut short at byte 6 (the version needs 4 bytes but only 2 remain)"));
  const headerOnly = join(dir, "no-tensors.gguf");
  const header = Buffer.alloc(24);
  header.write("GGUF", 0, "latin1");
  header.writeUInt32LE(3, 4);
  await writeFile(headerOnly, header);
  await assert.rejects(loadModel({ modelPath: headerOnly, gpu: "off", threads: 1 }), notModel(headerOnly, "its header lists no tensors (an empty GGUF), so it holds no model"));
  const nameless = join(dir, "no-architecture.gguf");
  await writeGguf(nameless, { metadata: {}, tensors: [{ name: "w", dims: [4], type: "f32", values: new Float32Array(4) }] });
  await assert.rejects(checkModelFile(nameless), {
    message: `${nameless} is not a GGUF model llama.cpp can load: its metadata names no architecture (general.architecture); download it again.`,
  });
});

test("inversion report stops at a corrupt line of examples.jsonl or external.jsonl, as run --resume does", async () => {
  const out = join(dir, "report-corrupt");
  await runLoop(small(out));
  const examples = join(out, "examples.jsonl");
  const intact = await readFile(examples, "utf8");
  const stopsAtLine1 = (args: string[], file: string): void => {
    const r = cli(args);
    const named = r.stderr.includes(`${file} line 1 is corrupt (not JSON:`);
    assert.deepEqual({ code: r.code, named }, { code: 1, named: true }, `${args.join(" ")}: ${r.stderr}`);
  };
  await writeFile(examples, "{garbage\n" + intact);
  stopsAtLine1(["report", out], examples);
  stopsAtLine1(["report", "--compare", out], examples);
  await writeFile(examples, intact);
  await writeFile(join(out, "external.jsonl"), '{garbage\n{"cycle": 1, "prediction": "ls"}\n');
  stopsAtLine1(["report", out], join(out, "external.jsonl"));
});

// issue 23 item 9 / issue 19 item 5 ---------------------------------------------------------------------------------
test("a resume refuses a tasks.json that is null, cut short or gone, instead of measuring on a new held-out set", async () => {
  const out = join(dir, "tasks-damaged");
  await runLoop(small(out, { cycles: 1, learn: "none" }));
  const tasksFile = join(out, "tasks.json");
  const original = await readFile(tasksFile, "utf8");
  for (const damaged of ["null", "{", '{"heldOut":[{"id":1}],"seen":[]}']) {
    await writeFile(tasksFile, damaged);
    await assert.rejects(runLoop({ ...small(out), resume: { cycles: 2 } }), (err: unknown) =>
      err instanceof CorruptRunError && /tasks\.json line 1 is corrupt/.test(err.message) && /restore tasks\.json/.test(err.message));
    assert.equal(await readFile(tasksFile, "utf8"), damaged, "the file is left as it was");
  }
  await rm(tasksFile);
  await assert.rejects(runLoop({ ...small(out), resume: { cycles: 2 } }), /tasks\.json line 1 is corrupt \(missing, though 1 cycle\(s\) are complete\)/);
  await writeFile(tasksFile, original);
  const resumed = await runLoop({ ...small(out), resume: { cycles: 2 } });
  assert.deepEqual(resumed.cycles.map((c) => c.cycle), [1, 2]);
  const heldOut = (text: string) => (JSON.parse(text) as { heldOut: unknown }).heldOut;
  assert.deepEqual(heldOut(await readFile(tasksFile, "utf8")), heldOut(original), "the same held-out tasks");
});

// Issue 23 items 9 and 10: records checked against their schema on every read, nothing dropped without a copy,
// regular files only, a full disk, a foreign lock, an adapter nothing names. -----------------------------------------
import { openSync, closeSync, constants as fsConstants } from "node:fs";
import { unlockRunDir } from "../../server/src/engine/runLock";

/** A run of `cycles` cycles without training, and its cycles.jsonl lines. */
async function runOf(name: string, cycles: number): Promise<{ out: string; lines: Record<string, unknown>[] }> {
  const out = join(dir, name);
  await runLoop(small(out, { cycles }));
  const lines = (await readFile(join(out, "cycles.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  return { out, lines };
}

const jsonl = (rows: unknown[]): string => rows.map((r) => JSON.stringify(r) + "\n").join("");

/** What a resume and `report` say about a run, and whether its logs were left as they were. */
async function refusal(out: string): Promise<{ resume: string; report: string; untouched: boolean }> {
  const files = ["cycles.jsonl", "examples.jsonl", "external.jsonl"].filter((f) => existsSync(join(out, f)));
  const before = await Promise.all(files.map((f) => readFile(join(out, f), "utf8")));
  const resume = await runLoop({ ...small(out), resume: { cycles: 9 } }).then(() => "resumed", (err: Error) => err.message);
  // what `inversion report` reads
  const store = new RunStore(out);
  const report = await store.readConfig().then(() => store.logs()).then(() => "read", (err: Error) => err.message);
  const after = await Promise.all(files.map((f) => readFile(join(out, f), "utf8")));
  return { resume, report, untouched: JSON.stringify(before) === JSON.stringify(after) };
}

test("cycle numbers out of order, or a last cycle of 0, -1 or 2.5, stop resume and report with the file, line and field", async () => {
  const { out, lines } = await runOf("cycle-numbers", 3);
  const cases: [unknown, string][] = [
    [2, 'field "cycle" is 2, but the line before holds cycle 2: cycles are numbered 1, 2, 3, … in order'],
    [0, 'field "cycle" should be an integer at least 1, is 0'],
    [-1, 'field "cycle" should be an integer at least 1, is -1'],
    [2.5, 'field "cycle" should be an integer at least 1, is 2.5'],
  ];
  for (const [cycle, reason] of cases) {
    await writeFile(join(out, "cycles.jsonl"), jsonl([lines[0], lines[1], { ...lines[2], cycle }]));
    const expected = `${join(out, "cycles.jsonl")} line 3 is corrupt (${reason}).`;
    const r = await refusal(out);
    assert.deepEqual(
      { resume: r.resume.startsWith(expected), report: r.report.startsWith(expected), untouched: r.untouched },
      { resume: true, report: true, untouched: true },
      `${cycle}: ${r.resume}`,
    );
  }
  const cliReport = cli(["report", out]);
  assert.equal(cliReport.code, 1, cliReport.stderr);
});

test("an example score of 1e308, or an example or external line past the run's cycles, stops resume and report", async () => {
  const { out } = await runOf("example-score", 1);
  const examples = (await readFile(join(out, "examples.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l) as { score: object; cycle: number });
  const intact = jsonl(examples);
  const withScore = examples.map((e, i) => (i === 1 ? { ...e, score: { ...e.score, value: 1e308 } } : e));
  await writeFile(join(out, "examples.jsonl"), jsonl(withScore));
  let r = await refusal(out);
  const scoreReason = `line 2 is corrupt (field "score.value" should be a number at least 0 and at most 1, is 1e+308)`;
  assert.deepEqual({ resume: r.resume.includes(scoreReason), report: r.report.includes(scoreReason), untouched: r.untouched }, { resume: true, report: true, untouched: true }, r.resume);
  await writeFile(join(out, "examples.jsonl"), intact + jsonl([{ ...examples[0]!, cycle: 9 }]));
  r = await refusal(out);
  assert.match(r.resume, new RegExp(`examples\\.jsonl line ${examples.length + 1} is corrupt \\(field "cycle" is 9, but cycles\\.jsonl ends at cycle 1\\)`));
  await writeFile(join(out, "examples.jsonl"), intact);
  await writeFile(join(out, "external.jsonl"), jsonl([{ cycle: 1, id: "a", task: "t", reference: "ls", prediction: "ls", nlc2cmd: 1, exact: true, template: true, lift: 0.5 }, { cycle: 0, id: "a", task: "t", reference: "ls", prediction: "ls", nlc2cmd: 1, exact: true, template: true, lift: 0.5 }]));
  r = await refusal(out);
  assert.match(r.report, /external\.jsonl line 2 is corrupt \(field "cycle" is 0, but the line before holds cycle 1: lines are in cycle order\)/);
});

test("config.json fields of the wrong type are refused by name (before: 'ref.trim is not a function')", async () => {
  const { out } = await runOf("config-types", 1);
  const config = JSON.parse(await readFile(join(out, "config.json"), "utf8")) as Record<string, unknown>;
  const cases: [Record<string, unknown>, string][] = [
    [{ modelPath: 5 }, 'field "modelPath" should be a string, is 5'],
    [{ topics: "ls" }, 'field "topics" should be an array, is "ls"'],
    [{ cycles: "3" }, 'field "cycles" must be an integer at least 1 and at most 1000 (got "3")'],
    [{ evalSet: ["a"] }, 'field "evalSet" should be a string, is an array'],
  ];
  for (const [change, reason] of cases) {
    await writeFile(join(out, "config.json"), JSON.stringify({ ...config, ...change }));
    const r = await refusal(out);
    const expected = `config.json: ${reason}. The file is left as it is.`;
    assert.deepEqual({ resume: r.resume.endsWith(expected), report: r.report.endsWith(expected) }, { resume: true, report: true }, `${JSON.stringify(change)}: ${r.resume}`);
  }
});

test("a resume takes out the lines of an unfinished cycle only after copying the file aside, and says so", async () => {
  const { out } = await runOf("unfinished-cycle", 1);
  const examplesFile = join(out, "examples.jsonl");
  const cycle1 = await readFile(examplesFile, "utf8");
  // a kill between appending cycle 2's examples and its record, then a torn write
  const cycle2 = cycle1.replaceAll('"cycle":1,', '"cycle":2,');
  const killed = cycle1 + cycle2 + '{"cycle":2,"pha';
  await writeFile(examplesFile, killed);
  const logs: string[] = [];
  const resumed = await runLoop({ ...small(out), resume: { cycles: 2 } }, { onEvent: (e) => e.type === "log" && logs.push(e.message) });
  const said = logs.find((m) => m.startsWith("examples.jsonl: kept"));
  const copy = said?.match(/the file as it was: (.*)\)\.$/)?.[1];
  assert.deepEqual(
    { cycles: resumed.cycles.map((c) => c.cycle), said: !!said, copied: copy ? (await readFile(copy, "utf8")) === killed : false, cycle1Kept: (await readFile(examplesFile, "utf8")).startsWith(cycle1) },
    { cycles: [1, 2], said: true, copied: true, cycle1Kept: true },
    logs.join("\n"),
  );
});

/** Opens a FIFO for writing and closes it at once, so a reader blocked on it (the code before the fix) lets go. */
function release(fifo: string): void {
  try {
    closeSync(openSync(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK));
  } catch {
    // nobody is reading it: nothing to release
  }
}

test("a FIFO named cycles.jsonl, config.json, tasks.json or run.lock is refused at once, never waited on", { timeout: 30_000 }, async () => {
  const { out } = await runOf("fifo-logs", 1);
  const outcomes: Record<string, string> = {};
  for (const name of ["cycles.jsonl", "config.json", "tasks.json", "run.lock"]) {
    const file = join(out, name);
    const saved = existsSync(file) ? await readFile(file) : null;
    await rm(file, { force: true });
    assert.equal(spawnSync("mkfifo", [file]).status, 0);
    const timer = setTimeout(() => release(file), 5000);
    try {
      const resume = runLoop({ ...small(out), resume: { cycles: 2 } }).then(() => "resumed", (err: Error) => err.message);
      outcomes[name] = (await resume).includes(`${name} cannot be read: not a regular file (a FIFO)`) ? "refused by name" : await resume;
    } finally {
      clearTimeout(timer);
      release(file);
      await rm(file, { force: true });
      if (saved) await writeFile(file, saved);
    }
  }
  assert.deepEqual(outcomes, { "cycles.jsonl": "refused by name", "config.json": "refused by name", "tasks.json": "refused by name", "run.lock": "refused by name" });
});

test("inversion repair refuses a cycles.jsonl it cannot read instead of emptying examples.jsonl", async () => {
  const { out } = await runOf("repair-unreadable", 1);
  const examples = await readFile(join(out, "examples.jsonl"), "utf8");
  await rm(join(out, "cycles.jsonl"));
  await mkdir(join(out, "cycles.jsonl"));
  const refused = await repairRun(new RunStore(out)).then(() => "repaired", (err: Error) => err.message);
  assert.deepEqual(
    { refused: refused.startsWith(`${join(out, "cycles.jsonl")} cannot be read: not a regular file (a directory)`), examplesKept: (await readFile(join(out, "examples.jsonl"), "utf8")) === examples },
    { refused: true, examplesKept: true },
    refused,
  );
});

test("a lock held from another host names its file and `inversion unlock` clears it; a live local holder is not unlocked", async () => {
  const out = join(dir, "foreign-lock");
  await mkdir(out, { recursive: true });
  await writeFile(join(out, LOCK_FILE), JSON.stringify({ pid: 1, host: "build-node-7", started: null, since: "yesterday" }));
  const refused = await lockRunDir(out).then(() => "locked", (err: Error) => err.message);
  assert.ok(refused.includes(`remove the lock file ${join(out, LOCK_FILE)} (\`inversion unlock ${out}\`)`), refused);
  const r = cli(["unlock", out]);
  assert.deepEqual({ code: r.code, gone: existsSync(join(out, LOCK_FILE)) }, { code: 0, gone: false }, r.stderr);
  const mine = await lockRunDir(out);
  try {
    await assert.rejects(unlockRunDir(out), RunLockedError);
  } finally {
    await mine.release();
  }
});

test("an adapter a killed cycle trained, which no record names, is removed when the run resumes, and said so", async () => {
  const { out } = await runOf("orphan-adapter", 1);
  const orphan = join(out, "adapters", "cycle-002-mabc123.gguf");
  const kept = join(out, "adapters", "cycle-003-mkept12.gguf");
  await writeFile(orphan, "trained, then the process was killed before the record");
  await writeFile(join(out, "cycles.jsonl.before-repair-then"), `{"adapterPath":"adapters/cycle-003-mkept12.gguf"}\n`);
  await writeFile(kept, "named by a copy kept aside");
  const logs: string[] = [];
  await runLoop({ ...small(out), resume: { cycles: 2 } }, { onEvent: (e) => e.type === "log" && logs.push(e.message) });
  assert.deepEqual(
    { orphan: existsSync(orphan), kept: existsSync(kept), said: logs.some((m) => m.startsWith("Removed adapters/cycle-002-mabc123.gguf: cycle 2 trained it")) },
    { orphan: false, kept: true, said: true },
    logs.join("\n"),
  );
});

/** A tmpfs of `bytes` at `path` (root only); null where it cannot be mounted. */
function smallDisk(path: string, bytes: number): (() => void) | null {
  mkdirSync(path, { recursive: true });
  if (spawnSync("mount", ["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", path]).status !== 0) return null;
  return () => void spawnSync("umount", ["-l", path]);
}

/** Fills the file system holding `dir` until it refuses more. */
function fillDisk(dir: string): void {
  const chunk = Buffer.alloc(64 * 1024, 1);
  for (let i = 0; ; i++) {
    try {
      writeFileSync(join(dir, `filler-${i}`), chunk);
    } catch {
      return;
    }
  }
}

test("a full disk is named as one with what the run kept, leaves no .tmp, and the run resumes once space is freed", { timeout: 120_000 }, async (t) => {
  const disk = join(dir, "small-disk");
  const unmount = smallDisk(disk, 4 * 1024 * 1024);
  if (!unmount) return t.skip("mounting a tmpfs needs root");
  try {
    const out = join(disk, "run");
    const filler = join(disk, "filler");
    await mkdir(filler);
    let filled = false;
    const full = (e: { type: string; cycle?: number }): void => {
      if (filled || e.type !== "phase" || e.cycle !== 2) return;
      filled = true;
      // a checkpoint write the full disk cut short, then nothing more fits
      mkdirSync(join(out, "checkpoints", "cycle-002"), { recursive: true });
      writeFileSync(join(out, "checkpoints", "cycle-002", "state.bin.tmp"), "a checkpoint cut short");
      fillDisk(filler);
    };
    const message = await runLoop(small(out, { cycles: 2 }), { onEvent: (e) => full(e as { type: string; cycle?: number }) }).then(() => "finished", (err: Error) => err.message);
    const tmp = spawnSync("find", [out, "-name", "*.tmp"], { encoding: "utf8" }).stdout.trim();
    assert.deepEqual(
      { full: message.startsWith(`The disk holding ${out} is full (`), kept: message.includes("The run kept cycle 1, complete;"), tmp },
      { full: true, kept: true, tmp: "" },
      message,
    );
    await rm(filler, { recursive: true });
    const resumed = await runLoop({ ...small(out), resume: { cycles: 2 } });
    assert.deepEqual(resumed.cycles.map((c) => c.cycle), [1, 2]);
  } finally {
    unmount();
  }
});

test("the trainer's failed adapter write on a full disk is named as a full disk, not 'failed to write adapter file …tmp'", { timeout: 180_000 }, async (t) => {
  try {
    addonPath();
  } catch (err) {
    return t.skip(`no native trainer: ${(err as Error).message}`);
  }
  const disk = join(dir, "small-disk-train");
  const unmount = smallDisk(disk, 8 * 1024 * 1024);
  if (!unmount) return t.skip("mounting a tmpfs needs root");
  try {
    const out = join(disk, "run");
    const filler = join(disk, "filler");
    await mkdir(filler);
    let filled = false;
    const onEvent = (e: { type: string }): void => {
      if (e.type === "train" && !filled) (filled = true), fillDisk(filler);
    };
    const lora = { cycles: 1, learn: "lora", selection: "all", epochs: 20, loraRank: 4 } as Partial<RunOptions>;
    const message = await runLoop(small(out, lora), { onEvent: (e) => onEvent(e) }).then(() => "finished", (err: Error) => err.message);
    const tmp = spawnSync("find", [out, "-name", "*.tmp"], { encoding: "utf8" }).stdout.trim();
    assert.deepEqual(
      { full: message.startsWith(`The disk holding ${out} is full (`), names: /adapters\/cycle-001-[0-9a-z]+\.gguf\.tmp could not be written/.test(message), kept: message.includes("The run kept no complete cycle yet;"), tmp },
      { full: true, names: true, kept: true, tmp: "" },
      message,
    );
  } finally {
    unmount();
  }
});
