// N-API glue for the Inversion trainer (the addon the extension ships; the tools addon, tools_addon.cpp, holds the
// entry points only benchmarks and tests use). train() runs on a libuv worker thread and resolves a Promise;
// progress is delivered on the JS thread; cancel() sets a flag checked before every optimizer step.
#include <napi.h>

#include <atomic>
#include <memory>

#include "devices.h"
#include "js_options.h"
#include "trainer.h"


namespace {

using inv::get_str;
using inv::get_strs;

std::atomic<bool> g_cancel{false};

class TrainWorker : public Napi::AsyncProgressQueueWorker<inv::Progress> {
  public:
    TrainWorker(Napi::Env env, inv::Options opts, Napi::Function progress)
        : Napi::AsyncProgressQueueWorker<inv::Progress>(env), opts_(std::move(opts)), deferred_(Napi::Promise::Deferred::New(env)) {
        if (!progress.IsEmpty()) progress_ = Napi::Persistent(progress);
    }
    Napi::Promise Promise() { return deferred_.Promise(); }

    void Execute(const ExecutionProgress & ep) override {
        try {
            result_ = inv::train(opts_, [&](const inv::Progress & p) { ep.Send(&p, 1); }, g_cancel);
        } catch (const std::bad_alloc &) {
            SetError("out of memory during training (std::bad_alloc); lower contextSize or use a smaller model");
        } catch (const std::exception & e) {
            SetError(e.what());
        }
    }
    void OnProgress(const inv::Progress * data, size_t count) override {
        if (progress_.IsEmpty()) return;
        Napi::Env env = Env();
        Napi::HandleScope scope(env);
        for (size_t i = 0; i < count; ++i) {
            Napi::Object o = Napi::Object::New(env);
            o.Set("step", data[i].step);
            o.Set("totalSteps", data[i].total_steps);
            o.Set("epoch", data[i].epoch);
            o.Set("loss", data[i].loss);
            o.Set("learningRate", data[i].learning_rate);
            o.Set("checkpointStep", data[i].checkpoint_step);
            o.Set("tokensPerSecond", data[i].tokens_per_second);
            progress_.Call({ o });
        }
    }
    void OnOK() override {
        Napi::Object o = inv::result_to_js(Env(), result_);
        deferred_.Resolve(o);
    }
    void OnError(const Napi::Error & e) override { deferred_.Reject(e.Value()); }

  private:
    inv::Options opts_;
    inv::Result result_;
    Napi::Promise::Deferred deferred_;
    Napi::FunctionReference progress_;
};

Napi::Value Train(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) {
        Napi::TypeError::New(env, "train(options, onProgress?) expects an options object").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    inv::Options opts;
    try {
        opts = inv::options_from_js(info[0].As<Napi::Object>());
    } catch (const Napi::Error & e) {  // a bad option rejects the promise, as every other refusal does
        auto rejected = Napi::Promise::Deferred::New(env);
        rejected.Reject(e.Value());
        return rejected.Promise();
    }
    Napi::Function progress;
    if (info.Length() > 1 && info[1].IsFunction()) progress = info[1].As<Napi::Function>();
    g_cancel.store(false);
    auto * w = new TrainWorker(env, std::move(opts), progress);
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
}

Napi::Value Cancel(const Napi::CallbackInfo & info) {
    g_cancel.store(true);
    return info.Env().Undefined();
}

// devices({backendDir, gpuLibs, modelPath}) -> [{name, kind, missingOps}]: where a LoRA step on the model could run
Napi::Value Devices(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) {
        Napi::TypeError::New(env, "devices(options) expects {backendDir, gpuLibs, modelPath}").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    Napi::Object o = info[0].As<Napi::Object>();
    std::vector<inv::TrainingDevice> found;
    try {
        found = inv::training_devices(get_str(o, "backendDir"), get_strs(o, "gpuLibs"), get_str(o, "modelPath"));
    } catch (const std::exception & e) {
        Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
        return env.Undefined();
    }
    Napi::Array out = Napi::Array::New(env, found.size());
    for (size_t i = 0; i < found.size(); ++i) {
        Napi::Object d = Napi::Object::New(env);
        d.Set("name", found[i].name);
        d.Set("kind", found[i].kind);
        Napi::Array missing = Napi::Array::New(env, found[i].missing_ops.size());
        for (size_t j = 0; j < found[i].missing_ops.size(); ++j) missing.Set((uint32_t) j, found[i].missing_ops[j]);
        d.Set("missingOps", missing);
        out.Set((uint32_t) i, d);
    }
    return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
    exports.Set("devices", Napi::Function::New(env, Devices));
    exports.Set("train", Napi::Function::New(env, Train));
    exports.Set("cancel", Napi::Function::New(env, Cancel));
    exports.Set("builtFor", inv::built_for(env));
    return exports;
}

}  // namespace

NODE_API_MODULE(inversion_trainer, Init)
