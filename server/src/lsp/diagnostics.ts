// Background diagnostics where a comment and the command below it disagree, by the grounded score (examples and
// man pages; off when its self-check fails or the example index is missing). Debounced per
// document, cached by content hash (CommandScoreCache), cancelled by newer edits, and incremental: at most
// `maxCommandsPerPass` new scores per pass, then the pass publishes what it has and continues shortly after.
import type { Diagnostic } from "vscode-languageserver";
import { DiagnosticSeverity } from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import type { InversionSettings } from "../../../common/protocol";
import type { ScriptCommand, ShellParser } from "../shell/parser";
import { MAX_COMMAND_CHARS, type Engine } from "../engine/api";
import { ruleDocsUrl, type Finding } from "../check/findings";
import { checkableEntries, judgeGrounded } from "../check/lint";
import { intentWithoutDirectives } from "../check/directives";
import { groundedSupport, type GroundedSupport, type Grounding } from "../check/grounded";
import type { SelfCheckResult } from "../check/selfCheck";
import type { ModelHost } from "./modelHost";
import type { CommandScoreCache } from "./scoring";
import { guardText } from "./textGuard";
import { ParseRefusedError, ScriptParseWorker } from "../shell/parseOffThread";
import { statementsAround } from "./scriptWindow";
import { PreemptedError, type WorkQueue } from "./workQueue";
import { LruCache, hashKey } from "./cache";

export const DIAGNOSTIC_SOURCE = "inversion";

/** Carried by each diagnostic for the quick fixes. */
export interface MismatchData {
  reading: string;
  /** Where the reading comes from: "the model", or an example's source. */
  readingSource: string;
  /** The command's first line (0-based). */
  line: number;
  support: number;
}

export interface DiagnosticsDeps {
  queue: WorkQueue;
  host: ModelHost;
  scorer: CommandScoreCache;
  /** The example index and man pages, or why there are none. */
  grounding: () => Grounding | { error: string };
  selfCheck: (grounding: Grounding) => Promise<SelfCheckResult>;
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

export class DiagnosticsScheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly passes = new Map<string, AbortController>();
  private readonly parsed = new Map<string, ParsedDoc>();
  /** Whole-script parses running on the worker thread, per document. */
  private readonly parsing = new Map<string, { version: number; done: Promise<ParsedDoc> }>();
  private readonly parseWorker = new ScriptParseWorker();
  private readonly loggedSkips = new Map<string, string>();
  /** Last parse time per document: big scripts get a longer debounce so typing never queues parse after parse. */
  private readonly parseMs = new Map<string, number>();
  /** Visible line ranges per document (from the client); scored first. */
  private readonly visible = new Map<string, { startLine: number; endLine: number }[]>();
  /** Grounded support of comments for their commands, by (self-check fingerprint, comment, command). */
  private readonly supports = new LruCache<GroundedSupport>(20000);

  constructor(private readonly deps: DiagnosticsDeps) {}

  /** Parses (on the worker thread, once per version) and guards a document. */
  entries(doc: TextDocument): Promise<ParsedDoc> {
    const cached = this.parsed.get(doc.uri);
    if (cached && cached.version === doc.version) return Promise.resolve(cached);
    const running = this.parsing.get(doc.uri);
    if (running?.version === doc.version) return running.done;
    const done = this.parse(doc, cached).finally(() => {
      if (this.parsing.get(doc.uri)?.done === done) this.parsing.delete(doc.uri);
    });
    this.parsing.set(doc.uri, { version: doc.version, done });
    return done;
  }

  /**
   * The statements a request at `line` sees: the whole parse once it is done; while it runs on the worker, or when
   * it was refused for size, a parse of the lines around `line`, so a hover never waits for it. Null for a file
   * that is not scored at all (binary, over inversion.maxFileBytes).
   */
  async entriesAround(doc: TextDocument, line: number): Promise<ScriptCommand[] | null> {
    const parsed = this.parsed.get(doc.uri);
    if (parsed?.version === doc.version && parsed.entries) return parsed.entries;
    if (!guardText(doc.getText(), this.deps.settings().maxFileBytes).ok) return null;
    void this.entries(doc);
    return statementsAround(await this.deps.parser(), doc, line);
  }

