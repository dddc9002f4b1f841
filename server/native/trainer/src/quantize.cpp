// llama_model_quantize from the libllama node-llama-cpp ships: the same quantizer users' GGUFs were made with,
// including its per-tensor choices (K-quant mixes, fallbacks for rows not divisible by 256).
#include "quantize.h"

#include "llama.h"

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <utility>

namespace inv {

static const std::pair<const char *, llama_ftype> kTypes[] = {
    { "F16", LLAMA_FTYPE_MOSTLY_F16 },       { "Q8_0", LLAMA_FTYPE_MOSTLY_Q8_0 },     { "Q6_K", LLAMA_FTYPE_MOSTLY_Q6_K },
    { "Q5_K_M", LLAMA_FTYPE_MOSTLY_Q5_K_M }, { "Q4_K_M", LLAMA_FTYPE_MOSTLY_Q4_K_M }, { "Q4_0", LLAMA_FTYPE_MOSTLY_Q4_0 },
};

std::string quantize_types() {
    std::string out;
    for (const auto & t : kTypes) out += (out.empty() ? "" : ", ") + std::string(t.first);
    return out;
}

void quantize_model(const std::string & in_path, const std::string & out_path, const std::string & type, int threads) {
    const llama_ftype * ftype = nullptr;
    for (const auto & t : kTypes) {
        if (type == t.first) ftype = &t.second;
    }
    if (!ftype) throw std::runtime_error("unknown quantization type \"" + type + "\"; use one of " + quantize_types());
    if (!std::ifstream(in_path, std::ios::binary).good()) throw std::runtime_error("model to quantize not found: " + in_path);
    if (out_path.empty() || out_path == in_path) throw std::runtime_error("quantize needs an output path different from the input");
    llama_backend_init();
    llama_model_quantize_params p = llama_model_quantize_default_params();
    p.ftype = *ftype;
    p.nthread = threads > 0 ? threads : 1;
    const std::string tmp = out_path + ".tmp";
    if (llama_model_quantize(in_path.c_str(), tmp.c_str(), &p) != 0) {
        std::remove(tmp.c_str());
        throw std::runtime_error("llama_model_quantize failed for " + in_path + " -> " + type);
    }
    if (std::rename(tmp.c_str(), out_path.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw std::runtime_error("could not move the quantized model into place at " + out_path);
    }
}

}  // namespace inv
