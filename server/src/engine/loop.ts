// The self-improvement loop: write tasks → generate → invert → score → gate → select → train, for N cycles.
import { readFile } from "node:fs/promises";
import { relative, resolve } from "node:path";
import type { Candidate, CycleRecord, ExternalEval, PhaseStats, RunEvent, TaskItem, Trainer, TrainExample, TrainProgress, TrainRequest } from "./types";
import { loadModel, type GpuSetting, type LoadedModel } from "./runtime";
import { AbortError, ModelSession, throwIfAborted } from "./session";
import { scorerByName, type Scorer } from "./scorers";
import { TaskPool, commandsFromText, tasksFromCommands, writeTasks } from "./tasks";
import { candidatesForTask } from "./candidates";
import { NO_SHOTS, promptShots, type ShotSource } from "./shots";
import { acceptAll, phaseStats, selectCandidates } from "./selection";
import { FILES, RunStore, appendJsonl, runAdapterPath, type StoredTasks } from "./store";
import { deriveSeed } from "../util/random";
import { answerText, forwardPrompt, DEFAULT_TOPICS, type Prompt, type Shot } from "./prompts";
import { loadShellParser, type ShellParser } from "../shell/parser";
import { evaluateExternal, loadEvalSet, type EvalSet } from "./external";
import { checkRunParams, defaultRunParams, withCurrentNames, type RunParams } from "../../../common/runParams";
import { warmStartRecordPath } from "./warmstart";
import { groundingStats } from "./grounding";
import { sharedManLibrary } from "../knowledge/manpages/library";
import { RUN_RECORD_VERSION } from "./records";
import { isRemoteModelRef } from "../../../common/modelRef";

/** A run: its parameters (common/runParams.ts, declared once) plus what only a run from files has. */
export interface RunOptions extends RunParams {
  modelPath: string;
  /** The run directory. */
  out: string;
  contextSize?: number;
  topics: string[];
  /** Real commands to read back into tasks (back-translation), one per line or a shell script. */
  commandsFile?: string;
  /** (task, reference command) pairs for external evaluation after every cycle; only a seeded held-out split is used. */
  evalSet?: string;
  resume?: boolean;
}

export const DEFAULT_RUN_OPTIONS: Omit<RunOptions, "modelPath" | "out"> = { ...defaultRunParams(), topics: DEFAULT_TOPICS };

export interface RunControl {
  signal?: AbortSignal;
  onEvent?: (e: RunEvent) => void;
}

export interface RunSummary {
  runDir: string;
  cycles: CycleRecord[];
  cancelled: boolean;
}

/** Every option is checked before any work, so a bad value never reaches a run directory. */
export function validateRunOptions(o: RunOptions): void {
  checkRunParams(o);
  if (!o.modelPath) throw new RangeError("No model given: pass --model /path/to/model.gguf (or an hf: URI).");
  if (!o.out) throw new RangeError("No run directory given: pass --out DIR.");
  if (!Array.isArray(o.topics) || o.topics.length === 0) throw new RangeError("The topic list is empty.");
}

async function defaultTrainer(): Promise<Trainer> {
  // Loaded on first use: a language server that never trains never loads the native trainer.
  const { createTrainer } = await import("./train/index.js");
  return createTrainer("lora");
}

export async function runLoop(options: RunOptions, ctl: RunControl = {}): Promise<RunSummary> {
  // A new run is checked before anything touches the disk; a resume once its recorded options are read.
  if (!options.resume) validateRunOptions(options);
  const store = new RunStore(resolve(options.out));
  const lock = await store.lock();
  try {
    const opts = await runOptionsFor(store, options);
    await store.removeStaleTempFiles();
    return await runLocked(store, opts, ctl);
  } finally {
    await lock.release();
  }
}

/**
 * The options of a new run, or those recorded for a resumed one (only the cycle count may be raised). The files and
 * URLs a run loads always come from the caller (the CLI's flags, the editor's settings), never from config.json.
 */
