// Background diagnostics: Warning where a comment's intent and the command below it disagree. Debounced per
// document, cached by content hash (CommandScoreCache), cancelled by newer edits, and incremental: at most
// `maxCommandsPerPass` new scores per pass, then the pass publishes what it has and continues shortly after.
import type { Diagnostic } from "vscode-languageserver";
import { DiagnosticSeverity } from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import type { InversionSettings } from "../../../common/protocol";
import type { ScriptCommand, ShellParser } from "../shell/parser";
import type { ModelHost } from "./modelHost";
import type { CommandScoreCache } from "./scoring";
import { unscorable } from "./scoring";
import { guardText } from "./textGuard";
import { PreemptedError, type WorkQueue } from "./workQueue";
import { hashKey } from "./cache";

export const DIAGNOSTIC_SOURCE = "inversion";
export const DIAGNOSTIC_CODE = "intent-mismatch";

export interface MismatchData {
  reading: string;
  line: number;
  score: number;
}

export interface DiagnosticsDeps {
  queue: WorkQueue;
  host: ModelHost;
  scorer: CommandScoreCache;
  parser: () => Promise<ShellParser>;
  settings: () => InversionSettings;
  getDocument: (uri: string) => TextDocument | undefined;
  publish: (uri: string, version: number, diagnostics: Diagnostic[]) => void;
  log: (message: string) => void;
}

interface ParsedDoc {
  version: number;
  hash: string;
  entries: ScriptCommand[] | null;
  skipped: string | null;
}

export function mismatchMessage(intent: string, reading: string, score: number, threshold: number): string {
  const r = reading.trim() ? `“${reading.trim()}”` : "nothing (it produced no reading)";
  return `The command may not do what the comment says (agreement ${score.toFixed(3)} < ${threshold}). Comment: “${intent}”. The model reads the command as ${r}.`;
}

