// `--train external --train-command "…"`: each cycle's training runs as the user's own command (e.g. a TRL job on a
// GPU node) on the cycle's examples written as a TRL dataset, and the PEFT adapter it writes is converted back to a
// GGUF adapter for the loop. The command line comes only from the caller (the CLI's flag), never from settings or a
// run directory. It is split into words here and run without a shell, so nothing in it is expanded by one: {data},
// {out}, … are replaced inside each word after splitting, and a path with spaces stays one argument.
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import type { Trainer, TrainRequest, TrainResult } from "../types";
import { AbortError } from "../abort";
import { importPeftAdapter } from "../adapters/peft";
import { cardHeader, TRAINING_FORMAT, writeTrlDataset } from "./dataset";

export class TrainCommandError extends Error {
  override name = "TrainCommandError";
}

/** The placeholders a training command may use, each replaced inside its word. */
export const TRAIN_COMMAND_PLACEHOLDERS: Readonly<Record<string, string>> = {
  data: "the dataset directory (train.jsonl and its README.md card): TRL's --dataset_name",
  data_file: "the dataset file itself (train.jsonl)",
  out: "the empty directory the command must leave a PEFT adapter in (adapter_config.json, adapter_model.safetensors)",
  base: "the base model GGUF the loop runs",
  rank: "the run's LoRA rank (--lora-rank)",
  alpha: "the run's LoRA alpha (--lora-alpha)",
  lr: "the run's learning rate (--lr)",
  epochs: "the run's epochs (--epochs)",
  seed: "this cycle's training seed",
};

const HINT = "The command runs without a shell: put pipes, redirections, variables or several commands in a script and run that (--train-command 'bash train.sh {data} {out}').";

/** The command's words, placeholders still in them; throws TrainCommandError for what only a shell would understand. */
export function parseTrainCommand(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  const refuse = (what: string): never => {
    throw new TrainCommandError(`--train-command: ${what}. ${HINT}`);
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      continue;
    }
    if (ch === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) refuse("a single quote is not closed");
      word += text.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (ch === '"') {
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        const c = text[j]!;
        if (c === "$" || c === "`") refuse(`"${c}" inside double quotes would be expanded by a shell, not here`);
        if (c === "\\" && j + 1 < text.length && '"\\$`'.includes(text[j + 1]!)) word += text[++j];
        else word += c;
      }
      if (j >= text.length) refuse("a double quote is not closed");
      i = j;
      inWord = true;
    } else if (ch === "\\") {
      if (i + 1 >= text.length) refuse("it ends with a backslash");
      word += text[++i];
      inWord = true;
    } else if ("|&;<>()$`*?[]#".includes(ch) && !(ch === "#" && inWord)) {
      refuse(`"${ch}" would mean something to a shell, and none runs it (quote it to pass it as text)`);
    } else {
      // ~ or ~/… starting a word is the home directory, as in a shell
      if (ch === "~" && !inWord && (i + 1 === text.length || text[i + 1] === "/" || /\s/.test(text[i + 1]!))) word += homedir();
      else word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  if (words.length === 0) refuse("the command is empty");
  for (const w of words) {
    for (const [, name] of w.matchAll(/\{([A-Za-z_]+)\}/g)) {
      if (!(name! in TRAIN_COMMAND_PLACEHOLDERS)) refuse(`{${name}} is not a placeholder (known: ${Object.keys(TRAIN_COMMAND_PLACEHOLDERS).map((k) => `{${k}}`).join(" ")})`);
    }
  }
  return words;
}

/** The words with each placeholder replaced by its value. */
export function expandTrainCommand(words: readonly string[], values: Readonly<Record<string, string>>): string[] {
  return words.map((w) => w.replace(/\{([A-Za-z_]+)\}/g, (_, name: string) => values[name] ?? `{${name}}`));
}

/** How long a cancelled command has to exit after SIGTERM before its process group is killed. */
const KILL_AFTER_MS = 5000;

/** Losses from a Hugging Face Trainer's trainer_state.json in the output (or its newest checkpoint), when there is one. */
function trainerLosses(outDir: string): { losses: number[]; steps: number } | null {
  const candidates = [join(outDir, "trainer_state.json")];
  const checkpoints = existsSync(outDir)
    ? readdirSync(outDir)
        .map((n) => /^checkpoint-(\d+)$/.exec(n))
        .filter((m): m is RegExpExecArray => !!m)
        .sort((a, b) => Number(b[1]) - Number(a[1]))
    : [];
  for (const m of checkpoints) candidates.push(join(outDir, m[0], "trainer_state.json"));
  for (const file of candidates) {
    if (!existsSync(file) || statSync(file).size > 64 << 20) continue;
    try {
      const state = JSON.parse(readFileSync(file, "utf8")) as { log_history?: { loss?: unknown }[]; global_step?: unknown };
      const losses = (state.log_history ?? []).map((e) => e.loss).filter((l): l is number => typeof l === "number" && Number.isFinite(l));
      if (losses.length) return { losses, steps: typeof state.global_step === "number" ? state.global_step : losses.length };
    } catch {
      // not a trainer state: no losses to report
    }
  }
  return null;
}

