// Gates a candidate must pass before its score counts. Each verdict carries a reason that is logged.
import type { GateVerdict } from "./types";
import type { ParsedCommand, ShellParser } from "../shell/parser";
import { words } from "./text";

const STOP = new Set(["a", "an", "the", "to", "of", "in", "on", "for", "and", "or", "with", "all", "from", "by", "is", "it", "this", "that", "into", "at", "as"]);

function contentWords(text: string): Set<string> {
  return new Set(words(text).filter((w) => !STOP.has(w) && w.length > 1));
}

/** Share of the task's content words that appear in `text` (0 when the task has none). */
function taskWordShare(task: string, text: string): number {
  const taskWords = contentWords(task);
  if (taskWords.size === 0) return 0;
  const found = contentWords(text);
  let hit = 0;
  for (const w of taskWords) if (found.has(w)) hit++;
  return hit / taskWords.size;
}

/** Smuggling: half or more of the task's content words restated in printed text, comments or here-docs. */
export const SMUGGLE_SHARE = 0.5;

/** `known`: the command's parse when the caller has it already. */
export function runGates(parser: ShellParser, task: string, command: string, known?: ParsedCommand): GateVerdict[] {
  if (!command.trim()) return [{ gate: "nonempty", pass: false, reason: "the model produced no command" }];
  const parsed = known ?? parser.parseCommand(command);
  const verdicts: GateVerdict[] = [];
  verdicts.push(
    parsed.ok
      ? { gate: "parses", pass: true, reason: "tree-sitter-bash parses it without errors" }
      : { gate: "parses", pass: false, reason: `does not parse as bash: ${parsed.errors.slice(0, 2).join("; ") || "syntax error"}` },
  );
  const first = parsed.utilities[0]?.name;
  verdicts.push(
    !first
      ? { gate: "program", pass: false, reason: "no program is run" }
      : parser.isKnownProgram(first)
        ? { gate: "program", pass: true, reason: `\`${first}\` is a known program or builtin` }
        : { gate: "program", pass: false, reason: `\`${first}\` is not a known program or shell builtin` },
  );
  const printed = parsed.echoArgs.join(" ");
  const commented = parsed.comments.join(" ");
  const echoShare = taskWordShare(task, printed);
  const commentShare = taskWordShare(task, commented);
  let smuggle: GateVerdict = { gate: "no-smuggling", pass: true, reason: "the task's words are not restated in printed text or comments" };
  if (parsed.hasHeredoc) smuggle = { gate: "no-smuggling", pass: false, reason: "here-documents can carry the task text" };
  else if (commentShare >= SMUGGLE_SHARE) smuggle = { gate: "no-smuggling", pass: false, reason: `a comment restates ${Math.round(commentShare * 100)}% of the task's words` };
  else if (echoShare >= SMUGGLE_SHARE) smuggle = { gate: "no-smuggling", pass: false, reason: `echo/printf restates ${Math.round(echoShare * 100)}% of the task's words` };
  verdicts.push(smuggle);
  return verdicts;
}

export function gatesPass(verdicts: GateVerdict[]): boolean {
  return verdicts.every((v) => v.pass);
}
