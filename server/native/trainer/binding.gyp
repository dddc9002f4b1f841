# Built by scripts/build-native.mjs, which copies this file to server/native/build/gyp/ (gitignored)
# and sets the INV_* environment variables. Do not run node-gyp here directly.
#
# Three targets: the trainer core (a static library), the addon the extension ships (inversion_trainer: train,
# cancel, devices) and the tools addon for benchmarks and tests (inversion_tools: benchForward, quantize,
# stepGradients), which .vscodeignore leaves out of the package.
{
  "variables": {
    "llama_src%": "<!(node -p \"process.env.INV_LLAMA_SRC\")",
    "llama_bins%": "<!(node -p \"process.env.INV_LLAMA_BINS\")",
    "nlc_version%": "<!(node -p \"process.env.INV_NLC_VERSION\")",
    "llama_tag%": "<!(node -p \"process.env.INV_LLAMA_TAG\")",
    "napi_include%": "<!(node -p \"require('node-addon-api').include_dir\")"
  },
  "target_defaults": {
    "include_dirs": [
      "<(napi_include)",
      "<(llama_src)/include",
      "<(llama_src)/src",
      "<(llama_src)/ggml/include",
      "<(llama_src)/common",
      "<(llama_src)/vendor"
    ],
    "defines": [
      "NAPI_VERSION=8",
      "NAPI_CPP_EXCEPTIONS",
      "INV_NODE_LLAMA_CPP_VERSION=\"<(nlc_version)\"",
      "INV_LLAMA_CPP_TAG=\"<(llama_tag)\""
    ],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
    "cflags_cc": ["-std=c++17", "-O2", "-fexceptions", "-frtti", "-fPIC"],
    "libraries": [
      "-L<(llama_bins)",
      "-l:libllama.v0.5.0.so",
      "-l:libggml.v0.5.0.so",
      "-l:libggml-base.so",
      "-Wl,-rpath,<(llama_bins)"
    ]
  },
  "targets": [
    {
      "target_name": "inversion_core",
      "type": "static_library",
      "sources": [
        "../../trainer/src/trainer.cpp", "../../trainer/src/internals.cpp", "../../trainer/src/backward.cpp",
        "../../trainer/src/quantize.cpp", "../../trainer/src/devices.cpp", "../../trainer/src/js_options.cpp"
      ]
    },
    {
      "target_name": "inversion_trainer",
      "dependencies": ["inversion_core"],
      "sources": ["../../trainer/src/addon.cpp"]
    },
    {
      "target_name": "inversion_tools",
      "dependencies": ["inversion_core"],
      "sources": ["../../trainer/src/tools_addon.cpp"]
    }
  ]
}
