// A command explained from the man pages on this machine: each program (and subcommand) with its one-line
// description and each flag with its paragraph. Computed once as a plain view object that the CLI, the hover and
// the grounding check all read. Nothing from the command is ever run.
import type { ParsedCommand, ShellParser, Utility } from "../../shell/types";
import { isBashBuiltin } from "./builtins";
import type { LoadedPage, ManLibrary, PageLookup } from "./library";
import { readOptions, type OptionUse } from "./options";

export interface FlagNote {
  flag: string;
  value?: string;
  /** The paragraph's heading in the page, e.g. "-f, --file=ARCHIVE". */
  tag?: string;
  /** The paragraph's first part, trimmed; empty when not found. */
  text: string;
  found: boolean;
}

export interface ProgramNote {
  program: string;
  /** The page the flags were read from, e.g. "git-commit(1)"; null when no page is installed. */
  page: string | null;
  description: string | null;
  subcommand: string | null;
  /** What the subcommand does: its own page's description, or its paragraph in the program's page. */
  subcommandText: string | null;
  flags: FlagNote[];
  /** A bash builtin with no page of its own (set, cd, source): see `help <program>` in bash. */
  builtin?: true;
  /** Why the page found could not be read ("not a regular file (a FIFO)"); `page` is null then. */
  unreadable?: string;
}

export interface CommandExplanation {
  command: string;
  programs: ProgramNote[];
}

export interface ExplainDeps {
  parser: ShellParser;
  library: ManLibrary;
  signal?: AbortSignal;
  /** The command as the caller already parsed it (a hover parses its command once for all its parts). */
  parsed?: ParsedCommand;
}

const SUBCOMMAND = /^[a-z][a-z0-9-]*$/;
const MAX_TEXT = 280;

export async function explainCommand(command: string, deps: ExplainDeps): Promise<CommandExplanation> {
  const programs: ProgramNote[] = [];
  for (const utility of (deps.parsed ?? deps.parser.parseCommand(command)).utilities) {
    deps.signal?.throwIfAborted();
    programs.push(await explainUtility(utility, deps));
  }
  return { command, programs };
}

async function explainUtility(utility: Utility, { library, signal }: ExplainDeps): Promise<ProgramNote> {
  const program = utility.name.includes("/") ? utility.name.slice(utility.name.lastIndexOf("/") + 1) : utility.name;
  const lookup = await library.lookup(program, signal);
  const main = "found" in lookup ? lookup.found : null;
  const head = readOptions(utility.words, (f) => main?.options.get(f), { untilOperand: true });
  // After a bare `--` nothing is a flag or a subcommand (grep -v -- '-cert.pub$').
  const sub = head.ended ? null : await findSubcommand(program, utility.words[head.next], main, library, signal);
  const rest = utility.words.slice(head.next + (sub ? 1 : 0));
  const tail = head.ended ? [] : readOptions(rest, (f) => sub?.page?.options.get(f) ?? main?.options.get(f)).uses;
  const pageUsed = sub?.page ?? main;
  const flags = pageUsed ? [...head.uses, ...tail].map(flagNote) : utility.flags.map((flag) => ({ flag, text: "", found: false }));
  return {
    program,
    page: pageUsed?.title ?? null,
    description: main?.page.description ?? null,
    subcommand: sub?.name ?? null,
    subcommandText: sub?.text ?? null,
    flags,
    ...whyNoPage(program, lookup),
  };
}

function whyNoPage(program: string, lookup: PageLookup): Pick<ProgramNote, "builtin" | "unreadable"> {
  if ("unreadable" in lookup) return { unreadable: lookup.unreadable };
  if ("none" in lookup && isBashBuiltin(program)) return { builtin: true };
  return {};
}

interface Subcommand {
  name: string;
  text: string | null;
  /** Its own page (git-commit), when it has one. */
  page: LoadedPage | null;
}

/** `git commit` → the page git-commit; `systemctl restart` → the paragraph "restart PATTERN…" of systemctl's page. */
async function findSubcommand(
  program: string,
  word: string | undefined,
  main: LoadedPage | null,
  library: ManLibrary,
  signal?: AbortSignal,
): Promise<Subcommand | null> {
  if (!word || !SUBCOMMAND.test(word)) return null;
  const own = await library.page(`${program}-${word}`, signal);
  if (own) return { name: word, text: own.page.description, page: own };
  const item = main?.page.items.find((i) => i.flags.length === 0 && i.tag.split(/[\s,]/)[0] === word);
  return item ? { name: word, text: trimText(item.text), page: null } : null;
}

function flagNote(use: OptionUse): FlagNote {
  const { flag, value, item } = use;
  return { flag, ...(value !== undefined ? { value } : {}), ...(item ? { tag: item.tag } : {}), text: item ? trimText(item.text) : "", found: !!item };
}

/** The first paragraph, cut at a sentence end (or a word) so that it fits `max` characters. */
export function trimText(text: string, max = MAX_TEXT): string {
  const first = text.split("\n\n")[0] ?? "";
  if (first.length <= max) return first;
  const window = first.slice(0, max);
  const sentenceEnd = Math.max(window.lastIndexOf(". "), window.lastIndexOf("; "));
  if (sentenceEnd >= max / 3) return window.slice(0, sentenceEnd + 1);
  return window.slice(0, window.lastIndexOf(" ")).replace(/[,;:]$/, "") + "…";
}
