// The self-improvement loop: write tasks → generate → invert → score → gate → select → train, for N cycles.
import { readFile } from "node:fs/promises";
import { relative, resolve } from "node:path";
import type { Candidate, CycleRecord, ExternalEval, PhaseStats, RunEvent, TaskItem, Trainer, TrainExample, TrainProgress, TrainRequest } from "./types";
import type { LoadedModel } from "./runtime";
import { AbortError, throwIfAborted, type ModelSession } from "./session";
import type { InferenceSession } from "./model";
import { RunSessions, withResumeHint } from "./runSessions";
import { scorerByName, type Scorer } from "./scorers";
import { TaskPool, commandsFromText, splitCommands, tasksFromCommands, teachingSlice, writeTasks } from "./tasks";
import { candidatesForTask } from "./candidates";
import { NO_SHOTS, promptShots, type ShotSource } from "./shots";
import { RunMemory, memoryPairs, shotsWithMemory } from "./memory";
import { MACHINE_TOPICS, applyDocumentedFlagsGate, machineTopics } from "./machine";
import { shippedExamples } from "../knowledge/examples/shared";
import { acceptAll, phaseStats, selectCandidates } from "./selection";
import { FILES, RunStore, appendJsonl, runAdapterPath, type StoredTasks } from "./store";
import { deriveSeed } from "../util/random";
import { answerText, forwardPrompt, DEFAULT_TOPICS, type Prompt, type Shot } from "./prompts";
import { loadShellParser, type ShellParser } from "../shell/parser";
import { evaluateExternal, loadEvalSet, type EvalSet } from "./external";
import { RunParamError, checkRunParams, defaultRunParams, withCurrentNames, type RunParams } from "../../../common/runParams";
import { warmStartRecordPath } from "./warmstart";
import { groundingStats } from "./grounding";
import { sharedManLibrary } from "../knowledge/manpages/library";
import { RUN_RECORD_VERSION } from "./records";
import { isRemoteModelRef } from "../../../common/modelRef";

/** The run directory, and the files and URLs a run loads: always from the caller, for a new run and a resume alike
 * (the CLI's flags, the editor's settings), never from a run directory's config.json. */
export interface RunFiles {
  modelPath: string;
  /** A server the learner (and with --backend-for all, the judge) runs on: vLLM, SGLang or `inversion serve`
   * (remote/). Like the model, only ever from the caller (--backend, the user setting inversion.backend). */
  backend?: string;
  /** The run directory. */
  out: string;
  /** Real commands to read back into tasks (back-translation), one per line or a shell script. */
  commandsFile?: string;
  /** (task, reference command) pairs for external evaluation after every cycle; only a seeded held-out split is used. */
  evalSet?: string;
  /** --trainer external: the command line that trains each cycle's adapter (train/external.ts). Only ever from the
   * caller (the CLI's --train-command), never from settings or a run directory: a resume takes it from the caller too. */
  trainCommand?: string;
}

/** A new run: its parameters (common/runParams.ts, declared once) plus what only a run from files has. */
export interface RunOptions extends RunParams, RunFiles {
  contextSize?: number;
  topics: string[];
}

/**
 * A resume: the run in `out` continues after its last complete cycle with the parameters it recorded, loading the
 * files given here (one recorded differently is refused). `resume.cycles`, when given, becomes its total cycle count
 * (recorded in its config.json), at least the cycles it has completed; without it the recorded total is kept.
 */
export interface ResumeOptions extends RunFiles {
  resume: { cycles?: number };
}

/** Whether `options` resume a recorded run (the one entry, runLoop, takes both). */
export const isResume = (options: RunOptions | ResumeOptions): options is ResumeOptions => "resume" in options && options.resume !== undefined;

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
  if (o.trainer === "external") {
    if (!o.trainCommand) throw new RangeError("--trainer external needs the training command: pass --train-command \"…\" (the inversion CLI's flag; the editor takes no command line from settings).");
    if (!learnsWeights(o)) throw new RangeError(`--trainer external trains LoRA weights, but --learn ${o.learn} trains none.`);
    if (o.policy !== "retrain") throw new RangeError("--trainer external retrains from the base each cycle: use --policy retrain.");
  } else if (o.trainCommand) throw new RangeError("--train-command is used only with --trainer external.");
  if (learnsMemory(o) && o.examples === 0) throw new RangeError(`--learn ${o.learn} keeps accepted examples for the prompts, but --examples 0 puts none in them: give --examples 1 or more.`);
}

