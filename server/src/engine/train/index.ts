// LoRA / full fine-tuning through the native trainer addon, run in a child process: ggml aborts the
// whole process on some errors, and a language server must stay responsive while training runs.
import { spawn } from "node:child_process";
import { existsSync, rmSync, statSync } from "node:fs";
import type { Trainer, TrainProgress, TrainRequest, TrainResult } from "../types";
import { AbortError } from "../abort";
import { ExternalTrainer } from "./external";
import { TRAIN_OPTIONS, type TrainOptionValues } from "./contract";

type Masking = NonNullable<TrainOptionValues["masking"]>;
import { chooseTrainingBackend, type TrainingBackendChoice, type TrainingDevice } from "./backend";
import type { GpuSetting } from "../runtime";
import {
  addonPath,
  backendDir,
  gpuBackendLibs,
  type NativeProgress,
  type NativeTrainOptions,
  type NativeTrainResult,
} from "./native";

export { ExternalTrainer, parseTrainCommand, TrainCommandError, TRAIN_COMMAND_PLACEHOLDERS } from "./external";

export {
  addonPath,
  backendDir,
  loadAddon,
  TrainerUnavailableError,
  type NativeTrainOptions,
  type NativeTrainResult,
  type TrainerAddon,
} from "./native";

export class TrainingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrainingError";
  }
}

/** TrainRequest plus the trainer's own knobs. */
export interface LlamaTrainRequest extends TrainRequest {
  masking?: TrainOptionValues["masking"];
}

/** TrainResult plus details of the run. */
export type LlamaTrainResult = TrainResult & Omit<NativeTrainResult, "cancelled">;

// The child process: loads the addon, trains, reports over IPC. Kept as source text so that bundling
// (esbuild) needs no extra file; it runs under plain Node (ELECTRON_RUN_AS_NODE in VS Code).
// The child ends with its parent: when the IPC channel closes (the parent exited, crashed or was killed with -9) it
// removes its temporary files and kills itself. process.exit() would not do: it waits for the training thread.
const CHILD_SOURCE = `
const fs = require("node:fs");
const addon = require(process.env.INVERSION_TRAINER_ADDON_PATH);
let outPath = null;
function die() {
  addon.cancel();
  if (outPath) for (const p of [outPath + ".tmp", outPath + ".init.tmp"]) fs.rmSync(p, { force: true });
  process.kill(process.pid, "SIGKILL");
}
// Anything uncaught would make Node exit, and exiting waits for the training thread (minutes, with the parent gone):
// report it if the parent still listens, then die. A send after the parent died lands here too.
function fail(e) {
  if (process.connected) process.send({ type: "error", message: String(e && e.message || e) }, die);
  else die();
}
process.on("disconnect", die);
process.on("uncaughtException", fail);
process.on("message", (m) => {
  if (m && m.type === "cancel") { addon.cancel(); return; }
  if (m && m.type === "probe") {
    try { process.send({ type: "devices", devices: addon.devices(m.options) }); }
    catch (e) { process.send({ type: "error", message: String(e && e.message || e) }, die); }
    return;
  }
  if (!m || m.type !== "train") return;
  outPath = m.options.outPath;
  addon.train(m.options, (p) => process.connected && process.send({ type: "progress", progress: p }))
    .then((result) => process.send({ type: "result", result }, die))
    .catch((e) => process.send({ type: "error", message: String(e && e.message || e) }, die));
});
process.send({ type: "ready" });
`;

const abortError = (): AbortError => new AbortError("Training was cancelled.");

/**
 * What only this side can check, before a child process starts: the files. Every value is checked once, by the
 * trainer itself (server/src/engine/train/contract.ts declares the ranges; its validate_options ties them together).
 */
