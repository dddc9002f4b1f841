// The `inversion` command line: the same engine as the language server, for bigger machines and scripts.
import { parseArgs } from "node:util";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { Engine, runLoop, readRun, writeFixtureModel, DEFAULT_RUN_OPTIONS, type RunOptions } from "../engine/api";
import type { RunEvent } from "../engine/types";
import { ProgressLine } from "./progress";
import { cycleTable, externalSummary } from "./report";
import { compareSvg, compareTable, distinctByCycle, type NamedRun } from "./compare";
import { FILES, readJsonl } from "../engine/store";
import { loadEvalSet, evaluateExternal } from "../eval/external";
import { loadShellParser } from "../shell/parser";
import { loadModel } from "../engine/runtime";
import { ModelSession } from "../engine/session";
import { warmStart } from "../engine/warmstart";

const USAGE = `inversion: a local model that improves at turning intent into shell commands.

Usage:
  inversion demo [--out DIR]                     a short run on a tiny model the project writes itself
  inversion run --model M --out RUN_DIR [options] run self-improvement cycles
  inversion run --out RUN_DIR --resume           continue a run after its last complete cycle
  inversion report RUN_DIR                       a table per cycle
  inversion report --compare RUN_A RUN_B ... [--svg FILE]   runs side by side (and as an SVG chart)
  inversion score --model M TASK COMMAND         how well COMMAND carries TASK
  inversion invert --model M COMMAND             what the model reads COMMAND as
  inversion eval --model M --eval FILE           score a model (and --adapter) on the held-out split of FILE
  inversion warmstart --model M --pairs FILE --out OUT.gguf [--mode full|lora] [--max-pairs N] [--epochs N]
                                                 fine-tune on the training split of FILE (held-out split excluded)

Model: a local .gguf path or an hf: URI (downloaded once; offline, pass a local file). Also $INVERSION_MODEL.

run options:
  --cycles N (10)  --tasks N (50)  --candidates N (3)  --threshold X (0.5)  --temperature X (0.7)  --seed N (1)
  --train lora|none (lora)  --lr X (2e-4)  --lora-rank N (16)  --lora-alpha N (32)  --epochs N (1)  --batch-size N (4)
  --continue-adapter        keep training one adapter (default: retrain from the base on all accepted data)
  --select best|all (best: gates, threshold, best of N; all: train on every candidate, a baseline)
  --scorer lift|seed (lift) --compare-scorers  --judge base|policy (base)  --held-out N  --topics a,b,c
  --commands FILE           real commands (one per line, or a script) read back into held-out tasks
  --eval FILE               (task, command) pairs (TSV, JSONL, tldr-pages TSV): a seeded held-out split of
                            --eval-size N (300) pairs is scored after every cycle (NLC2CMD, exact, template, 95% CIs)
common options:
  --gpu auto|off (auto)  --threads N (1 for tiny models, else physical cores)  --adapter FILE  --json
`;

class UsageError extends Error {}

