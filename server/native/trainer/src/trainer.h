// Inversion native trainer: LoRA (and full-parameter) fine-tuning through llama.cpp's llama_opt API,
// linked against the prebuilt libraries node-llama-cpp ships. Independent of N-API.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

// Options, Result, Example and the option enums: declared in server/src/engine/train/contract.ts.
#include "contract.generated.h"

namespace inv {

struct Progress {
    int step = 0;
    int total_steps = 0;
    int epoch = 0;
    double loss = 0;
    double learning_rate = 0;
    int checkpoint_step = 0;
    double tokens_per_second = 0;
};

// Loads the CPU backends of `dir` and the GPU backend libraries the system can load, once per process.
void init_backends(const std::string & dir, const std::vector<std::string> & gpu_libs);

Result train(const Options & opts, const std::function<void(const Progress &)> & on_progress,
             const std::atomic<bool> & cancel);

// For the tools addon only (tests and benchmarks; the shipped addon has no way to reach them).
struct NamedValues {
    std::string name;
    std::vector<float> values;
};
// The gradient of every trainable tensor at the first training step (on the first window), as train() computes it.
// mask_everything masks every row, so every gradient must come out exactly zero.
std::vector<NamedValues> first_step_gradients(const Options & opts, bool mask_everything);

// Forward-only prompt-processing throughput on the same model/context (for benchmarks).
struct ForwardBench {
    int64_t tokens = 0;
    double seconds = 0;
    double warmup_seconds = 0;  // the untimed first window: first touch of the weights and buffers, graph reservation
};
ForwardBench bench_forward(const std::string & model_path, const std::string & backend_dir,
                           int context_size, int threads, int windows);

}  // namespace inv
