// Owns the hover/diagnostics model: loads it lazily for the configured model + adapter, reports its state, and
// never retries a failed load until the configuration changes or a reload is asked for (no crash loops).
import { existsSync, statSync } from "node:fs";
import { isAbsolute } from "node:path";
import { isRemoteModelRef, modelRefProblem } from "../../../common/modelRef";
import { Engine, bestAdapter, latestRun, runKeepsMemory } from "../engine/api";
import { RunStore, bestAdapterCycle } from "../engine/store";
import type { CycleRecord } from "../engine/types";
import type { InversionSettings, ModelState } from "../../../common/protocol";

export interface ModelHostEvents {
  status(s: { model: ModelState; modelPath: string | null; adapterPath: string | null; message: string | null; progress?: number }): void;
  missing(modelPath: string, reason: string): void;
  log(message: string): void;
}

interface Desired {
  modelPath: string;
  gpu: "auto" | "off";
  threads?: number;
  adapterPath: string | null;
  /** Retrieved examples per prompt (inversion.examples). */
  examples: number;
  /** The run whose memory hover prompts retrieve from (the latest run, when it keeps one and hovers follow it). */
  memoryRun: string | null;
  /** A server that runs the model (inversion.backend, user settings only), or null for this machine. */
  backend: string | null;
  key: string;
}

/** Why a configured model cannot be used, or null when it can be tried. */
export function modelProblem(ref: string): string | null {
  if (!ref) return "No model is set (inversion.model).";
  const refused = modelRefProblem(ref);
  if (refused) return refused;
  if (isRemoteModelRef(ref)) return null;
  if (!isAbsolute(ref)) return `The model path "${ref}" is not absolute.`;
  if (!existsSync(ref)) return `The model file ${ref} does not exist.`;
  try {
    if (!statSync(ref).isFile()) return `${ref} is not a file.`;
  } catch (err) {
    return `${ref} cannot be read: ${(err as Error).message}`;
  }
  return null;
}

/** The latest run under `runsDirectory`, looked up on the first call only: one settings change lists the directory once. */
export function latestRunOnce(runsDirectory: string): () => Promise<string | null> {
  let found: Promise<string | null> | undefined;
  return () => (found ??= runsDirectory ? latestRun(runsDirectory).catch(() => null) : Promise.resolve(null));
}

/** The adapter hovers use: "base" → none, "best" → best cycle of the latest run, else the given path. */
export async function resolveHoverAdapter(setting: string, runsDirectory: string, log: (m: string) => void, latest = latestRunOnce(runsDirectory)): Promise<string | null> {
  if (setting === "base") return null;
  if (setting === "best" || !setting) {
    const run = await latest();
    if (!run) return null;
    return bestBeatingBase(run, log);
  }
  if (!existsSync(setting)) {
    log(`inversion.hoverAdapter: ${setting} does not exist; using the base model.`);
    return null;
  }
  return setting;
}

/**
 * The run whose memory hovers retrieve from: with hoverAdapter "best", the latest run when it keeps a memory
 * (--learn memory|both), with how many cycles it holds (a later cycle changes the memory); otherwise none.
 */
export async function resolveHoverMemory(setting: string, runsDirectory: string, latest = latestRunOnce(runsDirectory)): Promise<{ run: string; cycles: number } | null> {
  if (setting !== "best" && setting) return null;
  const run = await latest();
  if (!run || !(await runKeepsMemory(run))) return null;
  const cycles = await new RunStore(run).cycles().catch(() => [] as CycleRecord[]);
  return cycles.length ? { run, cycles: cycles.length } : null;
}

/**
 * The best adapter of a run, unless it measured no better than the base model (cycle 1's score before training).
 * An adapter the run may not load (outside its adapters/ directory, a link leading out) is logged, not used.
 */
async function bestBeatingBase(runDir: string, log: (m: string) => void): Promise<string | null> {
  let adapter: string | null;
  try {
    adapter = await bestAdapter(runDir);
  } catch (err) {
    log(`Hovers use the base model: ${(err as Error).message}`);
    return null;
  }
  if (!adapter) return null;
  const cycles = await new RunStore(runDir).cycles().catch(() => [] as CycleRecord[]);
  const base = cycles[0]?.before.meanScore;
  const best = bestAdapterCycle(cycles);
  if (base === undefined || !best?.after || best.after.meanScore > base) return adapter;
  log(`Hovers use the base model: the best adapter of ${runDir} scored ${best.after.meanScore.toFixed(3)} on held-out tasks, the base ${base.toFixed(3)}.`);
  return null;
}

export class ModelHost {
  private desired: Desired | null = null;
  private engine: Engine | null = null;
  private engineKey: string | null = null;
  private loading: { key: string; promise: Promise<Engine | null>; abort: AbortController } | null = null;
  private failedKey: string | null = null;
  private missingNotified = new Set<string>();
  state: ModelState = "none";
  message: string | null = "No model is set.";

  constructor(private readonly events: ModelHostEvents, private readonly disposeLater: (fn: () => Promise<void>) => void) {}

  get current(): { modelPath: string | null; adapterPath: string | null } {
    return { modelPath: this.desired?.modelPath ?? null, adapterPath: this.desired?.adapterPath ?? null };
  }

