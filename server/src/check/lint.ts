// Checks a script's comments against its commands with a calibrated model (the same rule in the editor and the CLI).
import { MAX_TASK_CHARS } from "../engine/tasks";
import type { ScriptCommand, ShellParser } from "../shell/parser";
import { judgeComment, type CommentJudgement } from "./calibration";
import { intentWithoutDirectives, isIgnored, readDirectives } from "./directives";
import { toFinding, type Finding } from "./findings";
import { liftOf, type LiftSource, type SelfCheckResult } from "./selfCheck";

export interface CommentCheck {
  intent: string;
  liftBits: number;
  judgement: CommentJudgement;
  /** The model's reading, made only when the comment differs (it is what the message shows). */
  reading: string | null;
  finding: Finding | null;
}

export interface CommentCheckDeps {
  model: LiftSource;
  check: SelfCheckResult;
  /** The model's reading of a command (callers cache it). */
  readingOf: (command: string, signal?: AbortSignal) => Promise<string>;
  signal?: AbortSignal;
}

/** The commands of a script that have a comment to check, minus those silenced by directives. */
export function checkableEntries(entries: ScriptCommand[], text: string, maxCommandChars: number): ScriptCommand[] {
  const directives = readDirectives(text);
  return entries.filter((e) => {
    const c = e.text.trim();
    const intent = intentWithoutDirectives(e.intent);
    // a comment block longer than a task (a licence or usage header above a command) states no intent for it
    return intent !== "" && intent.length <= MAX_TASK_CHARS && c !== "" && c.length <= maxCommandChars && !isIgnored(directives, e.startLine);
  });
}

export async function checkComment(entry: ScriptCommand, deps: CommentCheckDeps): Promise<CommentCheck> {
  const intent = intentWithoutDirectives(entry.intent);
  const liftBits = await liftOf(deps.model, intent, entry.text, deps.signal);
  return judgeLift(entry, liftBits, deps);
}

/** The verdict on a comment whose lift is known; the model reads the command only when the comment differs. */
export async function judgeLift(entry: ScriptCommand, liftBits: number, deps: Omit<CommentCheckDeps, "model">): Promise<CommentCheck> {
  const intent = intentWithoutDirectives(entry.intent);
  const judgement = judgeComment(liftBits, deps.check);
  if (judgement.verdict !== "differs") return { intent, liftBits, judgement, reading: null, finding: null };
  const reading = await deps.readingOf(entry.text, deps.signal);
  return { intent, liftBits, judgement, reading, finding: toFinding(entry, intent, reading, liftBits, judgement) };
}

/** Every finding of a script, in document order. An unfit model finds nothing. */
export async function checkScript(
  parser: ShellParser,
  text: string,
  deps: CommentCheckDeps & { maxCommandChars: number },
): Promise<{ findings: Finding[]; commented: number }> {
  const entries = checkableEntries(parser.parseScript(text), text, deps.maxCommandChars);
  if (!deps.check.fit) return { findings: [], commented: entries.length };
  const findings: Finding[] = [];
  for (const entry of entries) {
    const r = await checkComment(entry, deps);
    if (r.finding) findings.push(r.finding);
  }
  return { findings, commented: entries.length };
}
