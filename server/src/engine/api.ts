// The engine's public face for the language server, the CLI, tests and scripts/. Plain async functions with AbortSignal.
import type { Candidate, CycleRecord, ScoreResult } from "./types";
import { loadModel, type GpuSetting, type LoadedModel } from "./runtime";
import { ModelSession } from "./session";
import type { InferenceSession } from "./model";
import { RemoteBackend } from "./remote/backend";
import { liftScorer, scorerByName } from "./scorers";
import { generateCommands, invertCommand, scoreCommand } from "./candidates";
import { validateTask } from "./tasks";
import { loadShellParser, type ParsedCommand, type ShellParser } from "../shell/parser";
import { RunStore } from "./store";
import { promptShots, type ShotSource } from "./shots";
import { RunMemory, memoryPairs, shotsWithMemory } from "./memory";
import { shippedExamples } from "../knowledge/examples/shared";
import { evaluateExternal, type EvalSet } from "./external";
import type { ExternalEval } from "./types";

export { runLoop, resumedRunOptions, isResume, DEFAULT_RUN_OPTIONS, GENERATION_PHASE, sequencesPerTask, type RunOptions, type ResumeOptions, type RunControl, type RunSummary } from "./loop";
export { latestRun, bestAdapter } from "./store";
export { ModelError } from "./runtime";
export { AbortError } from "./session";
export { BackendError, NoPromptLogProbsError } from "./remote/backend";

// What the CLI uses besides Engine, runLoop and evaluateModel: server/src/cli reaches the engine through this file and
// the run store (store.ts) only (test/unit/layers.test.ts).
export { unlockRunDir } from "./runLock";
export { warmStart } from "./warmstart";
export { createTrainer, parseTrainCommand } from "./train";
export { TRAIN_OPTIONS, TRAIN_RESULT } from "./train/contract";
export { exportTrainingData } from "./trainingData";
export { exportPeftAdapter, importPeftAdapter, type ConversionSummary } from "./adapters/peft";
export type { GroundingStats, RunEvent } from "./types";

// The parts the model pipeline and the research scripts (scripts/) measure or build on, and what is below the engine:
// scripts/ reach server/src through this file only (and the comment check's through check/api.ts; test/unit/layers.test.ts).
export { loadModel, type LoadedModel } from "./runtime";
export { ModelSession } from "./session";
export { answerText, forwardPrompt, inversePrompt, taskWriterPrompt, type Shot } from "./prompts";
export { indexShots, promptShots, sharesTaskOrCommand, type ShotSource } from "./shots";
export { cleanCommand, cleanSentence, tokenF1 } from "./text";
export { candidatesForTask, invertCommand } from "./candidates";
export { coderReviewerScorer, liftScorer, originalScorer } from "./scorers";
export { RunMemory, memoryIndex, memoryPairs, shotsWithMemory } from "./memory";
export { DEFAULT_EVAL_SIZE, loadEvalSet, type ExternalItem } from "./external";
export { runNativeTraining } from "./train";
export type { NativeProgress } from "./train/native";
export type { Candidate, CycleRecord, ExternalEval } from "./types";
export { loadShellParser, type ShellParser } from "../shell/parser";
export { isListedProgram } from "../shell/knownPrograms";
export { deriveSeed, mulberry32, shuffled } from "../util/random";
export { bootstrapCi, mean, pairedDifference, spearman } from "../eval/stats";
export { nlc2cmdScore } from "../eval/nlc2cmd";
export { exactMatch, templateMatch } from "../eval/match";
export { loadPairs, splitPairs, type Pair } from "../eval/dataset";
export { ExampleIndex, indexFileText, type Example, type ExampleSource } from "../knowledge/examples/exampleIndex";
export { programOf } from "../knowledge/examples/program";
export { explainCommand } from "../knowledge/manpages/explain";
export { sharedManLibrary } from "../knowledge/manpages/library";
export { defaultModelPath } from "../knowledge/shipped";

