// mdoc's inline ("callable") macros rendered to plain text: `.It Fl o Ar file` → "-o file",
// `.Op Fl v` → "[-v]", `.Xr ssh 1` → "ssh(1)". Arguments arrive with escapes already rendered.

const ENCLOSURES: Record<string, [string, string]> = {
  Op: ["[", "]"], Bq: ["[", "]"], Brq: ["{", "}"], Aq: ["<", ">"], Pq: ["(", ")"], Dq: ["“", "”"], Sq: ["‘", "’"],
  Qq: ['"', '"'], Ql: ["‘", "’"],
};
/** Callable macros that only change the font or add markup: the macro name itself is dropped. */
const MARKUP = new Set(
  ("Cm Ic Pa Ev Va Dv Er Em Sy Li No Tn Sx Ad Fa Fn Ft Ms Lk Mt An Cd Me Dl D1 Ux Bx At Fx Nx Ox Bsx Dx St Xo Xc " +
    "Ek Bk Ta Ap").split(" "),
);
const CALLABLE = new Set(["Fl", "Ar", "Ns", "Pf", "Xr", "Nm", "Oo", "Oc", ...Object.keys(ENCLOSURES), ...MARKUP]);
const CLOSING_PUNCTUATION = /^[.,:;)\]?!]$/;
/** Enclosures deeper than this are left as words: each level copies the rest of the line (and takes a stack frame). */
const MAX_NESTING = 16;

export function isMdocCallable(name: string): boolean {
  return CALLABLE.has(name);
}

/** Renders tokens of one mdoc line; `pageName` fills a bare `Nm`. `spacing` false is `.Sm off` (no blanks). */
export function renderMdoc(tokens: readonly string[], pageName: string, spacing = true, nesting = 0): string {
  const out = new Pieces(spacing);
  let i = 0;
  const operands = (): string[] => {
    const taken: string[] = [];
    while (i < tokens.length && !CALLABLE.has(tokens[i]!) && !CLOSING_PUNCTUATION.test(tokens[i]!)) taken.push(tokens[i++]!);
    return taken;
  };
  while (i < tokens.length) {
    const token = tokens[i++]!;
    const enclosure = ENCLOSURES[token];
    if (enclosure && nesting < MAX_NESTING) {
      out.push(enclosure[0] + renderMdoc(tokens.slice(i), pageName, spacing, nesting + 1) + enclosure[1]);
      break;
    }
    if (token === "Fl") {
      const names = operands();
      if (names.length === 0) out.push("-");
      for (const name of names) out.push(`-${name}`);
    } else if (token === "Ar") {
      const words = operands();
      out.push(words.length ? words.join(" ") : "file ...");
    } else if (token === "Nm") {
      const words = operands();
      out.push(words.length ? words.join(" ") : pageName);
    } else if (token === "Xr") {
      const [name = "", section] = operands();
      out.push(section ? `${name}(${section})` : name);
    } else if (token === "Oo") {
      out.push("[");
      out.glue();
    } else if (token === "Oc") {
      out.attach("]");
    } else if (token === "Ns") {
      out.glue();
    } else if (token === "Pf") {
      out.push(tokens[i++] ?? "");
      out.glue();
    } else if (!MARKUP.has(token)) {
      if (CLOSING_PUNCTUATION.test(token)) out.attach(token);
      else out.push(token);
      if (token === "(" || token === "[") out.glue();
    }
  }
  return out.text();
}

/** Words joined by blanks, except where a macro asked for none (Ns, Pf, Oo) or spacing is off. */
class Pieces {
  private readonly parts: string[] = [];
  private glued = false;

  constructor(private readonly spacing: boolean) {}

  push(text: string): void {
    if (text === "") return;
    if ((this.glued || !this.spacing) && this.parts.length > 0) this.parts[this.parts.length - 1] += text;
    else this.parts.push(text);
    this.glued = false;
  }

  attach(text: string): void {
    this.glued = true;
    this.push(text);
  }

  glue(): void {
    this.glued = true;
  }

  text(): string {
    return this.parts.join(" ");
  }
}