async function runOptionsFor(store: RunStore, options: RunOptions): Promise<RunOptions> {
  if (await store.exists()) {
    if (!options.resume) throw new Error(`${store.dir} already holds a run: pass --resume to continue it, or a new --out.`);
    // A run recorded with an older name for a choice (e.g. scorer `seed`) resumes under the current one.
    const saved = withCurrentNames(await store.readConfig<RunOptions>());
    refuseOtherFiles(store.dir, saved, options);
    const given = { modelPath: options.modelPath, out: options.out, evalSet: options.evalSet, commandsFile: options.commandsFile };
    // 0 keeps the recorded cycle count.
    const opts = { ...saved, ...given, cycles: Math.max(saved.cycles, options.cycles), resume: true };
    validateRunOptions(opts);
    return opts;
  }
  if (options.resume) throw new Error(`Nothing to resume in ${store.dir}: it holds no run.`);
  return options;
}

/** The options naming a file or URL a run loads, and how each is given. */
const LOADED_FILES = [
  { key: "modelPath", what: "the model", how: "--model, or the setting inversion.model" },
  { key: "evalSet", what: "the eval set", how: "--eval" },
  { key: "commandsFile", what: "the commands file", how: "--commands" },
] as const;

/** A resume continues with the files it was started with: one recorded differently from the one given is refused, naming both. */
function refuseOtherFiles(runDir: string, recorded: Partial<RunOptions>, given: RunOptions): void {
  for (const { key, what, how } of LOADED_FILES) {
    const [was, now] = [recorded[key], given[key]];
    if (sameFile(was, now)) continue;
    throw new Error(
      `${runDir} was recorded with ${what} ${was || "(none)"}, but ${what} given is ${now || "(none)"}. ` +
        `A run directory cannot choose the files a run loads: to continue this run, give ${was || "none"} as ${what} (${how}) if you trust it, or start a new run.`,
    );
  }
}

function sameFile(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return !a && !b;
  return isRemoteModelRef(a) || isRemoteModelRef(b) ? a.trim() === b.trim() : resolve(a) === resolve(b);
}

