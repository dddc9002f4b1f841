// (description, command) pairs from local snapshots of public cheat-sheet repositories, one parser per format.
// The snapshots are bare git repositories (no work tree): files are read with `git show HEAD:<path>`.
// Only sources under CC0, CC BY or MIT are here; every pair keeps a ref to where it came from.
import type { ExampleSource } from "../../server/src/engine/api";
import { execFileSync } from "node:child_process";

export interface SourcePair {
  /** One line, trimmed, no trailing ':'. */
  description: string;
  /** One line, trimmed. */
  command: string;
  /** The Source.id. */
  source: string;
  /** Where in the source: "osx/airport#2", "tar#4", "tools/git.sh:12". */
  ref: string;
}

/** A source as the index records it (its licenceUrl: the LICENSE file at the commit read). */
export type Source = ExampleSource;

export interface SourceSnapshot {
  source: Source;
  pairs: SourcePair[];
}

const MAX_COMMAND_CHARS = 300;
const MAX_DESCRIPTION_CHARS = 200;

// ---------------------------------------------------------------------------------------------------------------------
// Rules shared by every parser

const collapseSpaces = (s: string): string => s.replace(/\s+/g, " ").trim();

/** The pair when it passes the common rules (non-empty, one line, not too long), else undefined. */
export function makePair(description: string, command: string, source: string, ref: string): SourcePair | undefined {
  const d = collapseSpaces(description);
  const c = command.trim();
  if (!d || !c || /[\r\n]/.test(c)) return undefined;
  if (c.length > MAX_COMMAND_CHARS || d.length > MAX_DESCRIPTION_CHARS) return undefined;
  return { description: d, command: c, source, ref };
}

/** Drops a trailing ':' and a single trailing '.' (an ellipsis stays). */
const stripEndPunctuation = (s: string): string => s.trim().replace(/\s*:$/, "").replace(/(?<!\.)\.$/, "").trim();

const capitalise = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** Joins lines that end in a `\` continuation; returns the logical lines. */
export function logicalLines(lines: readonly string[]): string[] {
  const joined: string[] = [];
  let pending: string | undefined;
  for (const line of lines) {
    const continued = /\\\s*$/.test(line);
    const part = continued ? line.replace(/\\\s*$/, "").trim() : line.trim();
    pending = pending === undefined ? part : `${pending} ${part}`.trim();
    if (!continued) {
      joined.push(pending);
      pending = undefined;
    }
  }
  if (pending !== undefined) joined.push(pending);
  return joined;
}

/** Drops a `$ ` shell prompt written before a command. */
const stripPrompt = (command: string): string => command.trim().replace(/^\$\s+/, "");

const splitLines = (text: string): string[] => text.split(/\r?\n/);
const isBlank = (line: string): boolean => line.trim() === "";

// ---------------------------------------------------------------------------------------------------------------------
// tldr-pages: `- Description:` then `` `command` ``

const MNEMONIC = /\[([A-Za-z0-9]+)\](?=\w)|(?<=\w)\[([A-Za-z0-9]+)\]|\[([A-Za-z0-9])\]/g;

/**
 * tldr's mnemonic brackets: `[c]reate`, `e[x]tract`, `[arch]itecture`, `IPv[4]`, a lone `[3]`; `[other text]` and
 * brackets inside `code` spans (`array[i]`) stay.
 */
export function stripMnemonics(description: string): string {
  return description
    .split("`")
    .map((part, i) => (i % 2 === 0 ? part.replace(MNEMONIC, (_m, a, b, c) => a ?? b ?? c) : part))
    .join("`");
}

/** One placeholder's text: `[-s|--long]` gives `-s`, `a|b|c` gives `a`, anything else stays as written. */
function placeholderText(content: string): string {
  const options = /^\[([^\]]*\|[^\]]*)\]$/.exec(content);
  const inner = options ? options[1]! : content;
  return /^[^\s|]+(\|[^\s|]+)+$/.test(inner) ? inner.split("|")[0]! : inner;
}

/** Renders `{{...}}` placeholders as their text; `\{\{` and `\}\}` are literal braces. */
export function renderTldrPlaceholders(command: string): string {
  const open = "\u0000";
  const close = "\u0001";
  return command
    .replace(/\\\{\\\{/g, open)
    .replace(/\\\}\\\}/g, close)
    .replace(/\{\{(.*?)\}\}/g, (_m, content: string) => placeholderText(content))
    .replace(/\u0000/g, "{{")
    .replace(/\u0001/g, "}}");
}