function checkFiles(req: NativeTrainOptions): void {
  const fail = (m: string): never => {
    throw new TrainingError(m);
  };
  if (req.baseModelPath && existsSync(req.baseModelPath) && statSync(req.baseModelPath).isDirectory()) fail(`base model is a directory: ${req.baseModelPath}`);
  if (req.outPath && existsSync(req.outPath)) fail(`outPath already exists (adapters are cached by path; use a new, unique path): ${req.outPath}`);
}

/**
 * Runs the addon's train() in a child process. Progress arrives through `onProgress`; aborting
 * `signal` asks the child to stop before its next step and kills it if it has not exited within 1 s.
 */
export function runNativeTraining(
  options: NativeTrainOptions,
  hooks: { signal?: AbortSignal; onProgress?: (p: NativeProgress) => void; gpu?: GpuSetting } = {},
): Promise<NativeTrainResult> {
  checkFiles(options);
  const addon = addonPath();
  // Without a device, the child probes the devices and the chooser picks one (train/backend.ts).
  const opts: NativeTrainOptions = { backendDir: backendDir(), ...(options.device || hooks.gpu === "off" ? {} : { gpuLibs: gpuBackendLibs() }), ...options };
  if (hooks.gpu === "off" && !opts.device) opts.device = "CPU";
  if (hooks.signal?.aborted) return Promise.reject(abortError());

  return new Promise<NativeTrainResult>((resolvePromise, rejectPromise) => {
    const child = spawn(process.execPath, ["-e", CHILD_SOURCE], {
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      env: {
        ...process.env,
        ELECTRON_RUN_AS_NODE: "1",
        GGML_NO_BACKTRACE: "1",
        INVERSION_TRAINER_ADDON_PATH: addon,
        // the addon's rpath points at the build machine's node_modules; this keeps a moved install working
        LD_LIBRARY_PATH: [opts.backendDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":"),
      },
    });
    let stderr = "";
    let backend: TrainingBackendChoice | undefined;
    child.stderr?.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8192);
    });
    let settled = false;
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const cleanupFiles = (): void => {
      for (const p of [`${opts.outPath}.tmp`, `${opts.outPath}.init.tmp`]) rmSync(p, { force: true });
    };
    const finish = (err: Error | null, result?: NativeTrainResult): void => {
      if (settled) return;
      settled = true;
      if (killTimer) clearTimeout(killTimer);
      // the child ends itself when its channel closes (and removes its temporary files)
      if (child.connected) child.disconnect();
      hooks.signal?.removeEventListener("abort", onAbort);
      if (err) {
        cleanupFiles();
        rejectPromise(err);
      } else resolvePromise(result!);
    };
    const onAbort = (): void => {
      cancelled = true;
      if (child.connected) child.send({ type: "cancel" });
      killTimer = setTimeout(() => child.kill("SIGKILL"), 1000);
    };
    hooks.signal?.addEventListener("abort", onAbort, { once: true });

    const start = (device: string): void => void child.send({ type: "train", options: { ...opts, device } });
    child.on("message", (m: { type: string; progress?: NativeProgress; result?: NativeTrainResult; message?: string; devices?: TrainingDevice[] }) => {
      if (m.type === "ready") {
        if (opts.device) start(opts.device);
        else child.send({ type: "probe", options: { backendDir: opts.backendDir, gpuLibs: opts.gpuLibs ?? [], modelPath: opts.baseModelPath } });
      } else if (m.type === "devices" && m.devices) {
        backend = chooseTrainingBackend(m.devices, hooks.gpu ?? "auto");
        start(backend.device);
      }
      else if (m.type === "progress" && m.progress) {
        try {
          hooks.onProgress?.(m.progress);
        } catch {
          // a throwing progress listener must not break training
        }
      } else if (m.type === "result" && m.result) {
        if (m.result.cancelled || cancelled) finish(abortError());
        else finish(null, backend ? { ...m.result, backend } : m.result);
      } else if (m.type === "error") finish(new TrainingError(m.message ?? "training failed"));
    });
    child.on("error", (e) => finish(new TrainingError(`could not start the trainer process: ${e.message}`)));
    child.on("exit", (code, signal) => {
      if (settled) return;
      if (cancelled) return finish(abortError());
      finish(new TrainingError(trainerExitMessage(code, signal, stderr)));
    });
  });
}

