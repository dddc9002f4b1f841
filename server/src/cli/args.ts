// Command-line options: parsing, validation and the run settings they make.
import { parseArgs } from "node:util";
import { DEFAULT_RUN_OPTIONS, parseTrainCommand, type ResumeOptions, type RunOptions } from "../engine/api";
import { RENAMED_PARAMS, RUN_PARAMS, RUN_PARAM_KEYS, checkRunParams, defaultRunParams, fromCliText, type RunParam, type RunParamKey, type RunParams } from "../../../common/runParams";
import type { ProgressLine } from "./progress";
import { DEFAULT_MODEL_FILE, defaultModelPath } from "../knowledge/shipped";
import { backendUrlProblem } from "../../../common/backendRef";

export class UsageError extends Error {}

/** Flags of the CLI that are not run parameters. */
const OTHER_OPTIONS = {
  model: { type: "string" },
  out: { type: "string" },
  resume: { type: "boolean" },
  topics: { type: "string" },
  commands: { type: "string" },
  eval: { type: "string" },
  pairs: { type: "string" },
  mode: { type: "string" },
  masking: { type: "string" },
  "max-pairs": { type: "string" },
  adapter: { type: "string" },
  compare: { type: "boolean" },
  json: { type: "boolean" },
  format: { type: "string" },
  svg: { type: "string" },
  "train-command": { type: "string" },
  base: { type: "string" },
  "hf-model": { type: "string" },
  backend: { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  "allow-network": { type: "boolean" },
  name: { type: "string" },
  sequences: { type: "string" },
  context: { type: "string" },
  lora: { type: "string" },
  "lora-dir": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type FlagOption = { type: "string" } | { type: "boolean" };

/** Every flag: the run parameters' flags come from their one declaration (common/runParams.ts). */
export const options: typeof OTHER_OPTIONS & Record<string, FlagOption> = {
  ...Object.fromEntries(RUN_PARAM_KEYS.map((key): [string, FlagOption] => [RUN_PARAMS[key].flag, { type: RUN_PARAMS[key].type === "switch" ? "boolean" : "string" }])),
  ...Object.fromEntries(Object.entries(RENAMED_PARAMS).map(([old, key]): [string, FlagOption] => [old, { type: RUN_PARAMS[key].type === "switch" ? "boolean" : "string" }])),
  ...OTHER_OPTIONS,
};

export type Values = ReturnType<typeof parseArgs<{ options: typeof OTHER_OPTIONS; allowPositionals: true }>>["values"] & {
  [flag: string]: string | boolean | undefined;
};

/** An integer flag that is not a run parameter (--max-pairs). */
export function num(v: string | boolean | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(decimalText(v, name, true));
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be a whole number, got "${v}".`);
  return n;
}

const PLAIN_DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)$/;
const DECIMAL_WITH_EXPONENT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * `text` when it is a number written in plain decimal, with an exponent (`1e-4`) only for a non-integer flag; whether
 * it is whole and in range is checked after. Number() alone also reads `0x10`, `0b11`, `0o17`, `Infinity` and blanks.
 */
function decimalText(text: string | boolean, flag: string, integer: boolean): string {
  const syntax = integer ? PLAIN_DECIMAL : DECIMAL_WITH_EXPONENT;
  if (typeof text === "string" && syntax.test(text)) return text;
  const form = integer ? "decimal digits (like 12)" : "decimal (like 0.5 or 1e-4)";
  throw new UsageError(`--${flag} needs a number written in ${form}, got "${text}".`);
}

/** A run parameter's value from its flag's text: numbers in plain decimal only, not yet range-checked; an older name of a value is said. */
function cliValue(key: RunParamKey, text: string | boolean): unknown {
  const p: RunParam = RUN_PARAMS[key];
  const value = fromCliText(key, p.type === "number" ? decimalText(text, p.flag, p.integer) : text);
  if (p.type === "choice" && value !== text) process.stderr.write(`inversion: --${p.flag} ${String(text)} is now --${p.flag} ${String(value)}; reading it as that\n`);
  return value;
}

export function oneOf<T extends string>(v: string | undefined, name: string, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`--${name} must be one of ${allowed.join(", ")}; got "${v}".`);
  return v as T;
}

export function modelOf(v: Values): string {
  const model = v.model ?? process.env.INVERSION_MODEL;
  if (model) return model;
  const shipped = defaultModelPath();
  if (!shipped) throw new UsageError(`No model: pass --model /path/to/model.gguf (or set INVERSION_MODEL); the default ${DEFAULT_MODEL_FILE} is not installed.`);
  process.stderr.write(`inversion: no --model given; using the default model ${shipped} (trained by this project on tldr-pages)\n`);
  return shipped;
}

/** A parameter's flag text, given under its name or an older one (said once on stderr). */
function flagText(v: Values, key: RunParamKey): string | boolean | undefined {
  const text = v[RUN_PARAMS[key].flag];
  if (text !== undefined) return text;
  const old = Object.keys(RENAMED_PARAMS).find((name) => RENAMED_PARAMS[name] === key && v[name] !== undefined);
  if (!old) return undefined;
  process.stderr.write(`inversion: --${old} is now --${RUN_PARAMS[key].flag}; reading --${old} ${String(v[old])} as --${RUN_PARAMS[key].flag} ${String(v[old])}\n`);
  return v[old];
}

/** One run parameter from its flag, range-checked; `fallback` replaces the run default (e.g. warm start's epochs). */
export function param<K extends RunParamKey>(v: Values, key: K, fallback?: RunParams[K]): RunParams[K] {
  const text = flagText(v, key);
  const value = text === undefined ? (fallback ?? RUN_PARAMS[key].default) : cliValue(key, text);
  checkRunParams({ [key]: value });
  return value as RunParams[K];
}

/** The run's options from the flags; every run parameter is checked here, before any work. */
export function runOptions(v: Values, modelPath: string, out: string): RunOptions {
  const params = defaultRunParams() as Record<RunParamKey, unknown>;
  for (const key of RUN_PARAM_KEYS) {
    const text = flagText(v, key);
    if (text !== undefined) params[key] = cliValue(key, text);
  }
  checkRunParams(params);
  return {
    ...DEFAULT_RUN_OPTIONS,
    ...(params as RunParams),
    modelPath,
    out,
    topics: v.topics ? v.topics.split(",").map((s) => s.trim()).filter(Boolean) : DEFAULT_RUN_OPTIONS.topics,
    commandsFile: v.commands,
    evalSet: v.eval,
    backend: backendOf(v),
    trainCommand: trainCommandOf(v),
  };
}

/**
 * `run --resume`: the files the run loads, from the flags as a new run takes them (checked against those the run
 * recorded); --cycles, when given, its new total (range-checked here). Without --cycles it keeps its recorded total.
 */
export function resumeOptions(v: Values, modelPath: string, out: string): ResumeOptions {
  const resume = flagText(v, "cycles") === undefined ? {} : { cycles: param(v, "cycles") };
  const ignored = RUN_PARAM_KEYS.filter((key) => key !== "cycles" && flagText(v, key) !== undefined).map((key) => `--${RUN_PARAMS[key].flag}`);
  if (ignored.length) {
    process.stderr.write(`inversion: a resume continues with the run's recorded settings; ${ignored.join(", ")} ${ignored.length === 1 ? "is" : "are"} not applied (only --cycles can change)\n`);
  }
  return { modelPath, out, commandsFile: v.commands, evalSet: v.eval, backend: backendOf(v), trainCommand: trainCommandOf(v), resume };
}

/** --backend URL, checked here: https, or http on this machine only (common/backendRef.ts). */
export function backendOf(v: Values): string | undefined {
  const url = v.backend;
  if (url === undefined) return undefined;
  const problem = backendUrlProblem(url);
  if (problem) throw new UsageError(`--backend: ${problem}`);
  return url.trim();
}

/** --train-command, checked here (words, quotes, placeholders) so a bad one stops before the run directory exists. */
function trainCommandOf(v: Values): string | undefined {
  const text = v["train-command"];
  if (text === undefined) return undefined;
  try {
    parseTrainCommand(text);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return text;
}

/** Ctrl-C aborts the work at the next safe point; a second Ctrl-C exits at once. */
export function interruptSignal(progress: ProgressLine): AbortSignal {
  const ac = new AbortController();
  process.on("SIGINT", () => {
    if (ac.signal.aborted) process.exit(130);
    progress.message("Stopping after the current step (Ctrl-C again to quit now)…");
    ac.abort();
  });
  return ac.signal;
}
