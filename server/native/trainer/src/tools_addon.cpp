// The tools addon: entry points for benchmarks and tests, built beside the shipped trainer addon (addon.cpp) from
// the same core and never packaged (.vscodeignore ships inversion_trainer.node only).
#include <napi.h>

#include <atomic>
#include <memory>

#include "js_options.h"
#include "quantize.h"
#include "trainer.h"

namespace {

using inv::get_num;
using inv::get_str;

class BenchWorker : public Napi::AsyncWorker {
  public:
    BenchWorker(Napi::Env env, std::string model, std::string dir, int ctx, int threads, int windows)
        : Napi::AsyncWorker(env), model_(std::move(model)), dir_(std::move(dir)), ctx_(ctx), threads_(threads), windows_(windows),
          deferred_(Napi::Promise::Deferred::New(env)) {}
    Napi::Promise Promise() { return deferred_.Promise(); }
    void Execute() override {
        try {
            fb_ = inv::bench_forward(model_, dir_, ctx_, threads_, windows_);
        } catch (const std::exception & e) {
            SetError(e.what());
        }
    }
    void OnOK() override {
        Napi::Object o = Napi::Object::New(Env());
        o.Set("tokens", (double) fb_.tokens);
        o.Set("seconds", fb_.seconds);
        o.Set("warmupSeconds", fb_.warmup_seconds);
        o.Set("tokensPerSecond", fb_.seconds > 0 ? fb_.tokens / fb_.seconds : 0);
        deferred_.Resolve(o);
    }
    void OnError(const Napi::Error & e) override { deferred_.Reject(e.Value()); }

  private:
    std::string model_, dir_;
    int ctx_, threads_, windows_;
    inv::ForwardBench fb_;
    Napi::Promise::Deferred deferred_;
};

Napi::Value BenchForward(const Napi::CallbackInfo & info) {
    Napi::Object o = info[0].As<Napi::Object>();
    auto * w = new BenchWorker(info.Env(), get_str(o, "modelPath"), get_str(o, "backendDir"), (int) get_num(o, "contextSize", 64),
                               (int) get_num(o, "threads", 1), (int) get_num(o, "windows", 32));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
}

class QuantizeWorker : public Napi::AsyncWorker {
  public:
    QuantizeWorker(Napi::Env env, std::string in, std::string out, std::string type, int threads)
        : Napi::AsyncWorker(env), in_(std::move(in)), out_(std::move(out)), type_(std::move(type)), threads_(threads),
          deferred_(Napi::Promise::Deferred::New(env)) {}
    Napi::Promise Promise() { return deferred_.Promise(); }
    void Execute() override {
        try {
            inv::quantize_model(in_, out_, type_, threads_);
        } catch (const std::exception & e) {
            SetError(e.what());
        }
    }
    void OnOK() override { deferred_.Resolve(Napi::String::New(Env(), out_)); }
    void OnError(const Napi::Error & e) override { deferred_.Reject(e.Value()); }

  private:
    std::string in_, out_, type_;
    int threads_;
    Napi::Promise::Deferred deferred_;
};

// quantize({inPath, outPath, type, threads}) -> Promise<outPath>
Napi::Value Quantize(const Napi::CallbackInfo & info) {
    if (info.Length() < 1 || !info[0].IsObject()) {
        Napi::TypeError::New(info.Env(), "quantize(options) expects {inPath, outPath, type, threads}").ThrowAsJavaScriptException();
        return info.Env().Undefined();
    }
    Napi::Object o = info[0].As<Napi::Object>();
    auto * w = new QuantizeWorker(info.Env(), get_str(o, "inPath"), get_str(o, "outPath"), get_str(o, "type"), (int) get_num(o, "threads", 1));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
}

class GradientsWorker : public Napi::AsyncWorker {
  public:
    GradientsWorker(Napi::Env env, inv::Options opts, bool mask_everything)
        : Napi::AsyncWorker(env), opts_(std::move(opts)), mask_everything_(mask_everything), deferred_(Napi::Promise::Deferred::New(env)) {}
    Napi::Promise Promise() { return deferred_.Promise(); }
    void Execute() override {
        try {
            grads_ = inv::first_step_gradients(opts_, mask_everything_);
        } catch (const std::exception & e) {
            SetError(e.what());
        }
    }
    void OnOK() override {
        Napi::Object o = Napi::Object::New(Env());
        for (const auto & g : grads_) {
            Napi::Float32Array a = Napi::Float32Array::New(Env(), g.values.size());
            std::copy(g.values.begin(), g.values.end(), a.Data());
            o.Set(g.name, a);
        }
        deferred_.Resolve(o);
    }
    void OnError(const Napi::Error & e) override { deferred_.Reject(e.Value()); }

  private:
    inv::Options opts_;
    bool mask_everything_;
    std::vector<inv::NamedValues> grads_;
    Napi::Promise::Deferred deferred_;
};

// stepGradients(trainOptions, {maskEverything}) -> Promise<{[tensor name]: Float32Array}>: the first training step's
// gradients, as train() computes them.
Napi::Value StepGradients(const Napi::CallbackInfo & info) {
    if (info.Length() < 1 || !info[0].IsObject()) {
        Napi::TypeError::New(info.Env(), "stepGradients(options, {maskEverything}) expects train options").ThrowAsJavaScriptException();
        return info.Env().Undefined();
    }
    const bool mask_everything = info.Length() > 1 && info[1].IsObject() && inv::get_bool(info[1].As<Napi::Object>(), "maskEverything", false);
    auto * w = new GradientsWorker(info.Env(), inv::options_from_js(info[0].As<Napi::Object>()), mask_everything);
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
    exports.Set("benchForward", Napi::Function::New(env, BenchForward));
    exports.Set("quantize", Napi::Function::New(env, Quantize));
    exports.Set("quantizeTypes", Napi::String::New(env, inv::quantize_types()));
    exports.Set("stepGradients", Napi::Function::New(env, StepGradients));
    exports.Set("builtFor", inv::built_for(env));
    return exports;
}

}  // namespace

NODE_API_MODULE(inversion_tools, Init)