async function runLocked(store: RunStore, opts: RunOptions, ctl: RunControl): Promise<RunSummary> {
  const emit = (e: RunEvent): void => ctl.onEvent?.(e);
  const log = (message: string): void => emit({ type: "log", message });
  const evalSet = opts.evalSet ? loadEvalSet(opts.evalSet, { seed: opts.seed, size: opts.evalSize }) : null;
  const lastComplete = opts.resume ? await store.repairForResume() : 0;
  const done = await store.cycles();
  const lastAdapter = done.at(-1)?.adapterPath;
  // Checked before the model loads: the adapter a resume continues from must lie inside the run.
  const adapter = lastComplete > 0 && lastAdapter ? runAdapterPath(store.dir, lastAdapter) : null;
  if (opts.resume) {
    log(lastComplete >= opts.cycles ? `All ${opts.cycles} cycles are complete.` : `Resuming after cycle ${lastComplete}.`);
  }
  if (opts.train === "none") log("Training: none. The loop generates, scores and selects, but no weights change; `after` is not measured.");

  const signal = ctl.signal;
  const cancelled = (cycles: CycleRecord[] = done): RunSummary => {
    emit({ type: "cancelled", lastCompleteCycle: cycles.at(-1)?.cycle ?? 0 });
    return { runDir: store.dir, cycles, cancelled: true };
  };
  const trainer = opts.train === "lora" ? await defaultTrainer() : null;
  const parser = await loadShellParser();
  let loaded: LoadedModel;
  try {
    loaded = await loadModel({ modelPath: opts.modelPath, gpu: opts.gpu, threads: opts.threads, contextSize: opts.contextSize, signal });
  } catch (err) {
    // A cancel that arrives while the model loads is a cancel, not a failure.
    if (signal?.aborted) return cancelled();
    throw err;
  }
  const sequences = Math.max(opts.candidates, 2);
  let base: ModelSession;
  try {
    base = await ModelSession.create(loaded, { sequences });
    // The run directory is written only once the model works, so a bad --model leaves nothing to trip over.
    if (!opts.resume) await initStore(store, opts, evalSet, log);
  } catch (err) {
    await loaded.model.dispose();
    throw err;
  }
  const main = scorerByName(opts.scorer, opts.seed);
  const shots = promptShots(opts.examples);
  const others: Scorer[] = opts.compareScorers ? [scorerByName(opts.scorer === "lift" ? "original" : "lift", opts.seed)] : [];
  const cycles: CycleRecord[] = [...done];
  const external = async (learner: ModelSession, cycle: number): Promise<ExternalEval | null> => {
    if (!evalSet) return null;
    const { summary, items } = await evaluateExternal(learner, base, parser, evalSet, {
      seed: opts.seed,
      shots,
      compareSeed: opts.compareScorers,
      signal,
      onProgress: (d, total) => emit({ type: "phase", cycle, phase: "external eval", done: d, total, message: evalSet.file }),
    });
    await appendJsonl(store.path(FILES.external), items.map((item) => ({ cycle, ...item })));
    return summary;
  };
  try {
    // read once and checked: a damaged or lost tasks.json stops a resume instead of starting a new held-out set
    const stored = await store.tasksForResume(lastComplete);
    const tasks = stored ?? (await makeHeldOut(base, opts, signal, emit));
    if (!stored) await store.writeTasks(tasks);
    const accepted = (await store.examples()).filter((c) => c.accepted && c.cycle <= lastComplete);
    const heldOutBefore = done.length ? done[done.length - 1]!.after : null;
    const lastExternal = done.length ? done[done.length - 1]!.external : null;

    const ctx: LoopContext = { opts, store, loaded, base, parser, trainer, main, others, sequences, signal, emit, log, external, tasks, shots };
    const state: LoopState = { accepted, adapter, heldOutBefore, lastExternal };
    for (let cycle = lastComplete + 1; cycle <= opts.cycles; cycle++) cycles.push(await runCycle(ctx, state, cycle));
    return { runDir: store.dir, cycles, cancelled: false };
  } catch (err) {
    if (err instanceof AbortError || signal?.aborted) return cancelled(cycles);
    throw err;
  } finally {
    await base.dispose();
    await loaded.model.dispose();
  }
}

interface LoopContext {
  opts: RunOptions;
  store: RunStore;
  loaded: LoadedModel;
  /** The base model: it judges (by default), writes held-out tasks, and is the learner until the first adapter. */
  base: ModelSession;
  parser: ShellParser;
  trainer: Trainer | null;
  main: Scorer;
  others: Scorer[];
  sequences: number;
  signal?: AbortSignal;
  emit: (e: RunEvent) => void;
  log: (message: string) => void;
  external: (learner: ModelSession, cycle: number) => Promise<ExternalEval | null>;
  tasks: StoredTasks;
  /** Retrieved examples for the learner's prompts (--examples). */
  shots: ShotSource;
}

/** What carries from one cycle to the next. */
interface LoopState {
  accepted: Candidate[];
  adapter: string | null;
  /** Held-out stats of the current weights (the previous cycle's `after`), measured once per set of weights. */
  heldOutBefore: PhaseStats | null;
  lastExternal: ExternalEval | null;
}

