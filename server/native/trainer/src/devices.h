// The ggml devices the trainer could put a model's layers on, and which training ops each lacks.
#pragma once

#include <string>
#include <vector>

namespace inv {

struct TrainingDevice {
    std::string name;                      // ggml device name: "CPU", "CUDA0", "Vulkan0"
    std::string kind;                      // backend: "CPU", "CUDA", "Vulkan", or another registry name
    std::vector<std::string> missing_ops;  // ops of a LoRA training step on `model_path` the device cannot run
};

// Loads the backends (CPU from backend_dir, and each GPU backend library in gpu_libs that the system can load),
// then probes every device with the ops a LoRA training step on the model at model_path needs.
std::vector<TrainingDevice> training_devices(const std::string & backend_dir, const std::vector<std::string> & gpu_libs,
                                             const std::string & model_path);

}  // namespace inv
