// Checks a script's comments against its commands with the grounded score (the same rule in the editor and the CLI).
import { MAX_TASK_CHARS } from "../engine/tasks";
import type { ScriptCommand, ShellParser } from "../shell/parser";
import { judgeSupport, type CommentJudgement } from "./calibration";
import { intentWithoutDirectives, isIgnored, readDirectives } from "./directives";
import { toFinding, type Finding } from "./findings";
import { groundedSupport, type GroundedSupport, type Grounding } from "./grounded";
import type { SelfCheckResult } from "./selfCheck";

export interface CommentCheck {
  intent: string;
  support: GroundedSupport;
  judgement: CommentJudgement;
  finding: Finding | null;
}

export interface CommentCheckDeps {
  grounding: Grounding;
  check: SelfCheckResult;
  /** The model's reading of a command, when a model is at hand (callers cache it); asked only for a finding. */
  readingOf?: (command: string, signal?: AbortSignal) => Promise<string>;
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
  const support = await groundedSupport(deps.grounding, intent, entry.text, deps.signal);
  return judgeGrounded(entry, support, deps);
}

/** The verdict on a comment whose support is known; the model reads the command only when the comment differs. */
export async function judgeGrounded(entry: ScriptCommand, support: GroundedSupport, deps: Omit<CommentCheckDeps, "grounding">): Promise<CommentCheck> {
  const intent = intentWithoutDirectives(entry.intent);
  const judgement = judgeSupport(support, deps.check);
  if (judgement.verdict !== "differs") return { intent, support, judgement, finding: null };
  const reading = deps.readingOf ? await deps.readingOf(entry.text, deps.signal).catch(() => null) : null;
  return { intent, support, judgement, finding: toFinding(entry, intent, support, reading, judgement) };
}

/** Every finding of a script, in document order. An unfit check finds nothing. */
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
