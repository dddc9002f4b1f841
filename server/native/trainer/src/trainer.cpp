// LoRA / full-parameter training on llama.cpp's llama_opt (v0.5.0, as shipped by node-llama-cpp 3.22.1).
//
// The adapter tensors are made trainable through the internal struct llama_adapter_lora::ab_map
// (src/llama-adapter.h of the SAME llama.cpp version as the prebuilt libraries); every model tensor
// is frozen by the llama_opt param filter.
//
// Loss masking ("softmax" mode): ggml's cross-entropy backward is (softmax(logits) - labels) per
// row, with no ignore index. Before each optimizer step we run the same window forward-only on the
// same training context (llama_opt_epoch with idata_split = 0), take its logits, and compute their
// softmax with ggml_soft_max on the CPU backend. On the CPU backend that op runs exactly the same
// float instructions as the softmax inside GGML_OP_CROSS_ENTROPY_LOSS_BACK (vec_max, vec_soft_max,
// vec_scale by (float)(1.0/sum)), and the forward logits are bit-identical to the training pass's,
// so writing those rows into the labels of masked positions (from the optimizer-params callback,
// which runs after llama.cpp fills the labels and before the graph is computed) makes their
// gradient exactly zero.

#include "trainer.h"

#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggml-opt.h"
#include "gguf.h"
#include "llama.h"

// internal headers (version-specific layouts)
#include "llama-adapter.h"
#include "llama-model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <random>
#include <sstream>
#include <stdexcept>

namespace inv {

// ---------------------------------------------------------------------------------------------
// logging

static std::mutex g_log_mutex;
static std::deque<std::string> g_log_tail;
static std::string g_log_line;

static void log_cb(enum ggml_log_level level, const char * text, void *) {
    static const bool verbose = std::getenv("INVERSION_TRAIN_VERBOSE") != nullptr;
    if (verbose) {
        fputs(text, stderr);
    }
    std::lock_guard<std::mutex> lock(g_log_mutex);
    if (level == GGML_LOG_LEVEL_CONT) {
        g_log_line += text;
    } else {
        g_log_line = text;
    }
    if (level == GGML_LOG_LEVEL_ERROR || level == GGML_LOG_LEVEL_WARN ||
        (level == GGML_LOG_LEVEL_CONT && !g_log_tail.empty())) {
        std::string line = g_log_line;
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
        if (level == GGML_LOG_LEVEL_CONT && !g_log_tail.empty()) {
            g_log_tail.back() = line;
        } else if (!line.empty()) {
            g_log_tail.push_back(line);
        }
        while (g_log_tail.size() > 8) g_log_tail.pop_front();
    }
}

static std::string log_tail() {
    std::lock_guard<std::mutex> lock(g_log_mutex);
    std::string out;
    for (const auto & l : g_log_tail) {
        if (!out.empty()) out += " | ";
        out += l;
    }
    return out;
}

static void clear_log_tail() {
    std::lock_guard<std::mutex> lock(g_log_mutex);
    g_log_tail.clear();
}

[[noreturn]] static void fail(const std::string & msg, bool with_log = false) {
    std::string m = msg;
    if (with_log) {
        const std::string tail = log_tail();
        if (!tail.empty()) m += " (llama.cpp: " + tail + ")";
    }
    throw std::runtime_error(m);
}

// ---------------------------------------------------------------------------------------------
// backend initialisation (once per process)

static std::once_flag g_backend_once;
static std::string g_backend_error;

static void init_backends(const std::string & dir) {
    std::call_once(g_backend_once, [&] {
        llama_log_set(log_cb, nullptr);
        const char * patched = std::getenv("INVERSION_GGML_CPU_LIB");
        if (patched && *patched) {
            if (!ggml_backend_load(patched)) {
                g_backend_error = std::string("failed to load CPU backend ") + patched;
            }
        } else if (!dir.empty()) {
            ggml_backend_load_all_from_path(dir.c_str());
        } else {
            ggml_backend_load_all();
        }
        llama_backend_init();
        if (!ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU)) {
            if (g_backend_error.empty()) {
                g_backend_error = "no CPU backend could be loaded from " + (dir.empty() ? std::string("(default path)") : dir);
            }
        }
    });
    if (!g_backend_error.empty()) fail(g_backend_error);
}

// ---------------------------------------------------------------------------------------------
// GGUF inspection of the base model

struct GgufInfo {
    std::string architecture;
    std::map<std::string, std::vector<int64_t>> shapes;  // tensor name -> ne
    std::map<std::string, ggml_type> types;
};

struct GgufDeleter {
    void operator()(gguf_context * c) const { if (c) gguf_free(c); }
};
struct GgmlCtxDeleter {
    void operator()(ggml_context * c) const { if (c) ggml_free(c); }
};
using gguf_ptr = std::unique_ptr<gguf_context, GgufDeleter>;
using ggml_ctx_ptr_t = std::unique_ptr<ggml_context, GgmlCtxDeleter>;