export class DiagnosticsScheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly passes = new Map<string, AbortController>();
  private readonly parsed = new Map<string, ParsedDoc>();
  private readonly loggedSkips = new Map<string, string>();
  /** Last parse time per document: big scripts get a longer debounce so typing never queues parse after parse. */
  private readonly parseMs = new Map<string, number>();
  /** Visible line ranges per document (from the client); scored first. */
  private readonly visible = new Map<string, { startLine: number; endLine: number }[]>();

  constructor(private readonly deps: DiagnosticsDeps) {}

  /** Parses (cached per version) and guards a document. */
  async entries(doc: TextDocument): Promise<ParsedDoc> {
    const cached = this.parsed.get(doc.uri);
    if (cached && cached.version === doc.version) return cached;
    const text = doc.getText();
    const settings = this.deps.settings();
    const guard = guardText(text, settings.maxFileBytes);
    let result: ParsedDoc;
    if (!guard.ok) {
      result = { version: doc.version, hash: "", entries: null, skipped: guard.reason };
    } else {
      const hash = hashKey(text);
      if (cached && cached.hash === hash) result = { ...cached, version: doc.version };
      else {
        try {
          const parser = await this.deps.parser();
          const t0 = Date.now();
          const entries = parser.parseScript(text);
          const ms = Date.now() - t0;
          this.parseMs.set(doc.uri, ms);
          if (ms > 200) this.deps.log(`Parsed ${doc.uri} (${doc.lineCount} lines, ${entries.length} commands) in ${ms} ms`);
          result = { version: doc.version, hash, entries, skipped: null };
        } catch (err) {
          result = { version: doc.version, hash, entries: null, skipped: `the shell parser failed: ${(err as Error).message}` };
        }
      }
    }
    if (result.skipped && this.loggedSkips.get(doc.uri) !== result.skipped) {
      this.loggedSkips.set(doc.uri, result.skipped);
      this.deps.log(`Not scoring ${doc.uri}: ${result.skipped}`);
    }
    this.parsed.set(doc.uri, result);
    return result;
  }

  schedule(uri: string, delayMs?: number): void {
    const settings = this.deps.settings();
    const delay = delayMs ?? Math.max(settings.diagnostics.debounceMs, 2 * (this.parseMs.get(uri) ?? 0));
    this.cancelPending(uri);
    this.timers.set(
      uri,
      setTimeout(() => {
        this.timers.delete(uri);
        void this.pass(uri);
      }, delay),
    );
  }

  /** Cancels the debounce timer and any running pass (an edit arrived). */
  cancelPending(uri: string): void {
    const t = this.timers.get(uri);
    if (t) clearTimeout(t);
    this.timers.delete(uri);
    this.passes.get(uri)?.abort();
    this.passes.delete(uri);
  }

  setVisible(uri: string, ranges: { startLine: number; endLine: number }[]): void {
    const before = JSON.stringify(this.visible.get(uri) ?? []);
    this.visible.set(uri, ranges);
    // Re-prioritise only when something is still unscored (a pass or its continuation is pending).
    if (before !== JSON.stringify(ranges) && (this.passes.has(uri) || this.timers.has(uri))) this.schedule(uri, 50);
  }

  /** Entries in the visible ranges first (in document order), then the rest. */
  private prioritise(uri: string, entries: ScriptCommand[]): ScriptCommand[] {
    const ranges = this.visible.get(uri);
    if (!ranges?.length) return entries;
    const seen = (e: ScriptCommand) => ranges.some((r) => e.endLine >= r.startLine && e.startLine <= r.endLine);
    return [...entries.filter(seen), ...entries.filter((e) => !seen(e))];
  }

  close(uri: string): void {
    this.visible.delete(uri);
    this.cancelPending(uri);
    this.parsed.delete(uri);
    this.loggedSkips.delete(uri);
    this.parseMs.delete(uri);
  }

  private async pass(uri: string): Promise<void> {
    const doc = this.deps.getDocument(uri);
    if (!doc) return;
    const abort = new AbortController();
    this.passes.set(uri, abort);
    const signal = abort.signal;
    const settings = this.deps.settings();
    const publish = (d: Diagnostic[]): void => {
      if (!signal.aborted) this.deps.publish(uri, doc.version, d);
    };
    try {
      if (!settings.diagnostics.enabled) return publish([]);
      const parsed = await this.entries(doc);
      if (signal.aborted) return;
      if (!parsed.entries) return publish([]);
      const targets = this.prioritise(uri, parsed.entries.filter((e) => e.intent && e.intent.trim() && !unscorable(e)));
      if (targets.length === 0) return publish([]);
      const engine = await this.deps.host.get(signal);
      if (signal.aborted) return;
      if (!engine) return publish([]);
      const { threshold, maxCommandsPerPass } = settings.diagnostics;
      const diagnostics: Diagnostic[] = [];
      let computed = 0;
      let pending = 0;
      for (const entry of targets) {
        if (signal.aborted) return;
        const intent = entry.intent!.trim();
        let a = this.deps.scorer.cachedAgreement(engine, intent, entry.text);
        if (!a) {
          if (computed >= maxCommandsPerPass) {
            pending++;
            continue;
          }
          try {
            a = await this.deps.queue.run(1, signal, (s) => this.deps.scorer.agreement(engine, intent, entry.text, s), { preemptible: true });
          } catch (err) {
            if (signal.aborted) return;
            if (err instanceof PreemptedError) {
              // A hover needed the model: finish this pass from the cache only, publish, and continue shortly.
              pending++;
              computed = Infinity;
              continue;
            }
            if (err instanceof RangeError) continue;
            throw err;
          }
          computed++;
        }
        if (a.score.value < threshold) diagnostics.push(this.toDiagnostic(entry, intent, a.reading, a.score.value, threshold));
      }
      diagnostics.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
      publish(diagnostics);
      if (pending > 0 && !signal.aborted) {
        // Large script: continue with the next batch shortly (edits cancel this through `passes`).
        this.timers.set(
          uri,
          setTimeout(() => {
            this.timers.delete(uri);
            if (this.passes.get(uri) === abort) void this.pass(uri);
          }, 20),
        );
      }
    } catch (err) {
      if (!signal.aborted) this.deps.log(`Diagnostics for ${uri} failed: ${(err as Error).stack ?? err}`);
    } finally {
      if (this.passes.get(uri) === abort && !this.timers.has(uri)) this.passes.delete(uri);
    }
  }

  private toDiagnostic(entry: ScriptCommand, intent: string, reading: string, score: number, threshold: number): Diagnostic {
    const data: MismatchData = { reading, line: entry.startLine, score };
    return {
      range: { start: { line: entry.startLine, character: entry.startCol }, end: { line: entry.endLine, character: entry.endCol } },
      severity: DiagnosticSeverity.Warning,
      source: DIAGNOSTIC_SOURCE,
      code: DIAGNOSTIC_CODE,
      message: mismatchMessage(intent, reading, score, threshold),
      data,
    };
  }
}