/** Whether a run trains LoRA weights (--learn lora|both). */
export const learnsWeights = (o: Pick<RunParams, "learn">): boolean => o.learn === "lora" || o.learn === "both";
/** Whether a run keeps what it accepts as retrievable memory (--learn memory|both). */
export const learnsMemory = (o: Pick<RunParams, "learn">): boolean => o.learn === "memory" || o.learn === "both";

const LEARN_LOG: Record<RunParams["learn"], string | null> = {
  lora: null,
  memory: "Learning: memory. Accepted examples are retrieved in later prompts; no weights change.",
  both: "Learning: LoRA and memory. Accepted examples train the adapter and are retrieved in later prompts.",
  none: "Learning: none. The loop generates, scores and selects, but nothing changes; `after` is not measured.",
};

async function defaultTrainer(opts: RunOptions): Promise<Trainer> {
  // Loaded on first use: a language server that never trains never loads the native trainer.
  const { createTrainer } = await import("./train/index.js");
  return opts.trainer === "external" ? createTrainer("external", { command: opts.trainCommand }) : createTrainer("lora");
}

/** A new run, or the resume of a recorded one (`options.resume`): the one entry of the CLI and the editor alike. */
export async function runLoop(options: RunOptions | ResumeOptions, ctl: RunControl = {}): Promise<RunSummary> {
  const resuming = isResume(options);
  // A new run is checked before anything touches the disk; a resume once its recorded options are read.
  if (!resuming) validateRunOptions(options);
  const store = new RunStore(resolve(options.out));
  const lock = await store.lock();
  try {
    const opts = resuming ? await optionsToResume(store, options) : await newRunOptions(store, options);
    await store.removeStaleTempFiles();
    return await runLocked(store, opts, resuming, ctl);
  } catch (err) {
    // its temporary files removed; a full disk said as such, with what the run kept
    throw await store.failed(withResumeHint(err, await store.cycles().then((c) => c.at(-1)?.cycle ?? 0, () => null)));
  } finally {
    await lock.release();
  }
}

async function newRunOptions(store: RunStore, options: RunOptions): Promise<RunOptions> {
  if (await store.exists()) throw new Error(`${store.dir} already holds a run: pass --resume to continue it, or a new --out.`);
  return options;
}

/**
 * The options a resume runs with: those recorded, the files given (checked against those recorded), and the total
 * cycle count given or recorded. Reads the run without changing it: the editor asks before it starts the run.
 */
export async function resumedRunOptions(options: ResumeOptions): Promise<RunOptions> {
  return optionsToResume(new RunStore(resolve(options.out)), options);
}

async function optionsToResume(store: RunStore, options: ResumeOptions): Promise<RunOptions> {
  if (!(await store.exists())) throw new Error(`Nothing to resume in ${store.dir}: it holds no run.`);
  // A run recorded with an older name for a choice (e.g. scorer `seed`) resumes under the current one.
  const saved = withCurrentNames(await store.readConfig<RunOptions>());
  refuseOtherFiles(store.dir, saved, options);
  const completed = (await store.cycles()).length;
  // a parameter the run's record lacks takes its default, except that runs recorded before --decode-sequences worked on
  // one task at a time, and resume that way
  const older = (saved as Partial<RunOptions>).decodeSequences === undefined;
  const recorded = { ...defaultRunParams(), ...saved };
  if (older) recorded.decodeSequences = oneTaskAtATime(recorded);
  const opts = { ...recorded, ...runFiles(options), cycles: resumedCycles(store.dir, saved.cycles, completed, options.resume.cycles) };
  validateRunOptions(opts);
  return opts;
}

const runFiles = ({ modelPath, out, evalSet, commandsFile, trainCommand, backend }: RunFiles): RunFiles => ({ modelPath, out, evalSet, commandsFile, trainCommand, backend });

/** A resumed run's total cycle count: the one given, else the recorded one (or the completed cycles, where an older
 * version continued a run past its recorded count without recording it). */
function resumedCycles(runDir: string, recorded: number, completed: number, given: number | undefined): number {
  if (given === undefined) return Math.max(recorded, completed);
  checkRunParams({ cycles: given });
  if (given < completed) {
    throw new RunParamError([`--cycles ${given} is fewer than the ${completed} cycle(s) ${runDir} has completed: a resume continues a run and cannot take cycles back. Give ${completed} or more, or leave --cycles out to keep its ${Math.max(recorded, completed)}.`]);
  }
  return given;
}

