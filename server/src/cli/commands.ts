// The CLI's commands that drive the engine: run, eval, warmstart, and one-shot engine calls.
import { resolve } from "node:path";
import { Engine, TRAIN_OPTIONS, createTrainer, evaluateModel, loadEvalSet, runLoop, unlockRunDir, warmStart, type ResumeOptions, type RunEvent, type RunOptions } from "../engine/api";
import { ProgressLine } from "./progress";
import { RunStore, repairRun } from "../engine/store";
import { cycleTable, externalSummary } from "./report";
import { cycleLine } from "../view/runView";
import { UsageError, backendOf, interruptSignal, modelOf, num, oneOf, param, type Values } from "./args";
import { MAX_DATA_FILE_BYTES, requireInputFile } from "./inputFile";
import { isRemoteModelRef } from "../../../common/modelRef";

/** `inversion run` and `run --resume`: the engine's one entry for both. */
export async function cmdRun(v: Values, opts: RunOptions | ResumeOptions): Promise<number> {
  await requireRunFiles(v, opts);
  const progress = new ProgressLine();
  const signal = interruptSignal(progress);
  const onEvent = (e: RunEvent): void => {
    if (v.json) return void process.stdout.write(JSON.stringify(e) + "\n");
    if (e.type === "phase") progress.update(`cycle ${e.cycle} ${e.phase}`, e.done, e.total);
    else if (e.type === "train") progress.update(`cycle ${e.cycle} train`, e.progress.step, e.progress.totalSteps, `loss ${e.progress.loss.toFixed(3)}`);
    else if (e.type === "log") progress.message(e.message);
    else if (e.type === "cycle") progress.message(cycleLine(e.record));
    else if (e.type === "cancelled") progress.message(`Run cancelled; cycles up to ${e.lastCompleteCycle} are kept. Continue it with --resume.`);
  };
  const summary = await runLoop(opts, { signal, onEvent });
  progress.clear();
  if (!v.json) {
    process.stdout.write(`\nRun directory: ${summary.runDir}\n\n${cycleTable(summary.cycles)}\n`);
  }
  return summary.cancelled ? 130 : 0;
}

/**
 * The files a run reads, checked before the run directory is created: a missing or unreadable one would otherwise
 * fail the run after its config.json was written, and the next try would find a run there already.
 */
async function requireRunFiles(v: Values, opts: RunOptions | ResumeOptions): Promise<void> {
  if (!isRemoteModelRef(opts.modelPath)) await requireInputFile(opts.modelPath, v.model ? "--model" : "$INVERSION_MODEL");
  if (opts.evalSet) await requireInputFile(opts.evalSet, "--eval", MAX_DATA_FILE_BYTES);
  if (opts.commandsFile) await requireInputFile(opts.commandsFile, "--commands", MAX_DATA_FILE_BYTES);
}

export async function cmdEval(v: Values): Promise<number> {
  if (!v.eval) throw new UsageError("Usage: inversion eval --model M --eval FILE [--adapter A] [--eval-size N] [--seed N]");
  await requireInputFile(v.eval, "--eval", MAX_DATA_FILE_BYTES);
  const seed = param(v, "seed");
  const set = loadEvalSet(v.eval, { seed, size: param(v, "evalSize") });
  const backend = backendOf(v);
  const progress = new ProgressLine();
  const signal = interruptSignal(progress);
  const summary = await evaluateModel(
    // with a backend the model runs there; --model then only names the base for converting --adapter
    { backend, modelPath: backend ? (v.model ?? "") : modelOf(v), gpu: param(v, "gpu"), threads: param(v, "threads"), adapterPath: v.adapter ?? null },
    set,
    { seed, compareOriginal: param(v, "compareScorers"), signal, onProgress: (d, total) => progress.update("external eval", d, total) },
  );
  progress.clear();
  if (v.json) process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
  else process.stdout.write(externalSummary(summary) + "\n");
  return 0;
}

