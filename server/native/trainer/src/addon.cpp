// N-API glue for the Inversion trainer. train() runs on a libuv worker thread and resolves a Promise;
// progress is delivered on the JS thread; cancel() sets a flag checked before every optimizer step.
#include <napi.h>

#include <atomic>
#include <memory>

#include "quantize.h"
#include "devices.h"
#include "trainer.h"

#ifndef INV_NODE_LLAMA_CPP_VERSION
#define INV_NODE_LLAMA_CPP_VERSION "unknown"
#endif
#ifndef INV_LLAMA_CPP_TAG
#define INV_LLAMA_CPP_TAG "unknown"
#endif

namespace {

std::atomic<bool> g_cancel{false};

std::string get_str(const Napi::Object & o, const char * key, const std::string & def = "") {
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
        Napi::Env env = Env();
        const inv::Result & r = result_;
        Napi::Object o = Napi::Object::New(env);
        o.Set("outPath", r.out_path);
        o.Set("masking", r.masking);
        o.Set("lossFirst", r.loss_first);
        o.Set("lossLast", r.loss_last);
        o.Set("lossMean", r.loss_mean);
        o.Set("steps", r.steps);
        o.Set("tokens", (double) r.tokens);
        o.Set("lossTokens", (double) r.loss_tokens);
        o.Set("windows", (double) r.windows);
        o.Set("seconds", r.seconds);
        o.Set("tokensPerSecond", r.tokens_per_second);
        o.Set("cancelled", r.cancelled);
        o.Set("paused", r.paused);
        o.Set("resumedFromStep", (double) r.resumed_from_step);
        o.Set("checkpointStep", (double) r.checkpoint_step);
        o.Set("checkpointWeights", r.checkpoint_weights);
        o.Set("rank", r.rank);
        o.Set("alpha", r.alpha);
        o.Set("adaptedTensors", r.adapted_tensors);
        o.Set("trainableParams", (double) r.trainable_params);
        o.Set("architecture", r.architecture);
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
    Napi::Object o = info[0].As<Napi::Object>();
    inv::Options opts;
    opts.model_path = get_str(o, "baseModelPath");
    opts.out_path = get_str(o, "outPath");
    opts.init_adapter_path = get_str(o, "initAdapterPath");
    opts.backend_dir = get_str(o, "backendDir");
    opts.device = get_str(o, "device", "CPU");
    opts.gpu_libs = get_strs(o, "gpuLibs");
    opts.full = get_str(o, "mode", "lora") == "full";
    opts.rank = (int) get_num(o, "rank", 8);
    opts.alpha = (float) get_num(o, "alpha", 8);
    opts.learning_rate = (float) get_num(o, "learningRate", 1e-4);
    opts.epochs = (int) get_num(o, "epochs", 1);
    opts.batch_size = (int) get_num(o, "batchSize", 0);
    opts.context_size = (int) get_num(o, "contextSize", 64);
    opts.threads = (int) get_num(o, "threads", 1);
    opts.seed = (uint32_t) get_num(o, "seed", 1);
    opts.masking = get_str(o, "masking", "softmax") == "none" ? inv::Masking::None : inv::Masking::Softmax;
    opts.packing = get_str(o, "packing", "examples") == "stream" ? inv::Packing::Stream : inv::Packing::Examples;
    opts.mask_everything = get_bool(o, "maskEverything", false);
    opts.warmup_steps = (int) get_num(o, "warmupSteps", 0);
    opts.min_learning_rate = (float) get_num(o, "minLearningRate", -1);
    opts.checkpoint_dir = get_str(o, "checkpointDir");
    opts.checkpoint_every_seconds = get_num(o, "checkpointEverySeconds", 0);
    opts.resume = get_bool(o, "resume", false);
    opts.max_seconds = get_num(o, "maxSeconds", 0);
    opts.max_steps = (int64_t) get_num(o, "maxSteps", 0);
    opts.loss_windows = (int) get_num(o, "lossWindows", 0);
    Napi::Value targets = o.Get("targets");
    if (targets.IsArray()) {
        Napi::Array a = targets.As<Napi::Array>();
        for (uint32_t i = 0; i < a.Length(); ++i) opts.targets.push_back(a.Get(i).ToString().Utf8Value());
    }
    Napi::Value examples = o.Get("examples");
    if (examples.IsArray()) {
        Napi::Array a = examples.As<Napi::Array>();
        for (uint32_t i = 0; i < a.Length(); ++i) {
            Napi::Object e = a.Get(i).As<Napi::Object>();
            opts.examples.push_back({ get_str(e, "prompt"), get_str(e, "completion") });
        }
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
    exports.Set("benchForward", Napi::Function::New(env, BenchForward));
    exports.Set("quantize", Napi::Function::New(env, Quantize));
    exports.Set("quantizeTypes", Napi::String::New(env, inv::quantize_types()));
    Napi::Object v = Napi::Object::New(env);
    v.Set("nodeLlamaCpp", INV_NODE_LLAMA_CPP_VERSION);
    v.Set("llamaCpp", INV_LLAMA_CPP_TAG);
    exports.Set("builtFor", v);
    return exports;
}

}  // namespace

NODE_API_MODULE(inversion_trainer, Init)
