// The one pin of node-llama-cpp is package.json's dependency: the native trainer is compiled against the llama.cpp
// internals of exactly that release, so everything that checks the installed version reads it from there.
import manifest from "../../../package.json";

export const NODE_LLAMA_CPP_VERSION: string = manifest.dependencies["node-llama-cpp"];
