// Generated from server/src/engine/train/contract.ts by scripts/gen-trainer-contract.ts: do not edit.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace inv {

struct Example {
    std::string prompt;
    std::string completion;
};

enum class Masking { Completion, None };
enum class Packing { Examples, Stream };
enum class TransposedWeights { Auto, None, F32, F16, Q8_0 };

// The options of train(), as the addon receives them.
struct Options {
    std::string model_path;  // baseModelPath: the base model (GGUF)
    std::string out_path;  // outPath: final path; written via outPath + ".tmp" then renamed
    std::string init_adapter_path;  // initAdapterPath: continue this adapter
    std::string backend_dir;  // backendDir: directory with libggml-cpu-*.so (node-llama-cpp bins)
    std::string device = "CPU";  // device: ggml device that holds the layers: "CPU" or a GPU device ("CUDA0"), chosen by train/backend.ts
    std::vector<std::string> gpu_libs;  // gpuLibs: GPU backend libraries to load beside the CPU backends
    bool full = false;  // mode: "full": full-parameter training instead of LoRA
    int rank = 8;  // rank: LoRA rank of a fresh adapter
    float alpha = 8.0f;  // alpha: LoRA alpha of a fresh adapter
    std::vector<std::string> targets;  // targets: tensor name suffixes to adapt, e.g. attn_q
    float learning_rate = 0.0001f;  // learningRate: must be a positive number
    int epochs = 1;  // epochs: passes over the examples
    int batch_size = 0;  // batchSize: max examples packed in one window (one optimizer step); 0: as many as fit
    int context_size = 64;  // contextSize: tokens per training window
    int threads = 1;  // threads: CPU threads
    uint32_t seed = 1;  // seed: seeds the fresh adapter and the window order
    Masking masking = Masking::Completion;  // masking: "completion": loss and gradient on completion rows only (masked rows' logits are multiplied by 0 in the training graph; "softmax", its name until 2026-12, is still read); "none": every row is trained
    Packing packing = Packing::Examples;  // packing: "examples": whole examples packed into a window, padded; "stream": examples concatenated into one stream cut into full windows (masking "none")
    TransposedWeights transposed_weights = TransposedWeights::Auto;  // transposedWeights: how the gradient passes back through the frozen matrices on the CPU (backward.h): a transposed copy of each in f32, f16 or q8_0, multiplied on the forward kernels; "none": ggml's OUT_PROD; "auto": f32 when it fits in memory, else f16, else none
    int warmup_steps = 0;  // warmupSteps: linear learning-rate warmup over this many steps
    float min_learning_rate = -1.0f;  // minLearningRate: cosine decay to this learning rate at the last step; < 0: constant after warmup
    std::string checkpoint_dir;  // checkpointDir: checkpoints (weights and AdamW state) go here
    double checkpoint_every_seconds = 0;  // checkpointEverySeconds: seconds between checkpoints; 0: only on cancel and pause
    bool resume = false;  // resume: continue from the checkpoint in checkpointDir
    double max_seconds = 0;  // maxSeconds: > 0: pause (checkpoint, no output) after this long
    int64_t max_steps = 0;  // maxSteps: > 0: pause like maxSeconds after this many steps of this call
    int loss_windows = 0;  // lossWindows: windows used for lossFirst / lossLast: 0 all, n the first n, -1 none
    std::vector<Example> examples;  // examples: (prompt, completion) pairs
};

// What train() returns.
struct Result {
    std::string out_path;  // outPath: the trained file ("" when cancelled or paused)
    std::string masking;  // masking: how the loss was restricted to completion tokens, in words
    double loss_first = 0;  // lossFirst: mean loss over the loss windows before training
    double loss_last = 0;  // lossLast: the same after training
    double loss_mean = 0;  // lossMean: mean of the steps' losses
    int steps = 0;  // steps: optimizer steps taken
    int64_t tokens = 0;  // tokens: positions processed (windows x context), the compute measure
    int64_t loss_tokens = 0;  // lossTokens: positions that carried loss over all epochs (completion tokens + EOS)
    int64_t windows = 0;  // windows: packed context windows per epoch (one optimizer step each)
    double seconds = 0;  // seconds: time spent in training steps
    double tokens_per_second = 0;  // tokensPerSecond: tokens / seconds
    bool cancelled = false;  // cancelled: stopped by cancel()
    bool paused = false;  // paused: stopped at maxSeconds or maxSteps with a checkpoint; train again with resume
    int64_t resumed_from_step = 0;  // resumedFromStep: the checkpoint step this call started from
    int64_t checkpoint_step = 0;  // checkpointStep: step of the last checkpoint
    std::string checkpoint_weights;  // checkpointWeights: weights file of the last checkpoint written or resumed from
    int rank = 0;  // rank: the adapter's rank
    float alpha = 0;  // alpha: the adapter's alpha
    int adapted_tensors = 0;  // adaptedTensors: matrices with an adapter
    int64_t trainable_params = 0;  // trainableParams: values trained
    std::string architecture;  // architecture: the base model's general.architecture
    std::string transposed_type;  // transposedType: type of the frozen matrices' transposed copies ("f32", "f16", "q8_0"), or "" without them
    int transposed_products = 0;  // transposedProducts: backward products of the last step computed with a transposed copy
    int64_t transposed_bytes = 0;  // transposedBytes: memory the transposed copies held
    double transpose_seconds = 0;  // transposeSeconds: time spent making them (inside seconds: the first step pays it)
};

// The first option outside its declared range, in words ("" when every value is in range).
inline std::string option_range_error(const Options & o) {
    { const auto v = o.learning_rate; if (!(v > 0 && std::isfinite(v))) return "learningRate must be a positive number"; }
    if (o.epochs < 1) return "epochs must be at least 1 (got " + std::to_string(o.epochs) + ")";
    if (o.batch_size < 0) return "batchSize must be at least 0 (got " + std::to_string(o.batch_size) + ")";
    if (o.context_size < 8) return "contextSize must be at least 8 (got " + std::to_string(o.context_size) + ")";
    if (o.threads < 1) return "threads must be at least 1 (got " + std::to_string(o.threads) + ")";
    if (o.warmup_steps < 0) return "warmupSteps must be at least 0 (got " + std::to_string(o.warmup_steps) + ")";
    if (o.checkpoint_every_seconds < 0) return "checkpointEverySeconds must be at least 0 (got " + std::to_string(o.checkpoint_every_seconds) + ")";
    if (o.max_seconds < 0) return "maxSeconds must be at least 0 (got " + std::to_string(o.max_seconds) + ")";
    if (o.max_steps < 0) return "maxSteps must be at least 0 (got " + std::to_string(o.max_steps) + ")";
    if (o.loss_windows < -1) return "lossWindows must be at least -1 (got " + std::to_string(o.loss_windows) + ")";
    return "";
}

}  // namespace inv
