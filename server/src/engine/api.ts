// The engine's public face for the language server, the CLI and tests. Plain async functions with AbortSignal.
import type { CycleRecord, ScoreResult } from "./types";
import { loadModel, type GpuSetting, type LoadedModel } from "./runtime";
import { ModelSession } from "./session";
import { liftScorer, scorerByName } from "./scorers";
import { generateCommands, invertCommand, scoreCommand } from "./candidates";
import { validateTask } from "./tasks";
import { loadShellParser, type ShellParser } from "../shell/parser";
import { RunStore } from "./store";
import { promptShots, type ShotSource } from "./shots";

export { runLoop, DEFAULT_RUN_OPTIONS, type RunOptions, type RunControl, type RunSummary } from "./loop";
export { latestRun, bestAdapter } from "./store";
export { ModelError } from "./runtime";
export { AbortError } from "./session";

export interface ModelOptions {
  modelPath: string;
  gpu?: GpuSetting;
  threads?: number;
  contextSize?: number;
  adapterPath?: string | null;
  /** Parallel sequences for generation and scoring. */
  sequences?: number;
  /** Retrieved examples (from the shipped example index) in each prompt for writing and reading commands; 0: none. */
  examples?: number;
}

export const MAX_COMMAND_CHARS = 2000;

function validateCommand(command: string): string {
  const c = command.trim();
  if (!c) throw new RangeError("The command is empty.");
  if (c.length > MAX_COMMAND_CHARS) throw new RangeError(`The command is ${c.length} characters long; the limit is ${MAX_COMMAND_CHARS}.`);
  return c;
}

export class Engine {
  private constructor(
    private readonly loaded: LoadedModel,
    private readonly session: ModelSession,
    private readonly parser: ShellParser,
    private readonly shots: ShotSource,
  ) {}

  static async open(opts: ModelOptions, ctl: { signal?: AbortSignal; onProgress?: (msg: string, fraction?: number) => void } = {}): Promise<Engine> {
    const parser = await loadShellParser();
    const loaded = await loadModel({ ...opts, signal: ctl.signal, onProgress: ctl.onProgress });
    try {
      const session = await ModelSession.create(loaded, { adapterPath: opts.adapterPath ?? null, sequences: opts.sequences ?? 2 });
      return new Engine(loaded, session, parser, promptShots(opts.examples ?? 0));
    } catch (err) {
      await loaded.model.dispose();
      throw err;
    }
  }

  get modelPath(): string {
    return this.loaded.path;
  }

  get adapterPath(): string | null {
    return this.session.adapterPath;
  }

  get threads(): number {
    return this.loaded.threads;
  }

  /** The model's greedy reading of a command. The command is never executed. */
  async invert(command: string, ctl: { signal?: AbortSignal } = {}): Promise<string> {
    return invertCommand(this.session, validateCommand(command), ctl.signal, this.shots);
  }

  async score(
    task: string,
    command: string,
    ctl: { signal?: AbortSignal; scorer?: "lift" | "original"; compare?: boolean; reconstruction?: string } = {},
  ): Promise<{ score: ScoreResult; reconstruction: string; altScores: Record<string, ScoreResult>; gates: { gate: string; pass: boolean; reason: string }[] }> {
    const main = ctl.scorer ? scorerByName(ctl.scorer) : liftScorer;
    const others = ctl.compare ? [scorerByName(main.name === "lift" ? "original" : "lift")] : [];
    return scoreCommand(this.session, { main, others }, this.parser, validateTask(task), validateCommand(command), ctl.signal, ctl.reconstruction, this.shots);
  }

  async generate(task: string, n: number, ctl: { signal?: AbortSignal; temperature?: number; seed?: number } = {}): Promise<string[]> {
    const out = await generateCommands(this.session, validateTask(task), {
      candidates: n,
      temperature: ctl.temperature ?? 0.7,
      seed: ctl.seed ?? 1,
      signal: ctl.signal,
      shots: this.shots,
    });
    return out.map((c) => c.command);
  }

  async dispose(): Promise<void> {
    await this.session.dispose();
    await this.loaded.model.dispose();
  }
}

export async function readRun(runDir: string): Promise<{ config: unknown; cycles: CycleRecord[] }> {
  const store = new RunStore(runDir);
  return { config: await store.readConfig(), cycles: await store.cycles() };
}
