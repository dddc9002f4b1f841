// Cached model readings and scores of script commands. Keys are content hashes of (model, adapter, text).
import type { Engine } from "../engine/api";
import { MAX_COMMAND_CHARS } from "../engine/api";
import type { CommandScore, ScoreResult } from "../../../common/protocol";
import type { ParsedCommand, ScriptCommand } from "../shell/parser";
import { LruCache, hashKey } from "./cache";

export interface Agreement {
  score: ScoreResult;
  reading: string;
}

/** Why a script entry cannot be scored, or null. */
export function unscorable(entry: ScriptCommand): string | null {
  const c = entry.text.trim();
  if (!c) return "empty command";
  if (c.length > MAX_COMMAND_CHARS) return `command longer than ${MAX_COMMAND_CHARS} characters`;
  return null;
}

/** Readings, agreements and fidelities of script commands, cached per model, adapter and text. */
export class CommandScoreCache {
  private readonly readings = new LruCache<string>(20000);
  private readonly agreements = new LruCache<Agreement>(20000);
  private readonly fidelities = new LruCache<ScoreResult | null>(5000);

  private modelKey(engine: Engine): string {
    return `${engine.modelPath}|${engine.adapterPath ?? ""}|${engine.memory ? `${engine.memory.run}:${engine.memory.examples}` : ""}`;
  }

  agreementKey(engine: Engine, intent: string, command: string): string {
    return hashKey("agree", this.modelKey(engine), intent, command.trim());
  }

  cachedAgreement(engine: Engine, intent: string, command: string): Agreement | undefined {
    return this.agreements.get(this.agreementKey(engine, intent, command));
  }

  /** engine.score(intent, command): how well the comment and the command agree, plus the model's reading. `parsed`: the command's parse, when the caller has it. */
  async agreement(engine: Engine, intent: string, command: string, signal?: AbortSignal, parsed?: ParsedCommand): Promise<Agreement> {
    const key = this.agreementKey(engine, intent, command);
    const hit = this.agreements.get(key);
    if (hit) return hit;
    const readKey = hashKey("read", this.modelKey(engine), command.trim());
    // The inverse pass is the expensive part; a reading already made for this command is reused.
    const r = await engine.score(intent, command, { signal, reconstruction: this.readings.get(readKey), parsed });
    const value: Agreement = { score: r.score, reading: r.reconstruction };
    this.agreements.set(key, value);
    this.readings.set(readKey, r.reconstruction);
    return value;
  }

  async reading(engine: Engine, command: string, signal?: AbortSignal): Promise<string> {
    const key = hashKey("read", this.modelKey(engine), command.trim());
    const hit = this.readings.get(key);
    if (hit !== undefined) return hit;
    const r = await engine.invert(command, { signal });
    this.readings.set(key, r);
    return r;
  }

  /** engine.score(reading, command): how strongly the command supports the model's own reading of it. */
  async fidelity(engine: Engine, reading: string, command: string, signal?: AbortSignal, parsed?: ParsedCommand): Promise<ScoreResult | null> {
    if (!reading.trim()) return null;
    const key = hashKey("fid", this.modelKey(engine), reading, command.trim());
    const hit = this.fidelities.get(key);
    if (hit !== undefined) return hit;
    let value: ScoreResult | null;
    try {
      value = (await engine.score(reading, command, { signal, reconstruction: reading, parsed })).score;
    } catch (err) {
      if (err instanceof RangeError) value = null;
      else throw err;
    }
    this.fidelities.set(key, value);
    return value;
  }

  /** `parsed`: the command's parse, when the caller has it (a hover parses its command once). */
  async full(engine: Engine, entry: ScriptCommand, signal?: AbortSignal, parsed?: ParsedCommand): Promise<CommandScore> {
    const command = entry.text;
    let agreement: ScoreResult | null = null;
    let reading: string;
    const intent = entry.intent?.trim() || null;
    if (intent) {
      try {
        const a = await this.agreement(engine, intent, command, signal, parsed);
        agreement = a.score;
        reading = a.reading;
      } catch (err) {
        if (!(err instanceof RangeError)) throw err;
        reading = await this.reading(engine, command, signal);
      }
    } else {
      reading = await this.reading(engine, command, signal);
    }
    const fidelity = await this.fidelity(engine, reading, command, signal, parsed);
    return {
      command,
      intent,
      range: { startLine: entry.startLine, startCol: entry.startCol, endLine: entry.endLine, endCol: entry.endCol },
      reading,
      fidelity,
      agreement,
      adapterPath: engine.adapterPath,
      memory: engine.memory,
    };
  }

  clear(): void {
    this.readings.clear();
    this.agreements.clear();
    this.fidelities.clear();
  }
}
