// Which ggml backend trains: CUDA, then Vulkan where the backward ops exist, the CPU otherwise, and why.
//
// The trainer needs, on the device that holds the weights, every op of the LoRA backward pass: the matrix
// product's gradient (OUT_PROD, for F32 and for the base's quantized type), the cross-entropy loss and its
// backward, the attention and norm backwards, and the optimizer step. A device that lacks one would make ggml's
// scheduler run that op on the CPU and copy activations across each step, or abort; so such a device is not chosen.
//
// Loss masking is exact on every backend by construction: the training graph multiplies masked rows' logits by 0,
// so the backward multiplies their gradient by 0 (tested on the CPU; no GPU has run it here). Until 2026-12 the
// trainer labelled masked rows with the CPU backend's own softmax, which cancelled exactly only on the CPU.

export type TrainingBackendKind = "CUDA" | "Vulkan" | "CPU";

/** A device as the native side reports it: ggml's device name, its backend, and the backward ops it lacks. */
export interface TrainingDevice {
  /** ggml device name, e.g. "CUDA0", "Vulkan0", "CPU". */
  name: string;
  kind: TrainingBackendKind | string;
  /** Ops of the training graph this device does not support (empty: it runs the whole graph). */
  missingOps: string[];
}

export interface TrainingBackendChoice {
  kind: TrainingBackendKind;
  /** The ggml device to put the layers on ("CPU" for the CPU). */
  device: string;
  /** Why this backend, in a sentence a user can act on. */
  reason: string;
}

const ORDER: TrainingBackendKind[] = ["CUDA", "Vulkan"];

/** Picks the training backend from the devices found: the first GPU kind in ORDER with every backward op. */
export function chooseTrainingBackend(devices: readonly TrainingDevice[], gpu: "auto" | "off"): TrainingBackendChoice {
  const cpu = (reason: string): TrainingBackendChoice => ({ kind: "CPU", device: "CPU", reason });
  if (gpu === "off") return cpu("training on the CPU: the GPU is turned off (--gpu off)");
  const gpus = devices.filter((d) => d.kind !== "CPU");
  if (gpus.length === 0) return cpu("training on the CPU: no CUDA or Vulkan device was found");
  const skipped: string[] = [];
  for (const kind of ORDER) {
    for (const d of gpus.filter((g) => g.kind === kind)) {
      if (d.missingOps.length === 0) {
        return {
          kind,
          device: d.name,
          reason: `training on ${d.name} (${kind})`,
        };
      }
      skipped.push(`${d.name} lacks ${d.missingOps.join(", ")}`);
    }
  }
  const others = gpus.filter((d) => !ORDER.includes(d.kind as TrainingBackendKind)).map((d) => `${d.name} (${d.kind}) is not a training backend`);
  return cpu(`training on the CPU: ${[...skipped, ...others].join("; ")}`);
}