static bool file_exists(const std::string & p) {
    std::ifstream f(p, std::ios::binary);
    return f.good();
}

static std::string read_str_kv(gguf_context * g, const char * key) {
    const int64_t id = gguf_find_key(g, key);
    if (id < 0 || gguf_get_kv_type(g, id) != GGUF_TYPE_STRING) return "";
    return gguf_get_val_str(g, id);
}

static GgufInfo inspect_gguf(const std::string & path, const char * what) {
    if (!file_exists(path)) fail(std::string(what) + " not found: " + path);
    ggml_context * meta = nullptr;
    gguf_init_params ip = { /*no_alloc*/ true, /*ctx*/ &meta };
    clear_log_tail();
    gguf_ptr g(gguf_init_from_file(path.c_str(), ip));
    ggml_ctx_ptr_t meta_ptr(meta);
    if (!g) fail(std::string(what) + " is not a valid GGUF file (corrupt or truncated?): " + path, true);
    GgufInfo info;
    info.architecture = read_str_kv(g.get(), "general.architecture");
    const int64_t n = gguf_get_n_tensors(g.get());
    for (int64_t i = 0; i < n; ++i) {
        const char * name = gguf_get_tensor_name(g.get(), i);
        ggml_tensor * t = ggml_get_tensor(meta, name);
        std::vector<int64_t> ne;
        for (int d = 0; d < GGML_MAX_DIMS; ++d) ne.push_back(t ? t->ne[d] : 1);
        info.shapes[name] = ne;
        info.types[name] = gguf_get_tensor_type(g.get(), i);
    }
    return info;
}

// ---------------------------------------------------------------------------------------------
// adapter GGUF writing

struct NamedTensor {
    std::string name;
    std::vector<int64_t> ne;  // 2-D
    std::vector<float> data;
};

static void write_adapter(const std::string & path, const std::string & arch, float alpha,
                          const std::vector<NamedTensor> & tensors,
                          const std::vector<std::pair<std::string, std::string>> & extra_kv) {
    size_t mem = ggml_tensor_overhead() * (tensors.size() + 1) + 1024;
    for (const auto & t : tensors) mem += t.data.size() * sizeof(float) + GGML_MEM_ALIGN;
    ggml_init_params p = { mem, nullptr, false };
    ggml_ctx_ptr_t ctx(ggml_init(p));
    if (!ctx) fail("out of memory writing the adapter");
    gguf_ptr g(gguf_init_empty());
    gguf_set_val_str(g.get(), "general.type", "adapter");
    gguf_set_val_str(g.get(), "general.architecture", arch.c_str());
    gguf_set_val_str(g.get(), "adapter.type", "lora");
    gguf_set_val_f32(g.get(), "adapter.lora.alpha", alpha);
    for (const auto & kv : extra_kv) gguf_set_val_str(g.get(), kv.first.c_str(), kv.second.c_str());
    for (const auto & t : tensors) {
        ggml_tensor * gt = ggml_new_tensor_2d(ctx.get(), GGML_TYPE_F32, t.ne[0], t.ne[1]);
        ggml_set_name(gt, t.name.c_str());
        memcpy(gt->data, t.data.data(), t.data.size() * sizeof(float));
        gguf_add_tensor(g.get(), gt);
    }
    if (!gguf_write_to_file(g.get(), path.c_str(), false)) fail("failed to write adapter file " + path);
}

// ---------------------------------------------------------------------------------------------
// data: tokenization and packing

struct Window {
    std::vector<int32_t> tokens;
    std::vector<int32_t> labels;
    std::vector<uint8_t> mask;  // 1 = position carries loss
};

static std::vector<llama_token> tokenize(const llama_vocab * vocab, const std::string & text) {
    if (text.empty()) return {};
    int n = -llama_tokenize(vocab, text.c_str(), (int32_t) text.size(), nullptr, 0, false, false);
    std::vector<llama_token> out(std::max(n, 0));
    if (n > 0) {
        const int got = llama_tokenize(vocab, text.c_str(), (int32_t) text.size(), out.data(), n, false, false);
        if (got < 0) fail("tokenization failed");
        out.resize(got);
    }
    return out;
}

struct TokenizedExample {
    std::vector<llama_token> tokens;
    size_t split = 0;  // first completion token index
};

