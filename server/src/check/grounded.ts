// The grounded comment score: how well a comment agrees with what people and man pages say the command does. Parts:
// the comment's similarity to the descriptions of the examples retrieved for the command (the example index) and to
// the man-page text of the command's programs and flags. Model-free, so it holds for every model a user brings; the
// model's lift is shown beside it, not mixed in (scripts/evidence/judging.ts measured the parts: docs/RESULTS.md).
import type { Example, ExampleHit, ExampleIndex } from "../knowledge/examples/exampleIndex";
import { programOf } from "../knowledge/examples/program";
import { sharedExampleIndex } from "../knowledge/examples/shared";
import { explainCommand, type CommandExplanation } from "../knowledge/manpages/explain";
import { sharedManLibrary, type ManLibrary } from "../knowledge/manpages/library";
import type { ShellParser } from "../shell/types";
import type { SupportSource } from "./selfCheck";

export interface SupportParts {
  /** Cosine of the comment with the joined descriptions of the retrieved examples (0..1). */
  examples: number;
  /** Cosine of the comment with the man-page text; null when no program of the command has a page. */
  man: number | null;
}

export interface GroundedSupport {
  /** combineSupport(parts): what the comment check judges. */
  score: number;
  parts: SupportParts;
  /** The example nearest the command among its own program's examples (null when there are none): what the hover quotes. */
  nearest: ExampleHit | null;
  /** Man pages read, e.g. "chmod(1)". */
  pages: string[];
  /** The programs people's examples for the comment's words use, nearest first (up to 10). */
  commentPrograms: string[];
  /** The command's program as the index groups it. */
  program: string | null;
  /** People's examples know the program and it does a task of its own (not an assignment, `[`, `break`, `set`…):
   * only then can a comment be judged against it. */
  judgeable: boolean;
}

/** Shell statements that carry no task of their own: comments above them say why, not what. */
const NO_TASK = new Set(
  ": . [ [[ break continue exit return true false shift set unset local export readonly declare typeset eval exec source trap test wait read getopts let builtin command".split(" "),
);
/** Fewer examples than this for a program: too few to say what people use it for. */
export const MIN_PROGRAM_EXAMPLES = 3;

/** Where the grounded score gets its text: the example index and this machine's man pages. */
export interface Grounding {
  index: ExampleIndex;
  explain(command: string, signal?: AbortSignal): Promise<CommandExplanation | null>;
}

/** The one number the comment check calibrates and judges (chosen on the training side, scripts/evidence/judging.ts). */
export function combineSupport(parts: SupportParts): number {
  return parts.man === null ? parts.examples : (parts.examples + parts.man) / 2;
}

/** The man pages' words about a command: each program's (and subcommand's) description and its flags' paragraphs. */
export function manPageText(e: CommandExplanation): string {
  return e.programs
    .filter((p) => p.page)
    .flatMap((p) => [p.description ?? "", p.subcommandText ?? "", ...p.flags.filter((f) => f.found).map((f) => f.text)])
    .filter(Boolean)
    .join(" ");
}

/** `leaveOut` (measurements on pairs the index holds): that pair's examples, and any sharing its task or command, are not retrieved. */
export async function groundedSupport(g: Grounding, comment: string, command: string, signal?: AbortSignal, leaveOut?: (e: Example) => boolean): Promise<GroundedSupport> {
  const program = programOf(command);
  const examples = g.index.commentSupport(comment, command, { exclude: leaveOut });
  const explanation = await g.explain(command, signal).catch(() => null);
  const manText = explanation ? manPageText(explanation) : "";
  const parts: SupportParts = { examples: examples.similarity, man: manText ? g.index.textSimilarity(comment, manText) : null };
  return {
    score: combineSupport(parts),
    parts,
    nearest: g.index.nearestFor(command),
    pages: explanation?.programs.flatMap((p) => (p.page ? [p.page] : [])) ?? [],
    commentPrograms: g.index.byTask(comment, { k: 10, exclude: leaveOut }).map((h) => programOf(h.example.command) ?? ""),
    program,
    judgeable: program !== null && !NO_TASK.has(program) && g.index.programExamples(program) >= MIN_PROGRAM_EXAMPLES,
  };
}


/** `g`, with `command` already explained: a hover explains its command once, for its man-page section and for the comment's support. */
export function withExplanation(g: Grounding, command: string, explanation: CommandExplanation | null): Grounding {
  return { index: g.index, explain: (c, signal) => (c === command ? Promise.resolve(explanation) : g.explain(c, signal)) };
}

/** What the grounded score rests on, in words (the self-check sentence, hovers). */
export const GROUNDED_BASIS = "examples and man pages";

/** The shipped example index with this machine's man pages, or why there is none (warnings are then off). */
export function shippedGrounding(parser: () => Promise<ShellParser>, library: ManLibrary = sharedManLibrary()): Grounding | { error: string } {
  const shipped = sharedExampleIndex();
  if ("error" in shipped) return shipped;
  return {
    index: shipped.index,
    explain: async (command, signal) => explainCommand(command, { parser: await parser(), library, signal }),
  };
}

/** The grounded score as a self-check source. Man pages differ between machines, so the machine's MANPATH is part
 * of the identity as well as the index content. */
export function groundedSource(g: Grounding): SupportSource {
  return {
    identity: `grounded\0${g.index.identity}\0${process.env.MANPATH ?? ""}\0${DIFFERS_KEY}`,
    basis: GROUNDED_BASIS,
    support: async (intent, command, signal) => (await groundedSupport(g, intent, command, signal)).score,
  };
}

/** Bump when combineSupport or manPageText change meaning: cached self-checks are then remeasured. */
const DIFFERS_KEY = "combine-v1";
