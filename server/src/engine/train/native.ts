// Locating the native trainer addon (server/native/build/inversion_trainer.node) and the prebuilt
// llama.cpp CPU libraries it links (node-llama-cpp's @node-llama-cpp/<platform>-<arch> package).
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { TrainResult } from "../types";
import type { TrainOptionValues, TrainResultValues } from "./contract";
import type { TrainingBackendChoice, TrainingDevice } from "./backend";
import { packageRoot } from "../../knowledge/shipped";
import { isInside, realFileInside } from "../store";

/** The only node-llama-cpp release whose llama.cpp internals (v0.5.0) the addon is compiled against. */
import { NODE_LLAMA_CPP_VERSION } from "../versions";
export const ADDON_FILE = "inversion_trainer.node";

export class TrainerUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrainerUnavailableError";
  }
}

/** Inversion's own install: the package root above this module's real location (never the current directory). */
function installRoot(): string | null {
  return packageRoot(realpathSync(__dirname));
}

/**
 * Directories to look for node_modules/<pkg> and the addon in, nearest first: from this module's real location up
 * to the package root. Never the current directory: for the language server that is the workspace, and a folder
 * must not choose native code the trainer loads.
 */
export function searchRoots(): string[] {
  const root = installRoot();
  if (!root) return [];
  const roots: string[] = [];
  for (let dir = realpathSync(__dirname); ; dir = dirname(dir)) {
    roots.push(dir);
    if (dir === root || dirname(dir) === dir) return roots;
  }
}

function packageDir(name: string): string | null {
  for (const root of searchRoots()) {
    const candidate = join(root, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
  }
  return null;
}

/** `path`'s real path when it is a regular file inside the install (a library or addon the trainer may load), else null. */
function installedFile(path: string | null): string | null {
  const root = installRoot();
  const file = path && root ? realFileInside(root, path) : null;
  return file?.ok ? file.value : null;
}

/** Installed node-llama-cpp version, or null when it is missing. */
export function installedNodeLlamaCppVersion(): string | null {
  const dir = packageDir("node-llama-cpp");
  if (!dir) return null;
  return (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string }).version;
}

/** Folder with libllama / libggml-base / libggml-cpu-*.so of node-llama-cpp's prebuilt CPU binaries. */
export function backendDir(): string {
  const pkg = `@node-llama-cpp/${process.platform}-${process.arch}`;
  const dir = packageDir(pkg);
  const bins = dir ? join(dir, "bins", `${process.platform}-${process.arch}`) : null;
  const real = bins && existsSync(bins) ? realpathSync(bins) : null;
  const root = installRoot();
  if (!real || !root || !isInside(root, real) || !statSync(real).isDirectory()) {
    throw new TrainerUnavailableError(`${pkg} (node-llama-cpp's prebuilt binaries) is not installed in ${root ?? "Inversion's folder"}; run npm install there`);
  }
  return real;
}

/** GPU backend libraries of node-llama-cpp's CUDA and Vulkan packages that are installed (the trainer loads those the system can). */
export function gpuBackendLibs(): string[] {
  const libs: string[] = [];
  for (const [suffix, lib] of [["cuda", "libggml-cuda.so"], ["vulkan", "libggml-vulkan.so"]] as const) {
    const platform = `${process.platform}-${process.arch}-${suffix}`;
    const dir = packageDir(`@node-llama-cpp/${platform}`);
    const path = installedFile(dir ? join(dir, "bins", platform, lib) : null);
    if (path) libs.push(path);
  }
  return libs;
}

/** Absolute path of the built addon; throws a clear error if it has not been built or was built for another release. */
export function addonPath(): string {
  const installed = [
    ...searchRoots().map((root) => join(root, "server", "native", "build", ADDON_FILE)),
    ...searchRoots().map((root) => join(root, "native", "build", ADDON_FILE)),
  ];
  const override = process.env.INVERSION_TRAINER_ADDON;
  const found = override && existsSync(override) ? override : installed.map(installedFile).find((p) => p !== null);
  if (!found) {
    throw new TrainerUnavailableError(
      "the native trainer is not built: run `npm run build:native` (needs a C++17 compiler, make and python3)",
    );
  }
  const version = installedNodeLlamaCppVersion();
  if (version !== NODE_LLAMA_CPP_VERSION) {
    throw new TrainerUnavailableError(
      `the native trainer supports node-llama-cpp ${NODE_LLAMA_CPP_VERSION} only (llama.cpp v0.5.0 internal layouts), ` +
        `but ${version ?? "no version"} is installed; install node-llama-cpp@${NODE_LLAMA_CPP_VERSION} and run \`npm run build:native\``,
    );
  }
  const stamp = join(dirname(found), "inversion_trainer.stamp.json");
  if (existsSync(stamp)) {
    const built = (JSON.parse(readFileSync(stamp, "utf8")) as { nlcVersion?: string }).nlcVersion;
    if (built && built !== version) {
      throw new TrainerUnavailableError(
        `the native trainer was built for node-llama-cpp ${built} but ${version} is installed; run \`npm run build:native -- --force\``,
      );
    }
  }
  return found;
}

/** Options of the addon's train(), from its one declaration (contract.ts); the paths and the examples are required. */
export type NativeTrainOptions = TrainOptionValues & Required<Pick<TrainOptionValues, "baseModelPath" | "outPath" | "examples">>;

export interface NativeProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  learningRate: number;
  /** Step of the last checkpoint written (0: none yet). */
  checkpointStep: number;
  tokensPerSecond: number;
}

/** What the addon's train() resolves to (contract.ts), and the device chosen when the request named none. */
export type NativeTrainResult = TrainResultValues & {
  /** The device chosen when the request named none, and why (train/backend.ts). */
  backend?: TrainingBackendChoice;
};
// The engine's TrainResult (less the mode, which the caller knows) is part of what the addon reports.
const _resultConforms: Omit<TrainResult, "mode"> extends Pick<TrainResultValues, keyof Omit<TrainResult, "mode">> ? true : never = true;
void _resultConforms;

export interface TrainerAddon {
  train(options: NativeTrainOptions, onProgress?: (p: NativeProgress) => void): Promise<NativeTrainResult>;
  cancel(): void;
  /** The devices a LoRA step on modelPath could run on, and the training ops each lacks. */
  devices(options: { backendDir: string; gpuLibs: string[]; modelPath: string }): TrainingDevice[];
  builtFor: { nodeLlamaCpp: string; llamaCpp: string };
}

/** Loads the addon in this process (the trainer normally runs it in a child process instead). */
export function loadAddon(): TrainerAddon {
  return loadBuiltAddon<TrainerAddon>(addonPath());
}

/** A native addon built by scripts/build-native.mjs, refused when it was built for another node-llama-cpp. */
export function loadBuiltAddon<T extends { builtFor: { nodeLlamaCpp: string } }>(path: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const addon = require(path) as T;
  if (addon.builtFor.nodeLlamaCpp !== NODE_LLAMA_CPP_VERSION) {
    throw new TrainerUnavailableError(
      `the native trainer at ${path} was built for node-llama-cpp ${addon.builtFor.nodeLlamaCpp}; run \`npm run build:native -- --force\``,
    );
  }
  return addon;
}