async function runCycle(ctx: LoopContext, state: LoopState, cycle: number): Promise<CycleRecord> {
  const { opts, store, loaded, base, parser, tasks, signal, emit } = ctx;
  throwIfAborted(signal);
  const t0 = Date.now();
  const timings: Record<string, number> = {};
  const cycleSeed = deriveSeed(opts.seed, "cycle", cycle);
  // The weights this cycle starts from: the learner writes tasks and candidates (the `judge: "policy"` scorer).
  const learner = state.adapter ? await ModelSession.create(loaded, { sequences: ctx.sequences, adapterPath: state.adapter }) : base;
  try {
    const scorers = { main: ctx.main, others: ctx.others, scorerSession: opts.judge === "base" ? base : learner };

    const pool = new TaskPool([...tasks.heldOut.map((t) => t.text), ...tasks.seen]);
    emit({ type: "phase", cycle, phase: "tasks", done: 0, total: opts.tasks, message: "writing tasks" });
    const trainTasks = await writeTasks(learner, {
      count: opts.tasks,
      topics: opts.topics,
      seed: deriveSeed(cycleSeed, "tasks"),
      idPrefix: `c${cycle}`,
      pool,
      signal,
      onProgress: (d, total) => emit({ type: "phase", cycle, phase: "tasks", done: d, total, message: "writing tasks" }),
    });
    if (trainTasks.length < opts.tasks) ctx.log(`Cycle ${cycle}: the model wrote ${trainTasks.length} distinct tasks of ${opts.tasks} asked.`);
    tasks.seen.push(...trainTasks.map((t) => t.text));
    timings.tasksMs = Date.now() - t0;

    let t = Date.now();
    const candidates = await runPhase(ctx, { session: learner, scorers, tasks: trainTasks, cycle, phase: "before", seed: cycleSeed, label: "generating and scoring", exampleCandidate: true });
    const selected =
      opts.selection === "all" ? acceptAll(candidates) : selectCandidates(candidates, opts.threshold, new Set(state.accepted.map((c) => c.command)));
    timings.generateMs = Date.now() - t;

    t = Date.now();
    const heldOutBefore =
      state.heldOutBefore ??
      phaseStats(await runPhase(ctx, { session: learner, scorers, tasks: tasks.heldOut, cycle, phase: "before", seed: heldOutSeed(opts), label: "held-out" }), opts.threshold);
    timings.heldOutBeforeMs = Date.now() - t;

    throwIfAborted(signal);
    state.accepted.push(...selected);
    t = Date.now();
    const { train, trainSkipped, adapter } = await trainStep(ctx, state, cycle, cycleSeed, selected);
    timings.trainMs = Date.now() - t;

    t = Date.now();
    let after: PhaseStats | null = null;
    let heldOutAfter: Candidate[] = [];
    let external: ExternalEval | null;
    const externalBefore = cycle === 1 ? await ctx.external(learner, 0) : undefined;
    if (train && adapter) {
      const trained = await ModelSession.create(loaded, { sequences: ctx.sequences, adapterPath: adapter });
      try {
        const judgeAfter = opts.judge === "base" ? base : trained;
        heldOutAfter = await runPhase(ctx, { session: trained, scorers: { ...scorers, scorerSession: judgeAfter }, tasks: tasks.heldOut, cycle, phase: "after", seed: heldOutSeed(opts), label: "held-out" });
        after = phaseStats(heldOutAfter, opts.threshold);
        external = await ctx.external(trained, cycle);
      } finally {
        await trained.dispose();
      }
    } else {
      // The weights did not change: their external score is already known.
      external = (externalBefore ?? state.lastExternal) || (await ctx.external(learner, cycle));
    }
    timings.afterMs = Date.now() - t;
    timings.totalMs = Date.now() - t0;

    throwIfAborted(signal);
    const grounding = await groundingStats(candidates, { parser, library: sharedManLibrary(), signal });
    await store.appendExamples([...candidates, ...heldOutAfter]);
    const record: CycleRecord = {
      cycle,
      startedAt: new Date(t0).toISOString(),
      seed: cycleSeed,
      tasks: { train: trainTasks.length, heldOut: tasks.heldOut.length },
      selection: selectionStats(candidates, selected, trainTasks.length, opts.threshold),
      before: heldOutBefore,
      after,
      train,
      trainSkipped,
      external,
      ...(externalBefore !== undefined ? { externalBefore } : {}),
      grounding,
      adapterPath: adapter ? relative(store.dir, adapter) : null,
      timings,
    };
    await store.writeTasks(tasks);
    await store.appendCycle(record);
    emit({ type: "cycle", record });
    state.adapter = adapter;
    state.heldOutBefore = after ?? heldOutBefore;
    state.lastExternal = external;
    return record;
  } finally {
    if (learner !== base) await learner.dispose();
  }
}