export function parseTldrPage(text: string, platform: string, name: string): SourcePair[] {
  const pairs: SourcePair[] = [];
  let description: string | undefined;
  let index = 0;
  for (const line of splitLines(text)) {
    if (line.startsWith("- ")) {
      description = line.slice(2);
      continue;
    }
    const code = /^`(.*)`\s*$/.exec(line);
    if (!code || description === undefined) continue;
    const command = renderTldrPlaceholders(code[1]!);
    const ref = `${platform}/${name}#${index++}`;
    // Pages of GNU aliases on osx only point at another page (`tldr cat`).
    if (!/^tldr\s/.test(command)) {
      const pair = makePair(stripMnemonics(stripEndPunctuation(description)), command, "tldr-other", ref);
      if (pair) pairs.push(pair);
    }
    description = undefined;
  }
  return pairs;
}

// ---------------------------------------------------------------------------------------------------------------------
// cheat/cheatsheets and chubin/cheat.sheets: `# comment` lines, then command lines until a blank line or a new comment

interface CommentBlock {
  /** Comment lines without their `#`; an empty string is an empty `#` line. */
  comments: string[];
  commands: string[];
}

/** Drops YAML front matter (`---` ... `---` at the top). */
export function stripFrontMatter(text: string): string {
  return text.replace(/^---\r?\n[\s\S]*?\r?\n---[ \t]*(\r?\n|$)/, "");
}