/** The options naming a file or URL a run loads, and how each is given. */
const LOADED_FILES = [
  { key: "modelPath", what: "the model", how: "--model, or the setting inversion.model" },
  { key: "evalSet", what: "the eval set", how: "--eval" },
  { key: "commandsFile", what: "the commands file", how: "--commands" },
  { key: "backend", what: "the backend", how: "--backend, or the user setting inversion.backend" },
] as const;

/** A resume continues with the files it was started with: one recorded differently from the one given is refused, naming both. */
function refuseOtherFiles(runDir: string, recorded: Partial<RunFiles>, given: RunFiles): void {
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
  const isUrl = (s: string): boolean => isRemoteModelRef(s) || /^[a-z][a-z0-9+.-]+:\/\//i.test(s.trim());
  return isUrl(a) || isUrl(b) ? a.trim().replace(/\/+$/, "") === b.trim().replace(/\/+$/, "") : resolve(a) === resolve(b);
}

async function runLocked(store: RunStore, opts: RunOptions, resuming: boolean, ctl: RunControl): Promise<RunSummary> {
  const emit = (e: RunEvent): void => ctl.onEvent?.(e);
  const log = (message: string): void => emit({ type: "log", message });
  const evalSet = opts.evalSet ? loadEvalSet(opts.evalSet, { seed: opts.seed, size: opts.evalSize }) : null;
  const lastComplete = resuming ? await store.repairForResume(log) : 0;
  const done = await store.cycles();
  const lastAdapter = done.at(-1)?.adapterPath;
  // Checked before the model loads: the adapter a resume continues from must lie inside the run.
  const adapter = lastComplete > 0 && lastAdapter ? runAdapterPath(store.dir, lastAdapter) : null;
  if (resuming) {
    log(lastComplete >= opts.cycles ? `All ${opts.cycles} cycles are complete.` : `Resuming after cycle ${lastComplete}.`);
  }
  if (LEARN_LOG[opts.learn]) log(LEARN_LOG[opts.learn]!);
  if (opts.trainer === "external" && learnsWeights(opts)) log(`Training: each cycle's adapter is trained by your command (${opts.trainCommand}); the data, its output and the PEFT adapter are in the run's checkpoints/cycle-NNN/ while it runs, and stay there if it fails.`);

  const signal = ctl.signal;
  const cancelled = (cycles: CycleRecord[] = done): RunSummary => {
    emit({ type: "cancelled", lastCompleteCycle: cycles.at(-1)?.cycle ?? 0 });
    return { runDir: store.dir, cycles, cancelled: true };
  };
  const trainer = learnsWeights(opts) ? await defaultTrainer(opts) : null;
  const parser = await loadShellParser();
  const sequences = decodeSequencesOf(opts);
  let sessions: RunSessions;
  try {
    // this machine's model, or a backend's (--backend): the learner there, the judge there or here
    sessions = await RunSessions.open({
      modelPath: opts.modelPath,
      gpu: opts.gpu,
      threads: opts.threads,
      contextSize: opts.contextSize,
      backend: opts.backend,
      backendFor: opts.backendFor,
      sequences,
      trainsHere: learnsWeights(opts),
      signal,
      log,
    });
  } catch (err) {
    // A cancel that arrives while the model loads is a cancel, not a failure.
    if (signal?.aborted) return cancelled();
    throw err;
  }
  const { loaded } = sessions;
  const base = sessions.judgeBase;
  if (!resuming && opts.topics.length === 1 && opts.topics[0] === MACHINE_TOPICS) {
    // resolved once and recorded: a resume writes tasks about the same programs
    const index = shippedExamples();
    if (!index) throw new Error("--topics man ranks programs by the shipped example index, which is not installed.");
    opts = { ...opts, topics: await machineTopics(index, sharedManLibrary(), signal) };
    log(`Topics: ${opts.topics.length} programs with a manual page on this machine (${opts.topics.slice(0, 8).join(", ")}, …).`);
  }
  try {
    // The run directory is written only once the model works, so a bad --model leaves nothing to trip over.
    if (!resuming) await initStore(store, opts, evalSet, log);
  } catch (err) {
    await sessions.dispose();
    throw err;
  }
  const main = scorerByName(opts.scorer, opts.seed);
  // people's examples for the judge; the learner's prompts add the run's memory (--learn memory|both)
  const judgeShots = promptShots(opts.examples);
  const memory = learnsMemory(opts) ? new RunMemory(shippedExamples()) : null;
  const shots = memory ? shotsWithMemory(shippedExamples(), memory, opts.examples) : judgeShots;
  const others: Scorer[] = opts.compareScorers ? [scorerByName(opts.scorer === "lift" ? "original" : "lift", opts.seed)] : [];
  const cycles: CycleRecord[] = [...done];
  const external = async (learner: InferenceSession, cycle: number): Promise<ExternalEval | null> => {
    if (!evalSet) return null;
    const { summary, items } = await evaluateExternal(learner, base, parser, evalSet, {
      seed: opts.seed,
      shots,
      compareOriginal: opts.compareScorers,
      signal,
      onProgress: (d, total) => emit({ type: "phase", cycle, phase: "external eval", done: d, total, message: evalSet.file }),
    });
    await appendJsonl(store.path(FILES.external), items.map((item) => ({ cycle, ...item })));
    return summary;
  };
  try {
    // read once and checked: a damaged or lost tasks.json stops a resume instead of starting a new held-out set
    const stored = await store.tasksForResume(lastComplete);
    const commands = opts.commandsFile ? await readCommands(opts.commandsFile, parser, heldOutCount(opts), opts.seed) : null;
    const tasks = stored ?? (await makeHeldOut(sessions.learnerBase, opts, commands?.heldOut ?? [], judgeShots, signal, emit));
    if (!stored) await store.writeTasks(tasks);
    const accepted = (await store.examples()).filter((c) => c.accepted && c.cycle <= lastComplete);
    memory?.add(memoryPairs(accepted));
    const heldOutBefore = done.length ? done[done.length - 1]!.after : null;
    const lastExternal = done.length ? done[done.length - 1]!.external : null;

    const ctx: LoopContext = { opts, store, loaded, base, sessions, parser, trainer, main, others, sequences, signal, emit, log, external, tasks, shots, judgeShots, memory, teaching: commands?.teaching ?? [] };
    const state: LoopState = { accepted, adapter, heldOutBefore, lastExternal };
    // the total this resume runs to, so the next resume without one keeps it
    if (resuming) await store.recordCycleCount(opts.cycles);
    for (let cycle = lastComplete + 1; cycle <= opts.cycles; cycle++) cycles.push(await runCycle(ctx, state, cycle));
    return { runDir: store.dir, cycles, cancelled: false };
  } catch (err) {
    if (err instanceof AbortError || signal?.aborted) return cancelled(cycles);
    throw err;
  } finally {
    await sessions.dispose();
  }
}