const options = {
  model: { type: "string" },
  out: { type: "string" },
  resume: { type: "boolean" },
  cycles: { type: "string" },
  tasks: { type: "string" },
  candidates: { type: "string" },
  threshold: { type: "string" },
  temperature: { type: "string" },
  seed: { type: "string" },
  train: { type: "string" },
  lr: { type: "string" },
  "lora-rank": { type: "string" },
  "lora-alpha": { type: "string" },
  epochs: { type: "string" },
  "batch-size": { type: "string" },
  "continue-adapter": { type: "boolean" },
  scorer: { type: "string" },
  "compare-scorers": { type: "boolean" },
  select: { type: "string" },
  compare: { type: "boolean" },
  judge: { type: "string" },
  "held-out": { type: "string" },
  topics: { type: "string" },
  commands: { type: "string" },
  eval: { type: "string" },
  pairs: { type: "string" },
  mode: { type: "string" },
  masking: { type: "string" },
  "max-pairs": { type: "string" },
  "eval-size": { type: "string" },
  gpu: { type: "string" },
  threads: { type: "string" },
  adapter: { type: "string" },
  json: { type: "boolean" },
  svg: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>["values"];

function num(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} needs a number, got "${v}".`);
  return n;
}

function oneOf<T extends string>(v: string | undefined, name: string, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`--${name} must be one of ${allowed.join(", ")}; got "${v}".`);
  return v as T;
}

function modelOf(v: Values): string {
  const model = v.model ?? process.env.INVERSION_MODEL;
  if (!model) throw new UsageError("No model: pass --model /path/to/model.gguf (or set INVERSION_MODEL).");
  return model;
}

function runOptions(v: Values, modelPath: string, out: string): RunOptions {
  const d = DEFAULT_RUN_OPTIONS;
  return {
    ...d,
    modelPath,
    out,
    cycles: num(v.cycles, "cycles", d.cycles),
    tasks: num(v.tasks, "tasks", d.tasks),
    candidates: num(v.candidates, "candidates", d.candidates),
    threshold: num(v.threshold, "threshold", d.threshold),
    temperature: num(v.temperature, "temperature", d.temperature),
    seed: num(v.seed, "seed", d.seed),
    train: oneOf(v.train, "train", ["lora", "none"] as const, d.train),
    learningRate: num(v.lr, "lr", d.learningRate),
    loraRank: num(v["lora-rank"], "lora-rank", d.loraRank),
    loraAlpha: num(v["lora-alpha"], "lora-alpha", d.loraAlpha),
    epochs: num(v.epochs, "epochs", d.epochs),
    batchSize: num(v["batch-size"], "batch-size", d.batchSize),
    policy: v["continue-adapter"] ? "continue" : "retrain",
    scorer: oneOf(v.scorer, "scorer", ["lift", "seed"] as const, d.scorer),
    selection: oneOf(v.select, "select", ["best", "all"] as const, d.selection),
    compareScorers: v["compare-scorers"] ?? false,
    judge: oneOf(v.judge, "judge", ["base", "policy"] as const, d.judge),
    heldOutTasks: num(v["held-out"], "held-out", d.heldOutTasks),
    gpu: oneOf(v.gpu, "gpu", ["auto", "off"] as const, d.gpu),
    threads: v.threads ? num(v.threads, "threads", 0) : undefined,
    topics: v.topics ? v.topics.split(",").map((s) => s.trim()).filter(Boolean) : d.topics,
    commandsFile: v.commands,
    evalSet: v.eval,
    evalSize: num(v["eval-size"], "eval-size", d.evalSize),
    resume: v.resume ?? false,
  };
}

/** Ctrl-C aborts the work at the next safe point; a second Ctrl-C exits at once. */
function interruptSignal(progress: ProgressLine): AbortSignal {
  const ac = new AbortController();
  process.on("SIGINT", () => {
    if (ac.signal.aborted) process.exit(130);
    progress.message("Stopping after the current step (Ctrl-C again to quit now)…");
    ac.abort();
  });
  return ac.signal;
}

async function cmdRun(v: Values, opts: RunOptions): Promise<number> {
  const progress = new ProgressLine();
  const signal = interruptSignal(progress);
  const onEvent = (e: RunEvent): void => {
    if (v.json) return void process.stdout.write(JSON.stringify(e) + "\n");
    if (e.type === "phase") progress.update(`cycle ${e.cycle} ${e.phase}`, e.done, e.total);
    else if (e.type === "train") progress.update(`cycle ${e.cycle} train`, e.progress.step, e.progress.totalSteps, `loss ${e.progress.loss.toFixed(3)}`);
    else if (e.type === "log") progress.message(e.message);
    else if (e.type === "cycle") {
      const r = e.record;
      progress.message(
        `cycle ${r.cycle}: accepted ${r.selection.accepted}/${r.tasks.train} tasks, held-out score ${r.before.meanScore.toFixed(3)}` +
          (r.after ? ` → ${r.after.meanScore.toFixed(3)}` : "") +
          (r.train ? `, train loss ${r.train.lossFirst.toFixed(3)} → ${r.train.lossLast.toFixed(3)}` : `, not trained (${r.trainSkipped})`),
      );
    }
  };
  const summary = await runLoop(opts, { signal, onEvent });
  progress.clear();
  if (!v.json) {
    process.stdout.write(`\nRun directory: ${summary.runDir}\n\n${cycleTable(summary.cycles)}\n`);
  }
  return summary.cancelled ? 130 : 0;
}

async function cmdEval(v: Values): Promise<number> {
  if (!v.eval) throw new UsageError("Usage: inversion eval --model M --eval FILE [--adapter A] [--eval-size N] [--seed N]");
  const seed = num(v.seed, "seed", DEFAULT_RUN_OPTIONS.seed);
  const set = loadEvalSet(v.eval, { seed, size: num(v["eval-size"], "eval-size", DEFAULT_RUN_OPTIONS.evalSize) });
  const progress = new ProgressLine();
  const signal = interruptSignal(progress);
  const parser = await loadShellParser();
  const loaded = await loadModel({ modelPath: modelOf(v), gpu: oneOf(v.gpu, "gpu", ["auto", "off"] as const, "auto"), threads: v.threads ? num(v.threads, "threads", 0) : undefined, signal });
  const base = await ModelSession.create(loaded, { sequences: 4 });
  const policy = v.adapter ? await ModelSession.create(loaded, { sequences: 4, adapterPath: v.adapter }) : base;
  try {
    const { summary } = await evaluateExternal(policy, base, parser, set, {
      seed,
      compareSeed: v["compare-scorers"] ?? false,
      signal,
      onProgress: (d, total) => progress.update("external eval", d, total),
    });
    progress.clear();
    if (v.json) process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
    else process.stdout.write(externalSummary(summary) + "\n");
    return 0;
  } finally {
    if (policy !== base) await policy.dispose();
    await base.dispose();
    await loaded.model.dispose();
  }
}

async function cmdWarmStart(v: Values): Promise<number> {
  if (!v.pairs || !v.out) throw new UsageError("Usage: inversion warmstart --model M --pairs FILE --out OUT.gguf");
  const mode = oneOf(v.mode, "mode", ["full", "lora"] as const, "full");
  const progress = new ProgressLine();
  const signal = interruptSignal(progress);
  const { createTrainer } = await import("../engine/train/index.js");
  const record = await warmStart(
    {
      modelPath: modelOf(v),
      pairsFile: v.pairs,
      out: resolve(v.out),
      mode,
      evalSize: num(v["eval-size"], "eval-size", DEFAULT_RUN_OPTIONS.evalSize),
      seed: num(v.seed, "seed", DEFAULT_RUN_OPTIONS.seed),
      maxPairs: num(v["max-pairs"], "max-pairs", 3000),
      epochs: num(v.epochs, "epochs", 3),
      learningRate: num(v.lr, "lr", mode === "full" ? 1e-3 : 1e-4),
      rank: num(v["lora-rank"], "lora-rank", 16),
      alpha: num(v["lora-alpha"], "lora-alpha", 32),
      threads: v.threads ? num(v.threads, "threads", 1) : 1,
      signal,
      onProgress: (p) => progress.update("warm start", p.step, p.totalSteps, `loss ${p.loss.toFixed(3)} ${p.tokensPerSecond.toFixed(0)} tok/s`),
    },
    createTrainer(mode, { masking: oneOf(v.masking, "masking", ["softmax", "none"] as const, "softmax") }),
  );
  progress.clear();
  const r = record.result;
  process.stdout.write(
    `Warm start (${mode}) on ${record.trainPairs} pairs (${record.examples} examples, both directions); held-out split of ${record.heldOutExcluded.size} excluded (sha256 ${record.heldOutExcluded.sha256.slice(0, 12)}…).\n` +
      `loss ${r.lossFirst.toFixed(3)} → ${r.lossLast.toFixed(3)} in ${r.steps} steps, ${r.tokensPerSecond.toFixed(0)} tok/s, masking: ${r.masking}\n` +
      `wrote ${r.outPath}\n`,
  );
  return 0;
}

async function withEngine<T>(v: Values, fn: (e: Engine) => Promise<T>): Promise<T> {
  const engine = await Engine.open({
    modelPath: modelOf(v),
    gpu: oneOf(v.gpu, "gpu", ["auto", "off"] as const, "auto"),
    threads: v.threads ? num(v.threads, "threads", 0) : undefined,
    adapterPath: v.adapter ?? null,
  });
  try {
    return await fn(engine);
  } finally {
    await engine.dispose();
  }
}

export async function main(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  const [command, ...rest] = positionals;
  if (v.help || !command) {
    process.stdout.write(USAGE);
    return command || v.help ? 0 : 2;
  }
  switch (command) {
    case "run": {
      if (!v.out) throw new UsageError("Pass --out RUN_DIR: the directory the run is written to.");
      const opts = v.resume ? { ...runOptions(v, "(from the run)", v.out), cycles: num(v.cycles, "cycles", 0) } : runOptions(v, modelOf(v), v.out);
      return cmdRun(v, opts);
    }
    case "demo": {
      const dir = v.out ? resolve(v.out) : await mkdtemp(join(tmpdir(), "inversion-demo-"));
      await mkdir(dir, { recursive: true });
      const model = await writeFixtureModel(join(dir, "tiny-random-llama.gguf"));
      process.stdout.write(
        `Demo: a tiny random llama model written by Inversion itself (${model}).\n` +
          "Its commands are noise: the demo shows the loop's machinery, not a useful model. So that a training step\n" +
          "happens, the demo trains on every candidate (--select all); real runs keep only gated, high-scoring ones.\n\n",
      );
      const opts = runOptions({ ...v, cycles: v.cycles ?? "2", tasks: v.tasks ?? "4", candidates: v.candidates ?? "2", threads: v.threads ?? "1", "lora-rank": v["lora-rank"] ?? "4", lr: v.lr ?? "1e-3", select: v.select ?? "all" }, model, join(dir, "run"));
      return cmdRun(v, opts);
    }
    case "report": {
      if (v.compare) {
        if (rest.length < 1) throw new UsageError("Usage: inversion report --compare RUN_A RUN_B ... [--svg FILE]");
        const runs = await Promise.all(
          rest.map(async (d) => {
            const r = await readRun(resolve(d));
            const rows = await readJsonl<{ cycle: number; prediction: string }>(join(resolve(d), FILES.external));
            const distinct = rows.length ? distinctByCycle(rows, r.cycles.length) : undefined;
            return { name: basename(resolve(d)), config: r.config as NamedRun["config"], cycles: r.cycles, distinct };
          }),
        );
        // Names are the directories' names, or the paths as given where two share a name.
        const shared = new Set(runs.map((r) => r.name).filter((n, i, all) => all.indexOf(n) !== i));
        for (const [i, run] of runs.entries()) if (shared.has(run.name)) run.name = rest[i]!;
        process.stdout.write(compareTable(runs) + "\n");
        if (v.svg) {
          await writeFile(v.svg, compareSvg(runs));
          process.stdout.write(`chart: ${v.svg}\n`);
        }
        return 0;
      }
      const dir = rest[0] ?? v.out;
      if (!dir) throw new UsageError("Usage: inversion report RUN_DIR");
      const run = await readRun(resolve(dir));
      if (v.json) process.stdout.write(JSON.stringify(run.cycles, null, 2) + "\n");
      else process.stdout.write(run.cycles.length ? cycleTable(run.cycles) + "\n" : `${dir} has no complete cycle yet.\n`);
      return 0;
    }
    case "score": {
      if (rest.length !== 2) throw new UsageError('Usage: inversion score --model M "TASK" "COMMAND"');
      const result = await withEngine(v, (e) => e.score(rest[0]!, rest[1]!, { compare: v.compare ?? false }));
      if (v.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
      else {
        process.stdout.write(`score ${result.score.value.toFixed(3)} (${result.score.scorer})\n${result.score.explanation}\n`);
        process.stdout.write(`model reads the command as: ${result.reconstruction || "(nothing)"}\n`);
        for (const [name, s] of Object.entries(result.altScores)) process.stdout.write(`${name}: ${s.value.toFixed(3)}: ${s.explanation}\n`);
        for (const g of result.gates) process.stdout.write(`${g.pass ? "pass" : "FAIL"} ${g.gate}: ${g.reason}\n`);
      }
      return 0;
    }
    case "invert": {
      if (rest.length !== 1) throw new UsageError('Usage: inversion invert --model M "COMMAND"');
      const reading = await withEngine(v, (e) => e.invert(rest[0]!));
      process.stdout.write((v.json ? JSON.stringify({ reconstruction: reading }) : reading) + "\n");
      return 0;
    }
    case "eval":
      return cmdEval(v);
    case "warmstart":
      return cmdWarmStart(v);
    default:
      throw new UsageError(`Unknown command "${command}". Run inversion --help.`);
  }
}

export function runCli(): void {
  process.env.GGML_NO_BACKTRACE ??= "1";
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      const e = err as Error & { code?: string };
      const usage = err instanceof UsageError || e.code?.startsWith("ERR_PARSE_ARGS");
      process.stderr.write(`inversion: ${usage ? "" : "error: "}${e.message}\n`);
      process.exit(usage ? 2 : 1);
    },
  );
}

if (require.main === module) runCli();
