#include "internals.h"

#include "ggml.h"
#include "ggml-backend.h"
#include "ggml-opt.h"
#include "../ggml/src/ggml-impl.h"  // struct ggml_cgraph (n_leafs)

// internal headers (version-specific layouts)
#include "llama-adapter.h"
#include "llama-batch.h"
#include "llama-context.h"
#include "llama-graph.h"
#include "llama-memory.h"
#include "llama-model.h"

#include <cstring>
#include <random>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#ifndef INV_LLAMA_CPP_TAG
#error "INV_LLAMA_CPP_TAG must be defined by the build (scripts/build-native.mjs)"
#endif
static_assert(std::string_view(INV_LLAMA_CPP_TAG) == "v0.5.0",
              "internals.cpp mirrors llama.cpp v0.5.0 structs; review every function here before changing the pin");

namespace inv::internals {

std::vector<LoraTensor> lora_tensors(llama_adapter_lora * adapter) {
    std::vector<LoraTensor> out;
    for (auto & kv : adapter->ab_map) out.push_back({ kv.first, kv.second.a, kv.second.b });
    return out;
}

float lora_alpha(llama_adapter_lora * adapter) { return adapter->alpha; }

int64_t lora_make_trainable(llama_adapter_lora * adapter) {
    int64_t n = 0;
    for (auto & kv : adapter->ab_map) {
        ggml_set_param(kv.second.a);
        ggml_set_param(kv.second.b);
        n += ggml_nelements(kv.second.a) + ggml_nelements(kv.second.b);
    }
    return n;
}

std::vector<ggml_tensor *> model_trainable_tensors(llama_model * model) {
    std::vector<ggml_tensor *> out;
    for (const auto & t : model->tensors_by_name) {
        if (t.second->flags & GGML_TENSOR_FLAG_PARAM) out.push_back(t.second);
    }
    return out;
}

bool model_train_input_embeddings(llama_model * model) {
    ggml_tensor * embeddings = model->tok_embd;
    const bool tied = !model->output || std::strcmp(model->output->name, "token_embd.weight") == 0;
    if (!embeddings || embeddings->type != GGML_TYPE_F32 || tied || (embeddings->flags & GGML_TENSOR_FLAG_PARAM)) return false;
    ggml_set_param(embeddings);
    return true;
}

std::vector<ggml_tensor *> model_frozen_tensors(llama_model * model) {
    std::vector<ggml_tensor *> out;
    for (const auto & t : model->tensors_by_name) {
        if (!(t.second->flags & GGML_TENSOR_FLAG_PARAM)) out.push_back(t.second);
    }
    return out;
}

int64_t model_tensor_count(llama_model * model) { return (int64_t) model->tensors_by_name.size(); }

void model_set_n_ctx_train(llama_model * model, uint32_t n_ctx_train) { model->hparams.n_ctx_train = n_ctx_train; }

// ---- graph budget

static const char * const BUDGET_KEY = "inversion.graph-budget";

static llama_adapter_lora * find_budget(llama_model * model) {
    for (auto * lora : model->loras) {
        if (lora->gguf_kv.count(BUDGET_KEY)) return lora;
    }
    return nullptr;
}

void reserve_graph_nodes(llama_model * model, uint32_t extra_nodes) {
    release_graph_nodes(model);
    auto * budget = new llama_adapter_lora(model);
    budget->alpha = 0.0f;
    budget->gguf_kv[BUDGET_KEY] = std::to_string(extra_nodes);
    // get_n_nodes() counts 6 graph nodes per entry; the entries have no tensors and are never
    // attached to a context, so no graph ever looks them up.
    const uint32_t entries = (extra_nodes + 5) / 6;
    budget->ab_map.reserve(entries);
    for (uint32_t i = 0; i < entries; ++i) {
        budget->ab_map.emplace(std::string(BUDGET_KEY) + "." + std::to_string(i), llama_adapter_lora_weight());
    }
    model->loras.insert(budget);
}

void release_graph_nodes(llama_model * model) {
    if (llama_adapter_lora * budget = find_budget(model)) {
        model->loras.erase(budget);
        delete budget;
    }
}

// ---- the optimizer context llama_opt_init created (llama_context::opt_ctx is private: reached through
// an explicit instantiation, which may name private members)

template <typename Tag, typename Tag::type Member> struct PrivateAccess {
    friend typename Tag::type member_of(Tag) { return Member; }
};
struct LlamaContextOptCtx {
    using type = ggml_opt_context_t llama_context::*;
    friend type member_of(LlamaContextOptCtx);
};
template struct PrivateAccess<LlamaContextOptCtx, &llama_context::opt_ctx>;

ggml_opt_context * context_opt(llama_context * ctx) { return ctx->*member_of(LlamaContextOptCtx()); }

#define INV_PRIVATE(TAG, TYPE, MEMBER)                                  \
    struct TAG {                                                        \
        using type = TYPE;                                              \
        friend type member_of(TAG);                                     \
    };                                                                  \
    template struct PrivateAccess<TAG, &llama_context::MEMBER>;

INV_PRIVATE(CtxCparams, llama_cparams llama_context::*, cparams)
INV_PRIVATE(CtxMemory, llama_memory_ptr llama_context::*, memory)
INV_PRIVATE(CtxBalloc, std::unique_ptr<llama_batch_allocr> llama_context::*, balloc)
using SeqEmbeddings = std::map<llama_seq_id, std::vector<float>>;
INV_PRIVATE(CtxEmbdSeq, SeqEmbeddings llama_context::*, embd_seq)
INV_PRIVATE(CtxNOutputs, uint32_t llama_context::*, n_outputs)
INV_PRIVATE(CtxQueued, int64_t llama_context::*, n_queued_tokens)
INV_PRIVATE(CtxResActive, llm_graph_result * llama_context::*, gf_res_prev_active)
INV_PRIVATE(CtxOutputReserve, uint32_t (llama_context::*)(int32_t), output_reserve)
INV_PRIVATE(CtxGfResPrev, llm_graph_result * (llama_context::*)(), get_gf_res_prev)
INV_PRIVATE(CtxGraphParams,
            llm_graph_params (llama_context::*)(llm_graph_result *, const llama_ubatch &, const llama_memory_context_i *,
                                                llm_graph_type) const,
            graph_params)
#undef INV_PRIVATE

// ---- attention gradients past the KV cache
//
// llama.cpp's attention writes K and V into the KV cache (SET_ROWS) and reads them back as views of the cache
// tensor, a graph leaf: the backward pass therefore never reaches K or V, so llama_opt trains no attn_k/attn_v
// weight (nor LoRA on them) and nothing upstream learns what later positions read. In a training window the
// cache is cleared and token t lands in cell t, so each cache read can instead view a copy of the cache whose
// first cells are set from the current K/V (GGML_OP_SET, which has a backward): same values, gradients flow.

static bool is_kv_cache(const ggml_tensor * t) {
    return t && t->op == GGML_OP_NONE && (std::strncmp(t->name, "cache_k_l", 9) == 0 || std::strncmp(t->name, "cache_v_l", 9) == 0);
}

// The cache as the current window's values would leave it, built from the SET_ROWS node that stores them.
static ggml_tensor * cache_with_current(ggml_context * ctx, ggml_tensor * store, ggml_tensor * cache, uint32_t n_tokens) {
    if (cache->ne[2] != 1 || cache->ne[3] != 1) throw std::runtime_error("training needs a single-stream KV cache");
    if ((uint64_t) cache->ne[1] < n_tokens) throw std::runtime_error("the KV cache is smaller than the training window");
    ggml_tensor * rows = store->src[0];  // [n_embd_gqa, n_tokens], or [1, n_embd_gqa * n_tokens] for a transposed V
    if (rows->type != GGML_TYPE_F32 || cache->type != GGML_TYPE_F32) throw std::runtime_error("training needs an F32 KV cache");
    const int64_t width = ggml_nelements(rows) / n_tokens;
    if (rows->ne[0] != 1) {  // one cache row per token (K, and V when it is not transposed)
        if (rows->ne[0] != cache->ne[0] || rows->ne[1] != (int64_t) n_tokens) throw std::runtime_error("unexpected KV store shape");
        return ggml_set_2d(ctx, cache, rows, cache->nb[1], 0);
    }
    // transposed V: the cache holds [kv_size] values per channel
    if (width != cache->ne[0]) throw std::runtime_error("padded V caches are not supported in training");
    ggml_tensor * by_channel = ggml_reshape_2d(ctx, cache, cache->ne[1], cache->ne[0]);
    ggml_tensor * values = ggml_cont(ctx, ggml_transpose(ctx, ggml_reshape_2d(ctx, rows, width, n_tokens)));
    return ggml_set_2d(ctx, by_channel, values, by_channel->nb[1], 0);
}

// Points every read of a KV cache tensor at a differentiable copy; returns the graph to train on (rebuilt, so
// the new nodes are ordered before their readers) and how many cache tensors were rerouted.
static ggml_cgraph * route_kv_gradients(ggml_context * ctx, ggml_cgraph * gf, uint32_t n_tokens, int & rerouted) {
    std::unordered_map<const ggml_tensor *, ggml_tensor *> store_of;  // cache leaf -> its SET_ROWS node
    std::unordered_set<const ggml_tensor *> store_chain;              // the store and the cache view it writes into
    for (int i = 0; i < ggml_graph_n_nodes(gf); ++i) {
        ggml_tensor * node = ggml_graph_node(gf, i);
        if (node->op != GGML_OP_SET_ROWS || !is_kv_cache(node->view_src)) continue;
        if (store_of.count(node->view_src)) throw std::runtime_error("a KV cache is written twice in one training graph");
        store_of[node->view_src] = node;
        store_chain.insert(node);
        store_chain.insert(node->src[2]);  // SET_ROWS: src[0] values, src[1] indices, src[2] destination
    }
    std::unordered_map<const ggml_tensor *, ggml_tensor *> copy_of;
    for (int i = 0; i < ggml_graph_n_nodes(gf); ++i) {
        ggml_tensor * node = ggml_graph_node(gf, i);
        ggml_tensor * cache = node->view_src;
        if (!is_kv_cache(cache) || store_chain.count(node)) continue;
        auto store = store_of.find(cache);
        if (store == store_of.end()) throw std::runtime_error(std::string("no store found for ") + cache->name);
        ggml_tensor *& copy = copy_of[cache];
        if (!copy) copy = cache_with_current(ctx, store->second, cache, n_tokens);
        node->view_src = copy;  // same layout as the cache: view offsets stay valid
        for (auto & src : node->src) {
            if (src == cache) src = copy;
        }
    }
    rerouted = (int) copy_of.size();
    ggml_cgraph * routed = ggml_new_graph_custom(ctx, ggml_graph_size(gf), false);
    for (int i = 0; i < ggml_graph_n_nodes(gf); ++i) ggml_build_forward_expand(routed, ggml_graph_node(gf, i));
    return routed;
}

// Checks that token t of the window is stored in cache cell t, which the rerouting relies on.
static void check_identity_cells(ggml_cgraph * gf, uint32_t n_tokens) {
    for (int i = 0; i < gf->n_leafs; ++i) {
        ggml_tensor * leaf = gf->leafs[i];
        if (std::strncmp(leaf->name, "attn_inp_k_idxs", 15) != 0) continue;
        std::vector<int64_t> idxs(n_tokens);
        ggml_backend_tensor_get(leaf, idxs.data(), 0, n_tokens * sizeof(int64_t));
        for (uint32_t t = 0; t < n_tokens; ++t) {
            if (idxs[t] != (int64_t) t) throw std::runtime_error("the KV cache did not place the training window in cells 0..n-1");
        }
    }
}

static ggml_cgraph * allocated_graph(ggml_opt_context * opt);  // below, with the ggml-opt mirror

int opt_window(llama_context * lctx, const llama_model * model, const int32_t * tokens, const int32_t * labels,
               const float * loss_rows, bool train,
               ggml_opt_result * result, const std::function<void(ggml_cgraph *)> & before_eval,
               const std::function<void()> & after_eval) {
    llama_context & self = *lctx;
    const llama_cparams & cparams = self.*member_of(CtxCparams());
    ggml_opt_context_t opt_ctx = context_opt(lctx);
    const uint32_t n_tokens = llama_model_n_ctx_train(model);
    if (cparams.n_ubatch < n_tokens || cparams.n_batch < n_tokens) throw std::runtime_error("training needs n_batch = n_ubatch >= the window");

    auto & memory = self.*member_of(CtxMemory());
    memory->clear(true);
    llama_batch batch = llama_batch_init((int32_t) n_tokens, 0, 1);
    struct BatchFree { llama_batch & b; ~BatchFree() { llama_batch_free(b); } } batch_free{ batch };
    batch.n_tokens = (int32_t) n_tokens;
    for (uint32_t i = 0; i < n_tokens; ++i) {
        batch.token[i] = tokens[i];
        batch.pos[i] = (llama_pos) i;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0;
        batch.logits[i] = true;
    }
    auto & balloc = self.*member_of(CtxBalloc());
    if (!balloc->init(batch, model->vocab, nullptr, model->hparams.n_embd_inp(), cparams.kv_unified ? LLAMA_MAX_SEQ : cparams.n_seq_max, true)) {
        throw std::runtime_error("failed to initialize the training batch");
    }
    self.*member_of(CtxQueued()) += balloc->get_n_tokens();
    (self.*member_of(CtxEmbdSeq())).clear();
    auto mctx = memory->init_batch(*balloc, cparams.n_ubatch, true);
    if (!mctx || mctx->get_status() != LLAMA_MEMORY_STATUS_SUCCESS) throw std::runtime_error("the KV cache could not take the training window");
    if ((self.*member_of(CtxOutputReserve()))((int32_t) n_tokens) < n_tokens) throw std::runtime_error("could not reserve the training outputs");

    const llama_ubatch & ubatch = mctx->get_ubatch();
    if (ubatch.n_tokens != n_tokens) throw std::runtime_error("the training window was split into several micro-batches");
    self.*member_of(CtxNOutputs()) = ubatch.n_tokens;
    if (!mctx->apply()) throw std::runtime_error("failed to update the KV cache for training");

    llm_graph_result * res = (self.*member_of(CtxGfResPrev()))();
    const llm_graph_params gparams = (self.*member_of(CtxGraphParams()))(res, ubatch, mctx.get(), LLM_GRAPH_TYPE_DEFAULT);
    self.*member_of(CtxResActive()) = nullptr;  // the optimizer graph is allocated outside sched: the next decode rebuilds
    res->reset();
    ggml_cgraph * built = model->build_graph(gparams);

    const size_t size_gf = ggml_graph_size(built);
    ggml_init_params params = {
        /*.mem_size   =*/ 4 * size_gf * ggml_tensor_overhead() + 3 * ggml_graph_overhead_custom(size_gf, true),
        /*.mem_buffer =*/ nullptr,
        /*.no_alloc   =*/ true,
    };
    ggml_context * ctx_compute = ggml_init(params);
    struct CtxFree { ggml_context * c; ~CtxFree() { ggml_free(c); } } ctx_free{ ctx_compute };
    int rerouted = 0;
    ggml_cgraph * gf = route_kv_gradients(ctx_compute, built, n_tokens, rerouted);
    // Every pass has the same graph shape (ggml-opt indexes its gradient accumulators by node position, fixed at the
    // first pass it builds, which may be a forward-only one): the weights multiply the logits in each.
    ggml_tensor * row_weights = ggml_new_tensor_2d(ctx_compute, GGML_TYPE_F32, 1, n_tokens);
    ggml_set_name(row_weights, "inversion.loss_rows");
    ggml_set_input(row_weights);
    ggml_tensor * outputs = ggml_mul(ctx_compute, res->get_logits(), row_weights);
    ggml_build_forward_expand(gf, outputs);
    ggml_opt_prepare_alloc(opt_ctx, ctx_compute, gf, res->get_inp_tokens(), outputs);
    ggml_opt_alloc(opt_ctx, train);
    res->set_inputs(&ubatch);
    ggml_backend_tensor_set(row_weights, loss_rows, 0, (size_t) n_tokens * sizeof(float));
    check_identity_cells(gf, n_tokens);

    ggml_tensor * one_hot = ggml_opt_labels(opt_ctx);
    if (one_hot->ne[1] != (int64_t) n_tokens) throw std::runtime_error("unexpected labels shape in the training graph");
    ggml_set_zero(one_hot);
    const float one = 1.0f;
    for (uint32_t i = 0; i < n_tokens; ++i) {
        if (labels[i] < 0 || labels[i] >= one_hot->ne[0]) throw std::runtime_error("a label is outside the vocabulary");
        ggml_backend_tensor_set(one_hot, &one, ((size_t) i * one_hot->ne[0] + labels[i]) * sizeof(float), sizeof(float));
    }
    if (before_eval) before_eval(allocated_graph(opt_ctx));
    ggml_opt_eval(opt_ctx, result);
    if (after_eval) after_eval();
    if (mctx->next()) throw std::runtime_error("the training window was split into several micro-batches");
    return rerouted;
}

// ---- ggml-opt (ggml/src/ggml-opt.cpp, struct ggml_opt_context, as of llama.cpp v0.5.0)

struct OptContextMirror {
    ggml_backend_sched_t backend_sched;
    ggml_cgraph * allocated_graph;
    ggml_cgraph * allocated_graph_copy;
    ggml_context * ctx_static;
    ggml_context * ctx_cpu;
    ggml_context * ctx_compute;
    ggml_context * ctx_copy;
    ggml_backend_buffer_t buf_static;
    ggml_backend_buffer_t buf_cpu;
    std::mt19937 rng;
    enum ggml_opt_loss_type loss_type;
    enum ggml_opt_build_type build_type;
    enum ggml_opt_build_type build_type_alloc;
    ggml_tensor * inputs;
    ggml_tensor * outputs;
    ggml_tensor * labels;
    ggml_tensor * loss;
    ggml_tensor * pred;
    ggml_tensor * ncorrect;
    ggml_cgraph * gf;
    ggml_cgraph * gb_grad;
    ggml_cgraph * gb_opt;
    bool static_graphs;
    bool eval_ready;
    std::vector<ggml_tensor *> grad_accs;
    std::vector<ggml_tensor *> grad_m;
    std::vector<ggml_tensor *> grad_v;
    int64_t iter;
    int32_t opt_period;
    int32_t opt_i;
    bool loss_per_datapoint;
    ggml_opt_get_optimizer_params get_opt_pars;
    void * get_opt_pars_ud;
    ggml_tensor * opt_step_params;
    enum ggml_opt_optimizer_type optimizer;
};

static OptContextMirror * mirror(ggml_opt_context * opt) { return reinterpret_cast<OptContextMirror *>(opt); }

// The graph ggml_opt_eval computes next (llama_opt's graphs are not static, so this is the built graph itself).
static ggml_cgraph * allocated_graph(ggml_opt_context * opt) { return mirror(opt)->allocated_graph_copy; }

void opt_check_layout(ggml_opt_context * opt) {
    OptContextMirror * m = mirror(opt);
    const bool ok = m->outputs == ggml_opt_outputs(opt) && m->inputs == ggml_opt_inputs(opt) &&
                    m->optimizer == ggml_opt_context_optimizer_type(opt) && m->opt_period >= 1 && m->iter >= 1;
    if (!ok) throw std::runtime_error("the linked ggml's optimizer context does not match the layout this trainer was built for");
}

std::vector<Moments> opt_moments(ggml_opt_context * opt) {
    OptContextMirror * m = mirror(opt);
    std::vector<Moments> out;
    for (size_t i = 0; i < m->grad_m.size() && i < m->grad_v.size(); ++i) {
        ggml_tensor * mt = m->grad_m[i];
        ggml_tensor * vt = m->grad_v[i];
        if (!mt || !vt) continue;
        // ggml-opt names them "AdamW m for <param name>"; the name is the stable key across runs
        std::string name = ggml_get_name(mt);
        const std::string prefix = "AdamW m for ";
        if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
        out.push_back({ name, mt, vt });
    }
    return out;
}

int64_t opt_iter(ggml_opt_context * opt) { return mirror(opt)->iter; }

void opt_zero_param_grads(ggml_opt_context * opt) {
    OptContextMirror * m = mirror(opt);
    for (size_t i = 0; i < m->grad_accs.size(); ++i) {
        ggml_tensor * acc = m->grad_accs[i];
        if (!acc || !m->gf || (int) i >= ggml_graph_n_nodes(m->gf)) continue;
        if (!(ggml_graph_node(m->gf, (int) i)->flags & GGML_TENSOR_FLAG_PARAM)) continue;  // the loss keeps its seed of 1
        ggml_backend_tensor_memset(acc, 0, 0, ggml_nbytes(acc));
    }
}
std::vector<Gradient> opt_gradients(ggml_opt_context * opt) {
    OptContextMirror * m = mirror(opt);
    std::vector<Gradient> out;
    for (size_t i = 0; i < m->grad_accs.size() && m->gf && (int) i < ggml_graph_n_nodes(m->gf); ++i) {
        ggml_tensor * node = ggml_graph_node(m->gf, (int) i);
        if (m->grad_accs[i] && (node->flags & GGML_TENSOR_FLAG_PARAM)) out.push_back({ ggml_get_name(node), m->grad_accs[i] });
    }
    return out;
}

void opt_set_iter(ggml_opt_context * opt, int64_t iter) { mirror(opt)->iter = iter; }

void opt_graph_size(ggml_opt_context * opt, int & nodes_and_leafs, int & capacity) {
    ggml_cgraph * g = mirror(opt)->allocated_graph_copy;
    nodes_and_leafs = g ? ggml_graph_n_nodes(g) + g->n_leafs : 0;
    capacity = g ? ggml_graph_size(g) : 0;
}

}  // namespace inv::internals
