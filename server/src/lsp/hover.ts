// The hover, each part marked with where it comes from: the nearest example people wrote for this program (with its
// source and licence: it is someone else's text), the model's reading (the model's), the comment's verdict (which
// says what it rests on), then the man pages' flags, and the numbers folded into a details line.
import type { CommandScore } from "../../../common/protocol";
import { judgeSupport, type Verdict } from "../check/calibration";
import { intentWithoutDirectives } from "../check/directives";
import { ruleDocsUrl } from "../check/findings";
import { groundedSupport, withExplanation, type GroundedSupport, type Grounding } from "../check/grounded";
import { selfCheckSentence, type SelfCheckResult } from "../check/selfCheck";
import type { ExampleHit } from "../knowledge/examples/exampleIndex";
import { exampleUrl } from "../knowledge/examples/links";
import { explainCommand } from "../knowledge/manpages/explain";
import { sharedManLibrary, type ManLibrary } from "../knowledge/manpages/library";
import type { ParsedCommand, ScriptCommand, ShellParser } from "../shell/parser";
import { manPageMarkdown } from "./manHover";

export interface HoverInput {
  command: string;
  /** The comment above the command (directives removed), or null. */
  intent: string | null;
  /** The model's reading and scores; null without a model. */
  score: CommandScore | null;
  /** The nearest example of the command's program. */
  example: ExampleHit | null;
  /** The comment's grounded support; null without a comment (or without the example index). */
  support: GroundedSupport | null;
  /** The comment check's self-check; null while it runs. */
  check: SelfCheckResult | null;
  /** Markdown sections after the verdict (the man pages' flags). */
  sections?: string[];
  /** Why there is no model reading (no model configured, a model that failed to load). */
  noModel?: string;
}

function mdEscape(s: string): string {
  return s.replace(/([\\`*_{}[\]()#+\-.!|<>])/g, "\\$1");
}

const code = (s: string): string => `\`${s.replace(/`/g, "'")}\``;

export function exampleLine(hit: ExampleHit): string {
  const s = hit.source;
  return `**Example** from [${mdEscape(s.name)}](${exampleUrl(hit)}) (${mdEscape(s.attribution)}, [${mdEscape(s.licence)}](${s.licenceUrl})): ${code(hit.example.command)} — “${mdEscape(hit.example.description)}”`;
}

function readingLine(input: HoverInput): string {
  if (!input.score) return input.noModel ? `_No model reading: ${mdEscape(input.noModel)}_ [Select a model](command:inversion.selectModel)` : "";
  const reading = input.score.reading.trim();
  const adapter = input.score.adapterPath ? ` (with adapter ${mdEscape(input.score.adapterPath.split(/[\\/]/).pop() ?? "")})` : "";
  const memory = input.score.memory ? ` Its prompt may also hold some of the ${input.score.memory.examples} examples the run ${mdEscape(input.score.memory.run.split(/[\\/]/).pop() ?? "")} accepted (model output, not people's).` : "";
  return `**Model** — the model${adapter} reads this command as: ${reading ? `“${mdEscape(reading)}”` : "_(nothing: it produced no reading)_"}${memory ? `.${memory}` : ""}`;
}

const VERDICT_TEXT: Record<Verdict, string> = {
  matches: "✓ The comment matches what",
  differs: "⚠ The comment shares almost nothing with what",
  unsure: "The comment neither clearly matches nor clearly differs from what",
};

export function verdictLine(support: GroundedSupport | null, check: SelfCheckResult | null): string | null {
  if (!support) return null;
  if (check && !check.fit) return `_Comment checks are off: ${mdEscape(selfCheckSentence(check))}_`;
  if (!check) return "_The comment check is still measuring itself._";
  const { verdict, otherProgram } = judgeSupport(support, check);
  const basis = support.parts.man === null ? "examples of commands like this say" : `examples and the man page${support.pages.length > 1 ? "s" : ""} (${support.pages.map(mdEscape).join(", ")}) say`;
  const about = verdict === "differs" && otherProgram ? " (its words are what other programs do)" : "";
  return `${VERDICT_TEXT[verdict]} ${basis}${about}.`;
}

function details(input: HoverInput): string {
  const parts: string[] = [];
  if (input.support) {
    const man = input.support.parts.man === null ? "no man page" : `man page ${input.support.parts.man.toFixed(2)}`;
    parts.push(`comment support ${input.support.score.toFixed(3)} (examples ${input.support.parts.examples.toFixed(2)}, ${man})`);
  }
  const lift = input.score?.agreement?.parts.liftBitsPerToken;
  if (lift !== undefined) parts.push(`model's lift for the comment ${lift.toFixed(2)} bits per word piece`);
  const numbers = parts.length ? parts.join(" · ") : "no scores";
  const fitness = input.check ? ` ${selfCheckSentence(input.check)}` : "";
  const docs = ruleDocsUrl();
  return `<sub>Details: ${numbers}.${fitness}${docs ? ` [How scoring works](${docs.replace(/#.*$/, "")})` : ""}</sub>`;
}

export function hoverMarkdown(input: HoverInput): string {
  const out = [
    `**Inversion** — ${code(input.command.trim())}`,
    input.example ? exampleLine(input.example) : "",
    readingLine(input),
    input.intent ? `Comment: “${mdEscape(input.intent)}”` : "",
    verdictLine(input.support, input.check) ?? "",
    ...(input.sections ?? []),
    "---",
    details(input),
  ];
  return out.filter(Boolean).join("\n\n");
}

export interface HoverDeps {
  parser: ShellParser;
  /** The example index and man pages; null when the index is unavailable. */
  grounding: Grounding | null;
  /** The comment check's self-check if already measured (a hover never waits for it). */
  selfCheck(grounding: Grounding): Promise<SelfCheckResult | null>;
  /** The model's reading and scores of the command, given its parse; null without a model. */
  score(parsed: ParsedCommand): Promise<CommandScore | null>;
  /** Why there is no model reading. */
  noModel?: string;
  library?: ManLibrary;
  signal?: AbortSignal;
}

/** The hover of a script command. Its command is parsed once, and the parse and its man-page reading go to every part. */
export async function hoverFor(entry: ScriptCommand, deps: HoverDeps): Promise<string> {
  const { grounding, signal } = deps;
  const parsed = deps.parser.parseCommand(entry.text);
  // The examples and the man pages need no model; a page that cannot be read only drops that part.
  const explanation = await explainCommand(entry.text, { parser: deps.parser, library: deps.library ?? sharedManLibrary(), signal, parsed }).catch(() => null);
  const intent = intentWithoutDirectives(entry.intent) || null;
  const support = grounding && intent ? await groundedSupport(withExplanation(grounding, entry.text, explanation), intent, entry.text, signal) : null;
  const example = support?.nearest ?? grounding?.index.nearestFor(entry.text) ?? null;
  const check = grounding ? await deps.selfCheck(grounding) : null;
  const score = deps.noModel ? null : await deps.score(parsed);
  const sections = explanation?.programs.length ? [manPageMarkdown(explanation)] : [];
  return hoverMarkdown({ command: entry.text, intent, score, example, support, check, sections, noModel: deps.noModel });
}
