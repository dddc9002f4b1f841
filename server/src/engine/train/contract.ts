// The native trainer's contract, declared once: every option of the addon's train() and every field of its result.
// The TypeScript types (NativeTrainOptions, NativeTrainResult) are derived from these tables, and so is the C++ side:
// server/native/trainer/src/contract.generated.h (the Options and Result structs with their defaults, the value checks)
// and contract.generated.inc (the N-API conversions), written by `node --import tsx scripts/gen-trainer-contract.ts`
// and checked against these tables by test/unit/trainerContract.test.ts. The trainer validates values in one place,
// its C++ validate_options: the generated range checks here, plus the rules that tie options together.

interface Base {
  /** The field of the C++ struct. */
  cxx: string;
  doc: string;
}
type Spec =
  | (Base & { kind: "string"; default?: string })
  | (Base & { kind: "strings" })
  | (Base & { kind: "examples" })
  | (Base & { kind: "bool"; default: boolean })
  | (Base & { kind: "int" | "int64" | "uint32" | "float" | "double"; default: number; min?: number; check?: string })
  | (Base & { kind: "choice"; choices: readonly string[]; default: string; cxxEnum: string; aliases?: Readonly<Record<string, string>> })
  | (Base & { kind: "flag"; choices: readonly [string, string]; default: string });

function option<const S extends Spec>(spec: S): S {
  return spec;
}

export const TRAIN_OPTIONS = {
  baseModelPath: option({ kind: "string", cxx: "model_path", doc: "the base model (GGUF)" }),
  outPath: option({ kind: "string", cxx: "out_path", doc: "final path; written via outPath + \".tmp\" then renamed" }),
  initAdapterPath: option({ kind: "string", cxx: "init_adapter_path", doc: "continue this adapter" }),
  backendDir: option({ kind: "string", cxx: "backend_dir", doc: "directory with libggml-cpu-*.so (node-llama-cpp bins)" }),
  device: option({ kind: "string", cxx: "device", default: "CPU", doc: "ggml device that holds the layers: \"CPU\" or a GPU device (\"CUDA0\"), chosen by train/backend.ts" }),
  gpuLibs: option({ kind: "strings", cxx: "gpu_libs", doc: "GPU backend libraries to load beside the CPU backends" }),
  mode: option({ kind: "flag", cxx: "full", choices: ["lora", "full"], default: "lora", doc: "\"full\": full-parameter training instead of LoRA" }),
  rank: option({ kind: "int", cxx: "rank", default: 8, doc: "LoRA rank of a fresh adapter" }),
  alpha: option({ kind: "float", cxx: "alpha", default: 8, doc: "LoRA alpha of a fresh adapter" }),
  targets: option({ kind: "strings", cxx: "targets", doc: "tensor name suffixes to adapt, e.g. attn_q" }),
  learningRate: option({ kind: "float", cxx: "learning_rate", default: 1e-4, check: "v > 0 && std::isfinite(v)", doc: "must be a positive number" }),
  epochs: option({ kind: "int", cxx: "epochs", default: 1, min: 1, doc: "passes over the examples" }),
  batchSize: option({ kind: "int", cxx: "batch_size", default: 0, min: 0, doc: "max examples packed in one window (one optimizer step); 0: as many as fit" }),
  contextSize: option({ kind: "int", cxx: "context_size", default: 64, min: 8, doc: "tokens per training window" }),
  threads: option({ kind: "int", cxx: "threads", default: 1, min: 1, doc: "CPU threads" }),
  seed: option({ kind: "uint32", cxx: "seed", default: 1, doc: "seeds the fresh adapter and the window order" }),
  masking: option({ kind: "choice", cxx: "masking", cxxEnum: "Masking", choices: ["completion", "none"], aliases: { softmax: "completion" }, default: "completion", doc: "\"completion\": loss and gradient on completion rows only (masked rows' logits are multiplied by 0 in the training graph; \"softmax\", its name until 2026-12, is still read); \"none\": every row is trained" }),
  packing: option({ kind: "choice", cxx: "packing", cxxEnum: "Packing", choices: ["examples", "stream"], default: "examples", doc: "\"examples\": whole examples packed into a window, padded; \"stream\": examples concatenated into one stream cut into full windows (masking \"none\")" }),
  transposedWeights: option({ kind: "choice", cxx: "transposed_weights", cxxEnum: "TransposedWeights", choices: ["auto", "none", "f32", "f16", "q8_0"], default: "auto", doc: "how the gradient passes back through the frozen matrices on the CPU (backward.h): a transposed copy of each in f32, f16 or q8_0, multiplied on the forward kernels; \"none\": ggml's OUT_PROD; \"auto\": f32 when it fits in memory, else f16, else none" }),
  warmupSteps: option({ kind: "int", cxx: "warmup_steps", default: 0, min: 0, doc: "linear learning-rate warmup over this many steps" }),
  minLearningRate: option({ kind: "float", cxx: "min_learning_rate", default: -1, doc: "cosine decay to this learning rate at the last step; < 0: constant after warmup" }),
  checkpointDir: option({ kind: "string", cxx: "checkpoint_dir", doc: "checkpoints (weights and AdamW state) go here" }),
  checkpointEverySeconds: option({ kind: "double", cxx: "checkpoint_every_seconds", default: 0, min: 0, doc: "seconds between checkpoints; 0: only on cancel and pause" }),
  resume: option({ kind: "bool", cxx: "resume", default: false, doc: "continue from the checkpoint in checkpointDir" }),
  maxSeconds: option({ kind: "double", cxx: "max_seconds", default: 0, min: 0, doc: "> 0: pause (checkpoint, no output) after this long" }),
  maxSteps: option({ kind: "int64", cxx: "max_steps", default: 0, min: 0, doc: "> 0: pause like maxSeconds after this many steps of this call" }),
  lossWindows: option({ kind: "int", cxx: "loss_windows", default: 0, min: -1, doc: "windows used for lossFirst / lossLast: 0 all, n the first n, -1 none" }),
  examples: option({ kind: "examples", cxx: "examples", doc: "(prompt, completion) pairs" }),
} as const;