const isCommentLine = (line: string): boolean => /^\s*#/.test(line);
const commentText = (line: string): string => line.replace(/^\s*#+\s?/, "").trim();

/** Blocks of comment lines followed by at least one command line; lines outside such blocks are skipped. */
export function commentBlocks(text: string): CommentBlock[] {
  const blocks: CommentBlock[] = [];
  let current: CommentBlock = { comments: [], commands: [] };
  const flush = (): void => {
    if (current.comments.length > 0 && current.commands.length > 0) blocks.push(current);
    current = { comments: [], commands: [] };
  };
  for (const line of splitLines(stripFrontMatter(text))) {
    if (isBlank(line)) flush();
    else if (isCommentLine(line)) {
      if (current.commands.length > 0) flush();
      current.comments.push(commentText(line));
    } else if (current.comments.length > 0) current.commands.push(line);
  }
  flush();
  return blocks;
}

/**
 * The comment as one sentence, or undefined when it is several: an empty `#` line between text lines, a sentence end
 * (`.`, `!`, `?`) followed by a capital, or a line ending in `:` or `.` followed by another line.
 */
export function oneSentence(comments: readonly string[]): string | undefined {
  const lines = trimEmpty(comments);
  if (lines.some((l) => l === "")) return undefined;
  if (lines.slice(0, -1).some((l) => /[.:!?]$/.test(l))) return undefined;
  const text = collapseSpaces(lines.join(" "));
  return /[.!?]\s+[A-Z]/.test(text) ? undefined : text;
}

function trimEmpty(lines: readonly string[]): string[] {
  let start = 0;
  let end = lines.length;
  while (start < end && lines[start] === "") start++;
  while (end > start && lines[end - 1] === "") end--;
  return lines.slice(start, end);
}

/** "To extract an archive:" gives "Extract an archive". */
export function cheatDescription(comment: string): string {
  return capitalise(stripEndPunctuation(comment).replace(/^to\s+/i, ""));
}

/** Comments that only link the command to the one before it ("or:", "alternatively"). */
const isConnective = (description: string): boolean => /^(or|and|also|alternatively|or alternatively)$/i.test(description);

function parseCommentSheet(text: string, ref: string, source: string): SourcePair[] {
  const pairs: SourcePair[] = [];
  commentBlocks(text).forEach((block, k) => {
    const comment = oneSentence(block.comments);
    const commands = logicalLines(block.commands);
    if (comment === undefined || commands.length !== 1) return;
    const description = cheatDescription(comment);
    if (isConnective(description)) return;
    const pair = makePair(description, stripPrompt(commands[0]!), source, `${ref}#${k}`);
    if (pair) pairs.push(pair);
  });
  return pairs;
}

/** A cheat/cheatsheets sheet; ref is the sheet's path, k the block's index among the sheet's comment blocks. */
export function parseCheatSheet(text: string, ref: string): SourcePair[] {
  return parseCommentSheet(text, ref, "cheat");
}

const PROGRAM_SHEET = /^[a-z0-9][a-z0-9._+-]*$/;

/** The program a command runs: its first word, after an optional `sudo`. */
export function firstProgram(command: string): string | undefined {
  const words = command.trim().split(/\s+/);
  return words[0] === "sudo" ? words[1] : words[0];
}

/** A chubin/cheat.sheets sheet: only pairs whose command runs the program the sheet is named after. */
export function parseChubinSheet(text: string, sheet: string): SourcePair[] {
  if (!PROGRAM_SHEET.test(sheet)) return [];
  return parseCommentSheet(text, sheet, "chubin").filter((p) => firstProgram(p.command) === sheet);
}

// ---------------------------------------------------------------------------------------------------------------------
// navi (.cheat): `% tags`, `# description`, command lines, `$ var: ...`, `; comment`, `@ extends`

/** navi's `<name>` variables become the word `name`; redirections (`< file`, `2>&1`) do not match. */
export function renderNaviVariables(command: string): string {
  return command.replace(/<([A-Za-z_][A-Za-z0-9_-]*)>/g, "$1");
}

export function parseNaviCheat(text: string, ref: string): SourcePair[] {
  const pairs: SourcePair[] = [];
  let description: string | undefined;
  let commands: string[] = [];
  let index = 0;
  const flush = (): void => {
    if (description !== undefined && commands.length > 0) {
      const lines = logicalLines(commands);
      const pair = lines.length === 1 ? makePair(stripEndPunctuation(description), renderNaviVariables(lines[0]!), "navi-denisidoro", `${ref}#${index}`) : undefined;
      if (pair) pairs.push(pair);
      index++;
      description = undefined;
    }
    commands = [];
  };
  for (const line of splitLines(text)) {
    if (line.startsWith("#")) {
      flush();
      // Of several `#` lines in a row, the last is the description (the others are section headings).
      description = commentText(line);
    } else if (isBlank(line) || /^[%$;@]/.test(line)) {
      flush();
      if (!isBlank(line)) description = undefined;
    } else if (description !== undefined) commands.push(line);
  }
  flush();
  return pairs;
}

// ---------------------------------------------------------------------------------------------------------------------
// eg: markdown, a one-line paragraph, a blank line, then a 4-space-indented code block

interface MarkdownChunk {
  code: boolean;
  lines: string[];
}

const isIndentedCode = (line: string): boolean => /^( {4}|\t)/.test(line);

/** Paragraphs and indented code blocks; code separated only by blank lines is one block. */
function markdownChunks(text: string): MarkdownChunk[] {
  const chunks: MarkdownChunk[] = [];
  let current: MarkdownChunk | undefined;
  let afterBlank = true;
  for (const line of splitLines(text)) {
    if (isBlank(line)) {
      afterBlank = true;
      continue;
    }
    const code = isIndentedCode(line) && (afterBlank || current?.code === true);
    const continues = current !== undefined && current.code === code && (code || !afterBlank);
    if (continues) current!.lines.push(line);
    else chunks.push((current = { code, lines: [line] }));
    afterBlank = false;
  }
  return chunks;
}

/** A code block's commands: its lines, or where it starts with a `$ ` prompt, only the prompt lines (the rest is output). */
function egCommands(block: readonly string[]): string[] {
  const lines = block.map((l) => l.trim());
  const prompted = lines[0]!.startsWith("$ ") ? lines.filter((l) => l.startsWith("$ ")).map(stripPrompt) : lines;
  return logicalLines(prompted);
}

/** An eg page; ref is the page name, k the index of the (paragraph, code block) candidate in the page. */
export function parseEgPage(text: string, ref: string): SourcePair[] {
  const pairs: SourcePair[] = [];
  const chunks = markdownChunks(text);
  let index = 0;
  chunks.forEach((chunk, i) => {
    const prose = chunks[i - 1];
    if (!chunk.code || !prose || prose.code || prose.lines[0]!.startsWith("#")) return;
    const k = index++;
    const commands = egCommands(chunk.lines);
    const description = prose.lines.length === 1 ? oneSentence(prose.lines) : undefined;
    if (description === undefined || commands.length !== 1) return;
    const pair = makePair(stripEndPunctuation(description), commands[0]!, "eg", `${ref}#${k}`);
    if (pair) pairs.push(pair);
  });
  return pairs;
}

// ---------------------------------------------------------------------------------------------------------------------
// awesome-cheatsheets: `command   # description` lines

const SHELL_KEYWORDS = new Set(["if", "then", "else", "elif", "fi", "for", "do", "done", "while", "until", "case", "esac", "function", "in", "select"]);
// The first word's pattern also rules out variable assignments (`name=value` has a `=`).
const PLAUSIBLE_PROGRAM = /^[a-z][a-z0-9._-]*$/;
const BINARY_OPERATORS = new Set(["=", "==", "!=", "<", ">", "\\<", "\\>", "&&", "||", "-nt", "-ot", "-ef", "-eq", "-ne", "-lt", "-le", "-gt", "-ge"]);

/** `str1 == str2`, `file1 -nt file2`, `statement1 && statement2`: an operator between numbered operands, not a command. */
function isOperatorExample(command: string): boolean {
  const [first = "", second = ""] = command.split(/\s+/);
  return /\d$/.test(first) && BINARY_OPERATORS.has(second);
}

/** Lines of a shell cheat sheet with the command, two or more spaces, then `# description`; ref is `<file>:<line>`. */
export function parseHashCommentLines(text: string, file: string): SourcePair[] {
  const pairs: SourcePair[] = [];
  splitLines(text).forEach((line, i) => {
    const match = /^(\S.*?)\s{2,}#\s+(.*)$/.exec(line);
    if (!match) return;
    const command = match[1]!.trim();
    const program = firstProgram(command) ?? "";
    if (!PLAUSIBLE_PROGRAM.test(program) || SHELL_KEYWORDS.has(program)) return;
    if (isOperatorExample(command)) return;
    const pair = makePair(stripEndPunctuation(match[2]!), command, "awesome-cheatsheets", `${file}:${i + 1}`);
    if (pair) pairs.push(pair);
  });
  return pairs;
}

// ---------------------------------------------------------------------------------------------------------------------
// Reading the snapshots

const git = (repoDir: string, ...args: string[]): string =>
  execFileSync("git", ["-C", repoDir, ...args], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });

/** Paths of the regular files at HEAD (symlinks and submodules left out). */
function headFiles(repoDir: string): string[] {
  return git(repoDir, "ls-tree", "-r", "-z", "HEAD")
    .split("\0")
    .map((row) => /^(\d+) blob [0-9a-f]+\t(.*)$/.exec(row))
    .filter((m): m is RegExpExecArray => m !== null && m[1] !== "120000")
    .map((m) => m[2]!);
}

const showFile = (repoDir: string, path: string): string => git(repoDir, "show", `HEAD:${path}`);
const headCommit = (repoDir: string): string => git(repoDir, "rev-parse", "HEAD").trim();
const baseName = (path: string): string => path.slice(path.lastIndexOf("/") + 1);

interface SourceReader {
  /** Source without its commit, and the LICENSE file's path in the repository. */
  info: Omit<Source, "commit" | "licenceUrl">;
  licenceFile: string;
  /** The files to read, from the repository's file list. */
  select(files: readonly string[]): string[];
  parse(text: string, path: string): SourcePair[];
}

const TLDR_PLATFORMS = ["osx", "android", "freebsd", "openbsd", "netbsd", "sunos"];

const tldrOther: SourceReader = {
  info: {
    id: "tldr-other",
    name: "tldr-pages (osx, android, freebsd, openbsd, netbsd, sunos)",
    repo: "https://github.com/tldr-pages/tldr",
    licence: "CC BY 4.0",
    attribution: "tldr-pages team and contributors",
  },
  licenceFile: "LICENSE.md",
  select: (files) => files.filter((f) => TLDR_PLATFORMS.some((p) => new RegExp(`^pages/${p}/[^/]+\\.md$`).test(f))),
  parse: (text, path) => {
    const [, platform, file] = path.split("/");
    return parseTldrPage(text, platform!, file!.replace(/\.md$/, ""));
  },
};