interface LoopContext {
  opts: RunOptions;
  store: RunStore;
  /** The model on this machine; null when everything runs on a backend and nothing trains here. */
  loaded: LoadedModel | null;
  /** The base model as the judge (by default). */
  base: InferenceSession;
  /** Where sessions come from: the learner's base (it writes held-out tasks, and is the learner until the first
   * adapter), the learner with an adapter, the session that fits training prompts. */
  sessions: RunSessions;
  parser: ShellParser;
  trainer: Trainer | null;
  main: Scorer;
  others: Scorer[];
  sequences: number;
  signal?: AbortSignal;
  emit: (e: RunEvent) => void;
  log: (message: string) => void;
  external: (learner: InferenceSession, cycle: number) => Promise<ExternalEval | null>;
  tasks: StoredTasks;
  /** Retrieved examples for the learner's prompts (--examples), with the run's memory when it keeps one. */
  shots: ShotSource;
  /** Retrieved examples for the judge's readings: people's only. */
  judgeShots: ShotSource;
  /** What the run accepted, retrieved by the learner's prompts (--learn memory|both); null when it keeps none. */
  memory: RunMemory | null;
  /** The commands file's teaching commands (--commands): each cycle's tasks are read back from them. */
  teaching: string[];
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
  const { opts, store, base, tasks, signal } = ctx;
  throwIfAborted(signal);
  // every cycle starts from a fresh base model (caches cleared): a resumed run redoes this cycle exactly
  await ctx.sessions.reset();
  const t0 = Date.now();
  const timings: Record<string, number> = {};
  const cycleSeed = deriveSeed(opts.seed, "cycle", cycle);
  // The weights this cycle starts from: the learner writes tasks and candidates (and scores with `--judge learner`).
  const learner = state.adapter ? await ctx.sessions.withAdapter(state.adapter, signal) : ctx.sessions.learnerBase;
  try {
    const scorers = { main: ctx.main, others: ctx.others, scorerSession: opts.judge === "base" ? base : learner };
    const trainTasks = await timed(timings, "tasksMs", () => cycleTasks(ctx, learner, cycle, cycleSeed));
    const { candidates, selected } = await timed(timings, "generateMs", () => generateAndSelect(ctx, state, { learner, scorers, trainTasks, cycle, cycleSeed }));
    const heldOutBefore = await timed(
      timings,
      "heldOutBeforeMs",
      async () => state.heldOutBefore ?? phaseStats(await runPhase(ctx, { session: learner, scorers, tasks: tasks.heldOut, cycle, phase: "before", seed: heldOutSeed(opts), label: "held-out" }), opts.threshold),
    );
    throwIfAborted(signal);
    state.accepted.push(...selected);
    const { train, trainSkipped, adapter } = await timed(timings, "trainMs", () => trainStep(ctx, state, cycle, cycleSeed, selected));
    const measured = await timed(timings, "afterMs", () => measureAfter(ctx, state, { learner, scorers, cycle, selected, adapter: train ? adapter : null }));
    timings.totalMs = Date.now() - t0;
    throwIfAborted(signal);
    const grounding = await groundingStats(candidates, { parser: ctx.parser, library: sharedManLibrary(), signal });
    await store.appendExamples([...candidates, ...measured.heldOutAfter]);
    const record: CycleRecord = {
      cycle,
      startedAt: new Date(t0).toISOString(),
      seed: cycleSeed,
      tasks: { train: trainTasks.length, heldOut: tasks.heldOut.length },
      selection: selectionStats(candidates, selected, trainTasks.length, opts.threshold),
      before: heldOutBefore,
      after: measured.after,
      train,
      trainSkipped,
      external: measured.external,
      ...(measured.externalBefore !== undefined ? { externalBefore: measured.externalBefore } : {}),
      grounding,
      adapterPath: adapter ? relative(store.dir, adapter) : null,
      timings,
    };
    await store.writeTasks(tasks);
    await store.appendCycle(record);
    ctx.emit({ type: "cycle", record });
    state.adapter = adapter;
    state.heldOutBefore = measured.after ?? heldOutBefore;
    state.lastExternal = measured.external;
    return record;
  } finally {
    await ctx.sessions.release(learner);
  }
}

