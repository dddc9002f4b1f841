// The run parameters, each declared once: type, integer or not, default, range, CLI flag, editor setting and
// description. Everything else derives from or is checked against this table: the engine's RunOptions and its
// validation, the CLI's flags and --help, the editor's settings (DEFAULT_SETTINGS, readSettings, normalizeSettings)
// and the server's run options; test/unit/runParams.test.ts fails when package.json's settings drift from it.
// Pure data and functions: imported by common/protocol.ts, the engine, the CLI, the server and the client.

interface ParamBase {
  /** The CLI flag without the leading dashes. */
  flag: string;
  /** The editor setting `inversion.<setting>`, when the parameter is one. */
  setting?: string;
  description: string;
}

export interface NumberParam extends ParamBase {
  type: "number";
  integer: boolean;
  default: number;
  min: number;
  max: number;
  /** The minimum itself is not allowed (a learning rate of 0 trains nothing). */
  exclusiveMin?: boolean;
}

export interface ChoiceParam<T extends string = string> extends ParamBase {
  type: "choice";
  values: readonly T[];
  default: T;
  /** One per value, for the settings UI. */
  valueDescriptions?: readonly string[];
  /** Older names still accepted for a value (on the command line, said once, and in recorded runs), e.g. `seed` for `original`. */
  aliases?: Readonly<Record<string, T>>;
}

export interface SwitchParam extends ParamBase {
  type: "switch";
  default: boolean;
}

export type RunParam = NumberParam | ChoiceParam | SwitchParam;

const int = (min: number, max: number, def: number) => ({ type: "number" as const, integer: true, min, max, default: def });
const real = (min: number, max: number, def: number) => ({ type: "number" as const, integer: false, min, max, default: def });
const choice = <T extends string>(values: readonly T[], def: T) => ({ type: "choice" as const, values, default: def });