/** Why the trainer process ended without a result, in words that do not guess: a kill is not an allocation failure. */
export function trainerExitMessage(code: number | null, signal: NodeJS.Signals | null, stderr: string): string {
  const tail = stderr.trim().split("\n").slice(-6).join("\n");
  const detail = tail ? `: ${tail}` : "";
  if (/out of memory|failed to allocate|std::bad_alloc|cannot allocate/i.test(stderr)) return `out of memory: the trainer could not allocate${detail}`;
  if (signal === "SIGKILL" || signal === "SIGTERM") {
    return `the trainer process was killed (${signal}) by another process or the system (the kernel's out-of-memory killer also sends SIGKILL)${detail}`;
  }
  return `the trainer process ${signal ? `crashed (${signal})` : `exited with code ${code}`}${detail}`;
}

function toNative(req: LlamaTrainRequest, mode: "lora" | "full"): NativeTrainOptions {
  return {
    baseModelPath: req.baseModelPath,
    outPath: req.outPath,
    initAdapterPath: req.initAdapterPath,
    mode,
    rank: req.rank,
    alpha: req.alpha,
    targets: req.targets,
    learningRate: req.learningRate,
    epochs: req.epochs,
    batchSize: req.batchSize,
    contextSize: req.contextSize,
    threads: req.threads,
    seed: req.seed,
    masking: req.masking ?? TRAIN_OPTIONS.masking.default,
    ...(req.checkpointDir ? { checkpointDir: req.checkpointDir, checkpointEverySeconds: req.checkpointEverySeconds ?? 60, resume: true } : {}),
    examples: req.examples.map((e) => ({ prompt: e.prompt, completion: e.completion })),
  };
}

/**
 * Fine-tunes with llama.cpp's optimizer on node-llama-cpp's prebuilt libraries. In mode "lora" it trains
 * a LoRA adapter (A random, B zero; base frozen and mapped read-only) and writes a llama.cpp adapter GGUF;
 * in mode "full" it trains every F32 weight (except token_embd) and writes a whole model.
 * Each optimizer step is one context window packed with whole examples (at most `batchSize` of them).
 */
export class LlamaTrainer implements Trainer {
  readonly name: string;
  private readonly forcedMode?: "lora" | "full";
  private readonly masking: Masking;

  constructor(opts: { mode?: "lora" | "full"; masking?: Masking } = {}) {
    this.forcedMode = opts.mode;
    this.masking = opts.masking ?? TRAIN_OPTIONS.masking.default;
    this.name = opts.mode === "full" ? "llama-full" : "llama-lora";
  }

  async train(req: LlamaTrainRequest): Promise<LlamaTrainResult> {
    const mode = this.forcedMode ?? req.mode;
    const native = toNative({ ...req, masking: req.masking ?? this.masking }, mode);
    const r = await runNativeTraining(native, {
      signal: req.signal,
      gpu: req.gpu ?? "auto",
      onProgress: req.onProgress
        ? (p): void => {
            const progress: TrainProgress = { step: p.step, totalSteps: p.totalSteps, loss: p.loss, tokensPerSecond: p.tokensPerSecond };
            req.onProgress!(progress);
          }
        : undefined,
    });
    const { cancelled: _cancelled, ...result } = r;
    return { ...result, mode };
  }
}

/** The trainer of a kind: the native one ("lora", "full"), or the user's own command ("external", `command`). */
export function createTrainer(kind: "lora" | "full" | "external", opts: { masking?: Masking; command?: string } = {}): Trainer {
  if (kind === "external") {
    if (!opts.command) throw new TrainingError("external training needs a training command (--train-command)");
    return new ExternalTrainer(opts.command);
  }
  return new LlamaTrainer({ mode: kind, masking: opts.masking });
}