export interface ModelOptions {
  modelPath: string;
  gpu?: GpuSetting;
  threads?: number;
  contextSize?: number;
  adapterPath?: string | null;
  /** Parallel sequences for generation and scoring. */
  sequences?: number;
  /** Retrieved examples (from the shipped example index) in each prompt for writing and reading commands; 0: none. */
  examples?: number;
  /** A run whose memory (its accepted examples, --learn memory|both) the prompts also retrieve from. */
  memoryRun?: string | null;
  /**
   * A server that runs the model (vLLM, SGLang, `inversion serve`; remote/) instead of this machine. `modelPath` then
   * names the base GGUF only for converting an adapter for vLLM or SGLang; nothing is loaded here.
   */
  backend?: string | null;
}

/** The prompts' examples: the shipped index's, with a run's memory when one is given and it keeps one. */
async function engineShots(opts: ModelOptions): Promise<{ shots: ShotSource; memory: { run: string; examples: number } | null }> {
  const k = opts.examples ?? 0;
  if (!opts.memoryRun || k === 0) return { shots: promptShots(k), memory: null };
  const index = shippedExamples();
  const memory = new RunMemory(index);
  memory.add(memoryPairs(await new RunStore(opts.memoryRun).examples()));
  return { shots: shotsWithMemory(index, memory, k), memory: memory.size ? { run: opts.memoryRun, examples: memory.size } : null };
}

/** Whether a run keeps a memory its prompts retrieve from (recorded --learn memory|both). */
export async function runKeepsMemory(runDir: string): Promise<boolean> {
  const config = await new RunStore(runDir).readConfig<{ learn?: string }>().catch(() => null);
  return config?.learn === "memory" || config?.learn === "both";
}

export const MAX_COMMAND_CHARS = 2000;

function validateCommand(command: string): string {
  const c = command.trim();
  if (!c) throw new RangeError("The command is empty.");
  if (c.length > MAX_COMMAND_CHARS) throw new RangeError(`The command is ${c.length} characters long; the limit is ${MAX_COMMAND_CHARS}.`);
  return c;
}

export class Engine {
  private constructor(
    /** The model on this machine, or null when a backend serves it. */
    private readonly loaded: LoadedModel | null,
    private readonly session: InferenceSession,
    private readonly parser: ShellParser,
    private readonly shots: ShotSource,
    /** The run whose memory the prompts retrieve from, and its size; null when only the shipped examples are. */
    readonly memory: { run: string; examples: number } | null,
    /** Where a backend's model runs ("vLLM at https://…, model M …"); null for this machine's model. */
    readonly backend: string | null = null,
  ) {}

  static async open(opts: ModelOptions, ctl: { signal?: AbortSignal; onProgress?: (msg: string, fraction?: number) => void } = {}): Promise<Engine> {
    const parser = await loadShellParser();
    if (opts.backend) {
      ctl.onProgress?.(`connecting to ${opts.backend}`);
      const remote = await RemoteBackend.connect(opts.backend, { signal: ctl.signal });
      const adapter = opts.adapterPath ? await remote.loadAdapter(opts.adapterPath, { baseModelPath: opts.modelPath || undefined, signal: ctl.signal }) : null;
      const { shots, memory } = await engineShots(opts);
      return new Engine(null, remote.session(adapter), parser, shots, memory, remote.describe());
    }
    const loaded = await loadModel({ ...opts, signal: ctl.signal, onProgress: ctl.onProgress });
    try {
      const session = await ModelSession.create(loaded, { adapterPath: opts.adapterPath ?? null, sequences: opts.sequences ?? 2 });
      const { shots, memory } = await engineShots(opts);
      return new Engine(loaded, session, parser, shots, memory);
    } catch (err) {
      await loaded.model.dispose();
      throw err;
    }
  }

  /** The model file, or the backend's description when a server runs the model. */
  get modelPath(): string {
    return this.loaded?.path ?? this.backend ?? "";
  }