type ResultSpec = Base & { kind: "string" | "bool" | "int" | "int64" | "float" | "double" };
function field<const S extends ResultSpec>(spec: S): S {
  return spec;
}

export const TRAIN_RESULT = {
  outPath: field({ kind: "string", cxx: "out_path", doc: "the trained file (\"\" when cancelled or paused)" }),
  masking: field({ kind: "string", cxx: "masking", doc: "how the loss was restricted to completion tokens, in words" }),
  lossFirst: field({ kind: "double", cxx: "loss_first", doc: "mean loss over the loss windows before training" }),
  lossLast: field({ kind: "double", cxx: "loss_last", doc: "the same after training" }),
  lossMean: field({ kind: "double", cxx: "loss_mean", doc: "mean of the steps' losses" }),
  steps: field({ kind: "int", cxx: "steps", doc: "optimizer steps taken" }),
  tokens: field({ kind: "int64", cxx: "tokens", doc: "positions processed (windows x context), the compute measure" }),
  lossTokens: field({ kind: "int64", cxx: "loss_tokens", doc: "positions that carried loss over all epochs (completion tokens + EOS)" }),
  windows: field({ kind: "int64", cxx: "windows", doc: "packed context windows per epoch (one optimizer step each)" }),
  seconds: field({ kind: "double", cxx: "seconds", doc: "time spent in training steps" }),
  tokensPerSecond: field({ kind: "double", cxx: "tokens_per_second", doc: "tokens / seconds" }),
  cancelled: field({ kind: "bool", cxx: "cancelled", doc: "stopped by cancel()" }),
  paused: field({ kind: "bool", cxx: "paused", doc: "stopped at maxSeconds or maxSteps with a checkpoint; train again with resume" }),
  resumedFromStep: field({ kind: "int64", cxx: "resumed_from_step", doc: "the checkpoint step this call started from" }),
  checkpointStep: field({ kind: "int64", cxx: "checkpoint_step", doc: "step of the last checkpoint" }),
  checkpointWeights: field({ kind: "string", cxx: "checkpoint_weights", doc: "weights file of the last checkpoint written or resumed from" }),
  rank: field({ kind: "int", cxx: "rank", doc: "the adapter's rank" }),
  alpha: field({ kind: "float", cxx: "alpha", doc: "the adapter's alpha" }),
  adaptedTensors: field({ kind: "int", cxx: "adapted_tensors", doc: "matrices with an adapter" }),
  trainableParams: field({ kind: "int64", cxx: "trainable_params", doc: "values trained" }),
  architecture: field({ kind: "string", cxx: "architecture", doc: "the base model's general.architecture" }),
  transposedType: field({ kind: "string", cxx: "transposed_type", doc: "type of the frozen matrices' transposed copies (\"f32\", \"f16\", \"q8_0\"), or \"\" without them" }),
  transposedProducts: field({ kind: "int", cxx: "transposed_products", doc: "backward products of the last step computed with a transposed copy" }),
  transposedBytes: field({ kind: "int64", cxx: "transposed_bytes", doc: "memory the transposed copies held" }),
  transposeSeconds: field({ kind: "double", cxx: "transpose_seconds", doc: "time spent making them (inside seconds: the first step pays it)" }),
} as const;

type OptionValue<S> = S extends { kind: "string" } ? string
  : S extends { kind: "strings" } ? string[]
  : S extends { kind: "examples" } ? { prompt: string; completion: string }[]
  : S extends { kind: "bool" } ? boolean
  : S extends { kind: "choice" | "flag"; choices: readonly (infer C)[] } ? C
  : number;
type ResultValue<S> = S extends { kind: "string" } ? string : S extends { kind: "bool" } ? boolean : number;

/** The values train() accepts, each optional (an absent one takes the default above). */
export type TrainOptionValues = { -readonly [K in keyof typeof TRAIN_OPTIONS]?: OptionValue<(typeof TRAIN_OPTIONS)[K]> };
/** What train() resolves to. */
export type TrainResultValues = { -readonly [K in keyof typeof TRAIN_RESULT]: ResultValue<(typeof TRAIN_RESULT)[K]> };
