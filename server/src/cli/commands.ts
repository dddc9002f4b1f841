// The CLI's commands that drive the engine: run, eval, warmstart, and one-shot engine calls.
import { resolve } from "node:path";
import { Engine, runLoop, type RunOptions } from "../engine/api";
import type { RunEvent } from "../engine/types";
import { ProgressLine } from "./progress";
import { RunStore, repairRun } from "../engine/store";
import { cycleTable, externalSummary } from "./report";
import { loadEvalSet, evaluateExternal } from "../engine/external";
import { loadShellParser } from "../shell/parser";
import { loadModel } from "../engine/runtime";
import { ModelSession } from "../engine/session";
import { warmStart } from "../engine/warmstart";
import { cycleLine } from "../view/runView";
import { UsageError, interruptSignal, modelOf, num, oneOf, param, type Values } from "./args";
import { MAX_DATA_FILE_BYTES, requireInputFile } from "./inputFile";
import { isRemoteModelRef } from "../../../common/modelRef";

export async function cmdRun(v: Values, opts: RunOptions): Promise<number> {
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
async function requireRunFiles(v: Values, opts: RunOptions): Promise<void> {
  if (!isRemoteModelRef(opts.modelPath)) await requireInputFile(opts.modelPath, v.model ? "--model" : "$INVERSION_MODEL");
  if (opts.evalSet) await requireInputFile(opts.evalSet, "--eval", MAX_DATA_FILE_BYTES);
  if (opts.commandsFile) await requireInputFile(opts.commandsFile, "--commands", MAX_DATA_FILE_BYTES);
}

export async function cmdEval(v: Values): Promise<number> {
  if (!v.eval) throw new UsageError("Usage: inversion eval --model M --eval FILE [--adapter A] [--eval-size N] [--seed N]");
  await requireInputFile(v.eval, "--eval", MAX_DATA_FILE_BYTES);
  const seed = param(v, "seed");
  const set = loadEvalSet(v.eval, { seed, size: param(v, "evalSize") });
  const progress = new ProgressLine();
  const signal = interruptSignal(progress);
  const parser = await loadShellParser();
  const loaded = await loadModel({ modelPath: modelOf(v), gpu: param(v, "gpu"), threads: param(v, "threads"), signal });
  const base = await ModelSession.create(loaded, { sequences: 4 });
  const learner = v.adapter ? await ModelSession.create(loaded, { sequences: 4, adapterPath: v.adapter }) : base;
  try {
    const { summary } = await evaluateExternal(learner, base, parser, set, {
      seed,
      compareSeed: param(v, "compareScorers"),
      signal,
      onProgress: (d, total) => progress.update("external eval", d, total),
    });
    progress.clear();
    if (v.json) process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
    else process.stdout.write(externalSummary(summary) + "\n");
    return 0;
  } finally {
    if (learner !== base) await learner.dispose();
    await base.dispose();
    await loaded.model.dispose();
  }
}

export async function cmdWarmStart(v: Values): Promise<number> {
  if (!v.pairs || !v.out) throw new UsageError("Usage: inversion warmstart --model M --pairs FILE --out OUT.gguf");
  const mode = oneOf(v.mode, "mode", ["full", "lora"] as const, "full");
  await requireInputFile(v.pairs, "--pairs", MAX_DATA_FILE_BYTES);
  const progress = new ProgressLine();
  const signal = interruptSignal(progress);
  const { createTrainer } = await import("../engine/train/index.js");
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

/** `inversion repair RUN_DIR`: the explicit repair of a run whose logs hold a corrupt line. */
export async function cmdRepair(dir: string | undefined): Promise<number> {
  if (!dir) throw new UsageError("Usage: inversion repair RUN_DIR");
  const store = new RunStore(resolve(dir));
  await store.readConfig();
  const lock = await store.lock();
  try {
    const { keptCycles, backups } = await repairRun(store);
    process.stdout.write(`${store.dir}: kept ${keptCycles} complete cycle(s); the files as they were: ${backups.join(", ") || "(none)"}\n`);
    return 0;
  } finally {
    await lock.release();
  }
}

export async function withEngine<T>(v: Values, fn: (e: Engine) => Promise<T>): Promise<T> {
  const engine = await Engine.open({
    modelPath: modelOf(v),
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
