// The training backend choice: CUDA, then Vulkan where the backward ops exist, the CPU otherwise, with the reason.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chooseTrainingBackend, type TrainingDevice } from "../../server/src/engine/train/backend";
import { backendDir, gpuBackendLibs, loadAddon } from "../../server/src/engine/train/native";
import { runNativeTraining } from "../../server/src/engine/train";
import { tempDir, fixtureModel } from "../helpers/fixture";

const CPU: TrainingDevice = { name: "CPU", kind: "CPU", missingOps: [] };
const CUDA: TrainingDevice = { name: "CUDA0", kind: "CUDA", missingOps: [] };
const VULKAN: TrainingDevice = { name: "Vulkan0", kind: "Vulkan", missingOps: [] };

test("a CPU-only machine trains on the CPU, exactly masked, and says there is no GPU", () => {
  assert.deepEqual(chooseTrainingBackend([CPU], "auto"), {
    kind: "CPU", device: "CPU", reason: "training on the CPU: no CUDA or Vulkan device was found",
  });
});

test("CUDA comes before Vulkan", () => {
  const choice = chooseTrainingBackend([CPU, VULKAN, CUDA], "auto");
  assert.deepEqual([choice.kind, choice.device], ["CUDA", "CUDA0"]);
});

test("a Vulkan device without a backward op is passed over for the CPU, naming the op", () => {
  const choice = chooseTrainingBackend([CPU, { ...VULKAN, missingOps: ["OUT_PROD(q4_K)"] }], "auto");
  assert.equal(choice.kind, "CPU");
  assert.equal(choice.reason, "training on the CPU: Vulkan0 lacks OUT_PROD(q4_K)");
});

test("a CUDA device missing an op falls to a complete Vulkan device", () => {
  assert.equal(chooseTrainingBackend([CPU, { ...CUDA, missingOps: ["CROSS_ENTROPY_LOSS_BACK"] }, VULKAN], "auto").device, "Vulkan0");
});

test("--gpu off trains on the CPU even with a GPU present", () => {
  assert.equal(chooseTrainingBackend([CPU, CUDA], "off").reason, "training on the CPU: the GPU is turned off (--gpu off)");
});

test("the trainer refuses a device ggml has not loaded before training, naming the devices it has", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const model = await fixtureModel(dir);
    const request = {
      mode: "lora" as const, rank: 4, alpha: 4, targets: ["attn_q"], learningRate: 1e-4, batchSize: 0, threads: 1, seed: 1, epochs: 1,
      contextSize: 64, examples: [{ prompt: "Task: x\nCommand:", completion: " ls" }], backendDir: backendDir(), baseModelPath: model,
      outPath: `${dir}/a.gguf`, device: "CUDA0",
    };
    await assert.rejects(loadAddon().train(request), /training device CUDA0 not found; ggml has: CPU$/);
  } finally {
    await cleanup();
  }
});

test("the addon probes the devices: on this machine only the CPU, which runs every training op", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const devices = loadAddon().devices({ backendDir: backendDir(), gpuLibs: gpuBackendLibs(), modelPath: await fixtureModel(dir) });
    assert.deepEqual(devices, [{ name: "CPU", kind: "CPU", missingOps: [] }]);
  } finally {
    await cleanup();
  }
});

test("training with no device named probes, chooses, and records the choice and its reason", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const result = await runNativeTraining({
      mode: "lora", rank: 4, alpha: 4, targets: ["attn_q"], learningRate: 1e-4, batchSize: 0, threads: 1, seed: 1, epochs: 1,
      contextSize: 64, examples: [{ prompt: "Task: x\nCommand:", completion: " ls" }], baseModelPath: await fixtureModel(dir), outPath: `${dir}/b.gguf`,
    }, { gpu: "auto" });
    assert.deepEqual(result.backend, { kind: "CPU", device: "CPU", reason: "training on the CPU: no CUDA or Vulkan device was found" });
  } finally {
    await cleanup();
  }
});