  /** Applies settings; returns true when the model or adapter changed (cached scores are then stale). */
  async configure(s: InversionSettings, opts: { force?: boolean } = {}): Promise<boolean> {
    const latest = latestRunOnce(s.runsDirectory);
    const adapterPath = s.model ? await resolveHoverAdapter(s.hoverAdapter, s.runsDirectory, this.events.log, latest) : null;
    const threads = s.threads > 0 ? s.threads : undefined;
    const memory = s.model ? await resolveHoverMemory(s.hoverAdapter, s.runsDirectory, latest) : null;
    const backend = s.backend || null;
    const key = JSON.stringify([s.model, s.gpu, threads ?? 0, adapterPath, s.examples, memory, backend]);
    const changed = key !== this.desired?.key;
    this.desired = { modelPath: s.model, gpu: s.gpu, threads, adapterPath, examples: s.examples, memoryRun: memory?.run ?? null, backend, key };
    if (opts.force) {
      this.failedKey = null;
      this.missingNotified.clear();
    }
    if (changed || opts.force) {
      this.failedKey = opts.force ? null : this.failedKey;
      if (this.loading && this.loading.key !== key) this.loading.abort.abort();
      if (this.engine && (this.engineKey !== key || opts.force)) this.drop();
      const problem = modelProblem(s.model);
      if (problem) {
        this.setState(s.model ? "missing" : "none", problem);
        if (s.model && !this.missingNotified.has(s.model)) {
          this.missingNotified.add(s.model);
          this.events.missing(s.model, problem);
        }
      } else if (!this.engine) {
        this.setState("none", "The model loads when it is first needed.");
      }
    }
    return changed;
  }

  /** Loads (once) and returns the engine, or null when no usable model is configured. */
  async get(signal?: AbortSignal): Promise<Engine | null> {
    const d = this.desired;
    if (!d || modelProblem(d.modelPath)) return null;
    if (this.engine && this.engineKey === d.key) return this.engine;
    if (this.failedKey === d.key) return null;
    if (!this.loading || this.loading.key !== d.key) this.loading = this.load(d);
    const loading = this.loading;
    if (!signal) return loading.promise;
    return Promise.race([
      loading.promise,
      new Promise<null>((resolve) => {
        if (signal.aborted) resolve(null);
        signal.addEventListener("abort", () => resolve(null), { once: true });
      }),
    ]);
  }

  /** `readyMessage`: what the status says once loaded (null: nothing to say). */
  private load(d: Desired, readyMessage: string | null = null): { key: string; promise: Promise<Engine | null>; abort: AbortController } {
    const abort = new AbortController();
    const started = Date.now();
    this.setState("loading", d.backend ? `Connecting to ${d.backend}…` : `Loading ${d.modelPath}${d.adapterPath ? ` with adapter ${d.adapterPath}` : ""}…`);
    this.events.log(
      d.backend
        ? `Connecting to the backend ${d.backend}${d.adapterPath ? ` (adapter ${d.adapterPath})` : ""}`
        : `Loading model ${d.modelPath} (gpu ${d.gpu}${d.threads ? `, ${d.threads} threads` : ""})${d.adapterPath ? ` with adapter ${d.adapterPath}` : ""}`,
    );
    const promise = Engine.open(
      { modelPath: d.modelPath, gpu: d.gpu, threads: d.threads, adapterPath: d.adapterPath, examples: d.examples, memoryRun: d.memoryRun, backend: d.backend },
      {
        signal: abort.signal,
        onProgress: (msg, fraction) => this.setState("loading", msg, fraction),
      },
    ).then(
      async (engine) => {
        if (this.loading?.abort !== abort || this.desired?.key !== d.key) {
          // Superseded while loading.
          await engine.dispose().catch(() => undefined);
          return this.desired ? this.get() : null;
        }
        this.loading = null;
        this.engine = engine;
        this.engineKey = d.key;
        this.events.log(`Model ready in ${Date.now() - started} ms: ${engine.modelPath}${engine.adapterPath ? ` + ${engine.adapterPath}` : ""}`);
        this.setState("ready", readyMessage);
        return engine;
      },
      (err: unknown) => {
        if (this.loading?.abort === abort) this.loading = null;
        if (abort.signal.aborted) return null;
        const message = (err as Error)?.message ?? String(err);
        if (d.adapterPath) return this.fallBackToBase(d, message);
        this.failedKey = d.key;
        this.events.log(`Model failed to load: ${message}`);
        this.setState("error", message);
        return null;
      },
    );
    return { key: d.key, promise, abort };
  }

  /** A bad adapter (corrupt, or made for another model) must not turn every hover off: the base model is used. */
  private fallBackToBase(d: Desired, reason: string): Promise<Engine | null> {
    const notice = `The hover adapter ${d.adapterPath} could not be loaded (${reason}); hovers use the base model.`;
    this.events.log(notice);
    // Same key: the settings did not change, so nothing retries the adapter until they do (or a reload is asked).
    this.desired = { ...d, adapterPath: null };
    this.loading = this.load(this.desired, notice);
    return this.loading.promise;
  }

  private drop(): void {
    const old = this.engine;
    this.engine = null;
    this.engineKey = null;
    if (old) this.disposeLater(() => old.dispose());
  }

  private setState(state: ModelState, message: string | null, progress?: number): void {
    this.state = state;
    this.message = message;
    this.events.status({ model: state, modelPath: this.desired?.modelPath || null, adapterPath: this.desired?.adapterPath ?? null, message, progress });
  }

  async dispose(): Promise<void> {
    this.loading?.abort.abort();
    const e = this.engine;
    this.engine = null;
    if (e) await e.dispose().catch(() => undefined);
  }
}