/** How often a cycle's training writes a checkpoint: at most this much training is lost to a kill. */
const TRAIN_CHECKPOINT_SECONDS = 60;

/** Trains this cycle's adapter (from the base on everything accepted so far, or on from the last adapter). */
async function trainStep(
  ctx: LoopContext,
  state: LoopState,
  cycle: number,
  cycleSeed: number,
  selected: Candidate[],
): Promise<{ train: CycleRecord["train"]; trainSkipped?: string; adapter: string | null }> {
  const { opts, trainer, store, loaded } = ctx;
  if (!trainer) return { train: null, trainSkipped: "training disabled (--train none)", adapter: state.adapter };
  const data = (opts.policy === "retrain" ? state.accepted : selected).map((c) => toTrainExample(c, ctx.shots, ctx.base));
  if (data.length === 0) return { train: null, trainSkipped: "no accepted examples to train on", adapter: state.adapter };
  ctx.emit({ type: "phase", cycle, phase: "train", done: 0, total: data.length, message: `training on ${data.length} examples` });
  const request: TrainRequest = {
    baseModelPath: loaded.path,
    examples: data,
    outPath: store.adapterPath(cycle),
    initAdapterPath: opts.policy === "continue" && state.adapter ? state.adapter : undefined,
    mode: "lora",
    rank: opts.loraRank,
    alpha: opts.loraAlpha,
    targets: ["attn_q", "attn_k", "attn_v", "attn_output"],
    learningRate: opts.learningRate,
    epochs: opts.epochs,
    batchSize: opts.batchSize,
    contextSize: Math.min(loaded.contextSize, 256),
    threads: loaded.threads,
    seed: deriveSeed(cycleSeed, "train"),
    // a killed run resumed with --resume redoes this cycle's (seeded) work and continues training from here
    checkpointDir: await store.trainingCheckpointDir(cycle),
    checkpointEverySeconds: TRAIN_CHECKPOINT_SECONDS,
    gpu: opts.gpu,
    signal: ctx.signal,
    onProgress: (progress: TrainProgress) => ctx.emit({ type: "train", cycle, progress }),
  };
  const result = await trainer.train(request).catch(async (err: Error) => {
    // a checkpoint left by a killed run whose redone cycle selected other data: start this cycle's training over
    if (!/made for different training data/.test(err.message)) throw err;
    ctx.log(`Cycle ${cycle}: the training checkpoint does not match this cycle's data; training from the start.`);
    await store.removeTrainingCheckpoint(cycle);
    return trainer.train({ ...request, checkpointDir: await store.trainingCheckpointDir(cycle) });
  });
  await store.removeTrainingCheckpoint(cycle);
  return {
    train: { ...result, outPath: relative(store.dir, result.outPath), trainer: trainer.name, examples: data.length, policy: opts.policy },
    adapter: result.outPath,
  };
}

async function initStore(store: RunStore, opts: RunOptions, evalSet: EvalSet | null, log: (m: string) => void): Promise<void> {
  const { resume: _resume, ...recorded } = opts;
  // Human-written pairs enter only through a warm start; the run records that they did.
  const warmStart = await readFile(warmStartRecordPath(opts.modelPath), "utf8").then((t) => JSON.parse(t) as unknown, () => null);
  if (warmStart) log(`The model was warm-started on human-written pairs (${warmStartRecordPath(opts.modelPath)}).`);
  await store.init({ ...recorded, version: RUN_RECORD_VERSION, startedAt: new Date().toISOString(), evalHash: evalSet?.hash ?? null, evalPairs: evalSet?.pairs.length ?? 0, warmStart });
}

/** The held-out tasks are evaluated with the same sampling seed every cycle, so only the weights change. */
function heldOutSeed(opts: RunOptions): number {
  return deriveSeed(opts.seed, "held-out-eval");
}