  private async parse(doc: TextDocument, cached: ParsedDoc | undefined): Promise<ParsedDoc> {
    // Typing in a large script queues parses: one whose version was edited (or closed) since is skipped, not run.
    const current = (): boolean => this.deps.getDocument(doc.uri)?.version === doc.version;
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
        const t0 = Date.now();
        try {
          const entries = await this.parseWorker.parse(text, current);
          const ms = Date.now() - t0;
          this.parseMs.set(doc.uri, ms);
          if (ms > 200) this.deps.log(`Parsed ${doc.uri} (${doc.lineCount} lines, ${entries.length} commands) in ${ms} ms`);
          result = { version: doc.version, hash, entries, skipped: null };
        } catch (err) {
          const reason = err instanceof ParseRefusedError ? err.message : `the shell parser failed: ${(err as Error).message}`;
          result = { version: doc.version, hash, entries: null, skipped: reason };
          this.parseMs.set(doc.uri, Date.now() - t0);
        }
      }
    }
    if (!current()) return result;
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
    this.parsing.delete(uri);
    this.loggedSkips.delete(uri);
    this.parseMs.delete(uri);
  }

  private async pass(uri: string): Promise<void> {
    const doc = this.deps.getDocument(uri);
    if (!doc) return;
    const abort = new AbortController();
    this.passes.set(uri, abort);
    const signal = abort.signal;
    const publish = (d: Diagnostic[]): void => {
      if (!signal.aborted) this.deps.publish(uri, doc.version, d);
    };
    try {
      const targets = await this.targets(doc, signal);
      if (signal.aborted) return;
      const grounding = this.deps.grounding();
      if ("error" in grounding || !targets.length) return publish([]);
      const check = await this.deps.selfCheck(grounding);
      if (signal.aborted) return;
      if (!check.fit) return publish([]);
      const { diagnostics, pending } = await this.scoreTargets(grounding, check, targets, signal);
      if (signal.aborted) return;
      publish(diagnostics);
      if (pending) this.continueLater(uri, abort);
    } catch (err) {
      if (!signal.aborted) this.deps.log(`Diagnostics for ${uri} failed: ${(err as Error).stack ?? err}`);
    } finally {
      if (this.passes.get(uri) === abort && !this.timers.has(uri)) this.passes.delete(uri);
    }
  }

  /** The commented commands to check, visible ones first; none when diagnostics are off or the file is skipped. */
  private async targets(doc: TextDocument, signal: AbortSignal): Promise<ScriptCommand[]> {
    if (!this.deps.settings().diagnostics.enabled) return [];
    const parsed = await this.entries(doc);
    if (signal.aborted || !parsed.entries) return [];
    return this.prioritise(doc.uri, checkableEntries(parsed.entries, doc.getText(), MAX_COMMAND_CHARS));
  }

  /** Checks up to maxCommandsPerPass uncached comments (the rest from the cache); `pending` when some are left. */
  private async scoreTargets(grounding: Grounding, check: SelfCheckResult, targets: ScriptCommand[], signal: AbortSignal): Promise<{ diagnostics: Diagnostic[]; pending: boolean }> {
    const { maxCommandsPerPass } = this.deps.settings().diagnostics;
    const diagnostics: Diagnostic[] = [];
    let computed = 0;
    let pending = false;
    for (const entry of targets) {
      if (signal.aborted) break;
      const intent = intentWithoutDirectives(entry.intent);
      const key = hashKey(check.fingerprint, intent, entry.text.trim());
      let support = this.supports.get(key);
      if (support === undefined) {
        if (computed >= maxCommandsPerPass) {
          pending = true;
          continue;
        }
        try {
          support = await this.deps.queue.run(1, signal, (s) => groundedSupport(grounding, intent, entry.text, s), { preemptible: true });
        } catch (err) {
          if (signal.aborted) break;
          // A hover needed the model: finish this pass from the cache only, publish, and continue shortly.
          if (err instanceof PreemptedError) {
            pending = true;
            computed = Infinity;
            continue;
          }
          if (err instanceof RangeError) continue;
          throw err;
        }
        this.supports.set(key, support);
        computed++;
      }
      const { finding } = await judgeGrounded(entry, support, { check, readingOf: this.readingOf, signal });
      if (finding) diagnostics.push(toDiagnostic(finding));
    }
    diagnostics.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
    return { diagnostics, pending };
  }

  /** The model's reading for a finding's message, when a model is configured; none otherwise (the examples speak). */
  private readonly readingOf = async (command: string, signal?: AbortSignal): Promise<string> => {
    const engine = await this.deps.host.get(signal);
    if (!engine) return "";
    return this.deps.queue.run(1, signal, (s) => this.deps.scorer.reading(engine, command, s));
  };

  /** Large script: continue with the next batch shortly (edits cancel this through `passes`). */
  private continueLater(uri: string, abort: AbortController): void {
    this.timers.set(
      uri,
      setTimeout(() => {
        this.timers.delete(uri);
        if (this.passes.get(uri) === abort) void this.pass(uri);
      }, 20),
    );
  }
}

export function toDiagnostic(f: Finding): Diagnostic {
  const data: MismatchData = { reading: f.reading, readingSource: f.readingSource, line: f.line, support: f.support };
  return {
    range: { start: { line: f.line, character: f.col }, end: { line: f.endLine, character: f.endCol } },
    severity: f.severity === "warning" ? DiagnosticSeverity.Warning : DiagnosticSeverity.Information,
    source: DIAGNOSTIC_SOURCE,
    code: f.code,
    ...(ruleDocsUrl() ? { codeDescription: { href: ruleDocsUrl()! } } : {}),
    message: f.message,
    data,
  };
}
