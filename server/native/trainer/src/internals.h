// Every access to llama.cpp / ggml internals the trainer needs, in one place. These reach into
// structs that are not part of the public C API, so they are tied to one llama.cpp release
// (v0.5.0, bundled with node-llama-cpp 3.22.1): internals.cpp refuses to compile against another,
// and checks at run time that the mirrored ggml-opt layout still matches.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

struct ggml_tensor;
struct ggml_cgraph;
struct ggml_opt_context;
struct llama_adapter_lora;
struct llama_context;
struct llama_model;
struct ggml_opt_result;

namespace inv::internals {

// LoRA adapter tensors (the adapter's A and B matrices, by base tensor name).
struct LoraTensor {
    std::string name;   // e.g. blk.0.attn_q.weight
    ggml_tensor * a;
    ggml_tensor * b;
};
std::vector<LoraTensor> lora_tensors(llama_adapter_lora * adapter);
float lora_alpha(llama_adapter_lora * adapter);

// Marks every A and B tensor of the adapter trainable; returns the number of trainable values.
int64_t lora_make_trainable(llama_adapter_lora * adapter);

// Model tensors flagged trainable by llama_opt_init (full mode), and their element count.
std::vector<ggml_tensor *> model_trainable_tensors(llama_model * model);
// Every model tensor that is not trained (after llama_opt_init).
std::vector<ggml_tensor *> model_frozen_tensors(llama_model * model);
int64_t model_tensor_count(llama_model * model);
// llama_opt_init never trains token_embd.weight ("FIXME" in llama.cpp), which leaves a model trained from scratch
// with random input embeddings. Its backward (GET_ROWS_BACK) exists on the CPU: this marks it trainable when it is
// F32 and not shared with the output projection. Call after llama_opt_init; true when it was marked.
bool model_train_input_embeddings(llama_model * model);

// llama_opt_init overwrites the model's n_ctx_train; restore it before saving the model.
void model_set_n_ctx_train(llama_model * model, uint32_t n_ctx_train);

// llama.cpp sizes every compute graph and its scheduler once, for inference
// (max(1024, 8 x n_tensors) nodes + 6 per adapted matrix). Training adds the backward graph and
// one optimizer node per parameter to the same graph, which overflows from ~10 layers. This adds
// `extra_nodes` to that budget by registering a tensor-less placeholder adapter on the model, whose
// only effect is on llama_context::graph_max_nodes. Call before creating the context; undo with
// release_graph_nodes before freeing the model.
void reserve_graph_nodes(llama_model * model, uint32_t extra_nodes);
void release_graph_nodes(llama_model * model);

// The optimizer context that llama_opt_init made for `ctx`.
ggml_opt_context * context_opt(llama_context * ctx);

// One training (train = true) or forward-only step on one window of n_ctx_train tokens: llama.cpp's
// llama_context::opt_epoch_iter for a single window, except that reads of the KV cache are rerouted so the
// attention's K and V receive gradients (llama.cpp's own path trains no attn_k/attn_v weight). labels[i] is
// the token that should follow tokens[i]. loss_rows (n_tokens weights, 0 or 1) multiplies each row of the logits
// before the loss: a row weighted 0 gets exactly zero gradient (and logits of 0). before_eval runs on the allocated graph just before it is computed (it may
// rewrite nodes in place, keeping their shapes); after_eval once the graph is computed, while its tensors (the
// optimizer context's outputs, labels and graph) still exist. Returns the number of cache tensors rerouted (2 per
// attention layer).
int opt_window(llama_context * ctx, const llama_model * model, const int32_t * tokens, const int32_t * labels,
               const float * loss_rows, bool train,
               ggml_opt_result * result, const std::function<void(ggml_cgraph *)> & before_eval,
               const std::function<void()> & after_eval);

// The optimizer state of a ggml_opt context (AdamW moments by parameter name, step counter).
struct Moments {
    std::string name;   // parameter tensor name
    ggml_tensor * m;
    ggml_tensor * v;
};
// Throws if the mirrored layout of ggml_opt_context does not match the linked library.
void opt_check_layout(ggml_opt_context * opt);
std::vector<Moments> opt_moments(ggml_opt_context * opt);
int64_t opt_iter(ggml_opt_context * opt);
// Each trainable tensor's gradient accumulator (this step's gradient once the step is computed).
struct Gradient {
    std::string name;
    ggml_tensor * grad;
};
std::vector<Gradient> opt_gradients(ggml_opt_context * opt);
// ggml-opt accumulates parameter gradients in persistent tensors whenever its graphs are rebuilt per step
// (as llama_opt's are) and clears them only when opt_period > 1: with llama_opt's opt_period of 1 every
// step's gradient would be the sum of all gradients so far. Call before each training step's compute.
void opt_zero_param_grads(ggml_opt_context * opt);
void opt_set_iter(ggml_opt_context * opt, int64_t iter);
// Nodes + leafs of the graph that is about to be computed, and the graph's capacity (diagnostics).
void opt_graph_size(ggml_opt_context * opt, int & nodes_and_leafs, int & capacity);

}  // namespace inv::internals