  get adapterPath(): string | null {
    return this.session.adapterPath;
  }

  get threads(): number {
    return this.loaded?.threads ?? 0;
  }

  /** The model's greedy reading of a command. The command is never executed. */
  async invert(command: string, ctl: { signal?: AbortSignal } = {}): Promise<string> {
    return invertCommand(this.session, validateCommand(command), ctl.signal, this.shots);
  }

  async score(
    task: string,
    command: string,
    /** `reconstruction` and `parsed`: the command's reading by this model and its parse, when the caller has them. */
    ctl: { signal?: AbortSignal; scorer?: "lift" | "original"; compare?: boolean; reconstruction?: string; parsed?: ParsedCommand } = {},
  ): Promise<{ score: ScoreResult; reconstruction: string; altScores: Record<string, ScoreResult>; gates: { gate: string; pass: boolean; reason: string }[] }> {
    const main = ctl.scorer ? scorerByName(ctl.scorer) : liftScorer;
    const others = ctl.compare ? [scorerByName(main.name === "lift" ? "original" : "lift")] : [];
    return scoreCommand(this.session, { main, others }, this.parser, validateTask(task), validateCommand(command), ctl.signal, { reconstruction: ctl.reconstruction, parsed: ctl.parsed }, this.shots);
  }

  async generate(task: string, n: number, ctl: { signal?: AbortSignal; temperature?: number; seed?: number } = {}): Promise<string[]> {
    const out = await generateCommands(this.session, validateTask(task), {
      candidates: n,
      temperature: ctl.temperature ?? 0.7,
      seed: ctl.seed ?? 1,
      signal: ctl.signal,
      shots: this.shots,
    });
    return out.map((c) => c.command);
  }

  async dispose(): Promise<void> {
    await this.session.dispose();
    await this.loaded?.model.dispose();
  }
}

export async function readRun(runDir: string): Promise<{ config: unknown; cycles: CycleRecord[] }> {
  const store = new RunStore(runDir);
  return { config: await store.readConfig(), cycles: await store.cycles() };
}

/** Every candidate a run recorded (examples.jsonl), each line checked. */
export async function readRunExamples(runDir: string): Promise<Candidate[]> {
  return new RunStore(runDir).examples();
}

/**
 * `inversion eval`: the model (with `adapterPath`, if given) on an eval set's held-out split, judged by the base model
 * without the adapter, as in a run; here, or on `opts.backend`.
 */
export async function evaluateModel(
  opts: ModelOptions,
  set: EvalSet,
  ctl: { seed: number; compareOriginal?: boolean; signal?: AbortSignal; onProgress?: (done: number, total: number) => void },
): Promise<ExternalEval> {
  const parser = await loadShellParser();
  const evaluate = async (learner: InferenceSession, judge: InferenceSession): Promise<ExternalEval> => (await evaluateExternal(learner, judge, parser, set, ctl)).summary;
  if (opts.backend) {
    const remote = await RemoteBackend.connect(opts.backend, { signal: ctl.signal });
    const adapter = opts.adapterPath ? await remote.loadAdapter(opts.adapterPath, { baseModelPath: opts.modelPath || undefined, signal: ctl.signal }) : null;
    try {
      return await evaluate(remote.session(adapter), remote.session());
    } finally {
      if (adapter) await remote.unloadAdapter(adapter);
    }
  }
  const loaded = await loadModel({ modelPath: opts.modelPath, gpu: opts.gpu, threads: opts.threads, signal: ctl.signal });
  const sequences = opts.sequences ?? 4;
  const base = await ModelSession.create(loaded, { sequences });
  const learner = opts.adapterPath ? await ModelSession.create(loaded, { sequences, adapterPath: opts.adapterPath }) : base;
  try {
    return await evaluate(learner, base);
  } finally {
    if (learner !== base) await learner.dispose();
    await base.dispose();
    await loaded.model.dispose();
  }
}
