// Shared engine types. The engine imports nothing from `vscode` or the LSP libraries.
import type { ScoreResult } from "../../../common/score";

/** One scored candidate: the unit written to examples.jsonl. */
export interface Candidate {
  cycle: number;
  phase: "before" | "after";
  taskId: string;
  task: string;
  command: string;
  /** Raw model output before cleaning (kept for audits); for an example candidate, the example's command. */
  raw: string;
  /** Set when the candidate is not the model's: the nearest retrieved example's command, offered beside the model's
   * (the lookup writes the right program more often than the model; selection judges both alike). */
  example?: { task: string };
  /** Set when the candidate is the real command its task was read back from (--commands), offered beside the model's. */
  given?: true;
  reconstruction: string;
  score: ScoreResult;
  /** Other scorers' results on the same candidate (e.g. `seed`). */
  altScores?: Record<string, ScoreResult>;
  gates: GateVerdict[];
  accepted: boolean;
  rejectReason?: string;
}

export type { ScoreResult };

export interface GateVerdict {
  gate: string;
  pass: boolean;
  reason: string;
}

export interface TaskItem {
  id: string;
  text: string;
  source: "model" | "backtranslation" | "file";
  /** For back-translated tasks: the real command the task was read from. */
  origin?: string;
}

/** A (prompt, completion) pair for supervised training: loss falls on the completion tokens only. */
export interface TrainExample {
  prompt: string;
  completion: string;
}

export interface TrainProgress {
  step: number;
  totalSteps: number;
  loss: number;
  tokensPerSecond: number;
}

export interface TrainRequest {
  baseModelPath: string;
  examples: TrainExample[];
  /** Where the trained adapter (or full model, in mode `full`) is written. Must be a new, unique path. */
  outPath: string;
  /** Continue from this adapter instead of a fresh one (`--continue-adapter`). */
  initAdapterPath?: string;
  mode: "lora" | "full";
  rank: number;
  alpha: number;
  /** Tensor name suffixes to adapt, e.g. ["attn_q", "attn_k", "attn_v", "attn_output"]. */
  targets: string[];
  learningRate: number;
  epochs: number;
  batchSize: number;
  contextSize: number;
  threads: number;
  seed: number;
  /** Checkpoint weights and optimizer state here every checkpointEverySeconds, and resume from one found there. */
  checkpointDir?: string;
  checkpointEverySeconds?: number;
  /** "auto": train on a CUDA/Vulkan device that has every training op, else the CPU; "off": the CPU. */
  gpu?: "auto" | "off";
  signal?: AbortSignal;
  onProgress?: (p: TrainProgress) => void;
}

export interface TrainResult {
  outPath: string;
  mode: "lora" | "full";
  /** How the loss was restricted to completion tokens, recorded in the run. */
  masking: string;
  lossFirst: number;
  lossLast: number;
  lossMean: number;
  steps: number;
  tokens: number;
  tokensPerSecond: number;
  seconds: number;
}

export interface Trainer {
  readonly name: string;
  train(req: TrainRequest): Promise<TrainResult>;
}

/** Summary statistics of one phase (before or after training) of a cycle. */
export interface PhaseStats {
  candidates: number;
  /** Tasks with an accepted candidate (acceptanceRate = acceptedTasks / tasks). */
  acceptedTasks: number;
  acceptanceRate: number;
  meanScore: number;
  /** Mean of the `original` scorer on the same candidates, when it ran. */
  meanOriginalScore?: number;
  distinctCommands: number;
  distinctPrograms: number;
}

export interface ExternalEval {
  dataset: string;
  datasetHash: string;
  n: number;
  nlc2cmd: number;
  nlc2cmdCi: [number, number];
  exactMatch: number;
  exactMatchCi: [number, number];
  templateMatch: number;
  templateMatchCi: [number, number];
  /** Mean intrinsic (lift) score of the same predictions, and its rank correlation with their NLC2CMD score. */
  meanLift: number;
  /** Distinct predictions among the n: a collapse to a few repeated commands shows here first. */
  distinctPredictions?: number;
  spearmanLift: number;
  /** The same for the `original` scorer, when it ran. */
  meanOriginal?: number;
  spearmanOriginal?: number;
}

/** Grounding of readings against local man pages over a cycle's candidates (see engine/grounding.ts). */
export interface GroundingStats {
  /** Candidates with a reading and at least one program that has a man page: the ones checked. */
  examples: number;
  /** Documented flags in their commands, and how many of those the readings do not account for. */
  flags: number;
  unaccountedFlags: number;
  withUnaccountedFlags: number;
  /** Readings naming an action that no program, subcommand or flag paragraph of the command mentions. */
  withUnexplainedActions: number;
  /** Examples with either mark, overall and among the accepted ones. */
  ungrounded: number;
  accepted: number;
  acceptedUngrounded: number;
}

/** One line of cycles.jsonl. */
export interface CycleRecord {
  cycle: number;
  startedAt: string;
  seed: number;
  tasks: { train: number; heldOut: number };
  /** This cycle's training tasks: what selection saw, and the training examples it kept (best of N, no duplicates). */
  selection: PhaseStats & { acceptedExamples: number };
  /** Held-out tasks with the weights this cycle started from. */
  before: PhaseStats;
  /** The same held-out tasks, same sampling seeds, with this cycle's new adapter; null when nothing was trained. */
  after: PhaseStats | null;
  train: (TrainResult & { trainer: string; examples: number; policy: string }) | null;
  trainSkipped?: string;
  /** External evaluation of the weights this cycle ends with; null without an evaluation set. */
  external: ExternalEval | null;
  /** Cycle 1 only: the same evaluation of the starting weights, the baseline every later cycle compares with. */
  externalBefore?: ExternalEval | null;
  /** How often the model's readings of this cycle's candidates disagree with the man pages (absent in older runs). */
  grounding?: GroundingStats;
  adapterPath: string | null;
  timings: Record<string, number>;
}

export type RunEvent =
  | { type: "phase"; cycle: number; phase: string; done: number; total: number; message: string }
  | { type: "train"; cycle: number; progress: TrainProgress }
  | { type: "cycle"; record: CycleRecord }
  /** The run stopped on a cancel; cycles up to `lastCompleteCycle` are kept and a resume continues after it (each front end words how). */
  | { type: "cancelled"; lastCompleteCycle: number }
  | { type: "log"; message: string };