function logTail(file: string): string {
  try {
    const text = readFileSync(file, "utf8");
    return text.trim().split("\n").slice(-6).join("\n");
  } catch {
    return "";
  }
}

/** Trains by running the user's command; the PEFT adapter it leaves in {out} becomes the cycle's GGUF adapter. */
export class ExternalTrainer implements Trainer {
  readonly name = "external";
  private readonly words: string[];

  constructor(command: string) {
    this.words = parseTrainCommand(command);
  }

  async train(req: TrainRequest): Promise<TrainResult> {
    if (req.signal?.aborted) throw new AbortError("Training was cancelled.");
    if (req.initAdapterPath) throw new TrainCommandError("external training retrains from the base each cycle (--policy retrain); it cannot continue an adapter");
    const started = Date.now();
    const work = req.checkpointDir ?? (await mkdtemp(join(tmpdir(), "inversion-external-")));
    await mkdir(work, { recursive: true });
    const dataDir = join(work, "data");
    const outDir = join(work, "peft");
    // a killed earlier attempt of this cycle may have left both behind
    await rm(dataDir, { recursive: true, force: true });
    await rm(outDir, { recursive: true, force: true });
    await mkdir(dataDir);
    await mkdir(outDir);
    const card = [
      cardHeader("unknown"),
      "# Training data of one Inversion cycle",
      "",
      `${req.examples.length} examples for the base model \`${req.baseModelPath}\`, written for an external training command.`,
      "",
      TRAINING_FORMAT,
      "",
      "Prompts may quote examples written by people (Inversion's shipped example index); `inversion export RUN_DIR --format trl` writes the data with every source and licence.",
      "",
    ].join("\n");
    const dataFile = await writeTrlDataset(dataDir, req.examples, card);
    const argv = expandTrainCommand(this.words, {
      data: dataDir,
      data_file: dataFile,
      out: outDir,
      base: req.baseModelPath,
      rank: String(req.rank),
      alpha: String(req.alpha),
      lr: String(req.learningRate),
      epochs: String(req.epochs),
      seed: String(req.seed),
    });
    const logFile = join(work, "command.log");
    await runCommand(argv, logFile, req.signal);
    if (!existsSync(join(outDir, "adapter_config.json"))) {
      const found = readdirSync(outDir);
      throw new TrainCommandError(
        `the training command exited 0 but left no PEFT adapter in {out} (${outDir}; found: ${found.join(", ") || "nothing"}). ` +
          `It must save one there (TRL: --output_dir {out}; PEFT: model.save_pretrained(out)). Its output: ${logFile}`,
      );
    }
    importPeftAdapter({ peftDir: outDir, baseModelPath: req.baseModelPath, outPath: req.outPath });
    const state = trainerLosses(outDir);
    const losses = state?.losses ?? [];
    const seconds = (Date.now() - started) / 1000;
    return {
      outPath: req.outPath,
      mode: "lora",
      masking: `the external command's own${state ? "" : "; no losses reported (no trainer_state.json in its output): recorded as 0"}`,
      lossFirst: losses[0] ?? 0,
      lossLast: losses.at(-1) ?? 0,
      lossMean: losses.length ? losses.reduce((a, b) => a + b, 0) / losses.length : 0,
      steps: state?.steps ?? 0,
      tokens: 0,
      tokensPerSecond: 0,
      seconds,
    };
  }
}

/**
 * Runs argv (no shell) in its own process group with stdout and stderr to `logFile`; resolves when it exits 0.
 * A cancel sends SIGTERM to the whole group (a script's children too), SIGKILL after KILL_AFTER_MS, and rejects with
 * AbortError once it has exited. If this process exits first, the group is killed with it.
 */
export function runCommand(argv: readonly string[], logFile: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolvePromise, rejectPromise) => {
    const log = openSync(logFile, "a");
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", log, log], detached: true, env: process.env });
    } finally {
      closeSync(log);
    }
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (sig: NodeJS.Signals): void => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        // already gone
      }
    };
    const onExit = (): void => killGroup("SIGKILL");
    const onAbort = (): void => {
      cancelled = true;
      killGroup("SIGTERM");
      killTimer = setTimeout(() => killGroup("SIGKILL"), KILL_AFTER_MS);
    };
    process.on("exit", onExit);
    signal?.addEventListener("abort", onAbort, { once: true });
    const done = (err: Error | null): void => {
      if (killTimer) clearTimeout(killTimer);
      process.off("exit", onExit);
      signal?.removeEventListener("abort", onAbort);
      if (err) rejectPromise(err);
      else resolvePromise();
    };
    child.on("error", (e: NodeJS.ErrnoException) => {
      const why = e.code === "ENOENT" ? "not found (the command runs without a shell: give a program on PATH or its path)" : e.message;
      done(new TrainCommandError(`could not start the training command ${argv[0]}: ${why}`));
    });
    child.on("exit", (code, sig) => {
      // the command's own children may outlive it: end the group either way
      killGroup("SIGKILL");
      if (cancelled) return done(new AbortError("Training was cancelled."));
      if (code === 0) return done(null);
      const tail = logTail(logFile);
      done(new TrainCommandError(`the training command ${sig ? `was killed (${sig})` : `exited with code ${code}`}${tail ? `:\n${tail}` : ""}\n(its whole output: ${logFile})`));
    });
  });
}
