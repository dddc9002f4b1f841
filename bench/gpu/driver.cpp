// A command-line driver of the trainer core (server/native/trainer/src/trainer.cpp without the N-API glue), for
// machines without Node: bench/gpu-check.sh builds it against llama.cpp libraries built there (e.g. with CUDA).
//
//   driver --model M.gguf [--backend-dir DIR] [--device CPU|CUDA0|...] [--ctx 128] [--epochs 2] [--threads N]
//
// Prints one line: device=... tok/s=... loss=first->last steps=... seconds=...
#include "trainer.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

static std::string arg(int argc, char ** argv, const char * name, const char * def) {
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
    }
    return def;
}

int main(int argc, char ** argv) {
    inv::Options o;
    o.model_path = arg(argc, argv, "--model", "");
    o.backend_dir = arg(argc, argv, "--backend-dir", "");
    o.out_path = arg(argc, argv, "--out", "/tmp/inversion-driver-adapter.gguf");
    o.context_size = std::atoi(arg(argc, argv, "--ctx", "128").c_str());
    o.epochs = std::atoi(arg(argc, argv, "--epochs", "2").c_str());
    o.threads = std::atoi(arg(argc, argv, "--threads", "4").c_str());
    o.rank = 16;
    o.alpha = 32;
    o.learning_rate = 2e-4f;
    o.targets = { "attn_q", "attn_k", "attn_v", "attn_output" };
    const std::string device = arg(argc, argv, "--device", "CPU");
#ifdef INV_TRAINER_DEVICE_OPTION
    o.device = device;
#else
    if (device != "CPU") {
        std::printf("device=%s skipped: this trainer.cpp has no device option yet (it trains on the CPU only)\n", device.c_str());
        return 3;
    }
#endif
    if (o.model_path.empty()) {
        std::fprintf(stderr, "usage: driver --model M.gguf [--backend-dir DIR] [--device CPU|CUDA0] [--ctx N] [--epochs N] [--threads N]\n");
        return 2;
    }
    static const char * programs[] = { "ls -la", "du -sh .", "df -h", "ps aux", "pwd", "wc -l file.txt", "tail -n 20 log.txt", "mkdir build" };
    for (int i = 0; i < 48; ++i) {
        o.examples.push_back({ "Task: task number " + std::to_string(i) + " for the shell.\nCommand:", std::string(" ") + programs[i % 8] });
    }
    std::atomic<bool> cancel{ false };
    try {
        const inv::Result r = inv::train(o, nullptr, cancel);
        std::printf("device=%s tok/s=%.1f loss=%.4f->%.4f steps=%d seconds=%.2f\n", device.c_str(), r.tokens_per_second, r.loss_first,
                    r.loss_last, r.steps, r.seconds);
        return 0;
    } catch (const std::exception & e) {
        std::printf("device=%s failed: %s\n", device.c_str(), e.what());
        return 1;
    }
}