/** The training tasks' stats, counting what selection kept: examples, and the tasks they answer. */
function selectionStats(candidates: Candidate[], selected: Candidate[], tasks: number, threshold: number): CycleRecord["selection"] {
  const acceptedTasks = new Set(selected.map((c) => c.taskId)).size;
  return { ...phaseStats(candidates, threshold), acceptedExamples: selected.length, acceptedTasks, acceptanceRate: acceptedTasks / Math.max(1, tasks) };
}

/** The prompt the learner will see for this task, its examples leaving out the pair itself and pairs sharing its
 * task or command, as many as fit the context with the answer (`fit`: the session that will read it). */
export function toTrainExample(c: Candidate, shots: ShotSource = NO_SHOTS, fit?: Pick<ModelSession, "withShots">): TrainExample {
  const context = shots.forTask(c.task, { task: c.task, command: c.command });
  const completion = answerText(c.command) + "\n";
  // fitted with the completion in place, so the trainer's whole example (plus BOS and EOS) fits the context
  const withAnswer = (s: readonly Shot[]): Prompt => {
    const p = forwardPrompt(c.task, s);
    return { ...p, plain: p.plain + completion };
  };
  const fitted = fit ? fit.withShots(withAnswer, context, 3).plain.slice(0, -completion.length) : forwardPrompt(c.task, context).plain;
  return { prompt: fitted, completion };
}

/** One pass of generate → invert → score → gate over a list of tasks. */
interface PhasePass {
  /** The weights that write the candidates. */
  session: ModelSession;
  scorers: { main: Scorer; others: Scorer[]; scorerSession: ModelSession };
  tasks: TaskItem[];
  cycle: number;
  phase: Candidate["phase"];
  /** Each task's sampling seed derives from this. */
  seed: number;
  /** The phase name in progress events. */
  label: string;
  /** Offer each task's nearest example beside the model's candidates (training tasks; held-out tasks measure the model alone). */
  exampleCandidate?: boolean;
}

async function runPhase(ctx: LoopContext, pass: PhasePass): Promise<Candidate[]> {
  const { opts, parser, signal, emit } = ctx;
  const { session, scorers, tasks, cycle, phase, seed, label } = pass;
  const out: Candidate[] = [];
  for (const [i, task] of tasks.entries()) {
    throwIfAborted(signal);
    emit({ type: "phase", cycle, phase: label, done: i, total: tasks.length, message: task.text });
    out.push(
      ...(await candidatesForTask(session, scorers, parser, task, { cycle, phase, threshold: opts.threshold }, {
        candidates: opts.candidates,
        temperature: opts.temperature,
        seed: deriveSeed(seed, task.id),
        signal,
        shots: ctx.shots,
        exampleCandidate: pass.exampleCandidate,
      })),
    );
  }
  emit({ type: "phase", cycle, phase: label, done: tasks.length, total: tasks.length, message: "done" });
  return out;
}

async function makeHeldOut(
  session: ModelSession,
  opts: RunOptions,
  signal: AbortSignal | undefined,
  emit: (e: RunEvent) => void,
): Promise<{ heldOut: TaskItem[]; seen: string[] }> {
  const count = opts.heldOutTasks > 0 ? opts.heldOutTasks : Math.max(4, Math.ceil(opts.tasks / 4));
  const pool = new TaskPool();
  let heldOut: TaskItem[] = [];
  if (opts.commandsFile) {
    const commands = commandsFromText(await readFile(opts.commandsFile, "utf8"));
    if (commands.length === 0) throw new Error(`${opts.commandsFile} holds no commands.`);
    heldOut = await tasksFromCommands(session, commands.slice(0, count), { idPrefix: "h", pool, signal });
  }
  if (heldOut.length < count) {
    emit({ type: "phase", cycle: 0, phase: "held-out tasks", done: 0, total: count, message: "writing held-out tasks" });
    heldOut.push(
      ...(await writeTasks(session, { count: count - heldOut.length, topics: opts.topics, seed: deriveSeed(opts.seed, "held-out"), idPrefix: "hm", pool, signal })),
    );
  }
  if (heldOut.length === 0) throw new Error("The model wrote no usable held-out tasks; try another model or more topics.");
  return { heldOut, seen: [] };
}
