// LoRA / full-parameter training on llama.cpp's llama_opt (v0.5.0, as shipped by node-llama-cpp 3.22.1).
//
// The adapter tensors are made trainable through llama.cpp internals (internals.cpp: the one file that
// touches them, pinned to this llama.cpp version); every model tensor is frozen by the param filter.
// internals.cpp also raises llama.cpp's graph budget for training (deep models), clears ggml-opt's
// gradient accumulators before each step (llama_opt would otherwise sum every past gradient), runs each
// window itself (opt_window: llama.cpp's training step with the KV-cache reads rerouted so attention K/V
// get gradients), trains token_embd in full mode, and reads/writes the AdamW state for checkpoints.
//
// Loss masking ("completion" mode, the default): ggml's cross-entropy has no ignore index, so the training graph's
// outputs are the logits multiplied row by row by a 0/1 weight (opt_window's loss_rows): 1 where a completion token
// (or EOS) is predicted, 0 for prompt and padding rows. A weight of 1 leaves a row's logits and gradient bit-identical;
// the backward of the product multiplies a masked row's gradient by 0, so it is exactly zero on every backend. The
// reported loss is the exact mean cross-entropy of the rows that carry loss, read from the same pass's logits.
// (Until 2026-12 masked rows were labelled with their own softmax, computed in a second forward pass per step.)

#include "trainer.h"
#include "internals.h"
#include "backward.h"

#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggml-opt.h"
#include "gguf.h"
#include "llama.h"


#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
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

