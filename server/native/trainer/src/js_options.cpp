#include "js_options.h"

#include <cmath>
#include <initializer_list>
#include <utility>

#ifndef INV_NODE_LLAMA_CPP_VERSION
#define INV_NODE_LLAMA_CPP_VERSION "unknown"
#endif
#ifndef INV_LLAMA_CPP_TAG
#define INV_LLAMA_CPP_TAG "unknown"
#endif

namespace inv {

std::string get_str(const Napi::Object & o, const char * key, const std::string & def) {
    Napi::Value v = o.Get(key);
    return v.IsString() ? v.As<Napi::String>().Utf8Value() : def;
}
double get_num(const Napi::Object & o, const char * key, double def) {
    Napi::Value v = o.Get(key);
    return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : def;
}
std::vector<std::string> get_strs(const Napi::Object & o, const char * key) {
    std::vector<std::string> out;
    Napi::Value v = o.Get(key);
    if (!v.IsArray()) return out;
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(a.Get(i).ToString().Utf8Value());
    return out;
}
bool get_bool(const Napi::Object & o, const char * key, bool def) {
    Napi::Value v = o.Get(key);
    return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : def;
}

namespace {

// A present value of the wrong type is an error naming the option; an absent one (undefined) keeps the default.
Napi::Value present(const Napi::Object & o, const char * key) {
    Napi::Value v = o.Get(key);
    return v.IsUndefined() || v.IsNull() ? Napi::Value() : v;
}

[[noreturn]] void wrong(const Napi::Object & o, const char * key, const char * what) {
    throw Napi::TypeError::New(o.Env(), std::string(key) + " must be " + what);
}

std::string js_string(const Napi::Object & o, const char * key, const std::string & def) {
    Napi::Value v = present(o, key);
    if (v.IsEmpty()) return def;
    if (!v.IsString()) wrong(o, key, "a string");
    return v.As<Napi::String>().Utf8Value();
}

std::vector<std::string> js_strings(const Napi::Object & o, const char * key) {
    Napi::Value v = present(o, key);
    std::vector<std::string> out;
    if (v.IsEmpty()) return out;
    if (!v.IsArray()) wrong(o, key, "an array of strings");
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) {
        if (!a.Get(i).IsString()) wrong(o, key, "an array of strings");
        out.push_back(a.Get(i).As<Napi::String>().Utf8Value());
    }
    return out;
}

std::vector<Example> js_examples(const Napi::Object & o, const char * key) {
    Napi::Value v = present(o, key);
    std::vector<Example> out;
    if (v.IsEmpty()) return out;
    if (!v.IsArray()) wrong(o, key, "an array of {prompt, completion}");
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) {
        Napi::Value e = a.Get(i);
        if (!e.IsObject()) wrong(o, key, "an array of {prompt, completion}");
        Napi::Object eo = e.As<Napi::Object>();
        if (!eo.Get("prompt").IsString() || !eo.Get("completion").IsString()) {
            throw Napi::TypeError::New(o.Env(), "example " + std::to_string(i) + " needs string prompt and completion");
        }
        out.push_back({ eo.Get("prompt").As<Napi::String>().Utf8Value(), eo.Get("completion").As<Napi::String>().Utf8Value() });
    }
    return out;
}

bool js_bool(const Napi::Object & o, const char * key, bool def) {
    Napi::Value v = present(o, key);
    if (v.IsEmpty()) return def;
    if (!v.IsBoolean()) wrong(o, key, "true or false");
    return v.As<Napi::Boolean>().Value();
}

template <typename T> T js_number(const Napi::Object & o, const char * key, T def, bool integer) {
    Napi::Value v = present(o, key);
    if (v.IsEmpty()) return def;
    if (!v.IsNumber()) wrong(o, key, integer ? "an integer" : "a number");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (integer && (!std::isfinite(d) || std::floor(d) != d)) wrong(o, key, "an integer");
    return (T) d;
}

template <typename T> T js_choice(const Napi::Object & o, const char * key, std::initializer_list<std::pair<const char *, T>> choices, T def,
                                  const char * names) {
    Napi::Value v = present(o, key);
    if (v.IsEmpty()) return def;
    if (v.IsString()) {
        const std::string s = v.As<Napi::String>().Utf8Value();
        for (const auto & c : choices) {
            if (s == c.first) return c.second;
        }
    }
    wrong(o, key, (std::string("one of ") + names).c_str());
}

}  // namespace

#include "contract.generated.inc"

Napi::Object built_for(Napi::Env env) {
    Napi::Object v = Napi::Object::New(env);
    v.Set("nodeLlamaCpp", INV_NODE_LLAMA_CPP_VERSION);
    v.Set("llamaCpp", INV_LLAMA_CPP_TAG);
    return v;
}

}  // namespace inv
