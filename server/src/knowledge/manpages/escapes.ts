// Roff's inline escapes (\fB, \-, \(em, \*(Aq, \h'…', …) rendered to plain text. Only what man pages use is kept:
// fonts, sizes and motions are dropped, special characters become their Unicode (or ASCII) text.

const NAMED_CHARS: Record<string, string> = {
  em: "—", en: "–", hy: "-", mi: "-", "-": "-", aq: "'", dq: '"', lq: "“", rq: "”", oq: "‘", cq: "’", bu: "•",
  co: "©", rg: "®", tm: "™", pl: "+", mu: "×", di: "÷", ">=": "≥", "<=": "≤", "!=": "≠", "->": "→", "<-": "←",
  de: "°", ga: "`", aa: "´", ti: "~", ha: "^", rs: "\\", sl: "/", ba: "|", or: "|", at: "@", sh: "#", Do: "$",
  Fo: "«", Fc: "»", fo: "‹", fc: "›", dg: "†", sc: "§", pc: "·", fm: "′", ua: "↑", da: "↓", lB: "[", rB: "]",
  lC: "{", rC: "}", la: "⟨", ra: "⟩", ss: "ß", "12": "½", "14": "¼", "34": "¾", "+-": "±", ct: "¢", Po: "£",
  Ye: "¥", Eu: "€", eu: "€", sq: "□", OK: "✓", tno: "~", "`": "`", "'": "´", ":": "¨",
};

/** Escapes followed by one delimited argument that produces no text (\h'…', \w'…', \X'…'). */
const DELIMITED = new Set(["h", "v", "w", "l", "L", "N", "o", "X", "Z", "D", "b", "x", "R", "A", "B", "C", "S", "H"]);
/** Escapes followed by a one-character, (xx or [name] argument that produces no text (fonts, registers, …). */
const NAMED_ARGUMENT = new Set(["f", "n", "g", "k", "m", "M", "F", "V", "Y", "$", "O"]);
/** Escapes that produce nothing. */
const SILENT = new Set(["&", "|", "^", "%", ",", "/", ":", ")", "{", "}", "c", "d", "u", "r", "p", "a", "z", "E"]);

export type StringTable = ReadonlyMap<string, string>;

/** Strings may name strings: 8 levels of 20 references each would be 20^8 steps. One line renders within these. */
const MAX_STRING_DEPTH = 8;
const MAX_STEPS = 200_000;
const MAX_RENDERED = 100_000;

/** Renders one line's escapes; `strings` holds `.ds` definitions for \*x, \*(xx and \*[name]. */
export function renderEscapes(line: string, strings: StringTable = new Map()): string {
  return render(line, strings, 0, { steps: 0 });
}

function render(line: string, strings: StringTable, depth: number, budget: { steps: number }): string {
  let out = "";
  let i = 0;
  while (i < line.length && out.length < MAX_RENDERED && budget.steps++ < MAX_STEPS) {
    const c = line[i]!;
    if (c !== "\\") {
      out += c;
      i++;
      continue;
    }
    const e = line[i + 1];
    i += 2;
    if (e === undefined) break;
    if (e === '"' || e === "#") break; // comment to the end of the line
    if (e === "-" || e === "." || e === "e" || e === "\\") out += e === "e" || e === "\\" ? "\\" : e;
    else if (e === "~" || e === " " || e === "0" || e === "t") out += " ";
    else if (e === "'" || e === "`") out += e === "'" ? "'" : "`";
    else if (e === "(") {
      out += NAMED_CHARS[line.slice(i, i + 2)] ?? "";
      i += 2;
    } else if (e === "[") {
      const close = line.indexOf("]", i);
      const end = close < 0 ? line.length : close;
      out += specialChar(line.slice(i, end));
      i = end + 1;
    } else if (e === "*") {
      const { name, next } = readName(line, i);
      i = next;
      const value = strings.get(name);
      if (value !== undefined && depth < MAX_STRING_DEPTH) out += render(value, strings, depth + 1, budget);
    } else if (e === "s") {
      i = skipSize(line, i);
    } else if (NAMED_ARGUMENT.has(e)) {
      i = readName(line, i).next;
    } else if (DELIMITED.has(e)) {
      i = skipDelimited(line, i);
    } else if (!SILENT.has(e)) {
      out += e;
    }
  }
  return out;
}

function specialChar(name: string): string {
  const unicode = /^u([0-9A-Fa-f]{4,6})$/.exec(name);
  if (unicode) return String.fromCodePoint(parseInt(unicode[1]!, 16));
  return NAMED_CHARS[name] ?? "";
}

/** Reads an escape's name argument: one character, `(xx`, or `[name]`. */
function readName(line: string, i: number): { name: string; next: number } {
  if (line[i] === "(") return { name: line.slice(i + 1, i + 3), next: i + 3 };
  if (line[i] === "[") {
    const close = line.indexOf("]", i);
    const end = close < 0 ? line.length : close;
    return { name: line.slice(i + 1, end), next: end + 1 };
  }
  return { name: line[i] ?? "", next: i + 1 };
}

/** \s10, \s-2, \s+2, \s(12, \s[12], \s'12'. */
function skipSize(line: string, i: number): number {
  if (line[i] === "+" || line[i] === "-") i++;
  if (line[i] === "(") return i + 3;
  if (line[i] === "[" || line[i] === "'") return skipDelimited(line, i);
  while (i < line.length && /\d/.test(line[i]!)) i++;
  return i;
}

function skipDelimited(line: string, i: number): number {
  const open = line[i];
  if (open === undefined) return i;
  const closeChar = open === "[" ? "]" : open;
  const close = line.indexOf(closeChar, i + 1);
  return close < 0 ? line.length : close + 1;
}
