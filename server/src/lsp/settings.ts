// Normalises the `inversion` settings section the client sends (pure; no LSP imports).
import { DEFAULT_SETTINGS, type InversionSettings } from "../../../common/protocol";

const num = (v: unknown, d: number, min = -Infinity, max = Infinity): number =>
  typeof v === "number" && Number.isFinite(v) ? Math.min(max, Math.max(min, v)) : d;
const int = (v: unknown, d: number, min: number, max: number): number => Math.round(num(v, d, min, max));
const str = (v: unknown, d: string): string => (typeof v === "string" ? v : d);

export function normalizeSettings(raw: unknown): InversionSettings {
  const r = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
  const d = DEFAULT_SETTINGS;
  const diag = (r.diagnostics && typeof r.diagnostics === "object" ? r.diagnostics : {}) as Record<string, unknown>;
  return {
    model: str(r.model, d.model).trim(),
    gpu: r.gpu === "off" ? "off" : "auto",
    threads: int(r.threads, d.threads, 0, 256),
    cycles: int(r.cycles, d.cycles, 1, 1000),
    tasks: int(r.tasks, d.tasks, 1, 10000),
    candidates: int(r.candidates, d.candidates, 1, 16),
    threshold: num(r.threshold, d.threshold, 0, 1),
    temperature: num(r.temperature, d.temperature, 0, 5),
    learningRate: num(r.learningRate, d.learningRate, 0, 1),
    loraRank: int(r.loraRank, d.loraRank, 1, 1024),
    train: r.train === "none" ? "none" : "lora",
    seed: int(r.seed, d.seed, 0, 2 ** 31 - 1),
    hoverAdapter: str(r.hoverAdapter, d.hoverAdapter).trim() || "best",
    diagnostics: {
      enabled: typeof diag.enabled === "boolean" ? diag.enabled : d.diagnostics.enabled,
      // Not clamped to [0, 1]: -1 (never warn) and 1.01 (always warn) are meaningful.
      threshold: num(diag.threshold, d.diagnostics.threshold),
      maxCommandsPerPass: int(diag.maxCommandsPerPass, d.diagnostics.maxCommandsPerPass, 1, 1000),
      debounceMs: int(diag.debounceMs, d.diagnostics.debounceMs, 0, 10000),
    },
    runsDirectory: str(r.runsDirectory, d.runsDirectory),
    maxFileBytes: int(r.maxFileBytes, d.maxFileBytes, 1000, 1e9),
  };
}