export async function cmdWarmStart(v: Values): Promise<number> {
  if (!v.pairs || !v.out) throw new UsageError("Usage: inversion warmstart --model M --pairs FILE --out OUT.gguf");
  const mode = oneOf(v.mode, "mode", ["full", "lora"] as const, "full");
  await requireInputFile(v.pairs, "--pairs", MAX_DATA_FILE_BYTES);
  const progress = new ProgressLine();
  const signal = interruptSignal(progress);
  const record = await warmStart(
    {
      modelPath: modelOf(v),
      pairsFile: v.pairs,
      out: resolve(v.out),
      mode,
      evalSize: param(v, "evalSize"),
      seed: param(v, "seed"),
      maxPairs: num(v["max-pairs"], "max-pairs", 3000),
      epochs: param(v, "epochs", 3),
      learningRate: param(v, "learningRate", mode === "full" ? 1e-3 : 1e-4),
      rank: param(v, "loraRank"),
      alpha: param(v, "loraAlpha"),
      threads: param(v, "threads", 1) || 1,
      signal,
      onProgress: (p) => progress.update("warm start", p.step, p.totalSteps, `loss ${p.loss.toFixed(3)} ${p.tokensPerSecond.toFixed(0)} tok/s`),
    },
    createTrainer(mode, { masking: oneOf(currentMasking(v.masking), "masking", TRAIN_OPTIONS.masking.choices, TRAIN_OPTIONS.masking.default) }),
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

/** `inversion repair RUN_DIR`: the explicit repair of a run whose logs hold a corrupt line. */
export async function cmdRepair(dir: string | undefined): Promise<number> {
  if (!dir) throw new UsageError("Usage: inversion repair RUN_DIR");
  const store = new RunStore(resolve(dir));
  await store.readConfig();
  const lock = await store.lock();
  try {
    const { keptCycles, backups, files } = await repairRun(store);
    const changes = files.map((f) => `${f.file}: ${f.kept} line(s) kept, ${f.dropped} taken out`);
    process.stdout.write(`${store.dir}: kept ${keptCycles} complete cycle(s)${changes.length ? ` (${changes.join("; ")})` : ""}; the files as they were: ${backups.join(", ") || "(none)"}\n`);
    return 0;
  } finally {
    await lock.release();
  }
}

/** `inversion unlock RUN_DIR`: removes a lock no process on this machine holds (one from another host, or stale). */
export async function cmdUnlock(dir: string | undefined): Promise<number> {
  if (!dir) throw new UsageError("Usage: inversion unlock RUN_DIR");
  const runDir = resolve(dir);
  const owner = await unlockRunDir(runDir);
  if (owner === undefined) process.stdout.write(`${runDir} is not locked.\n`);
  else process.stdout.write(`${runDir}: removed the lock${owner ? ` of pid ${owner.pid} on ${owner.host} (since ${owner.since})` : ""}.\n`);
  return 0;
}

export async function withEngine<T>(v: Values, fn: (e: Engine) => Promise<T>): Promise<T> {
  const backend = backendOf(v);
  const engine = await Engine.open({
    backend,
    // with a backend the model runs there; --model then only names the base for converting --adapter
    modelPath: backend ? (v.model ?? "") : modelOf(v),
    gpu: param(v, "gpu"),
    threads: param(v, "threads"),
    adapterPath: v.adapter ?? null,
    examples: param(v, "examples"),
  });
  try {
    return await fn(engine);
  } finally {
    await engine.dispose();
  }
}

/** --masking, with its old name for a choice read as the current one (and said so). */
function currentMasking(given: string | undefined): string | undefined {
  const aliases: Readonly<Record<string, string>> = TRAIN_OPTIONS.masking.aliases;
  const current = given === undefined ? undefined : aliases[given];
  if (current === undefined) return given;
  process.stderr.write(`inversion: --masking ${given} is now --masking ${current}; reading it as that\n`);
  return current;
}

