// The one typed protocol of Inversion: LSP custom messages (client <-> server, eslint `customMessages.ts` style)
// and the messages between the extension host and the progress-panel webview (discriminated unions).
// Imported by client/src, server/src/lsp and webview/src. Nothing here comes from the engine: the server projects
// engine records into the views declared here (server/src/view/runView.ts) and the front ends only render them.
import { NotificationType, RequestType, RequestType0 } from "vscode-languageserver-protocol";
import { defaultRunParams, type RunParams } from "./runParams";
import type { ScoreResult } from "./score";

export type { ScoreResult };

// ---------------------------------------------------------------------------------------------------------------
// Settings (the `inversion.*` section, as the client hands it to the server after resolving paths)
// ---------------------------------------------------------------------------------------------------------------

/** The run parameters that are editor settings (declared in common/runParams.ts). */
type SettingRunParams = Pick<RunParams, "gpu" | "threads" | "cycles" | "tasks" | "candidates" | "threshold" | "temperature" | "learningRate" | "loraRank" | "learn" | "seed" | "examples" | "decodeSequences">;

export interface InversionSettings extends SettingRunParams {
  /** Local .gguf path or `hf:` URI; "" when none is set. Relative paths are resolved by the client. */
  model: string;
  /** "best" (best cycle of the latest run), "base" (no adapter) or a path to an adapter .gguf. */
  hoverAdapter: string;
  diagnostics: {
    enabled: boolean;
    /** Commands scored per pass before yielding (large scripts are scored incrementally). */
    maxCommandsPerPass: number;
    /** Debounce after an edit, in ms. */
    debounceMs: number;
  };
  /** Absolute directory holding run directories (resolved by the client). */
  runsDirectory: string;
  /** Files larger than this many bytes are not scored. */
  maxFileBytes: number;
  /**
   * A server that runs the model (`inversion serve`, vLLM, SGLang), or "" for this machine. Read from the user's (or
   * the remote machine's) settings only, never a workspace's: a repository cannot send prompts anywhere.
   */
  backend: string;
}

const RUN_DEFAULTS = defaultRunParams();

export const DEFAULT_SETTINGS: InversionSettings = {
  model: "",
  gpu: RUN_DEFAULTS.gpu,
  threads: RUN_DEFAULTS.threads,
  cycles: RUN_DEFAULTS.cycles,
  tasks: RUN_DEFAULTS.tasks,
  candidates: RUN_DEFAULTS.candidates,
  threshold: RUN_DEFAULTS.threshold,
  temperature: RUN_DEFAULTS.temperature,
  learningRate: RUN_DEFAULTS.learningRate,
  loraRank: RUN_DEFAULTS.loraRank,
  learn: RUN_DEFAULTS.learn,
  seed: RUN_DEFAULTS.seed,
  examples: RUN_DEFAULTS.examples,
  decodeSequences: RUN_DEFAULTS.decodeSequences,
  hoverAdapter: "best",
  diagnostics: { enabled: true, maxCommandsPerPass: 20, debounceMs: 400 },
  runsDirectory: "",
  maxFileBytes: 2_000_000,
  backend: "",
};

// ---------------------------------------------------------------------------------------------------------------
// Server -> client
// ---------------------------------------------------------------------------------------------------------------

export type ModelState = "none" | "missing" | "loading" | "ready" | "error";

/** The model's state and the comment check's. Where a run stands is in its view alone (`RunView`, sent by `RunViewNotification`). */
export interface ServerStatus {
  /** The server's process id (lets tests and the status tooltip tell restarts apart). */
  pid: number;
  model: ModelState;
  /** The model path or URI the state is about. */
  modelPath: string | null;
  /** The adapter hovers and diagnostics use; null = base model. */
  adapterPath: string | null;
  /** Human-readable detail: the loading step, the error, why the model is missing. */
  message: string | null;
  /** Loading progress in [0, 1] when known. */
  progress?: number;
  /** The loaded model's self-check: how often it tells a matching comment from a wrong one; null until measured. */
  selfCheck: { auc: number; fit: boolean; summary: string } | null;
}

/** Sent whenever the model's state changes; drives the status-bar item with the live run's view (no pop-ups). */
export namespace StatusNotification {
  export const method = "inversion/status" as const;
  export const type = new NotificationType<ServerStatus>(method);
}

/** Sent once per model configuration when the configured model cannot be found (client shows one message). */
export namespace ModelMissingNotification {
  export const method = "inversion/modelMissing" as const;
  export interface Params {
    modelPath: string;
    reason: string;
  }
  export const type = new NotificationType<Params>(method);
}

/** The live run's view, whole, after every change (phase, training step, cycle); the client forwards it to the panel. */
export namespace RunViewNotification {
  export const method = "inversion/runView" as const;
  export const type = new NotificationType<RunView>(method);
}

/**
 * The codes of the errors Inversion's requests answer with, declared once for both sides (JSON-RPC reserves
 * -32768..-32000; LSP's own codes are there too).
 */
