// Model quantization with llama.cpp's own quantizer (llama_model_quantize), for bench models of real shape.
#pragma once

#include <string>

namespace inv {

// Quantizes `in_path` (an F32 or F16 GGUF) to `out_path` as `type`, one of the names in quantize_types()
// (written through out_path + ".tmp" and a rename, so a failed run leaves no half file). Throws on failure.
void quantize_model(const std::string & in_path, const std::string & out_path, const std::string & type, int threads);

// The type names quantize_model accepts, comma-separated: "F16, Q8_0, Q6_K, Q5_K_M, Q4_K_M, Q4_0".
std::string quantize_types();

}  // namespace inv
