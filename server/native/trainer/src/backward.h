// The input gradient through a frozen weight matrix, on the forward pass's kernels.
//
// For y = W·x with W frozen, ggml's backward builds dx = OUT_PROD(W, transpose(dy)). Its CPU backend computes
// OUT_PROD by dequantizing W one row at a time for every output row block and accumulating with scalar
// multiply-adds: at the 0.5B shape that is 80% of a LoRA step (docs/BENCHMARKS.md, "Training profile"). The same
// product is MUL_MAT(Wᵀ, dy), which runs on the optimized matrix kernels the forward pass uses. FrozenTransposes
// makes Wᵀ once per training, in a chosen type, and rewrites each such OUT_PROD node of an allocated training graph
// into that MUL_MAT. Only frozen weights held in host memory and computed on the CPU are rewritten; a GPU backend's
// OUT_PROD is already a matrix multiplication.
#pragma once

#include <cstddef>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ggml.h"
#include "ggml-backend.h"

namespace inv {

class FrozenTransposes {
public:
    // `frozen`: the model's weight tensors that are not trained. `type`: the type Wᵀ is stored in (F32: exact up to
    // summation order; F16 or Q8_0: smaller, and the gradient is rounded to that type before the product, as the
    // forward pass rounds activations).
    FrozenTransposes(const std::vector<ggml_tensor *> & frozen, ggml_type type, int threads);
    ~FrozenTransposes();
    FrozenTransposes(const FrozenTransposes &) = delete;
    FrozenTransposes & operator=(const FrozenTransposes &) = delete;

    // Rewrites the graph's OUT_PROD(W, transpose(g)) nodes with W frozen into MUL_MAT(Wᵀ, g); Wᵀ is made on first
    // use. Call after the graph is allocated and before it is computed. Returns the number of nodes rewritten.
    int rewrite(ggml_cgraph * graph);
    // Bytes held by the transposed copies made so far.
    size_t bytes() const { return bytes_; }
    // Seconds spent making them (part of the first training step).
    double seconds() const { return seconds_; }
    // The bytes the transposed copies of these weights would take in `type`, with the scratch buffer that makes them
    // (a memory estimate before training).
    static size_t estimate(const std::vector<ggml_tensor *> & frozen, ggml_type type);

private:
    ggml_tensor * transposed(ggml_tensor * w);
    ggml_type type_for(const ggml_tensor * w) const;

    std::unordered_set<const ggml_tensor *> frozen_;
    std::unordered_map<const ggml_tensor *, ggml_tensor *> made_;
    std::vector<ggml_context *> contexts_;
    std::vector<ggml_backend_buffer_t> buffers_;
    std::unique_ptr<float[]> scratch_;  // the matrix being transposed, as F32
    size_t scratch_size_ = 0;
    ggml_type type_;
    int threads_;
    size_t bytes_ = 0;
    double seconds_ = 0;
};

}  // namespace inv