export const InversionErrorCodes = {
  /** Scoring the command failed (`inversion/scoreCommand`). */
  scoreFailed: 1,
  /** A run is already in progress or starting. */
  runInProgress: 2,
  /** The request's parameters are refused (an unknown field, a value out of range). */
  invalidParams: 3,
  /** The configured model cannot be used; the message says why ("Select model" is the remedy). */
  modelUnusable: 4,
  /** The run failed after it started. */
  runFailed: 5,
  /** A run directory (its cycles or examples) cannot be read. */
  runUnreadable: 6,
} as const;

export type InversionErrorCode = (typeof InversionErrorCodes)[keyof typeof InversionErrorCodes];

// ---------------------------------------------------------------------------------------------------------------
// Client -> server
// ---------------------------------------------------------------------------------------------------------------

/** The lines of a document visible in editors: background scoring of large scripts starts there. */
export namespace VisibleRangesNotification {
  export const method = "inversion/visibleRanges" as const;
  export interface Params {
    uri: string;
    /** 0-based inclusive line ranges. */
    ranges: { startLine: number; endLine: number }[];
  }
  export const type = new NotificationType<Params>(method);
}

/** Overrides of the run parameters for one run (tests use small runs); checked by the server before it starts. */
export type RunOverrides = Partial<RunParams> & {
  /** Explicit run directory; default a new timestamped directory under the runs directory. */
  out?: string;
  /** Continue the run in `out` with the parameters it recorded, to its recorded number of cycles (never the settings'):
   * of the run parameters only `cycles` may be given, as its new total. */
  resume?: boolean;
};

/**
 * Runs self-improvement cycles. Sends the run's view (`RunViewNotification`) as it starts and after every change,
 * and reports `$/progress` work-done progress (begin … report … end) saying the view's status and percent, for LSP
 * clients in general. Honours `$/cancelRequest` and work-done cancel: cancelling aborts the engine (and trainer)
 * through an AbortSignal. Answers with the run's final view (status finished or cancelled).
 */
export namespace RunCyclesRequest {
  export const method = "inversion/runCycles" as const;
  export interface Params {
    overrides?: RunOverrides;
    workDoneToken?: string | number;
  }
  export type Result = RunView;
  export const type = new RequestType<Params, Result, void>(method);
}

/** Stops the current run (same effect as cancelling the request). Resolves once the stop has been requested. */
export namespace StopRunRequest {
  export const method = "inversion/stopRun" as const;
  export interface Result {
    stopped: boolean;
  }
  export const type = new RequestType0<Result, void>(method);
}

export interface CommandScore {
  command: string;
  intent: string | null;
  range: { startLine: number; startCol: number; endLine: number; endCol: number };
  /** The model's greedy reading of the command. */
  reading: string;
  /** How strongly the command supports its own reading (score(reading, command)); null when not computable. */
  fidelity: ScoreResult | null;
  /** How well the comment's intent and the command agree (score(intent, command)); null without intent. */
  agreement: ScoreResult | null;
  adapterPath: string | null;
  /** Examples a run accepted that the reading's prompt could retrieve (its memory), and the run; null when none. */
  memory: { run: string; examples: number } | null;
}

/** Scores the command at a position (the "Score command at cursor" command). Null when no command is there. */
export namespace ScoreCommandRequest {
  export const method = "inversion/scoreCommand" as const;
  export interface Params {
    uri: string;
    position: { line: number; character: number };
  }
  export const type = new RequestType<Params, CommandScore | null, void>(method);
}

export interface RunInfo {
  runDir: string;
  name: string;
  /** ms since epoch of config.json. */
  time: number;
}

export namespace ListRunsRequest {
  export const method = "inversion/listRuns" as const;
  export interface Result {
    runsDirectory: string;
    runs: RunInfo[];
    latest: string | null;
  }
  export const type = new RequestType0<Result, void>(method);
}

/** The view of a run from its run directory (a past run, or the live one as stored so far). */
export namespace ReadRunRequest {
  export const method = "inversion/readRun" as const;
  export interface Params {
    runDir: string;
  }
  export type Result = RunView;
  export const type = new RequestType<Params, Result, void>(method);
}

/** Reloads the hover model (e.g. after "Select model"); settings are pulled again. */
export namespace ReloadModelRequest {
  export const method = "inversion/reloadModel" as const;
  export const type = new RequestType0<ServerStatus, void>(method);
}

// ---------------------------------------------------------------------------------------------------------------
// The run view (computed by the server, rendered by the client and the webview)
// ---------------------------------------------------------------------------------------------------------------

/** One chart point per cycle, projected from a cycle record by the server (server/src/view/runView.ts). */
export interface CyclePoint {
  cycle: number;
  /** Mean score of this cycle's training-task candidates (what selection saw). */
  selectionScore: number | null;
  /** Held-out mean score before / after this cycle's training (null when there are no held-out tasks or no training). */
  scoreBefore: number | null;
  scoreAfter: number | null;
  acceptanceRate: number;
  /** Mean training loss of this cycle (the same field the SVG report charts); null when it did not train. */
  trainLoss: number | null;
  /** Why this cycle did not train; null when it did. */
  trainSkipped: string | null;
  external: number | null;
}