export const RUN_PARAMS = {
  cycles: { ...int(1, 1000, 3), flag: "cycles", setting: "cycles", description: "Self-improvement cycles per run." },
  tasks: { ...int(1, 10000, 20), flag: "tasks", setting: "tasks", description: "Tasks the model writes for itself in each cycle." },
  candidates: {
    ...int(1, 16, 3),
    flag: "candidates",
    setting: "candidates",
    description: "Candidate commands generated per task; the best-scoring one is kept if it passes the threshold.",
  },
  threshold: {
    ...real(0, 1, 0.5),
    flag: "threshold",
    setting: "threshold",
    description: "Minimum score (0–1) for a candidate command to be accepted as a training example.",
  },
  temperature: { ...real(0, 5, 0.7), flag: "temperature", setting: "temperature", description: "Sampling temperature when generating candidate commands." },
  seed: {
    ...int(0, 2 ** 31 - 1, 1),
    flag: "seed",
    setting: "seed",
    description: "Random seed of a run (task writing, sampling, training): the same seed repeats a run on the same machine.",
  },
  learn: {
    ...choice(["lora", "memory", "both", "none"] as const, "lora"),
    flag: "learn",
    setting: "learn",
    valueDescriptions: [
      "Train a LoRA adapter on the accepted examples after each cycle.",
      "Keep the accepted examples as the run's memory: later prompts retrieve them beside the shipped examples; no weights change.",
      "Both: a LoRA adapter, and the accepted examples as retrievable memory.",
      "Generate, score and select only; nothing is learned.",
    ],
    description:
      "How a run learns from the examples it accepts: LoRA weights, a memory its prompts retrieve from, both, or none. The default is lora: in docs/RESULTS.md it is the only one with a measured gain (small, on the cheat split, two seeds); the memory changed no answer.",
  },
  documentedFlags: {
    type: "switch" as const,
    default: false,
    flag: "documented-flags",
    description: "Refuse a candidate whose flags are not in its program's manual page on this machine (programs without a page pass).",
  },
  programCap: {
    ...int(0, 10000, 4),
    flag: "per-program",
    description: "Examples accepted per program in one cycle at most (0: no cap), so one program cannot crowd out the rest.",
  },
  // not a setting: external training runs a command line, which is taken only from the CLI (--train-command)
  trainer: {
    ...choice(["native", "external"] as const, "native"),
    flag: "trainer",
    description:
      "Who trains the LoRA adapter: native (Inversion's trainer, here) or external (your --train-command, e.g. TRL on a GPU node, on each cycle's data; the PEFT adapter it writes is loaded back). CLI only.",
  },
  learningRate: { ...real(0, 1, 2e-4), exclusiveMin: true, flag: "lr", setting: "learningRate", description: "LoRA learning rate." },
  loraRank: { ...int(1, 256, 16), flag: "lora-rank", setting: "loraRank", description: "LoRA rank (adapter size)." },
  loraAlpha: { ...real(0, 4096, 32), exclusiveMin: true, flag: "lora-alpha", description: "LoRA alpha (the adapter's scale is alpha / rank)." },
  epochs: { ...int(1, 100, 1), flag: "epochs", description: "Passes over the accepted examples in each training step." },
  batchSize: { ...int(1, 256, 4), flag: "batch-size", description: "Examples packed into one optimizer step at most." },
  policy: {
    ...choice(["retrain", "continue"] as const, "retrain"),
    flag: "policy",
    description: "retrain: a fresh adapter from the base each cycle on all data accepted so far; continue: keep training one adapter.",
  },
  scorer: {
    ...choice(["lift", "original", "coder-reviewer"] as const, "lift"),
    aliases: { seed: "original" },
    flag: "scorer",
    description:
      "The score selection uses (lift; original: the original experiment's, also accepted as seed; coder-reviewer: p(command | task)·p(task | command), Zhang et al. 2023, best with --threshold 0).",
  },
  compareScorers: { type: "switch" as const, default: false, flag: "compare-scorers", description: "Also score every candidate with the other scorer." },
  selection: {
    ...choice(["best", "all"] as const, "best"),
    flag: "select",
    description: "best: gates, threshold, best of N, no duplicates; all: train on every candidate (a baseline).",
  },
  judge: {
    ...choice(["base", "learner"] as const, "base"),
    aliases: { policy: "learner" },
    flag: "judge",
    description: "Which weights score: the frozen base model (base) or the learner, the adapter being trained (learner; also accepted as policy).",
  },
  heldOutTasks: { ...int(0, 10000, 0), flag: "held-out", description: "Held-out tasks (0: a quarter of --tasks, at least 4)." },
  evalSize: { ...int(1, 100000, 300), flag: "eval-size", description: "Pairs in the seeded held-out split of --eval." },
  examples: {
    ...int(0, 8, 3),
    flag: "examples",
    setting: "examples",
    description:
      "Examples written by people (the shipped example index) placed in the model's prompts for writing and reading commands, nearest first; 0 leaves them out.",
  },
  gpu: {
    ...choice(["auto", "off"] as const, "auto"),
    flag: "gpu",
    setting: "gpu",
    valueDescriptions: ["Use a GPU when node-llama-cpp finds one (CUDA, Vulkan, Metal), else the CPU.", "CPU only."],
    description: "Whether the model may run on a GPU.",
  },
  threads: {
    ...int(0, 256, 0),
    flag: "threads",
    setting: "threads",
    description:
      "CPU threads for the model. 0 chooses automatically: 1 for tiny models (under 64 MB, where more threads only add synchronisation), otherwise one per physical core.",
  },
  decodeSequences: {
    ...int(1, 64, 20),
    flag: "decode-sequences",
    setting: "decodeSequences",
    description:
      "Candidates decoded together at most: tasks are generated and scored side by side until their candidates (and the example offered beside them) fill this many sequences, so each decode carries them all (each sequence holds a context's memory). 1 decodes one candidate at a time.",
  },
  // not a setting: where the judge runs is chosen per run on the command line (the editor's runs use the default)
  backendFor: {
    ...choice(["all", "learner"] as const, "all"),
    flag: "backend-for",
    description:
      "With --backend: all (the learner and the judge run on the backend) or learner (the learner writes tasks and candidates there; the judge scores here, on --model).",
  },
} as const satisfies Record<string, RunParam>;

export type RunParamKey = keyof typeof RUN_PARAMS;

type ValueOf<P> = P extends { type: "number" } ? number : P extends { type: "switch" } ? boolean : P extends { values: readonly (infer T)[] } ? T : never;

/** The values of every run parameter. */
export type RunParams = { -readonly [K in RunParamKey]: ValueOf<(typeof RUN_PARAMS)[K]> };

export const RUN_PARAM_KEYS = Object.keys(RUN_PARAMS) as RunParamKey[];

export function defaultRunParams(): RunParams {
  const out: Record<string, unknown> = {};
  for (const key of RUN_PARAM_KEYS) out[key] = RUN_PARAMS[key].default;
  return out as RunParams;
}

function rangeText(p: NumberParam): string {
  const low = `${p.exclusiveMin ? "above" : "at least"} ${p.min}`;
  return `${p.integer ? "an integer" : "a number"} ${low} and at most ${p.max}`;
}

