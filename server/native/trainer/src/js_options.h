// Train options from a JavaScript object, shared by the shipped addon and the tools addon.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "trainer.h"

namespace inv {

std::string get_str(const Napi::Object & o, const char * key, const std::string & def = "");
double get_num(const Napi::Object & o, const char * key, double def);
std::vector<std::string> get_strs(const Napi::Object & o, const char * key);
bool get_bool(const Napi::Object & o, const char * key, bool def);

// The options of train() (declared in server/src/engine/train/contract.ts); throws Napi::TypeError naming an option
// of the wrong type or an unknown choice. Absent options keep the defaults of struct Options.
Options options_from_js(const Napi::Object & o);
// train()'s result as a JavaScript object (the fields of TRAIN_RESULT).
Napi::Object result_to_js(Napi::Env env, const Result & r);

// The node-llama-cpp and llama.cpp versions the addon was built against.
Napi::Object built_for(Napi::Env env);

}  // namespace inv