/** Where a run stands: `stopping` is a running run asked to stop; `stored` is a run read from its directory with no live run behind it. */
export type RunViewState = "running" | "stopping" | "finished" | "cancelled" | "failed" | "stored";

export interface RunView {
  /** Increases with every view the server sends of this run: a front end keeps the highest it has seen. */
  version: number;
  runDir: string;
  points: CyclePoint[];
  state: RunViewState;
  /** One line on where the run stands ("Cycle 2/3: generating 4/20", "Run finished: …"), worded by the server. */
  status: string;
  /** How far the run has got, 0–100 (100 once it ended, and for a stored run): what progress bars show. */
  percent: number;
  /** The held-out score of the latest complete cycle, before → after its learning, worded ("held-out 0.312 → 0.420"); "" before the first. */
  heldOut: string;
  /** The run stopped before its last cycle, kept at least one complete cycle, and can be continued (the front end offers its own resume action). */
  resumable: boolean;
  /** What the panel shows in place of the charts while the run has no complete cycle ("" once it has one). */
  placeholder: string;
  /** A line under each chart saying what it shows that the lines alone do not ("" for none). */
  notes: ChartNotes;
}

/** The server's words under each chart of the panel. */
export interface ChartNotes {
  /** Held-out score: e.g. where "after" equals "before", so the two lines coincide. */
  score: string;
  /** Training loss: what it measures, why it can rise from cycle to cycle, and cycles without training. */
  loss: string;
}

/** One example a cycle accepted for training, as the panel lists it. */
export interface AcceptedExample {
  task: string;
  command: string;
  /** The model's reading of the command (what the score compares with the task). */
  reading: string;
  /** The score, worded ("0.62"). */
  score: string;
  /** Where the command came from: "the model", or "an example people wrote" (the retrieved example offered beside the model's). */
  from: string;
}

/** What one cycle of a run accepted as training examples, worded by the server. */
export interface CycleExamplesView {
  runDir: string;
  cycle: number;
  /** "Cycle 2 accepted 3 examples (3 of 4 tasks)." */
  title: string;
  examples: AcceptedExample[];
  /** "" or how many more there are and where they are ("… and 120 more in examples.jsonl of the run"). */
  more: string;
}

/** The examples one cycle of a run accepted (the panel's list under the charts). */
export namespace ReadCycleExamplesRequest {
  export const method = "inversion/readCycleExamples" as const;
  export interface Params {
    runDir: string;
    cycle: number;
  }
  export type Result = CycleExamplesView;
  export const type = new RequestType<Params, Result, void>(method);
}

// ---------------------------------------------------------------------------------------------------------------
// Extension host <-> webview (progress panel)
// ---------------------------------------------------------------------------------------------------------------

export type HostToWebview =
  /** The run to show, whole: sent on `ready`, when a run is opened, and after every change of the live run shown. */
  | { type: "view"; view: RunView }
  | { type: "runs"; runs: RunInfo[] }
  /** The examples a cycle accepted, answering `openCycle`. */
  | { type: "cycleExamples"; examples: CycleExamplesView }
  | { type: "error"; message: string };

export type WebviewToHost =
  | { type: "ready"; runDir: string | null }
  | { type: "openRun"; runDir: string }
  | { type: "refreshRuns" }
  /** Asks for the examples a cycle of the run shown accepted. */
  | { type: "openCycle"; runDir: string; cycle: number }
  /** Sent after every render: what the panel shows (lets the host and tests know the points arrived). */
  | { type: "rendered"; runDir: string | null; points: number };

/** What the webview persists with setState (and the serializer gets back after a reload). */
export interface WebviewState {
  view: RunView | null;
  runs: RunInfo[];
  /** The last error from the host, shown until the next view. */
  error: string;
  /** The accepted examples of the cycle last asked for, and whether the user chose that cycle (else the panel follows the latest). */
  examples: CycleExamplesView | null;
  cycleChosen: boolean;
}

/** Checks a message from the webview field by field: the webview's content is not trusted. */
export function isWebviewToHost(m: unknown): m is WebviewToHost {
  if (!m || typeof m !== "object" || Array.isArray(m)) return false;
  const msg = m as Record<string, unknown>;
  const runDirOrNull = msg.runDir === null || typeof msg.runDir === "string";
  switch (msg.type) {
    case "ready":
      return runDirOrNull;
    case "openRun":
      return typeof msg.runDir === "string";
    case "refreshRuns":
      return true;
    case "openCycle":
      return typeof msg.runDir === "string" && Number.isSafeInteger(msg.cycle) && (msg.cycle as number) >= 1;
    case "rendered":
      return runDirOrNull && typeof msg.points === "number";
    default:
      return false;
  }
}
