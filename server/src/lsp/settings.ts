// Normalises the `inversion` settings section the client sends (pure; no LSP imports).
import { DEFAULT_SETTINGS, type InversionSettings } from "../../../common/protocol";
import { RUN_PARAMS, SETTING_PARAM_KEYS, paramProblem, settingName } from "../../../common/runParams";
import { backendUrlProblem } from "../../../common/backendRef";

const num = (v: unknown, d: number, min = -Infinity, max = Infinity): number =>
  typeof v === "number" && Number.isFinite(v) ? Math.min(max, Math.max(min, v)) : d;
const int = (v: unknown, d: number, min: number, max: number): number => Math.round(num(v, d, min, max));
const str = (v: unknown, d: string): string => (typeof v === "string" ? v : d);

/** The run parameters among the settings: each kept when valid by its one declaration, else its default. */
function runSettings(r: Record<string, unknown>, onProblem: (message: string) => void): Partial<InversionSettings> {
  const out: Record<string, unknown> = {};
  for (const key of SETTING_PARAM_KEYS) {
    const value = r[key];
    const problem = value === undefined ? null : paramProblem(key, value);
    if (problem) onProblem(`${settingName(key)} ${problem}; using ${JSON.stringify(RUN_PARAMS[key].default)}.`);
    out[key] = value === undefined || problem ? RUN_PARAMS[key].default : value;
  }
  return out as Partial<InversionSettings>;
}

/** inversion.backend: a URL the remote backend accepts (https, or http on this machine), else none. */
function backendSetting(v: unknown, onProblem: (message: string) => void): string {
  const url = typeof v === "string" ? v.trim() : "";
  if (!url) return "";
  const problem = backendUrlProblem(url);
  if (problem) {
    onProblem(`inversion.backend: ${problem} The model runs on this machine.`);
    return "";
  }
  return url;
}

export function normalizeSettings(raw: unknown, onProblem: (message: string) => void = () => undefined): InversionSettings {
  const r = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
  const d = DEFAULT_SETTINGS;
  const diag = (r.diagnostics && typeof r.diagnostics === "object" ? r.diagnostics : {}) as Record<string, unknown>;
  return {
    ...d,
    ...runSettings(r, onProblem),
    model: str(r.model, d.model).trim(),
    hoverAdapter: str(r.hoverAdapter, d.hoverAdapter).trim() || "best",
    diagnostics: {
      enabled: typeof diag.enabled === "boolean" ? diag.enabled : d.diagnostics.enabled,
      maxCommandsPerPass: int(diag.maxCommandsPerPass, d.diagnostics.maxCommandsPerPass, 1, 1000),
      debounceMs: int(diag.debounceMs, d.diagnostics.debounceMs, 0, 10000),
    },
    runsDirectory: str(r.runsDirectory, d.runsDirectory),
    maxFileBytes: int(r.maxFileBytes, d.maxFileBytes, 1000, 1e9),
    backend: backendSetting(r.backend, onProblem),
  };
}