void init_backends(const std::string & dir, const std::vector<std::string> & gpu_libs) {
    std::call_once(g_backend_once, [&] {
        llama_log_set(log_cb, nullptr);
        // GPU backends first, from node-llama-cpp's GPU packages; one the system cannot load (no driver) is skipped
        for (const auto & lib : gpu_libs) ggml_backend_load(lib.c_str());
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

static std::vector<Window> stream_windows(const std::vector<TokenizedExample> & exs, const std::vector<size_t> & order,
                                          int n_ctx, llama_token pad, int64_t & loss_tokens) {
    std::vector<llama_token> stream;
    for (size_t idx : order) stream.insert(stream.end(), exs[idx].tokens.begin(), exs[idx].tokens.end());
    std::vector<Window> windows;
    loss_tokens = 0;
    for (size_t start = 0; start + 1 < stream.size(); start += (size_t) n_ctx) {
        Window w;
        for (int j = 0; j < n_ctx; ++j) {
            const size_t i = start + (size_t) j;
            const bool has_next = i + 1 < stream.size();
            w.tokens.push_back(i < stream.size() ? stream[i] : pad);
            w.labels.push_back(has_next ? stream[i + 1] : pad);
            w.mask.push_back(has_next ? 1 : 0);
            loss_tokens += has_next;
        }
        windows.push_back(std::move(w));
    }
    return windows;
}

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
        if ((int) te.tokens.size() > n_ctx && o.packing == Packing::Examples) {
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

    if (o.packing == Packing::Stream) return stream_windows(exs, order, n_ctx, pad, loss_tokens);

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
// per-step state, reached from ggml-opt's optimizer-params callback through get_opt_pars_ud

struct SavedMoments {
    std::vector<float> m, v;
};

struct StepState {
    ggml_opt_context_t opt_ctx = nullptr;
    int n_vocab = 0;
    int n_ctx = 0;
    const Window * window = nullptr;
    bool mask_everything = false;
    bool masking = false;
    std::vector<float> loss_rows;  // per window row: 1 when it carries loss, 0 when masked
    std::vector<float> logits;
    double eval_loss_sum = 0;
    int64_t eval_loss_n = 0;
    bool eval_done = false;
    ggml_opt_optimizer_params opt_pars{};
    float lr = 0;  // this step's learning rate (schedule applied)
    // optimizer state to restore at the first training step of a resumed run
    std::map<std::string, SavedMoments> restore_moments;
    int64_t restore_iter = 0;
    bool graph_checked = false;
    std::string error;
};

static double row_nll(const float * x, int nv, int label) {
    float mx = -INFINITY;
    for (int i = 0; i < nv; ++i) mx = std::max(mx, x[i]);
    double sum = 0;
    for (int i = 0; i < nv; ++i) sum += std::exp((double) x[i] - mx);
    return -((double) x[label] - mx - std::log(sum));
}

// After a pass: the exact mean loss of the rows that carry loss, from the pass's logits.
static void read_eval_logits(StepState & s) {
    ggml_tensor * out = ggml_opt_outputs(s.opt_ctx);
    if (out->ne[0] != s.n_vocab || out->ne[1] != s.n_ctx || out->type != GGML_TYPE_F32) {
        s.error = "unexpected logits shape in the training graph";
        return;
    }
    const size_t nbytes = (size_t) s.n_vocab * s.n_ctx * sizeof(float);
    ggml_backend_tensor_get(out, s.logits.data(), 0, nbytes);
    // loss over the positions that carry loss (exact, before this step's update)
    const Window & w = *s.window;
    for (int r = 0; r < s.n_ctx; ++r) {
        if (!w.mask[r] || s.mask_everything) continue;
        s.eval_loss_sum += row_nll(s.logits.data() + (size_t) r * s.n_vocab, s.n_vocab, w.labels[r]);
        s.eval_loss_n += 1;
    }
    s.eval_done = true;
}

static void restore_optimizer(StepState & s, ggml_opt_context_t opt) {
    internals::opt_check_layout(opt);
    size_t restored = 0;
    for (const auto & mom : internals::opt_moments(opt)) {
        auto it = s.restore_moments.find(mom.name);
        if (it == s.restore_moments.end()) continue;
        const size_t n = (size_t) ggml_nelements(mom.m);
        if (it->second.m.size() != n || it->second.v.size() != n) {
            s.error = "checkpoint optimizer state for " + mom.name + " has the wrong size";
            return;
        }
        ggml_backend_tensor_set(mom.m, it->second.m.data(), 0, n * sizeof(float));
        ggml_backend_tensor_set(mom.v, it->second.v.data(), 0, n * sizeof(float));
        ++restored;
    }
    if (restored != s.restore_moments.size()) {
        s.error = "checkpoint optimizer state does not match the trainable tensors (" + std::to_string(restored) +
                  " of " + std::to_string(s.restore_moments.size()) + " found)";
        return;
    }
    internals::opt_set_iter(opt, s.restore_iter);
    if (std::getenv("INVERSION_TRAIN_VERBOSE")) fprintf(stderr, "inversion trainer: restored AdamW state of %zu tensors at iteration %lld\n", restored, (long long) s.restore_iter);
    s.restore_moments.clear();
}

// Runs after llama.cpp filled the labels and before the training graph is computed.
static ggml_opt_optimizer_params cb_opt_pars(void * ud) {
    StepState & s = *static_cast<StepState *>(ud);
    if (s.opt_ctx) internals::opt_zero_param_grads(s.opt_ctx);
    if (!s.restore_moments.empty() && s.opt_ctx) restore_optimizer(s, s.opt_ctx);
    if (!s.graph_checked && s.opt_ctx && std::getenv("INVERSION_TRAIN_VERBOSE")) {
        int used = 0, capacity = 0;
        internals::opt_graph_size(s.opt_ctx, used, capacity);
        fprintf(stderr, "inversion trainer: training graph uses %d of %d nodes\n", used, capacity);
    }
    s.graph_checked = true;
    ggml_opt_optimizer_params p = s.opt_pars;
    p.adamw.alpha = s.lr;
    p.sgd.alpha = s.lr;
    return p;
}

static std::mutex & g_train_mutex_holder() {
    static std::mutex m;
    return m;
}

static bool filter_none(const ggml_tensor *, void *) { return false; }

struct ModelDeleter { void operator()(llama_model * m) const { if (m) { internals::release_graph_nodes(m); llama_model_free(m); } } };
struct CtxDeleter { void operator()(llama_context * c) const { if (c) llama_free(c); } };
using model_ptr = std::unique_ptr<llama_model, ModelDeleter>;
using ctx_ptr = std::unique_ptr<llama_context, CtxDeleter>;

// ---------------------------------------------------------------------------------------------
// the steps of train()

// Value ranges come from the contract (option_range_error); these are the rules that tie options together.
static void validate_options(const Options & o) {
    const std::string range = option_range_error(o);
    if (!range.empty()) fail(range);
    if (o.examples.empty()) fail("no training examples: the dataset is empty");
    if (o.out_path.empty()) fail("outPath is required");
    if (!o.full && o.rank <= 0 && o.init_adapter_path.empty()) fail("rank must be a positive integer (got " + std::to_string(o.rank) + ")");
    if (o.min_learning_rate > o.learning_rate) fail("minLearningRate must not exceed learningRate");
    if (o.resume && o.checkpoint_dir.empty()) fail("resume needs checkpointDir");
    if (o.packing == Packing::Stream && o.masking != Masking::None) fail("packing \"stream\" trains every position: use masking \"none\"");
}

// Base types whose frozen matrices ggml's CPU backend can back-propagate through (OUT_PROD).
static bool lora_base_type_supported(ggml_type t) {
    switch (t) {
        case GGML_TYPE_F32: case GGML_TYPE_F16:
        case GGML_TYPE_Q4_0: case GGML_TYPE_Q4_1: case GGML_TYPE_Q5_0: case GGML_TYPE_Q5_1: case GGML_TYPE_Q8_0:
        case GGML_TYPE_Q2_K: case GGML_TYPE_Q3_K: case GGML_TYPE_Q4_K: case GGML_TYPE_Q5_K: case GGML_TYPE_Q6_K:
            return true;
        default:
            return false;
    }
}
static const char * LORA_BASE_TYPES = "F32, F16, Q8_0, Q6_K, Q5_K (Q5_K_M), Q4_K (Q4_K_M), Q3_K, Q2_K, Q5_0, Q5_1, Q4_0, Q4_1";

static void check_base_types(const GgufInfo & base, const Options & o) {
    for (const auto & kv : base.types) {
        const ggml_type t = kv.second;
        if (o.full && t != GGML_TYPE_F32) {
            fail(std::string("full mode trains F32 weights only, but ") + kv.first + " is " + ggml_type_name(t) +
                 "; use mode \"lora\" or an all-F32 base");
        }
        if (!lora_base_type_supported(t)) {
            fail(std::string("unsupported base tensor type ") + ggml_type_name(t) + " (" + kv.first +
                 "); LoRA training supports bases of type " + LORA_BASE_TYPES +
                 ". Requantize the model to one of these, e.g. llama-quantize model.gguf out.gguf Q4_K_M");
        }
    }
}

static void check_init_adapter(const GgufInfo & base, const std::string & path) {
    GgufInfo init_info = inspect_gguf(path, "initial adapter");
    if (init_info.architecture != base.architecture) {
        fail("initial adapter " + path + " is for architecture \"" + init_info.architecture +
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

static std::string device_names() {
    std::string names;
    for (size_t i = 0; i < ggml_backend_dev_count(); ++i) names += (names.empty() ? "" : ", ") + std::string(ggml_backend_dev_name(ggml_backend_dev_get(i)));
    return names;
}

static model_ptr load_model(const std::string & path, bool full, const std::string & device) {
    clear_log_tail();
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    ggml_backend_dev_t devices[2] = { nullptr, nullptr };  // llama.cpp reads this list while loading only
    if (device != "CPU") {
        devices[0] = ggml_backend_dev_by_name(device.c_str());
        if (!devices[0]) fail("training device " + device + " not found; ggml has: " + device_names());
        mp.devices = devices;
        mp.n_gpu_layers = 999;
    }
    mp.load_mode = full ? LLAMA_LOAD_MODE_NONE : LLAMA_LOAD_MODE_MMAP;
    mp.use_extra_bufts = false;
    mp.check_tensors = false;
    model_ptr model(llama_model_load_from_file(path.c_str(), mp));
    if (!model) fail("failed to load base model " + path + " (corrupt or unsupported GGUF?)", true);
    return model;
}

// The type of the frozen matrices' transposed copies, or GGML_TYPE_COUNT for ggml's own OUT_PROD (GPU training keeps
// it: the rewrite is for the CPU backend's kernels). `spare` is the memory left after the rest of training (auto).
static ggml_type transposed_weights_type(const Options & o, llama_model * model, double spare) {
    if (o.full || o.device != "CPU") return GGML_TYPE_COUNT;
    switch (o.transposed_weights) {
        case TransposedWeights::F32: return GGML_TYPE_F32;
        case TransposedWeights::F16: return GGML_TYPE_F16;
        case TransposedWeights::Q8_0: return GGML_TYPE_Q8_0;
        case TransposedWeights::None: return GGML_TYPE_COUNT;
        case TransposedWeights::Auto: break;
    }
    const auto frozen = internals::model_frozen_tensors(model);
    for (ggml_type t : { GGML_TYPE_F32, GGML_TYPE_F16 }) {
        if ((double) FrozenTransposes::estimate(frozen, t) < spare) return t;
    }
    return GGML_TYPE_COUNT;
}

// Refuses a training that would not fit in memory; returns the transposed weights' type it budgeted for.
static ggml_type check_memory(const Options & o, llama_model * model, int n_vocab) {
    const double n_embd = llama_model_n_embd(model);
    const double n_layer = llama_model_n_layer(model);
    const double n_head = std::max(1, llama_model_n_head(model));
    const double c = o.context_size;
    double est = 0;
    est += (double) n_vocab * c * 4 * 6;                 // logits, grads, labels, softmax, host copies
    est += n_layer * n_head * c * c * 4 * 4;             // attention scores (+ softmax, grads)
    est += n_layer * c * n_embd * 4 * 40;                // activations kept for backward (incl. FFN)
    est += n_layer * c * n_embd * 4 * 2;                 // F32 KV cache
    if (o.full) est += (double) llama_model_n_params(model) * 4 * 4;  // grads + AdamW m, v
    const int64_t avail = mem_available_bytes();
    const double budget = avail > 0 ? (double) avail * 0.9 : INFINITY;
    const ggml_type transposed = transposed_weights_type(o, model, budget - est);
    if (transposed != GGML_TYPE_COUNT) est += (double) FrozenTransposes::estimate(internals::model_frozen_tensors(model), transposed);
    if (avail > 0 && est > (double) avail * 0.9) {
        char buf[256];
        snprintf(buf, sizeof buf, "out of memory: training with contextSize %d needs about %.1f GiB but only %.1f GiB is available; lower contextSize",
                 o.context_size, est / (1 << 30), (double) avail / (1 << 30));
        fail(buf);
    }
    return transposed;
}

// A fresh adapter: A seeded random, B zero, so the adapted model starts equal to the base.
static std::string write_initial_adapter(const Options & o, const GgufInfo & base) {
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
        NamedTensor a{name + ".lora_a", {n_in, o.rank}, std::vector<float>((size_t) n_in * o.rank)};
        NamedTensor b{name + ".lora_b", {o.rank, n_out}, std::vector<float>((size_t) o.rank * n_out, 0.0f)};
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
    const std::string tmp_init = o.out_path + ".init.tmp";
    write_adapter(tmp_init, base.architecture, o.alpha, ts, {});
    return tmp_init;
}

struct AdapterInfo {
    llama_adapter_lora * adapter = nullptr;
    int rank = 0;
    float alpha = 0;
    int64_t trainable = 0;
};

static AdapterInfo load_trainable_adapter(llama_model * model, const std::string & path, bool remove_after) {
    clear_log_tail();
    AdapterInfo info;
    info.adapter = llama_adapter_lora_init(model, path.c_str());
    if (remove_after) std::remove(path.c_str());
    if (!info.adapter) fail("failed to load adapter " + path, true);
    const auto tensors = internals::lora_tensors(info.adapter);
    if (tensors.empty()) fail("the adapter has no LoRA tensors");
    info.trainable = internals::lora_make_trainable(info.adapter);
    info.rank = (int) tensors.front().b->ne[0];
    info.alpha = internals::lora_alpha(info.adapter);
    return info;
}

// Training graphs hold the forward graph, its gradients and one optimizer step per parameter, all in
// graphs llama.cpp sized for inference. Measured on llama models (F32 and quantized, LoRA and full):
// the backward graph needs under 3x the forward budget, plus a few nodes per trainable tensor.
static uint32_t training_graph_extra_nodes(llama_model * model, size_t adapted_matrices) {
    const uint64_t forward = std::max<uint64_t>(1024, 8 * (uint64_t) internals::model_tensor_count(model)) + 6 * adapted_matrices;
    return (uint32_t) std::min<uint64_t>(forward * 4 + 16 * (uint64_t) internals::model_tensor_count(model) + 24 * adapted_matrices,
                                         UINT32_MAX / 2);
}

static ctx_ptr make_training_context(const Options & o, llama_model * model, llama_adapter_lora * adapter,
                                     const Window & first_window) {
    clear_log_tail();
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = o.context_size;
    cp.n_batch = o.context_size;
    cp.n_ubatch = o.context_size;
    cp.n_seq_max = 1;
    cp.n_threads = o.threads;
    cp.n_threads_batch = o.threads;
    cp.type_k = GGML_TYPE_F32;  // F16 KV aborts in the attention backward (grouped KV heads)
    cp.type_v = GGML_TYPE_F32;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.no_perf = true;
    ctx_ptr ctx(llama_init_from_model(model, cp));
    if (!ctx) fail("failed to create a training context of " + std::to_string(o.context_size) + " tokens (out of memory?)", true);
    if ((int) llama_n_ctx(ctx.get()) < o.context_size) fail("llama.cpp reduced the context size to " + std::to_string(llama_n_ctx(ctx.get())));
    if (adapter) {
        float scale = 1.0f;
        if (llama_set_adapters_lora(ctx.get(), &adapter, 1, &scale) != 0) fail("failed to attach the adapter", true);
    }
    // one ordinary decode applies the thread count to the CPU backend (the training path never does)
    llama_token t0 = first_window.tokens[0];
    llama_batch b = llama_batch_get_one(&t0, 1);
    if (llama_decode(ctx.get(), b) != 0) fail("warm-up decode failed", true);
    llama_memory_clear(llama_get_memory(ctx.get()), true);
    return ctx;
}

static std::string masking_description(const Options & o) {
    if (o.masking == Masking::Completion) {
        return "completion-rows: the logits of prompt and padding rows are multiplied by 0 in the training graph, so their gradient is exactly zero; loss over completion tokens + EOS";
    }
    if (o.packing == Packing::Stream) return "none, stream: examples concatenated into full windows, every position trained";
    return "none: every position (prompt, completion, padding) is trained";
}

// Warmup (linear from 0) then cosine decay to min_learning_rate; constant when neither is set.
static float scheduled_lr(const Options & o, int64_t step, int64_t total_steps) {
    const double peak = o.learning_rate;
    if (o.warmup_steps > 0 && step < o.warmup_steps) return (float) (peak * (double) (step + 1) / o.warmup_steps);
    if (o.min_learning_rate < 0) return (float) peak;
    const double span = std::max<int64_t>(1, total_steps - 1 - o.warmup_steps);  // the last step runs at the minimum
    const double progress = std::min(1.0, std::max(0.0, (double) (step - o.warmup_steps) / span));
    return (float) (o.min_learning_rate + 0.5 * (peak - o.min_learning_rate) * (1.0 + std::cos(M_PI * progress)));
}

// ---------------------------------------------------------------------------------------------
// checkpoints: <dir>/state.bin names the weights file of the same step; the state file is renamed
// into place last, so a kill at any moment leaves the previous complete checkpoint.

static const char CKPT_MAGIC[8] = { 'I', 'N', 'V', 'C', 'K', 'P', 'T', '1' };

struct CheckpointState {
    bool full = false;
    int64_t step = 0;       // optimizer steps completed
    int64_t iter = 1;       // AdamW bias-correction counter
    uint64_t data_hash = 0;
    double loss_sum = 0;
    std::string weights_file;  // file name inside the checkpoint dir
    std::map<std::string, SavedMoments> moments;
};

static uint64_t windows_hash(const std::vector<Window> & windows, const Options & o) {
    uint64_t h = 1469598103934665603ull;
    auto mix = [&](uint64_t v) { h = (h ^ v) * 1099511628211ull; };
    mix((uint64_t) o.context_size);
    mix((uint64_t) o.seed);
    mix((uint64_t) o.packing);
    mix((uint64_t) o.full);
    for (const Window & w : windows) {
        for (size_t i = 0; i < w.tokens.size(); ++i) {
            mix((uint64_t) (uint32_t) w.tokens[i]);
            mix((uint64_t) w.mask[i]);
        }
    }
    return h;
}

template <typename T> static void put(std::ofstream & f, const T & v) { f.write(reinterpret_cast<const char *>(&v), sizeof(T)); }
template <typename T> static void get(std::ifstream & f, T & v) {
    f.read(reinterpret_cast<char *>(&v), sizeof(T));
    if (!f) throw std::runtime_error("truncated");
}
static void put_str(std::ofstream & f, const std::string & s) { put(f, (uint32_t) s.size()); f.write(s.data(), s.size()); }
static std::string get_str(std::ifstream & f) {
    uint32_t n = 0;
    get(f, n);
    if (n > (1u << 20)) throw std::runtime_error("bad string length");
    std::string s(n, '\0');
    f.read(&s[0], n);
    if (!f) throw std::runtime_error("truncated");
    return s;
}
static void put_floats(std::ofstream & f, const std::vector<float> & v) { put(f, (uint64_t) v.size()); f.write(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(float)); }
static std::vector<float> get_floats(std::ifstream & f) {
    uint64_t n = 0;
    get(f, n);
    if (n > (1ull << 34)) throw std::runtime_error("bad tensor size");
    std::vector<float> v(n);
    f.read(reinterpret_cast<char *>(v.data()), n * sizeof(float));
    if (!f) throw std::runtime_error("truncated");
    return v;
}

static std::string ckpt_path(const Options & o, const std::string & name) { return o.checkpoint_dir + "/" + name; }

static bool read_checkpoint(const Options & o, CheckpointState & st) {
    const std::string path = ckpt_path(o, "state.bin");
    std::ifstream f(path, std::ios::binary);
    if (!f.good()) return false;
    try {
        char magic[8];
        f.read(magic, 8);
        if (!f || memcmp(magic, CKPT_MAGIC, 8) != 0) throw std::runtime_error("not an Inversion checkpoint");
        uint8_t full = 0;
        get(f, full);
        st.full = full != 0;
        get(f, st.step);
        get(f, st.iter);
        get(f, st.data_hash);
        get(f, st.loss_sum);
        st.weights_file = get_str(f);
        uint32_t n = 0;
        get(f, n);
        for (uint32_t i = 0; i < n; ++i) {
            std::string name = get_str(f);
            SavedMoments sm;
            sm.m = get_floats(f);
            sm.v = get_floats(f);
            st.moments[name] = std::move(sm);
        }
    } catch (const std::exception & e) {
        fail("checkpoint " + path + " is unreadable (" + e.what() + "); delete the checkpoint directory to start over");
    }
    if (st.full != o.full) fail("checkpoint " + path + " was made in " + (st.full ? "full" : "lora") + " mode");
    if (!file_exists(ckpt_path(o, st.weights_file))) fail("checkpoint weights " + ckpt_path(o, st.weights_file) + " are missing");
    return true;
}

static void save_weights(const std::string & path, llama_model * model, llama_adapter_lora * adapter, const Options & o,
                         const std::string & arch, int64_t step, uint32_t orig_n_ctx_train) {
    if (o.full) {
        internals::model_set_n_ctx_train(model, orig_n_ctx_train);
        llama_model_save_to_file(model, path.c_str());
        internals::model_set_n_ctx_train(model, (uint32_t) o.context_size);  // training reads it as the window length
        return;
    }
    std::vector<NamedTensor> ts;
    for (const auto & lt : internals::lora_tensors(adapter)) {
        for (ggml_tensor * t : { lt.a, lt.b }) {
            if (t->type != GGML_TYPE_F32) fail("adapter tensor is not F32");
            NamedTensor nt{t->name, {t->ne[0], t->ne[1]}, std::vector<float>((size_t) ggml_nelements(t))};
            ggml_backend_tensor_get(t, nt.data.data(), 0, ggml_nbytes(t));
            ts.push_back(std::move(nt));
        }
    }
    std::sort(ts.begin(), ts.end(), [](const NamedTensor & a, const NamedTensor & b) { return a.name < b.name; });
    write_adapter(path, arch, internals::lora_alpha(adapter), ts,
                  { { "inversion.masking", o.masking == Masking::Completion ? "completion-rows" : "none" },
                    { "inversion.steps", std::to_string(step) } });
}

// The weights file an existing state.bin names (header only; "" when there is none or it is unreadable): a fresh run
// replaces an old checkpoint in its directory and removes that file.
static std::string existing_checkpoint_weights(const Options & o) {
    std::ifstream f(ckpt_path(o, "state.bin"), std::ios::binary);
    if (!f.good()) return "";
    try {
        char magic[8];
        f.read(magic, 8);
        if (!f || memcmp(magic, CKPT_MAGIC, 8) != 0) return "";
        f.seekg(1 + 4 * 8, std::ios::cur);  // mode, step, iter, data hash, loss sum
        return get_str(f);
    } catch (const std::exception &) {
        return "";
    }
}

// Writes weights then state (the commit point); removes the previous checkpoint's weights file.
static std::string write_checkpoint(const Options & o, StepState & s, llama_model * model, llama_adapter_lora * adapter,
                             const std::string & arch, int64_t step, uint64_t data_hash, double loss_sum,
                             uint32_t orig_n_ctx_train, const std::string & previous_weights) {
    const std::string weights_name = std::string(o.full ? "weights-" : "adapter-") + std::to_string(step) + ".gguf";
    const std::string weights_tmp = ckpt_path(o, weights_name + ".tmp");
    save_weights(weights_tmp, model, adapter, o, arch, step, orig_n_ctx_train);
    if (std::rename(weights_tmp.c_str(), ckpt_path(o, weights_name).c_str()) != 0) fail("failed to write checkpoint weights in " + o.checkpoint_dir);

    const std::string state_tmp = ckpt_path(o, "state.bin.tmp");
    {
        std::ofstream f(state_tmp, std::ios::binary | std::ios::trunc);
        f.write(CKPT_MAGIC, 8);
        put(f, (uint8_t) (o.full ? 1 : 0));
        put(f, step);
        put(f, s.opt_ctx ? internals::opt_iter(s.opt_ctx) : (int64_t) 1);
        put(f, data_hash);
        put(f, loss_sum);
        put_str(f, weights_name);
        std::vector<internals::Moments> moments;
        if (s.opt_ctx) {
            internals::opt_check_layout(s.opt_ctx);
            moments = internals::opt_moments(s.opt_ctx);
        }
        if (std::getenv("INVERSION_TRAIN_VERBOSE")) fprintf(stderr, "inversion trainer: checkpoint at step %lld with AdamW state of %zu tensors\n", (long long) step, moments.size());
        put(f, (uint32_t) moments.size());
        for (const auto & mom : moments) {
            put_str(f, mom.name);
            for (ggml_tensor * t : { mom.m, mom.v }) {
                std::vector<float> data((size_t) ggml_nelements(t));
                ggml_backend_tensor_get(t, data.data(), 0, data.size() * sizeof(float));
                put_floats(f, data);
            }
        }
        f.flush();
        if (!f) fail("failed to write the checkpoint state in " + o.checkpoint_dir + " (disk full?)");
    }
    if (std::rename(state_tmp.c_str(), ckpt_path(o, "state.bin").c_str()) != 0) fail("failed to move the checkpoint state into place in " + o.checkpoint_dir);
    if (!previous_weights.empty() && previous_weights != weights_name) std::remove(ckpt_path(o, previous_weights).c_str());
    return ckpt_path(o, weights_name);
}

// ---------------------------------------------------------------------------------------------

struct Trainer {
    const Options & o;
    const std::function<void(const Progress &)> & on_progress;
    const std::atomic<bool> & cancel;

    GgufInfo base;
    CheckpointState resume_state;
    bool resuming = false;
    model_ptr model;
    AdapterInfo adapter;
    std::vector<Window> windows;
    int64_t loss_tokens = 0;
    uint64_t data_hash = 0;
    ctx_ptr ctx;
    StepState s;
    ggml_opt_dataset_t ds = nullptr;
    ggml_opt_result_t res = nullptr;
    int n_ctx_padded = 0;
    uint32_t orig_n_ctx_train = 0;
    ggml_type transposed_type = GGML_TYPE_COUNT;  // of the frozen matrices' transposed copies (COUNT: none)
    std::unique_ptr<FrozenTransposes> transposes;
    int transposed_products = 0;
    bool mask_everything = false;                // first_step_gradients only
    std::function<void()> before_training_eval;  // first_step_gradients only
    std::function<void()> after_training_eval;   // first_step_gradients only

    Trainer(const Options & o, const std::function<void(const Progress &)> & on_progress, const std::atomic<bool> & cancel)
        : o(o), on_progress(on_progress), cancel(cancel) {}
    ~Trainer() {
        if (ds) ggml_opt_dataset_free(ds);
        if (res) ggml_opt_result_free(res);
    }

    void load() {
        base = inspect_gguf(o.model_path, "base model");
        if (base.architecture.empty()) fail("base model has no general.architecture: " + o.model_path);
        check_base_types(base, o);
        if (!o.full && !o.init_adapter_path.empty()) check_init_adapter(base, o.init_adapter_path);
        if (o.resume) resuming = read_checkpoint(o, resume_state);
        const std::string weights = resuming && o.full ? ckpt_path(o, resume_state.weights_file) : o.model_path;
        model = load_model(weights, o.full, o.device);
        orig_n_ctx_train = (uint32_t) llama_model_n_ctx_train(model.get());
        const llama_vocab * vocab = llama_model_get_vocab(model.get());
        windows = build_windows(o, vocab, o.context_size, loss_tokens);
        data_hash = windows_hash(windows, o);
        if (resuming && resume_state.data_hash != data_hash) {
            fail("checkpoint in " + o.checkpoint_dir + " was made for different training data or settings; delete it to start over");
        }
        transposed_type = check_memory(o, model.get(), llama_vocab_n_tokens(vocab));
    }

    void prepare() {
        if (!o.full) {
            std::string path = o.init_adapter_path;
            bool temporary = false;
            if (resuming) {
                path = ckpt_path(o, resume_state.weights_file);
            } else if (path.empty()) {
                path = write_initial_adapter(o, base);
                temporary = true;
            }
            adapter = load_trainable_adapter(model.get(), path, temporary);
        }
        const size_t adapted = adapter.adapter ? internals::lora_tensors(adapter.adapter).size() : 0;
        internals::reserve_graph_nodes(model.get(), training_graph_extra_nodes(model.get(), adapted));
        ctx = make_training_context(o, model.get(), adapter.adapter, windows[0]);
        n_ctx_padded = (int) llama_n_ctx(ctx.get());

        s.n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model.get()));
        s.n_ctx = o.context_size;
        s.masking = o.masking == Masking::Completion || mask_everything;
        s.mask_everything = mask_everything;
        s.opt_pars = ggml_opt_get_default_optimizer_params(nullptr);
        s.opt_pars.adamw.wd = 0.0f;
        s.opt_pars.sgd.wd = 0.0f;
        s.lr = o.learning_rate;
        s.logits.resize((size_t) s.n_vocab * s.n_ctx);
        if (resuming) {
            s.restore_moments = std::move(resume_state.moments);
            s.restore_iter = resume_state.iter;
        }

        llama_opt_params op{};
        op.n_ctx_train = (uint32_t) o.context_size;
        op.param_filter = o.full ? llama_opt_param_filter_all : filter_none;
        op.param_filter_ud = nullptr;
        op.get_opt_pars = cb_opt_pars;
        op.get_opt_pars_ud = &s;
        op.optimizer_type = GGML_OPT_OPTIMIZER_TYPE_ADAMW;
        llama_opt_init(ctx.get(), model.get(), op);
        if (o.full) internals::model_train_input_embeddings(model.get());
        s.opt_ctx = internals::context_opt(ctx.get());
        internals::opt_check_layout(s.opt_ctx);
        if (transposed_type != GGML_TYPE_COUNT) {
            transposes = std::make_unique<FrozenTransposes>(internals::model_frozen_tensors(model.get()), transposed_type, o.threads);
        }

        ds = ggml_opt_dataset_init(GGML_TYPE_I32, GGML_TYPE_I32, n_ctx_padded, n_ctx_padded, 1, 1);
        res = ggml_opt_result_init();
    }

    int64_t trainable_params() {
        if (!o.full) return adapter.trainable;
        int64_t n = 0;
        for (ggml_tensor * t : internals::model_trainable_tensors(model.get())) n += ggml_nelements(t);
        return n;
    }

    void load_window(const Window & w) {
        int32_t * dd = (int32_t *) ggml_opt_dataset_data(ds)->data;
        int32_t * dl = (int32_t *) ggml_opt_dataset_labels(ds)->data;
        std::fill(dd, dd + n_ctx_padded, w.tokens.back());
        std::fill(dl, dl + n_ctx_padded, w.labels.back());
        memcpy(dd, w.tokens.data(), (size_t) o.context_size * sizeof(int32_t));
        memcpy(dl, w.labels.data(), (size_t) o.context_size * sizeof(int32_t));
        s.window = &w;
        s.loss_rows.assign((size_t) o.context_size, 0.0f);
        for (int r = 0; r < o.context_size; ++r) s.loss_rows[r] = !s.masking || (w.mask[r] && !s.mask_everything) ? 1.0f : 0.0f;
        s.eval_done = false;
        s.eval_loss_sum = 0;
        s.eval_loss_n = 0;
    }

    // One window through llama.cpp's training graph (internals::opt_window: attention K/V receive gradients).
    void run_window(bool train, ggml_opt_result_t result, const std::function<void()> & after_eval = {}) {
        const auto * tokens = (const int32_t *) ggml_opt_dataset_data(ds)->data;
        const auto * labels = (const int32_t *) ggml_opt_dataset_labels(ds)->data;
        int rerouted = 0;
        std::function<void(ggml_cgraph *)> before_eval;
        if (train) {
            before_eval = [this](ggml_cgraph * g) {
                if (transposes) transposed_products = transposes->rewrite(g);
                if (before_training_eval) before_training_eval();
            };
        }
        try {
            rerouted = internals::opt_window(ctx.get(), model.get(), tokens, labels, s.loss_rows.data(), train, result, before_eval, after_eval);
        } catch (const std::exception & e) {
            fail(std::string("training step failed: ") + e.what(), true);
        }
        // without the rerouting, attention K/V would silently get no gradient again
        if (rerouted == 0 && !llama_model_is_recurrent(model.get())) fail("the training graph has no KV cache reads to route gradients through (unsupported model layout)", true);
    }

    void forward_only(const Window & w) {
        load_window(w);
        run_window(false, nullptr, [this] { read_eval_logits(s); });
        if (!s.error.empty()) fail(s.error);
        if (!s.eval_done) fail("the forward pass did not run", true);
    }

    // Exact mean cross-entropy over the loss positions of (a prefix of) the dataset, forward only.
    double dataset_loss() {
        double sum = 0;
        int64_t n = 0;
        const size_t count = o.loss_windows > 0 ? std::min(windows.size(), (size_t) o.loss_windows) : windows.size();
        for (size_t i = 0; i < count; ++i) {
            if (cancel.load()) return NAN;
            forward_only(windows[i]);
            sum += s.eval_loss_sum;
            n += s.eval_loss_n;
        }
        return n ? sum / n : 0.0;
    }

    double train_step(const Window & w, int64_t step, int64_t total_steps) {
        s.lr = scheduled_lr(o, step, total_steps);
        load_window(w);
        ggml_opt_result_reset(res);
        run_window(true, res, [this] {
            if (s.masking) read_eval_logits(s);  // the loss of this step's rows that carry it, before the update
            if (after_training_eval) after_training_eval();
        });
        if (!s.error.empty()) fail(s.error);
        double loss = 0;
        if (s.masking) {
            if (!s.eval_done) fail("the training pass did not run", true);
            loss = s.eval_loss_n ? s.eval_loss_sum / s.eval_loss_n : 0.0;
        } else {
            double unc = 0;
            ggml_opt_result_loss(res, &loss, &unc);
        }
        if (!std::isfinite(loss)) fail("training diverged (loss is not finite); lower learningRate");
        return loss;
    }

    std::string checkpoint_weights;  // the last checkpoint's weights file (full path)

    void checkpoint(int64_t step, double loss_sum) {
        const size_t dir_len = o.checkpoint_dir.size() + 1;
        const std::string previous = checkpoint_weights.empty() ? existing_checkpoint_weights(o) : checkpoint_weights.substr(dir_len);
        checkpoint_weights = write_checkpoint(o, s, model.get(), adapter.adapter, base.architecture, step, data_hash, loss_sum,
                                              orig_n_ctx_train, previous);
    }

    void save_final(Result & r, int64_t step) {
        const std::string tmp = o.out_path + ".tmp";
        save_weights(tmp, model.get(), adapter.adapter, o, base.architecture, step, orig_n_ctx_train);
        if (std::rename(tmp.c_str(), o.out_path.c_str()) != 0) {
            std::remove(tmp.c_str());
            fail("failed to move the trained file into place at " + o.out_path);
        }
        r.out_path = o.out_path;
    }

    Result run() {
        using clock = std::chrono::steady_clock;
        Result r;
        r.masking = masking_description(o);
        r.windows = (int64_t) windows.size();
        r.rank = o.full ? 0 : adapter.rank;
        r.alpha = o.full ? 0 : adapter.alpha;
        r.adapted_tensors = adapter.adapter ? (int) internals::lora_tensors(adapter.adapter).size() : 0;
        r.trainable_params = trainable_params();
        r.architecture = base.architecture;
        r.loss_tokens = loss_tokens * o.epochs;
        r.resumed_from_step = resuming ? resume_state.step : 0;
        if (resuming) checkpoint_weights = ckpt_path(o, resume_state.weights_file);

        const int64_t n_windows = (int64_t) windows.size();
        const int64_t total_steps = (int64_t) o.epochs * n_windows;
        const int64_t start_step = resuming ? std::min(resume_state.step, total_steps) : 0;
        r.loss_first = o.loss_windows < 0 ? NAN : dataset_loss();
        const auto t_start = clock::now();
        auto last_ckpt = t_start;
        double loss_sum = resuming ? resume_state.loss_sum : 0;
        int64_t step = start_step;
        int64_t last_ckpt_step = start_step;
        bool cancelled = false, paused = false;
        for (int ep = (int) (start_step / std::max<int64_t>(1, n_windows)); ep < o.epochs && !cancelled && !paused; ++ep) {
            std::vector<size_t> order(windows.size());
            for (size_t i = 0; i < order.size(); ++i) order[i] = i;
            std::mt19937 rng(o.seed + 1000003u * (uint32_t) (ep + 1));
            std::shuffle(order.begin(), order.end(), rng);
            for (int64_t k = step - (int64_t) ep * n_windows; k < n_windows; ++k) {
                if (cancel.load()) { cancelled = true; break; }
                const double loss = train_step(windows[order[k]], step, total_steps);
                ++step;
                loss_sum += loss;
                const double secs = std::chrono::duration<double>(clock::now() - t_start).count();
                const bool due = !o.checkpoint_dir.empty() && o.checkpoint_every_seconds > 0 &&
                                 std::chrono::duration<double>(clock::now() - last_ckpt).count() >= o.checkpoint_every_seconds;
                paused = ((o.max_seconds > 0 && secs >= o.max_seconds) || (o.max_steps > 0 && step - start_step >= o.max_steps)) &&
                         step < total_steps;
                if ((due || paused) && !o.checkpoint_dir.empty()) {
                    checkpoint(step, loss_sum);
                    last_ckpt = clock::now();
                    last_ckpt_step = step;
                }
                Progress p;
                p.step = (int) step;
                p.total_steps = (int) total_steps;
                p.epoch = ep + 1;
                p.loss = loss;
                p.learning_rate = s.lr;
                p.checkpoint_step = (int) last_ckpt_step;
                p.tokens_per_second = secs > 0 ? (double) (step - start_step) * o.context_size / secs : 0;
                if (on_progress) on_progress(p);
                if (paused) break;
            }
        }
        if (cancel.load()) cancelled = true;
        if (cancelled && !o.checkpoint_dir.empty() && step > last_ckpt_step) checkpoint(step, loss_sum);
        r.seconds = std::chrono::duration<double>(clock::now() - t_start).count();
        r.steps = (int) step;
        r.tokens = (step - start_step) * o.context_size;
        r.tokens_per_second = r.seconds > 0 ? r.tokens / r.seconds : 0;
        r.loss_mean = step ? loss_sum / step : 0;
        r.cancelled = cancelled;
        r.paused = paused;
        r.checkpoint_step = o.checkpoint_dir.empty() ? 0 : last_ckpt_step;
        r.checkpoint_weights = checkpoint_weights;
        r.transposed_products = transposed_products;
        r.transposed_bytes = transposes ? (int64_t) transposes->bytes() : 0;
        r.transpose_seconds = transposes ? transposes->seconds() : 0;
        r.transposed_type = transposes ? ggml_type_name(transposed_type) : "";
        if (cancelled || paused) return r;
        r.loss_last = o.loss_windows < 0 ? NAN : dataset_loss();
        if (cancel.load()) { r.cancelled = true; return r; }
        save_final(r, step);
        return r;
    }
};

Result train(const Options & o, const std::function<void(const Progress &)> & on_progress,
             const std::atomic<bool> & cancel) {
    init_backends(o.backend_dir, o.gpu_libs);
    validate_options(o);
    std::lock_guard<std::mutex> busy(g_train_mutex_holder());
    Trainer t(o, on_progress, cancel);
    t.load();
    t.prepare();
    return t.run();
}

std::vector<NamedValues> first_step_gradients(const Options & o, bool mask_everything) {
    init_backends(o.backend_dir, o.gpu_libs);
    validate_options(o);
    std::lock_guard<std::mutex> busy(g_train_mutex_holder());
    const std::atomic<bool> no_cancel{ false };
    const std::function<void(const Progress &)> no_progress;
    Trainer t(o, no_progress, no_cancel);
    t.mask_everything = mask_everything;
    t.load();
    t.prepare();
    std::vector<NamedValues> grads;
    std::vector<internals::Gradient> accumulators;  // listed while the step's graph exists, read once it is computed
    t.before_training_eval = [&] { accumulators = internals::opt_gradients(t.s.opt_ctx); };
    t.after_training_eval = [&] {
        for (const auto & g : accumulators) {
            NamedValues nv{ g.name, std::vector<float>((size_t) ggml_nelements(g.grad)) };
            ggml_backend_tensor_get(g.grad, nv.values.data(), 0, nv.values.size() * sizeof(float));
            grads.push_back(std::move(nv));
        }
    };
    t.train_step(t.windows[0], 0, 1);
    return grads;
}

ForwardBench bench_forward(const std::string & model_path, const std::string & backend_dir,
                           int n_ctx, int threads, int windows) {
    init_backends(backend_dir, {});
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
    struct BatchFree { llama_batch & b; ~BatchFree() { llama_batch_free(b); } } batch_free{ batch };  // freed on a throw too
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
    const auto warm = std::chrono::steady_clock::now();
    run();  // warm-up (applies threads, reserves graphs)
    const auto t0 = std::chrono::steady_clock::now();
    for (int w = 0; w < windows; ++w) run();
    ForwardBench fb;
    fb.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    fb.tokens = (int64_t) windows * n_ctx;
    fb.warmup_seconds = std::chrono::duration<double>(t0 - warm).count();
    return fb;
}

}  // namespace inv