static std::vector<Window> build_windows(const Options & o, const llama_vocab * vocab, int n_ctx,
                                         int64_t & loss_tokens) {
    const bool add_bos = llama_vocab_get_add_bos(vocab);
    const llama_token bos = llama_vocab_bos(vocab);
    llama_token eos = llama_vocab_eos(vocab);
    if (eos == LLAMA_TOKEN_NULL) eos = llama_vocab_eot(vocab);
    const llama_token pad = eos != LLAMA_TOKEN_NULL ? eos : 0;

    std::vector<TokenizedExample> exs;
    for (size_t i = 0; i < o.examples.size(); ++i) {
        const auto & e = o.examples[i];
        TokenizedExample te;
        std::vector<llama_token> p = tokenize(vocab, e.prompt);
        std::vector<llama_token> full = tokenize(vocab, e.prompt + e.completion);
        size_t split = 0;
        while (split < p.size() && split < full.size() && p[split] == full[split]) ++split;
        if (add_bos && bos != LLAMA_TOKEN_NULL) te.tokens.push_back(bos);
        const size_t off = te.tokens.size();
        te.tokens.insert(te.tokens.end(), full.begin(), full.end());
        if (eos != LLAMA_TOKEN_NULL) te.tokens.push_back(eos);
        te.split = off + split;
        if (te.split == 0) te.split = 1;  // position 0 has no prediction target
        if ((int) te.tokens.size() > n_ctx) {
            std::ostringstream ss;
            ss << "example " << i << " is " << te.tokens.size() << " tokens long (prompt + completion"
               << (eos != LLAMA_TOKEN_NULL ? " + EOS" : "") << "), longer than the context size " << n_ctx
               << "; raise contextSize or shorten the example";
            fail(ss.str());
        }
        if (te.tokens.size() < 2 || te.split >= te.tokens.size()) {
            std::ostringstream ss;
            ss << "example " << i << " has no completion tokens to train on";
            fail(ss.str());
        }
        exs.push_back(std::move(te));
    }

    // shuffle example order (seeded) before packing, so windows mix examples
    std::vector<size_t> order(exs.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::mt19937 rng(o.seed * 2654435761u + 17u);
    std::shuffle(order.begin(), order.end(), rng);

    std::vector<Window> windows;
    Window cur;
    int used = 0, count = 0;
    auto flush = [&] {
        if (count == 0) return;
        for (int p = used; p < n_ctx; ++p) {
            cur.tokens.push_back(pad);
            cur.labels.push_back(pad);
            cur.mask.push_back(0);
        }
        windows.push_back(std::move(cur));
        cur = Window();
        used = 0;
        count = 0;
    };
    loss_tokens = 0;
    for (size_t idx : order) {
        const auto & te = exs[idx];
        const int len = (int) te.tokens.size();
        if (used + len > n_ctx || (o.batch_size > 0 && count >= o.batch_size)) flush();
        for (int j = 0; j < len; ++j) {
            cur.tokens.push_back(te.tokens[j]);
            const bool has_next = j + 1 < len;
            cur.labels.push_back(has_next ? te.tokens[j + 1] : pad);
            const bool m = has_next && (size_t) (j + 1) >= te.split;
            cur.mask.push_back(m ? 1 : 0);
            loss_tokens += m;
        }
        used += len;
        ++count;
    }
    flush();
    return windows;
}

// ---------------------------------------------------------------------------------------------
// memory estimate (refuse clearly instead of being killed by the OOM killer)

static int64_t mem_available_bytes() {
    std::ifstream f("/proc/meminfo");
    std::string key;
    int64_t val;
    std::string unit;
    while (f >> key >> val >> unit) {
        if (key == "MemAvailable:") return val * 1024;
    }
    return -1;
}

// ---------------------------------------------------------------------------------------------
// per-step state shared with the C callbacks (they carry no user data)

struct StepState {
    ggml_opt_context_t opt_ctx = nullptr;
    int n_vocab = 0;
    int n_ctx = 0;
    const Window * window = nullptr;
    bool mask_everything = false;
    bool masking = false;
    bool want_probs = false;  // this eval pass feeds the next training step's masked labels
    // softmax of the eval pass logits, via ggml on the CPU backend
    ggml_backend_t cpu = nullptr;
    ggml_context * sm_ctx = nullptr;
    ggml_backend_buffer_t sm_buf = nullptr;
    ggml_tensor * sm_in = nullptr;
    ggml_tensor * sm_out = nullptr;
    ggml_cgraph * sm_graph = nullptr;
    std::vector<float> logits;
    std::vector<float> probs;
    double eval_loss_sum = 0;
    int64_t eval_loss_n = 0;
    bool eval_done = false;
    ggml_opt_optimizer_params opt_pars{};
    std::string error;
};

static StepState * g_step = nullptr;

static void cb_eval(bool, ggml_opt_context_t opt_ctx, ggml_opt_dataset_t, ggml_opt_result_t, int64_t, int64_t, int64_t) {
    StepState & s = *g_step;
    s.opt_ctx = opt_ctx;
    ggml_tensor * out = ggml_opt_outputs(opt_ctx);
    if (out->ne[0] != s.n_vocab || out->ne[1] != s.n_ctx || out->type != GGML_TYPE_F32) {
        s.error = "unexpected logits shape in the training graph";
        return;
    }
    const size_t nbytes = (size_t) s.n_vocab * s.n_ctx * sizeof(float);
    ggml_backend_tensor_get(out, s.logits.data(), 0, nbytes);
    // loss over the positions that carry loss (exact, before this step's update)
    const Window & w = *s.window;
    const int nv = s.n_vocab;
    for (int r = 0; r < s.n_ctx; ++r) {
        if (!w.mask[r] || s.mask_everything) continue;
        const float * x = s.logits.data() + (size_t) r * nv;
        float mx = -INFINITY;
        for (int i = 0; i < nv; ++i) mx = std::max(mx, x[i]);
        double sum = 0;
        for (int i = 0; i < nv; ++i) sum += std::exp((double) x[i] - mx);
        s.eval_loss_sum += -((double) x[w.labels[r]] - mx - std::log(sum));
        s.eval_loss_n += 1;
    }
    if (!s.want_probs) {
        s.eval_done = true;
        return;
    }
    // softmax with the CPU backend's own kernels
    ggml_backend_tensor_set(s.sm_in, s.logits.data(), 0, nbytes);
    if (ggml_backend_graph_compute(s.cpu, s.sm_graph) != GGML_STATUS_SUCCESS) {
        s.error = "softmax graph failed";
        return;
    }
    ggml_backend_tensor_get(s.sm_out, s.probs.data(), 0, nbytes);
    s.eval_done = true;
}

static ggml_opt_optimizer_params cb_opt_pars(void *) {
    StepState & s = *g_step;
    if (s.masking && s.opt_ctx && s.eval_done) {
        ggml_tensor * labels = ggml_opt_labels(s.opt_ctx);
        const Window & w = *s.window;
        const size_t row = (size_t) s.n_vocab * sizeof(float);
        if (labels && labels->ne[0] == s.n_vocab && labels->ne[1] == s.n_ctx) {
            int r = 0;
            while (r < s.n_ctx) {
                const bool masked = s.mask_everything || !w.mask[r];
                if (!masked) { ++r; continue; }
                int e = r;
                while (e < s.n_ctx && (s.mask_everything || !w.mask[e])) ++e;
                ggml_backend_tensor_set(labels, s.probs.data() + (size_t) r * s.n_vocab, r * labels->nb[1], (e - r) * row);
                r = e;
            }
        } else {
            s.error = "unexpected labels shape in the training graph";
        }
    }
    return s.opt_pars;
}

static std::mutex & g_train_mutex_holder() {
    static std::mutex m;
    return m;
}

static bool filter_none(const ggml_tensor *, void *) { return false; }

struct ModelDeleter { void operator()(llama_model * m) const { if (m) llama_model_free(m); } };
struct CtxDeleter { void operator()(llama_context * c) const { if (c) llama_free(c); } };

// ---------------------------------------------------------------------------------------------

Result train(const Options & o, const std::function<void(const Progress &)> & on_progress,
             const std::atomic<bool> & cancel) {
    using clock = std::chrono::steady_clock;
    init_backends(o.backend_dir);

    if (o.examples.empty()) fail("no training examples: the dataset is empty");
    if (!o.full && o.rank <= 0 && o.init_adapter_path.empty()) fail("rank must be a positive integer (got " + std::to_string(o.rank) + ")");
    if (o.context_size < 8) fail("contextSize must be at least 8");
    if (o.epochs <= 0) fail("epochs must be at least 1");
    if (!(o.learning_rate > 0) || !std::isfinite(o.learning_rate)) fail("learningRate must be a positive number");
    if (o.threads <= 0) fail("threads must be at least 1");
    if (o.out_path.empty()) fail("outPath is required");

    // ---- base model checks
    GgufInfo base = inspect_gguf(o.model_path, "base model");
    if (base.architecture.empty()) fail("base model has no general.architecture: " + o.model_path);
    for (const auto & kv : base.types) {
        const ggml_type t = kv.second;
        if (t != GGML_TYPE_F32 && t != GGML_TYPE_F16 && t != GGML_TYPE_Q8_0) {
            fail(std::string("unsupported base tensor type ") + ggml_type_name(t) + " (" + kv.first +
                 "); supported base types: F32, F16, Q8_0 — requantize the model to one of these");
        }
        if (o.full && t != GGML_TYPE_F32) {
            fail(std::string("full mode trains F32 weights only, but ") + kv.first + " is " + ggml_type_name(t) +
                 "; use mode \"lora\" or an all-F32 base");
        }
    }

    // ---- adapter to continue: check before loading anything heavy
    GgufInfo init_info;
    if (!o.full && !o.init_adapter_path.empty()) {
        init_info = inspect_gguf(o.init_adapter_path, "initial adapter");
        if (init_info.architecture != base.architecture) {
            fail("initial adapter " + o.init_adapter_path + " is for architecture \"" + init_info.architecture +
                 "\" but the base model is \"" + base.architecture + "\"");
        }
        for (const auto & kv : init_info.shapes) {
            const std::string & n = kv.first;
            const std::string suffix = n.size() > 7 ? n.substr(n.size() - 7) : "";
            if (suffix != ".lora_a" && suffix != ".lora_b") continue;
            const std::string bname = n.substr(0, n.size() - 7);
            auto it = base.shapes.find(bname);
            if (it == base.shapes.end()) fail("initial adapter tensor " + n + " has no matching tensor in the base model (adapter made for another model?)");
            const auto & bne = it->second;
            if (suffix == ".lora_a" && kv.second[0] != bne[0]) fail("initial adapter tensor " + n + " does not fit the base model's shape (adapter made for another model?)");
            if (suffix == ".lora_b" && kv.second[1] != bne[1]) fail("initial adapter tensor " + n + " does not fit the base model's shape (adapter made for another model?)");
        }
    }

    // ---- load model
    clear_log_tail();
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    mp.load_mode = o.full ? LLAMA_LOAD_MODE_NONE : LLAMA_LOAD_MODE_MMAP;
    mp.use_extra_bufts = false;
    mp.check_tensors = false;
    std::unique_ptr<llama_model, ModelDeleter> model(llama_model_load_from_file(o.model_path.c_str(), mp));
    if (!model) fail("failed to load base model " + o.model_path + " (corrupt or unsupported GGUF?)", true);
    const llama_vocab * vocab = llama_model_get_vocab(model.get());
    const int n_vocab = llama_vocab_n_tokens(vocab);
    const int n_ctx = o.context_size;

    // ---- data
    int64_t loss_tokens = 0;
    std::vector<Window> windows = build_windows(o, vocab, n_ctx, loss_tokens);

    // ---- memory estimate
    {
        const double n_embd = llama_model_n_embd(model.get());
        const double n_layer = llama_model_n_layer(model.get());
        const double n_head = std::max(1, llama_model_n_head(model.get()));
        const double c = n_ctx;
        double est = 0;
        est += (double) n_vocab * c * 4 * 6;                 // logits, grads, labels, softmax, host copies
        est += n_layer * n_head * c * c * 4 * 4;             // attention scores (+ softmax, grads)
        est += n_layer * c * n_embd * 4 * 40;                // activations kept for backward (incl. FFN)
        est += n_layer * c * n_embd * 4 * 2;                 // F32 KV cache
        if (o.full) est += (double) llama_model_n_params(model.get()) * 4 * 4;  // grads + AdamW m, v
        const int64_t avail = mem_available_bytes();
        if (avail > 0 && est > (double) avail * 0.9) {
            char buf[256];
            snprintf(buf, sizeof buf, "out of memory: training with contextSize %d needs about %.1f GiB but only %.1f GiB is available; lower contextSize",
                     n_ctx, est / (1 << 30), (double) avail / (1 << 30));
            fail(buf);
        }
    }

    // ---- adapter
    std::lock_guard<std::mutex> busy(g_train_mutex_holder());
    llama_adapter_lora * adapter = nullptr;
    int rank = o.rank;
    float alpha = o.alpha;
    int64_t trainable = 0;
    if (!o.full) {
        std::string init_path = o.init_adapter_path;
        std::string tmp_init;
        if (init_path.empty()) {
            if (o.targets.empty()) fail("targets is empty: name at least one layer projection, e.g. attn_q");
            std::vector<NamedTensor> ts;
            std::mt19937 rng(o.seed);
            std::vector<std::string> names;
            std::map<std::string, int> parts;
            for (const auto & kv : base.shapes) names.push_back(kv.first);
            std::sort(names.begin(), names.end(), [](const std::string & a, const std::string & b) {
                // numeric layer order: blk.2 before blk.10
                auto key = [](const std::string & n) {
                    int layer = -1;
                    if (n.rfind("blk.", 0) == 0) layer = atoi(n.c_str() + 4);
                    return std::make_pair(layer, n);
                };
                return key(a) < key(b);
            });
            for (const auto & name : names) {
                if (name.rfind("blk.", 0) != 0) continue;
                const size_t dot1 = name.find('.', 4);
                if (dot1 == std::string::npos) continue;
                std::string rest = name.substr(dot1 + 1);  // e.g. attn_q.weight
                const auto & ne = base.shapes.at(name);
                if (rest.size() > 7 && rest.substr(rest.size() - 7) == ".weight" && ne[1] > 1 && ne[2] == 1) {
                    parts[rest.substr(0, rest.size() - 7)]++;
                }
                bool match = false;
                for (const auto & t : o.targets) {
                    if (rest == t + ".weight" || rest == t) match = true;
                }
                if (!match || ne[1] <= 1 || ne[2] != 1) continue;
                const int64_t n_in = ne[0], n_out = ne[1];
                NamedTensor a{name + ".lora_a", {n_in, rank}, std::vector<float>((size_t) n_in * rank)};
                NamedTensor b{name + ".lora_b", {rank, n_out}, std::vector<float>((size_t) rank * n_out, 0.0f)};
                const float bound = 1.0f / std::sqrt((float) n_in);
                std::uniform_real_distribution<float> dist(-bound, bound);
                for (auto & v : a.data) v = dist(rng);
                ts.push_back(std::move(a));
                ts.push_back(std::move(b));
            }
            if (ts.empty()) {
                std::string avail, want;
                for (const auto & kv : parts) avail += (avail.empty() ? "" : ", ") + kv.first;
                for (const auto & t : o.targets) want += (want.empty() ? "" : ", ") + t;
                fail("no base tensor matches targets [" + want + "]; this model's layer matrices are: " + avail);
            }
            tmp_init = o.out_path + ".init.tmp";
            write_adapter(tmp_init, base.architecture, alpha, ts, {});
            init_path = tmp_init;
        }
        clear_log_tail();
        adapter = llama_adapter_lora_init(model.get(), init_path.c_str());
        if (!tmp_init.empty()) std::remove(tmp_init.c_str());
        if (!adapter) fail("failed to load adapter " + init_path, true);
        rank = 0;
        for (auto & kv : adapter->ab_map) {
            ggml_set_param(kv.second.a);
            ggml_set_param(kv.second.b);
            rank = (int) kv.second.b->ne[0];
            trainable += ggml_nelements(kv.second.a) + ggml_nelements(kv.second.b);
        }
        alpha = adapter->alpha;
        if (adapter->ab_map.empty()) fail("the adapter has no LoRA tensors");
    }

    // ---- training context
    clear_log_tail();
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = n_ctx;
    cp.n_ubatch = n_ctx;
    cp.n_seq_max = 1;
    cp.n_threads = o.threads;
    cp.n_threads_batch = o.threads;
    cp.type_k = GGML_TYPE_F32;  // F16 KV aborts in the attention backward (grouped KV heads)
    cp.type_v = GGML_TYPE_F32;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.no_perf = true;
    std::unique_ptr<llama_context, CtxDeleter> ctx(llama_init_from_model(model.get(), cp));
    if (!ctx) fail("failed to create a training context of " + std::to_string(n_ctx) + " tokens (out of memory?)", true);
    // llama.cpp pads n_ctx to a multiple of 256; training windows are n_ctx_train = contextSize tokens
    // (llama_opt_init's n_ctx_train), while dataset rows must be the padded context length.
    const int n_ctx_padded = (int) llama_n_ctx(ctx.get());
    if (n_ctx_padded < n_ctx) fail("llama.cpp reduced the context size to " + std::to_string(n_ctx_padded));
    if (adapter) {
        float scale = 1.0f;
        if (llama_set_adapters_lora(ctx.get(), &adapter, 1, &scale) != 0) fail("failed to attach the adapter", true);
    }
    // one ordinary decode applies the thread count to the CPU backend (the training path never does)
    {
        llama_token t0 = windows[0].tokens[0];
        llama_batch b = llama_batch_get_one(&t0, 1);
        if (llama_decode(ctx.get(), b) != 0) fail("warm-up decode failed", true);
        llama_memory_clear(llama_get_memory(ctx.get()), true);
    }

    StepState s;
    s.n_vocab = n_vocab;
    s.n_ctx = n_ctx;
    s.masking = o.masking == Masking::Softmax || o.mask_everything;
    s.mask_everything = o.mask_everything;
    s.opt_pars = ggml_opt_get_default_optimizer_params(nullptr);
    s.opt_pars.adamw.alpha = o.learning_rate;
    s.opt_pars.adamw.wd = 0.0f;
    s.opt_pars.sgd.alpha = o.learning_rate;
    s.opt_pars.sgd.wd = 0.0f;

    struct Cleanup {
        StepState & s;
        ggml_opt_dataset_t ds = nullptr;
        ggml_opt_result_t res = nullptr;
        ~Cleanup() {
            if (ds) ggml_opt_dataset_free(ds);
            if (res) ggml_opt_result_free(res);
            if (s.sm_buf) ggml_backend_buffer_free(s.sm_buf);
            if (s.sm_ctx) ggml_free(s.sm_ctx);
            if (s.cpu) ggml_backend_free(s.cpu);
            g_step = nullptr;
        }
    } cleanup{s};
    g_step = &s;

    s.logits.resize((size_t) n_vocab * n_ctx);
    if (s.masking) {
        s.cpu = ggml_backend_init_by_type(GGML_BACKEND_DEVICE_TYPE_CPU, nullptr);
        if (!s.cpu) fail("could not create a CPU backend for masking");
        ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(ggml_backend_get_device(s.cpu));
        auto set_threads = (ggml_backend_set_n_threads_t) ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads");
        if (set_threads) set_threads(s.cpu, o.threads);
        ggml_init_params ip = { ggml_tensor_overhead() * 4 + ggml_graph_overhead(), nullptr, true };
        s.sm_ctx = ggml_init(ip);
        s.sm_in = ggml_new_tensor_2d(s.sm_ctx, GGML_TYPE_F32, n_vocab, n_ctx);
        s.sm_out = ggml_soft_max(s.sm_ctx, s.sm_in);
        s.sm_graph = ggml_new_graph(s.sm_ctx);
        ggml_build_forward_expand(s.sm_graph, s.sm_out);
        s.sm_buf = ggml_backend_alloc_ctx_tensors(s.sm_ctx, s.cpu);
        if (!s.sm_buf) fail("out of memory allocating the masking buffers");
        s.probs.resize((size_t) n_vocab * n_ctx);
    }

    llama_opt_params op{};
    op.n_ctx_train = (uint32_t) n_ctx;
    op.param_filter = o.full ? llama_opt_param_filter_all : filter_none;
    op.param_filter_ud = nullptr;
    op.get_opt_pars = cb_opt_pars;
    op.get_opt_pars_ud = nullptr;
    op.optimizer_type = GGML_OPT_OPTIMIZER_TYPE_ADAMW;
    const int32_t orig_n_ctx_train = llama_model_n_ctx_train(model.get());
    llama_opt_init(ctx.get(), model.get(), op);
    if (o.full) {
        for (const auto & t : model->tensors_by_name) {
            if (t.second->flags & GGML_TENSOR_FLAG_PARAM) trainable += ggml_nelements(t.second);
        }
    }

    cleanup.ds = ggml_opt_dataset_init(GGML_TYPE_I32, GGML_TYPE_I32, n_ctx_padded, n_ctx_padded, 1, 1);
    cleanup.res = ggml_opt_result_init();
    ggml_opt_dataset_t ds = cleanup.ds;
    ggml_opt_result_t res = cleanup.res;

    Result r;
    r.masking = o.masking == Masking::Softmax
        ? "softmax-labels: prompt and padding rows labelled with the model's own softmax (computed by the CPU backend's kernels) so their cross-entropy gradient is exactly zero on CPU; loss over completion tokens + EOS"
        : "none: every position (prompt, completion, padding) is trained";
    if (o.mask_everything) r.masking = "debug: every row masked";
    r.windows = (int64_t) windows.size();
    r.rank = o.full ? 0 : rank;
    r.alpha = o.full ? 0 : alpha;
    r.adapted_tensors = adapter ? (int) adapter->ab_map.size() : 0;
    r.trainable_params = trainable;
    r.architecture = base.architecture;
    r.loss_tokens = loss_tokens * o.epochs;

    auto load_window = [&](const Window & w) {
        int32_t * dd = (int32_t *) ggml_opt_dataset_data(ds)->data;
        int32_t * dl = (int32_t *) ggml_opt_dataset_labels(ds)->data;
        std::fill(dd, dd + n_ctx_padded, w.tokens.back());
        std::fill(dl, dl + n_ctx_padded, w.labels.back());
        memcpy(dd, w.tokens.data(), (size_t) n_ctx * sizeof(int32_t));
        memcpy(dl, w.labels.data(), (size_t) n_ctx * sizeof(int32_t));
        s.window = &w;
        s.eval_done = false;
        s.eval_loss_sum = 0;
        s.eval_loss_n = 0;
    };
    // exact mean cross-entropy over every completion token of the dataset (forward only)
    auto dataset_loss = [&]() -> double {
        double sum = 0;
        int64_t n = 0;
        for (const Window & w : windows) {
            if (cancel.load()) return NAN;
            load_window(w);
            s.want_probs = false;
            llama_opt_epoch(ctx.get(), ds, nullptr, nullptr, /*idata_split*/ 0, nullptr, cb_eval);
            if (!s.error.empty()) fail(s.error);
            sum += s.eval_loss_sum;
            n += s.eval_loss_n;
        }
        return n ? sum / n : 0.0;
    };

    const int total_steps = o.epochs * (int) windows.size();
    r.loss_first = dataset_loss();
    const auto t_start = clock::now();
    double loss_sum = 0;
    int step = 0;
    bool cancelled = false;
    for (int ep = 0; ep < o.epochs && !cancelled; ++ep) {
        std::vector<size_t> order(windows.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::mt19937 rng(o.seed + 1000003u * (uint32_t) (ep + 1));
        std::shuffle(order.begin(), order.end(), rng);
        for (size_t wi : order) {
            if (cancel.load()) { cancelled = true; break; }
            load_window(windows[wi]);
            if (s.masking) {
                s.want_probs = true;
                llama_opt_epoch(ctx.get(), ds, nullptr, nullptr, /*idata_split*/ 0, nullptr, cb_eval);
                if (!s.error.empty()) fail(s.error);
                if (!s.eval_done) fail("the forward pass for masking did not run", true);
            }
            ggml_opt_result_reset(res);
            llama_opt_epoch(ctx.get(), ds, res, nullptr, /*idata_split*/ 1, nullptr, nullptr);
            if (!s.error.empty()) fail(s.error);
            double loss = 0;
            if (s.masking) {
                loss = s.eval_loss_n ? s.eval_loss_sum / s.eval_loss_n : 0.0;
            } else {
                double unc = 0;
                ggml_opt_result_loss(res, &loss, &unc);
            }
            if (!std::isfinite(loss)) fail("training diverged (loss is not finite); lower learningRate");
            ++step;
            loss_sum += loss;
            const double secs = std::chrono::duration<double>(clock::now() - t_start).count();
            Progress p;
            p.step = step;
            p.total_steps = total_steps;
            p.epoch = ep + 1;
            p.loss = loss;
            p.tokens_per_second = secs > 0 ? (double) step * n_ctx / secs : 0;
            if (on_progress) on_progress(p);
        }
    }
    r.seconds = std::chrono::duration<double>(clock::now() - t_start).count();
    if (!cancelled) r.loss_last = dataset_loss();
    if (cancel.load()) cancelled = true;
    r.steps = step;
    r.tokens = (int64_t) step * n_ctx;
    r.tokens_per_second = r.seconds > 0 ? r.tokens / r.seconds : 0;
    r.loss_mean = step ? loss_sum / step : 0;
    r.cancelled = cancelled;
    if (cancelled) return r;

    // ---- save (tmp file + rename: never a half-written outPath)
    const std::string tmp = o.out_path + ".tmp";
    if (o.full) {
        model->hparams.n_ctx_train = (uint32_t) orig_n_ctx_train;  // llama_opt_init overwrote it
        llama_model_save_to_file(model.get(), tmp.c_str());
    } else {
        std::vector<NamedTensor> ts;
        for (auto & kv : adapter->ab_map) {
            for (ggml_tensor * t : { kv.second.a, kv.second.b }) {
                NamedTensor nt{t->name, {t->ne[0], t->ne[1]}, std::vector<float>((size_t) ggml_nelements(t))};
                if (t->type != GGML_TYPE_F32) fail("adapter tensor is not F32");
                ggml_backend_tensor_get(t, nt.data.data(), 0, ggml_nbytes(t));
                ts.push_back(std::move(nt));
            }
        }
        std::sort(ts.begin(), ts.end(), [](const NamedTensor & a, const NamedTensor & b) { return a.name < b.name; });
        write_adapter(tmp, base.architecture, alpha, ts,
                      { { "inversion.masking", o.masking == Masking::Softmax ? "softmax-labels" : "none" },
                        { "inversion.steps", std::to_string(step) } });
    }
    if (std::rename(tmp.c_str(), o.out_path.c_str()) != 0) {
        std::remove(tmp.c_str());
        fail("failed to move the trained file into place at " + o.out_path);
    }
    r.out_path = o.out_path;
    return r;
}

ForwardBench bench_forward(const std::string & model_path, const std::string & backend_dir,
                           int n_ctx, int threads, int windows) {
    init_backends(backend_dir);
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    mp.load_mode = LLAMA_LOAD_MODE_MMAP;
    mp.use_extra_bufts = false;
    std::unique_ptr<llama_model, ModelDeleter> model(llama_model_load_from_file(model_path.c_str(), mp));
    if (!model) fail("failed to load model " + model_path, true);
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = n_ctx;
    cp.n_ubatch = n_ctx;
    cp.n_seq_max = 1;
    cp.n_threads = threads;
    cp.n_threads_batch = threads;
    cp.type_k = GGML_TYPE_F32;
    cp.type_v = GGML_TYPE_F32;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.no_perf = true;
    std::unique_ptr<llama_context, CtxDeleter> ctx(llama_init_from_model(model.get(), cp));
    if (!ctx) fail("failed to create context", true);
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model.get()));
    std::mt19937 rng(1);
    std::vector<llama_token> toks(n_ctx);
    llama_batch batch = llama_batch_init(n_ctx, 0, 1);
    auto run = [&] {
        llama_memory_clear(llama_get_memory(ctx.get()), true);
        for (int i = 0; i < n_ctx; ++i) {
            batch.token[i] = (llama_token) (rng() % (uint32_t) n_vocab);
            batch.pos[i] = i;
            batch.n_seq_id[i] = 1;
            batch.seq_id[i][0] = 0;
            batch.logits[i] = i == n_ctx - 1;
        }
        batch.n_tokens = n_ctx;
        if (llama_decode(ctx.get(), batch) != 0) fail("decode failed", true);
    };
    run();  // warm-up (applies threads, reserves graphs)
    const auto t0 = std::chrono::steady_clock::now();
    for (int w = 0; w < windows; ++w) run();
    ForwardBench fb;
    fb.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    fb.tokens = (int64_t) windows * n_ctx;
    llama_batch_free(batch);
    return fb;
}

}  // namespace inv