/** Runs `work` and records its wall time in milliseconds under `key`. */
async function timed<T>(timings: Record<string, number>, key: string, work: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await work();
  } finally {
    timings[key] = Date.now() - start;
  }
}

type Scorers = { main: Scorer; others: Scorer[]; scorerSession: InferenceSession };

/** This cycle's training tasks: read back from the teaching commands (--commands), or written by the learner. */
async function cycleTasks(ctx: LoopContext, learner: InferenceSession, cycle: number, cycleSeed: number): Promise<TaskItem[]> {
  const { opts, tasks, signal, emit } = ctx;
  const pool = new TaskPool([...tasks.heldOut.map((t) => t.text), ...tasks.seen]);
  const reading = ctx.teaching.length > 0;
  const message = reading ? "reading your commands back into tasks" : "writing tasks";
  emit({ type: "phase", cycle, phase: "tasks", done: 0, total: opts.tasks, message });
  const trainTasks = reading
    ? await tasksFromCommands(learner, teachingSlice(ctx.teaching, cycle, opts.tasks), { idPrefix: `c${cycle}`, pool, signal, shots: ctx.shots })
    : await writeTasks(learner, {
        count: opts.tasks,
        topics: opts.topics,
        seed: deriveSeed(cycleSeed, "tasks"),
        idPrefix: `c${cycle}`,
        pool,
        signal,
        onProgress: (d, total) => emit({ type: "phase", cycle, phase: "tasks", done: d, total, message }),
      });
  if (trainTasks.length < opts.tasks) {
    ctx.log(`Cycle ${cycle}: ${trainTasks.length} distinct tasks of ${opts.tasks} asked (${reading ? "read back from your commands" : "written by the model"}).`);
  }
  tasks.seen.push(...trainTasks.map((t) => t.text));
  return trainTasks;
}

