#include "internals.h"

#include "ggml.h"
#include "ggml-backend.h"
#include "ggml-opt.h"
#include "../ggml/src/ggml-impl.h"  // struct ggml_cgraph (n_leafs)

// internal headers (version-specific layouts)
#include "llama-adapter.h"
#include "llama-context.h"
#include "llama-model.h"

#include <random>
#include <stdexcept>
#include <string_view>

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
void opt_set_iter(ggml_opt_context * opt, int64_t iter) { mirror(opt)->iter = iter; }
void * opt_pars_userdata(ggml_opt_context * opt) { return mirror(opt)->get_opt_pars_ud; }

void opt_graph_size(ggml_opt_context * opt, int & nodes_and_leafs, int & capacity) {
    ggml_cgraph * g = mirror(opt)->allocated_graph_copy;
    nodes_and_leafs = g ? ggml_graph_n_nodes(g) + g->n_leafs : 0;
    capacity = g ? ggml_graph_size(g) : 0;
}

}  // namespace inv::internals