/** Why `value` is not a valid value of parameter `key`, or null when it is. */
export function paramProblem(key: RunParamKey, value: unknown): string | null {
  const p: RunParam = RUN_PARAMS[key];
  if (p.type === "switch") return typeof value === "boolean" ? null : `must be true or false (got ${JSON.stringify(value)})`;
  if (p.type === "choice") return p.values.includes(value as string) ? null : `must be one of ${p.values.join(", ")} (got ${JSON.stringify(value)})`;
  const ok =
    typeof value === "number" &&
    Number.isFinite(value) &&
    (!p.integer || Number.isInteger(value)) &&
    (p.exclusiveMin ? value > p.min : value >= p.min) &&
    value <= p.max;
  return ok ? null : `must be ${rangeText(p)} (got ${JSON.stringify(value)})`;
}

/** How a parameter is named to whoever set it: a CLI flag, an editor setting, a field of a request. */
export type ParamNaming = (key: RunParamKey) => string;
export const cliName: ParamNaming = (key) => `--${RUN_PARAMS[key].flag}`;
export const settingName: ParamNaming = (key) => {
  const s: string | undefined = (RUN_PARAMS[key] as RunParam).setting;
  return s ? `inversion.${s}` : key;
};

export class RunParamError extends RangeError {
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0] : `Invalid run parameters:\n  ${problems.join("\n  ")}`);
    this.name = "RunParamError";
  }
}

/** Checks every run parameter present in `values`; throws one error naming each bad one. */
export function checkRunParams(values: Partial<Record<RunParamKey, unknown>>, naming: ParamNaming = cliName): void {
  const problems: string[] = [];
  for (const key of RUN_PARAM_KEYS) {
    if (!Object.hasOwn(values, key) || values[key] === undefined) continue;
    const problem = paramProblem(key, values[key]);
    if (problem) problems.push(`${naming(key)} ${problem}.`);
  }
  if (problems.length) throw new RunParamError(problems);
}

/** A CLI argument's text as the parameter's value (not yet range-checked). */
export function fromCliText(key: RunParamKey, text: string | boolean): unknown {
  const p: RunParam = RUN_PARAMS[key];
  if (p.type === "switch" || typeof text === "boolean") return text;
  if (p.type === "choice") return canonicalChoice(p, text);
  const n = text.trim() === "" ? NaN : Number(text);
  if (!Number.isFinite(n)) throw new RunParamError([`${cliName(key)} needs a number, got "${text}".`]);
  return n;
}

function canonicalChoice(p: ChoiceParam, value: unknown): unknown {
  return typeof value === "string" ? (p.aliases?.[value] ?? value) : value;
}

/** Parameters that had another name: a recorded run's options and the CLI accept the old name and say the new one. */
export const RENAMED_PARAMS: Readonly<Record<string, RunParamKey>> = { train: "learn" };

/** `values` with every choice given by an older name (an alias) under its current name: a recorded run's options. */
export function withCurrentNames<T extends Partial<Record<RunParamKey, unknown>>>(values: T): T {
  const out: Record<string, unknown> = { ...values };
  for (const [old, key] of Object.entries(RENAMED_PARAMS)) {
    if (old in out && !(key in out)) out[key] = out[old];
    delete out[old];
  }
  for (const key of RUN_PARAM_KEYS) {
    const p: RunParam = RUN_PARAMS[key];
    if (p.type === "choice" && key in out) out[key] = canonicalChoice(p, out[key]);
  }
  return out as T;
}

/** The `run options` part of `inversion --help`. */
export function cliHelp(): string {
  return RUN_PARAM_KEYS.map((key) => {
    const p: RunParam = RUN_PARAMS[key];
    const arg = p.type === "number" ? (p.integer ? " N" : " X") : p.type === "choice" ? ` ${p.values.join("|")}` : "";
    return `  ${`--${p.flag}${arg}`.padEnd(26)} ${p.description} (default ${JSON.stringify(p.default)})`;
  }).join("\n");
}

/** The JSON-schema entry package.json's `contributes.configuration` must hold for a parameter that is a setting. */
export function manifestEntry(key: RunParamKey): Record<string, unknown> {
  const p: RunParam = RUN_PARAMS[key];
  if (p.type === "switch") return { type: "boolean", default: p.default, description: p.description };
  if (p.type === "choice") {
    return { type: "string", enum: [...p.values], default: p.default, ...(p.valueDescriptions ? { enumDescriptions: [...p.valueDescriptions] } : {}), description: p.description };
  }
  return {
    type: p.integer ? "integer" : "number",
    default: p.default,
    ...(p.exclusiveMin ? { exclusiveMinimum: p.min } : { minimum: p.min }),
    maximum: p.max,
    description: p.description,
  };
}

/** The parameters that are editor settings. */
export const SETTING_PARAM_KEYS = RUN_PARAM_KEYS.filter((key) => (RUN_PARAMS[key] as RunParam).setting !== undefined);