/** Candidates for the training tasks, gated, scored and selected (marked in place). */
async function generateAndSelect(
  ctx: LoopContext,
  state: LoopState,
  p: { learner: InferenceSession; scorers: Scorers; trainTasks: TaskItem[]; cycle: number; cycleSeed: number },
): Promise<{ candidates: Candidate[]; selected: Candidate[] }> {
  const { opts } = ctx;
  const candidates = await runPhase(ctx, { session: p.learner, scorers: p.scorers, tasks: p.trainTasks, cycle: p.cycle, phase: "before", seed: p.cycleSeed, label: GENERATION_PHASE, exampleCandidate: true });
  if (opts.documentedFlags) await applyDocumentedFlagsGate(candidates, { parser: ctx.parser, library: sharedManLibrary(), signal: ctx.signal });
  const selected =
    opts.selection === "all"
      ? acceptAll(candidates)
      : selectCandidates(candidates, { threshold: opts.threshold, earlier: state.accepted.map((c) => c.command), programCap: opts.programCap });
  return { candidates, selected };
}

/**
 * The held-out measures after learning: the new adapter's, or the same weights' again when only the memory grew;
 * when nothing changed, the external score already known. Cycle 1 also measures the starting weights (cycle 0).
 */
async function measureAfter(
  ctx: LoopContext,
  state: LoopState,
  p: { learner: InferenceSession; scorers: Scorers; cycle: number; selected: Candidate[]; adapter: string | null },
): Promise<{ after: PhaseStats | null; heldOutAfter: Candidate[]; external: ExternalEval | null; externalBefore?: ExternalEval | null }> {
  const { opts, base } = ctx;
  const externalBefore = p.cycle === 1 ? await ctx.external(p.learner, 0) : undefined;
  // from here on the learner's prompts retrieve this cycle's accepted examples too
  const remembered = ctx.memory ? ctx.memory.add(memoryPairs(p.selected)) : 0;
  const measure = async (session: InferenceSession, judge: InferenceSession) => {
    const heldOutAfter = await runPhase(ctx, { session, scorers: { ...p.scorers, scorerSession: judge }, tasks: ctx.tasks.heldOut, cycle: p.cycle, phase: "after", seed: heldOutSeed(opts), label: "held-out" });
    return { after: phaseStats(heldOutAfter, opts.threshold), heldOutAfter, external: await ctx.external(session, p.cycle), externalBefore };
  };
  if (p.adapter) {
    const trained = await ctx.sessions.withAdapter(p.adapter, ctx.signal);
    try {
      return await measure(trained, opts.judge === "base" ? base : trained);
    } finally {
      await ctx.sessions.release(trained);
    }
  }
  if (remembered > 0) return measure(p.learner, p.scorers.scorerSession);
  const external = (externalBefore ?? state.lastExternal) || (await ctx.external(p.learner, p.cycle));
  return { after: null, heldOutAfter: [], external, externalBefore };
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
  if (!trainer) return { train: null, trainSkipped: `learn is ${opts.learn}: no weights are trained`, adapter: state.adapter };
  if (!loaded) throw new Error("Training needs the model on this machine (--model), which was not loaded.");
  const data = (opts.policy === "retrain" ? state.accepted : selected).map((c) => toTrainExample(c, ctx.shots, ctx.sessions.fit ?? undefined));
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
  // Human-written pairs enter only through a warm start; the run records that they did.
  const warmStart = await readFile(warmStartRecordPath(opts.modelPath), "utf8").then((t) => JSON.parse(t) as unknown, () => null);
  if (warmStart) log(`The model was warm-started on human-written pairs (${warmStartRecordPath(opts.modelPath)}).`);
  await store.init({ ...opts, version: RUN_RECORD_VERSION, startedAt: new Date().toISOString(), evalHash: evalSet?.hash ?? null, evalPairs: evalSet?.pairs.length ?? 0, warmStart });
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
  session: InferenceSession;
  scorers: { main: Scorer; others: Scorer[]; scorerSession: InferenceSession };
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

/** The phase label (in progress events) of a cycle's generation and scoring of its training tasks. */
export const GENERATION_PHASE = "generating and scoring";

/** The sequences runs recorded before --decode-sequences decoded on: one task's sampled candidates. */
const oneTaskAtATime = (opts: Pick<RunOptions, "candidates">): number => Math.max(opts.candidates, 2);

/**
 * The sequences one task's read-backs fill: its candidates and the example offered beside them in a training pass.
 * Counting only the sampled candidates left that example's read-back waiting for a sequence, decoded after the
 * others with fewer sequences in each decode (`npm run bench -- phase`).
 */
export const sequencesPerTask = (opts: Pick<RunOptions, "candidates">): number => opts.candidates + 1;

/** Tasks worked on at once: as many as fill --decode-sequences with their read-backs' sequences (at least one). */
function tasksSideBySide(opts: Pick<RunOptions, "candidates" | "decodeSequences">): number {
  return Math.max(1, Math.floor(opts.decodeSequences / sequencesPerTask(opts)));
}

/** The run's sequences: its tasks side by side, each on its read-backs' sequences; fewer than a task's when
 * --decode-sequences is smaller (1 decodes one candidate at a time: the serial path). */
function decodeSequencesOf(opts: Pick<RunOptions, "candidates" | "decodeSequences">): number {
  return Math.min(opts.decodeSequences, sequencesPerTask(opts)) * tasksSideBySide(opts);
}

/**
 * Candidates for every task of a pass, `tasksSideBySide` tasks at a time: their calls share each decode (rounds.ts),
 * and the results keep the tasks' order. A group ends before the next starts, so the batches repeat run to run.
 */
async function runPhase(ctx: LoopContext, pass: PhasePass): Promise<Candidate[]> {
  const { opts, parser, signal, emit } = ctx;
  const { session, scorers, tasks, cycle, phase, seed, label } = pass;
  const side = tasksSideBySide(opts);
  const out: Candidate[] = [];
  for (let first = 0; first < tasks.length; first += side) {
    throwIfAborted(signal);
    const group = tasks.slice(first, first + side);
    emit({ type: "phase", cycle, phase: label, done: first, total: tasks.length, message: group[0]!.text });
    const settled = await Promise.allSettled(
      group.map((task) =>
        candidatesForTask(session, scorers, parser, task, { cycle, phase, threshold: opts.threshold }, {
          candidates: opts.candidates,
          temperature: opts.temperature,
          seed: deriveSeed(seed, task.id),
          signal,
          shots: ctx.shots,
          judgeShots: ctx.judgeShots,
          exampleCandidate: pass.exampleCandidate,
        }),
      ),
    );
    // every task of the group has stopped before a failure (or a cancel) leaves the phase
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    for (const r of settled) out.push(...(r as PromiseFulfilledResult<Candidate[]>).value);
  }
  emit({ type: "phase", cycle, phase: label, done: tasks.length, total: tasks.length, message: "done" });
  return out;
}

const heldOutCount = (opts: RunOptions): number => (opts.heldOutTasks > 0 ? opts.heldOutTasks : Math.max(4, Math.ceil(opts.tasks / 4)));

/** The commands of --commands, split once (seeded) into the run's held-out commands and its teaching commands. */
async function readCommands(file: string, parser: ShellParser, heldOut: number, seed: number): Promise<{ heldOut: string[]; teaching: string[] }> {
  const commands = commandsFromText(await readFile(file, "utf8"), parser);
  if (commands.length === 0) throw new Error(`${file} holds no commands.`);
  return splitCommands(commands, heldOut, seed);
}

async function makeHeldOut(
  session: InferenceSession,
  opts: RunOptions,
  heldOutCommands: string[],
  shots: ShotSource,
  signal: AbortSignal | undefined,
  emit: (e: RunEvent) => void,
): Promise<{ heldOut: TaskItem[]; seen: string[] }> {
  const count = heldOutCount(opts);
  const pool = new TaskPool();
  let heldOut: TaskItem[] = [];
  if (heldOutCommands.length) heldOut = await tasksFromCommands(session, heldOutCommands, { idPrefix: "h", pool, signal, shots });
  if (heldOut.length < count) {
    emit({ type: "phase", cycle: 0, phase: "held-out tasks", done: 0, total: count, message: "writing held-out tasks" });
    heldOut.push(
      ...(await writeTasks(session, { count: count - heldOut.length, topics: opts.topics, seed: deriveSeed(opts.seed, "held-out"), idPrefix: "hm", pool, signal })),
    );
  }
  if (heldOut.length === 0) throw new Error("The model wrote no usable held-out tasks; try another model or more topics.");
  return { heldOut, seen: [] };
}