const cheat: SourceReader = {
  info: {
    id: "cheat",
    name: "cheat/cheatsheets",
    repo: "https://github.com/cheat/cheatsheets",
    licence: "CC0 1.0",
    attribution: "Chris Allen Lane and the cheat/cheatsheets contributors",
  },
  // The repository keeps its licence under .github/.
  licenceFile: ".github/LICENSE.txt",
  // Sheets are extension-less files, at the top or in a folder (vim-plugins/…); dot-folders hold the README/LICENSE.
  select: (files) => files.filter((f) => !f.split("/").some((part) => part.startsWith(".")) && !baseName(f).includes(".")),
  parse: (text, path) => parseCheatSheet(text, path),
};

const chubin: SourceReader = {
  info: {
    id: "chubin",
    name: "chubin/cheat.sheets",
    repo: "https://github.com/chubin/cheat.sheets",
    licence: "MIT",
    attribution: "Igor Chubin and the cheat.sheets contributors",
  },
  licenceFile: "LICENSE",
  // Top-level sheets only: the `_lang/` folders are programming languages.
  select: (files) => files.filter((f) => /^sheets\/[^/]+$/.test(f)),
  parse: (text, path) => parseChubinSheet(text, baseName(path)),
};

const navi: SourceReader = {
  info: {
    id: "navi-denisidoro",
    name: "denisidoro/cheats",
    repo: "https://github.com/denisidoro/cheats",
    licence: "CC0 1.0",
    attribution: "Denis Isidoro and the denisidoro/cheats contributors",
  },
  licenceFile: "LICENSE",
  select: (files) => files.filter((f) => f.endsWith(".cheat")),
  parse: (text, path) => parseNaviCheat(text, path),
};

const eg: SourceReader = {
  info: {
    id: "eg",
    name: "srsudar/eg",
    repo: "https://github.com/srsudar/eg",
    licence: "MIT",
    attribution: "Sam Sudar and the eg contributors",
  },
  licenceFile: "LICENSE.txt",
  select: (files) => files.filter((f) => /^eg\/examples\/[^/]+\.md$/.test(f)),
  parse: (text, path) => parseEgPage(text, baseName(path).replace(/\.md$/, "")),
};

// drush.sh lists drush's subcommands without `drush`; nanobox_cli.sh's `cmd  # text` lines are flags.
const AWESOME_SKIPPED = new Set(["tools/drush.sh", "tools/nanobox_cli.sh"]);

const awesome: SourceReader = {
  info: {
    id: "awesome-cheatsheets",
    name: "LeCoupa/awesome-cheatsheets",
    repo: "https://github.com/LeCoupa/awesome-cheatsheets",
    licence: "MIT",
    attribution: "Julien Le Coupanec and the awesome-cheatsheets contributors",
  },
  licenceFile: "LICENSE",
  select: (files) => files.filter((f) => (f === "languages/bash.sh" || /^tools\/[^/]+\.sh$/.test(f)) && !AWESOME_SKIPPED.has(f)),
  parse: (text, path) => parseHashCommentLines(text, path),
};

const READERS: Record<string, SourceReader> = Object.fromEntries(
  [tldrOther, cheat, chubin, navi, eg, awesome].map((r) => [r.info.id, r]),
);

const MIRROR = "/work/.mirror";

export const SOURCE_SNAPSHOTS: Record<string, string> = {
  "tldr-other": `${MIRROR}/tldr-pages+tldr/repo`,
  cheat: `${MIRROR}/cheat+cheatsheets/repo`,
  chubin: `${MIRROR}/chubin+cheat.sheets/repo`,
  "navi-denisidoro": `${MIRROR}/denisidoro+cheats/repo`,
  eg: `${MIRROR}/srsudar+eg/repo`,
  "awesome-cheatsheets": `${MIRROR}/LeCoupa+awesome-cheatsheets/repo`,
};

/** Reads one source from its snapshot directory (the bare repo path). */
export function readSource(id: string, repoDir: string): SourceSnapshot {
  const reader = READERS[id];
  if (!reader) throw new Error(`unknown example source: ${id}`);
  const commit = headCommit(repoDir);
  const source: Source = { ...reader.info, commit, licenceUrl: `${reader.info.repo}/blob/${commit}/${reader.licenceFile}` };
  const files = reader.select(headFiles(repoDir)).sort();
  const pairs = files.flatMap((path) => reader.parse(showFile(repoDir, path), path));
  return { source, pairs };
}
