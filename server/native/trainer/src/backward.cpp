#include "backward.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <memory>
#include <thread>

namespace inv {

// Runs fn(begin, end) over [0, n) split into `threads` contiguous ranges.
template <typename Fn> static void parallel_ranges(int64_t n, int threads, Fn fn) {
    const int workers = (int) std::max<int64_t>(1, std::min<int64_t>(threads, n));
    std::vector<std::thread> pool;
    for (int t = 1; t < workers; ++t) pool.emplace_back([&, t] { fn(n * t / workers, n * (t + 1) / workers); });
    fn(0, n / workers);
    for (auto & th : pool) th.join();
}

FrozenTransposes::FrozenTransposes(const std::vector<ggml_tensor *> & frozen, ggml_type type, int threads)
    : frozen_(frozen.begin(), frozen.end()), type_(type), threads_(std::max(1, threads)) {
    if (type != GGML_TYPE_F32 && type != GGML_TYPE_F16 && type != GGML_TYPE_Q8_0) {
        throw std::invalid_argument("transposed weights are F32, F16 or Q8_0");
    }
}

FrozenTransposes::~FrozenTransposes() {
    for (auto * b : buffers_) ggml_backend_buffer_free(b);
    for (auto * c : contexts_) ggml_free(c);
}

// Q8_0 blocks run along a row of Wᵀ (W's output dimension); a row that is not a whole number of blocks stays F16.
ggml_type FrozenTransposes::type_for(const ggml_tensor * w) const {
    return w->ne[1] % ggml_blck_size(type_) == 0 ? type_ : GGML_TYPE_F16;
}

size_t FrozenTransposes::estimate(const std::vector<ggml_tensor *> & frozen, ggml_type type) {
    size_t total = 0, scratch = 0;
    for (const ggml_tensor * w : frozen) {
        if (ggml_n_dims(w) != 2) continue;
        const ggml_type t = w->ne[1] % ggml_blck_size(type) == 0 ? type : GGML_TYPE_F16;
        total += ggml_row_size(t, w->ne[1]) * (size_t) w->ne[0];
        scratch = std::max(scratch, (size_t) ggml_nelements(w) * sizeof(float));
    }
    return total + scratch;
}

ggml_tensor * FrozenTransposes::transposed(ggml_tensor * w) {
    auto found = made_.find(w);
    if (found != made_.end()) return found->second;
    const auto started = std::chrono::steady_clock::now();
    const int64_t n_in = w->ne[0], n_out = w->ne[1];
    const ggml_type t = type_for(w);

    ggml_init_params params = { ggml_tensor_overhead(), nullptr, /*no_alloc =*/ true };
    ggml_context * ctx = ggml_init(params);
    if (!ctx) throw std::runtime_error("out of memory for a transposed weight");
    contexts_.push_back(ctx);
    ggml_tensor * wt = ggml_new_tensor_2d(ctx, t, n_out, n_in);
    ggml_format_name(wt, "%.58s^T", w->name);
    ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors_from_buft(ctx, ggml_backend_cpu_buffer_type());
    if (!buf) throw std::runtime_error(std::string("out of memory for the transposed copy of ") + w->name);
    buffers_.push_back(buf);

    // W as F32 (in a scratch buffer reused across matrices: fresh pages cost more than the work), then Wᵀ's rows
    // (W's columns) gathered tile by tile and stored in their type
    const size_t n = (size_t) n_in * n_out;
    if (scratch_size_ < n) {
        scratch_.reset(new float[n]);
        scratch_size_ = n;
    }
    float * wf = scratch_.get();
    const ggml_type_traits * traits = ggml_get_type_traits(w->type);
    if (w->type != GGML_TYPE_F32 && !traits->to_float) throw std::runtime_error(std::string("cannot read ") + w->name + " as floats");
    const bool host = ggml_backend_buffer_is_host(w->buffer);
    std::vector<char> raw(host ? 0 : ggml_nbytes(w));
    if (!host) ggml_backend_tensor_get(w, raw.data(), 0, raw.size());
    const char * bytes = host ? (const char *) w->data : raw.data();
    parallel_ranges(n_out, threads_, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const char * row = bytes + (size_t) r * w->nb[1];
            if (w->type == GGML_TYPE_F32) std::memcpy(wf + (size_t) r * n_in, row, (size_t) n_in * sizeof(float));
            else traits->to_float(row, wf + (size_t) r * n_in, n_in);
        }
    });
    const size_t row_bytes = ggml_row_size(t, n_out);
    parallel_ranges(n_in, threads_, [&](int64_t k0, int64_t k1) {
        constexpr int64_t ROWS = 16, TILE = 256;
        std::vector<float> rows(t == GGML_TYPE_F32 ? 0 : (size_t) ROWS * n_out);
        for (int64_t k = k0; k < k1; k += ROWS) {
            const int64_t nk = std::min(ROWS, k1 - k);
            // F32 rows go straight into the tensor; other types through one block of rows
            float * dst = t == GGML_TYPE_F32 ? (float *) ((char *) wt->data + (size_t) k * row_bytes) : rows.data();
            for (int64_t o0 = 0; o0 < n_out; o0 += TILE) {
                const int64_t o1 = std::min(n_out, o0 + TILE);
                for (int64_t j = 0; j < nk; ++j) {
                    float * out = dst + (size_t) j * n_out;
                    for (int64_t o = o0; o < o1; ++o) out[o] = wf[(size_t) o * n_in + k + j];
                }
            }
            if (t != GGML_TYPE_F32) ggml_quantize_chunk(t, rows.data(), (char *) wt->data + (size_t) k * row_bytes, 0, nk, n_out, nullptr);
        }
    });
    bytes_ += ggml_nbytes(wt);
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    made_[w] = wt;
    return wt;
}

int FrozenTransposes::rewrite(ggml_cgraph * graph) {
    int rewritten = 0;
    for (int i = 0; i < ggml_graph_n_nodes(graph); ++i) {
        ggml_tensor * node = ggml_graph_node(graph, i);
        if (node->op != GGML_OP_OUT_PROD) continue;
        ggml_tensor * w = node->src[0];
        ggml_tensor * g_t = node->src[1];
        if (!frozen_.count(w) || !g_t || g_t->op != GGML_OP_TRANSPOSE || !g_t->src[0]) continue;
        ggml_tensor * g = g_t->src[0];
        const bool shapes = ggml_n_dims(w) == 2 && g->ne[2] == 1 && g->ne[3] == 1 && g->ne[0] == w->ne[1] &&
                            node->ne[0] == w->ne[0] && node->ne[1] == g->ne[1] && node->ne[2] == 1 && node->ne[3] == 1;
        if (!shapes || g->type != GGML_TYPE_F32 || g->nb[0] != sizeof(float) || node->type != GGML_TYPE_F32) continue;
        if (!w->buffer || !ggml_backend_buffer_is_host(w->buffer)) continue;
        node->op = GGML_OP_MUL_MAT;
        node->src[0] = transposed(w);
        node->src[1] = g;
        ++rewritten;
    }
    scratch_.reset();  // every copy this graph needs is made: later steps make none
    scratch_size_ = 0;
    return rewritten;
}

}  // namespace inv
