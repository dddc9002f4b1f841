// Inversion native trainer: LoRA (and full-parameter) fine-tuning through llama.cpp's llama_opt API,
// linked against the prebuilt libraries node-llama-cpp ships. Independent of N-API.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace inv {

struct Example {
    std::string prompt;
    std::string completion;
};

// How the loss is restricted to completion tokens.
//  - "softmax": masked rows get the model's own softmax as their label, computed by the same CPU
//    kernels the cross-entropy backward uses, so their gradient is (softmax - softmax) = 0.
//    Exact (bit-for-bit zero gradient) on the CPU backend; costs one extra forward pass per step.
//  - "none": every position is trained (prompt, task text and padding too). Cheapest.
enum class Masking { Softmax, None };

// How examples become training windows.
//  - "examples": whole examples packed into a window, padded; an example never spans two windows.
//  - "stream": examples (shuffled) concatenated into one token stream cut into full windows, as
//    language-model pretraining does; needs Masking::None.
enum class Packing { Examples, Stream };

struct Options {
    std::string model_path;
    std::string out_path;           // final path; written via out_path + ".tmp" then renamed
    std::string init_adapter_path;  // optional: continue this adapter
    std::string backend_dir;        // directory with libggml-cpu-*.so (node-llama-cpp bins)
    // ggml device that holds the layers: "CPU", or a GPU device ggml has loaded ("CUDA0", "Vulkan0"). The choice is
    // made by the caller (server/src/engine/train/backend.ts); masking is exact only on "CPU".
    std::string device = "CPU";
    // GPU backend libraries (libggml-cuda.so, libggml-vulkan.so) to load beside the CPU backends of backend_dir
    std::vector<std::string> gpu_libs;
    bool full = false;              // full-parameter mode instead of LoRA
    int rank = 8;
    float alpha = 8.0f;
    std::vector<std::string> targets;
    float learning_rate = 1e-4f;
    int epochs = 1;
    int batch_size = 0;             // max examples packed in one window (= one optimizer step); 0 = as many as fit
    int context_size = 64;
    int threads = 1;
    uint32_t seed = 1;
    Masking masking = Masking::Softmax;
    Packing packing = Packing::Examples;
    bool mask_everything = false;   // test hook: mask every row (gradient must be exactly zero)
    // learning-rate schedule: linear warmup over warmup_steps, then cosine decay to min_learning_rate
    // at the last step (min_learning_rate < 0: constant after warmup)
    int warmup_steps = 0;
    float min_learning_rate = -1.0f;
    // checkpoints (weights + AdamW state) every checkpoint_every_seconds into checkpoint_dir;
    // resume continues from the checkpoint there; max_seconds > 0 pauses (checkpoint, no output) after that long
    std::string checkpoint_dir;
    double checkpoint_every_seconds = 0;
    bool resume = false;
    double max_seconds = 0;
    int64_t max_steps = 0;          // > 0: pause like max_seconds after this many steps in this call
    // windows used for loss_first / loss_last: 0 = all, n = the first n, -1 = skip
    int loss_windows = 0;
    std::vector<Example> examples;
};

struct Progress {
    int step = 0;
    int total_steps = 0;
    int epoch = 0;
    double loss = 0;
    double learning_rate = 0;
    int checkpoint_step = 0;
    double tokens_per_second = 0;
};

struct Result {
    std::string out_path;
    std::string masking;
    double loss_first = 0, loss_last = 0, loss_mean = 0;
    int steps = 0;
    int64_t tokens = 0;            // positions processed (windows x context), the compute measure
    int64_t loss_tokens = 0;       // positions that carried loss (completion tokens incl. EOS)
    int64_t windows = 0;
    double seconds = 0;
    double tokens_per_second = 0;
    bool cancelled = false;
    bool paused = false;            // stopped at max_seconds with a checkpoint; run again with resume
    int64_t resumed_from_step = 0;
    int64_t checkpoint_step = 0;
    std::string checkpoint_weights;  // weights file of the last checkpoint written or resumed from
    int rank = 0;
    float alpha = 0;
    int adapted_tensors = 0;
    int64_t trainable_params = 0;
    std::string architecture;
};

// Loads the CPU backends of `dir` and the GPU backend libraries the system can load, once per process.
void init_backends(const std::string & dir, const std::vector<std::string> & gpu_libs);

Result train(const Options & opts, const std::function<void(const Progress &)> & on_progress,
             const std::atomic<bool> & cancel);

// Forward-only prompt-processing throughput on the same model/context (for benchmarks).
struct ForwardBench {
    int64_t tokens = 0;
    double seconds = 0;
};
ForwardBench bench_forward(const std::string & model_path, const std::string & backend_dir,
                           int context_size, int threads, int windows);

}  // namespace inv
