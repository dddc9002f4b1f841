// Roff source → a flat list of control lines (macro + arguments) and text lines, with continuation lines joined,
// conditionals resolved as nroff (a terminal) would, macro definitions and ignored blocks dropped, and `.ds`
// strings recorded. Escapes are not rendered here: that happens per argument (see escapes.ts).
// Every loop moves forward through the lines: an unterminated `.de`, `.ig` or `\{` block runs to the end of the
// page (as in groff), and a page over maxLines is refused before it is read.
import { UnreadablePageError } from "./limits";

export type RoffLine = { kind: "macro"; name: string; args: string[]; raw: string } | { kind: "text"; raw: string };

export interface RoffSource {
  lines: RoffLine[];
  strings: Map<string, string>;
}

const CONTROL = /^[.']\s*([^\s\\]+|\\")\s*(.*)$/;
const CONDITIONAL = /^[.']\s*(ie|if|el)(?=[\s\\]|$)\s*(.*)$/;

export function readRoff(source: string, maxLines = Infinity): RoffSource {
  const strings = new Map<string, string>([["Aq", "'"], ["lq", "“"], ["rq", "”"], ["R", "®"], ["Tm", "™"]]);
  const lines: RoffLine[] = [];
  let lastCondition = true;
  const physical = source.replace(/\r\n?/g, "\n").split("\n");
  if (physical.length > maxLines) throw new UnreadablePageError(`over ${maxLines} lines`);
  const logical = joinContinuations(physical);
  for (let i = 0; i < logical.length; i++) {
    let line = logical[i]!;
    const conditional = CONDITIONAL.exec(line);
    if (conditional) {
      const [, request, rest = ""] = conditional;
      const condition: Condition = request === "el" ? { holds: !lastCondition, body: rest } : evaluateCondition(rest);
      const { holds, body } = condition;
      if (request === "ie") lastCondition = holds;
      const branch = openBranch(body);
      if (!holds) {
        if (branch.open) i = skipBlock(logical, i, branch.depth);
        continue;
      }
      line = branch.text;
      if (line.trim() === "") continue;
    }
    line = line.replace(/\\\}/g, "");
    if (/^[.']\s*$/.test(line)) continue;
    const control = CONTROL.exec(line);
    if (!control) {
      lines.push({ kind: "text", raw: line });
      continue;
    }
    const [, name = "", rest = ""] = control;
    if (name === '\\"') continue; // comment line
    if (name === "de" || name === "am" || name === "ig") {
      i = skipUntilDots(logical, i);
      continue;
    }
    if (name === "ds") {
      const key = rest.split(/\s+/)[0] ?? "";
      strings.set(key, rest.slice(key.length).trimStart().replace(/^"/, ""));
      continue;
    }
    lines.push({ kind: "macro", name, args: splitArgs(rest), raw: rest });
  }
  return { lines, strings };
}

/** A trailing unescaped backslash joins a line with the next (`\\` at the end is a literal backslash). */
function joinContinuations(physical: string[]): string[] {
  const out: string[] = [];
  let pending = "";
  for (const line of physical) {
    if (trailingBackslashes(line) % 2 === 1) pending += line.slice(0, -1);
    else {
      out.push(pending + line);
      pending = "";
    }
  }
  if (pending) out.push(pending);
  return out;
}

/** Counted from the end: the regex /(\\+)$/ takes quadratic time on a long run of backslashes not at the end. */
function trailingBackslashes(line: string): number {
  let i = line.length;
  while (i > 0 && line[i - 1] === "\\") i--;
  return line.length - i;
}

interface Condition {
  holds: boolean;
  body: string;
}

/** nroff's view: `n` holds, `t` does not, groff's `\n(.g` holds; unknown tests (string compares, registers) do not. */
function evaluateCondition(rest: string): Condition {
  const m = /^(!?)(\\n\(\.g|\\n\[\.g\]|[nt]|\S+)\s*(.*)$/.exec(rest);
  if (!m) return { holds: false, body: "" };
  const [, negate, test = "", body = ""] = m;
  const holds = test === "n" || test === "\\n(.g" || test === "\\n[.g]";
  return { holds: negate ? !holds : holds, body };
}

/** `\{text` opens a multi-line branch; the returned depth counts braces still open after this line. */
function openBranch(body: string): { open: boolean; text: string; depth: number } {
  const trimmed = body.trimStart();
  if (!trimmed.startsWith("\\{")) return { open: false, text: body, depth: 0 };
  const text = trimmed.slice(2);
  return { open: true, text, depth: 1 + count(text, "\\{") - count(text, "\\}") };
}

function skipBlock(lines: string[], from: number, depth: number): number {
  let i = from;
  while (depth > 0 && i + 1 < lines.length) {
    i++;
    depth += count(lines[i]!, "\\{") - count(lines[i]!, "\\}");
  }
  return i;
}

/** A definition ends at a `..` line (`.  .` inside an indented block); an unterminated one at the end of the page. */
function skipUntilDots(lines: string[], from: number): number {
  let i = from + 1;
  while (i < lines.length && !/^[.']\s*\.\s*$/.test(lines[i]!)) i++;
  return i;
}

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/** Splits macro arguments on blanks; "double quotes" group (with "" as a literal quote) and `\ ` does not split. */
export function splitArgs(rest: string): string[] {
  const args: string[] = [];
  let i = 0;
  while (i < rest.length) {
    while (rest[i] === " " || rest[i] === "\t") i++;
    if (i >= rest.length) break;
    if (rest.startsWith('\\"', i)) break; // comment
    let arg = "";
    if (rest[i] === '"') {
      i++;
      while (i < rest.length) {
        if (rest[i] === '"' && rest[i + 1] === '"') (arg += '"'), (i += 2);
        else if (rest[i] === '"') break;
        else if (rest[i] === "\\") (arg += rest.slice(i, i + 2)), (i += 2);
        else arg += rest[i++];
      }
      i++;
    } else {
      while (i < rest.length && rest[i] !== " " && rest[i] !== "\t") {
        if (rest[i] === "\\") (arg += rest.slice(i, i + 2)), (i += 2);
        else arg += rest[i++];
      }
    }
    args.push(arg);
  }
  return args;
}
