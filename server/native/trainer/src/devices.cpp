#include "devices.h"

#include "trainer.h"

#include "ggml.h"
#include "ggml-backend.h"
#include "gguf.h"

#include <cstdio>
#include <memory>
#include <set>
#include <stdexcept>

namespace inv {

namespace {

struct CtxFree { void operator()(ggml_context * c) const { ggml_free(c); } };

// The types of the model's weights (the base of LoRA training): OUT_PROD must handle each.
std::set<ggml_type> weight_types(const std::string & model_path) {
    ggml_context * meta = nullptr;
    gguf_init_params ip = { /*no_alloc*/ true, /*ctx*/ &meta };
    if (FILE * f = std::fopen(model_path.c_str(), "rb")) std::fclose(f);
    else throw std::runtime_error("base model not found: " + model_path);
    gguf_context * g = gguf_init_from_file(model_path.c_str(), ip);
    if (!g) throw std::runtime_error("base model is not a valid GGUF file (corrupt or truncated?): " + model_path);
    std::set<ggml_type> types = { GGML_TYPE_F32 };
    for (int64_t i = 0; i < gguf_get_n_tensors(g); ++i) types.insert(gguf_get_tensor_type(g, i));
    gguf_free(g);
    if (meta) ggml_free(meta);
    return types;
}

// One node per op of a training step (forward ops run everywhere ggml runs a model; these are the backward ones).
std::vector<std::pair<std::string, ggml_tensor *>> training_ops(ggml_context * ctx, const std::set<ggml_type> & types) {
    const int64_t n = 256, rows = 4;  // 256: a multiple of every quantization's block
    ggml_tensor * x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, n, rows);
    ggml_tensor * dy = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, n, rows);
    std::vector<std::pair<std::string, ggml_tensor *>> ops;
    for (ggml_type t : types) {
        ggml_tensor * w = ggml_new_tensor_2d(ctx, t, n, n);
        ops.push_back({ std::string("OUT_PROD(") + ggml_type_name(t) + ")", ggml_out_prod(ctx, w, ggml_transpose(ctx, dy)) });
    }
    ggml_tensor * labels = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, n, rows);
    ggml_tensor * loss = ggml_cross_entropy_loss(ctx, x, labels);
    ops.push_back({ "CROSS_ENTROPY_LOSS", loss });
    ops.push_back({ "CROSS_ENTROPY_LOSS_BACK", ggml_cross_entropy_loss_back(ctx, ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 1), x, labels) });
    ops.push_back({ "SOFT_MAX_BACK", ggml_soft_max_ext_back(ctx, dy, x, 1.0f, 0.0f) });
    ops.push_back({ "RMS_NORM_BACK", ggml_rms_norm_back(ctx, dy, x, 1e-5f) });
    ops.push_back({ "SILU_BACK", ggml_silu_back(ctx, dy, x) });
    ggml_tensor * adamw = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 7);
    ggml_tensor * param = ggml_dup_tensor(ctx, x);
    ggml_set_param(param);
    ops.push_back({ "OPT_STEP_ADAMW", ggml_opt_step_adamw(ctx, param, dy, ggml_dup_tensor(ctx, x), ggml_dup_tensor(ctx, x), adamw) });
    return ops;
}

std::string kind_of(ggml_backend_dev_t dev) {
    const std::string reg = ggml_backend_reg_name(ggml_backend_dev_backend_reg(dev));
    if (ggml_backend_dev_type(dev) == GGML_BACKEND_DEVICE_TYPE_CPU) return "CPU";
    return reg;
}

}  // namespace

std::vector<TrainingDevice> training_devices(const std::string & backend_dir, const std::vector<std::string> & gpu_libs,
                                             const std::string & model_path) {
    init_backends(backend_dir, gpu_libs);
    const std::set<ggml_type> types = weight_types(model_path);
    ggml_init_params ip = { ggml_tensor_overhead() * 64, nullptr, /*no_alloc*/ true };
    std::unique_ptr<ggml_context, CtxFree> ctx(ggml_init(ip));
    const auto ops = training_ops(ctx.get(), types);
    std::vector<TrainingDevice> out;
    for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
        ggml_backend_dev_t dev = ggml_backend_dev_get(i);
        const auto type = ggml_backend_dev_type(dev);
        if (type != GGML_BACKEND_DEVICE_TYPE_CPU && type != GGML_BACKEND_DEVICE_TYPE_GPU) continue;
        TrainingDevice d{ ggml_backend_dev_name(dev), kind_of(dev), {} };
        for (const auto & op : ops) {
            if (!ggml_backend_dev_supports_op(dev, op.second)) d.missing_ops.push_back(op.first);
        }
        out.push_back(std::move(d));
    }
    return out;
}

}  // namespace inv
