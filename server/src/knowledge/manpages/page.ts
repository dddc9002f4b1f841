// A man page (man or mdoc macros) parsed into what an explanation needs: the page's name and section, the NAME
// line's description, and every tagged paragraph (.TP, .IP "tag", docbook's .PP tag + .RS body, help2man's .HP tag
// + .IP body, mdoc's .It) with the option names its tag declares.
import { renderEscapes, type StringTable } from "./escapes";
import { PAGE_LIMITS, type PageLimits } from "./limits";
import { isMdocCallable, renderMdoc } from "./mdoc";
import { readRoff, type RoffLine } from "./roffLines";

export type ValueKind = "none" | "required" | "optional";

export interface ManItem {
  /** The paragraph's heading as plain text, e.g. "-f, --file=ARCHIVE". */
  tag: string;
  /** The paragraph's body as plain text; paragraphs separated by a blank line. */
  text: string;
  /** Option names the tag declares, e.g. ["-f", "--file"]; empty for tags that are not options. */
  flags: string[];
  /** Whether those options take a value (from the tag: "--file=ARCHIVE", "-o file", "--color[=WHEN]"). */
  value: ValueKind;
}

export interface ManPage {
  name: string;
  section: string;
  /** The NAME line's description ("an archiving utility"), or null when the page has none. */
  description: string | null;
  /**
   * The NAME section's lines, one per `.br`: "bzip2, bunzip2 \- a block-sorting file compressor", "bzcat \- decompresses
   * files to stdout". `description` is the first one's.
   */
  nameEntries: NameEntry[];
  items: ManItem[];
}

export interface NameEntry {
  names: string[];
  description: string;
}

const FONT_JOINED = new Set(["BI", "BR", "IB", "IR", "RB", "RI"]);
const FONT_SPACED = new Set(["B", "I", "SM", "SB"]);
const IGNORED_BLOCKS: Record<string, string> = { TS: "TE", EQ: "EN", PS: "PE" };
const SHORT_TAG = 200;

export function parseManPage(source: string, limits: Pick<PageLimits, "maxLines"> = PAGE_LIMITS): ManPage {
  const { lines, strings } = readRoff(source, limits.maxLines);
  const builder = new PageBuilder(strings);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const end = line.kind === "macro" ? IGNORED_BLOCKS[line.name] : undefined;
    if (end) {
      while (i + 1 < lines.length && !isMacro(lines[i + 1]!, end)) i++;
      i++;
      continue;
    }
    builder.feed(line);
  }
  return builder.finish();
}

function isMacro(line: RoffLine, name: string): boolean {
  return line.kind === "macro" && line.name === name;
}

interface OpenItem {
  tag: string[];
  body: string[];
  /** .TP/.IP items end at the next paragraph at their indentation; docbook items end at their .RE. */
  kind: "tagged" | "indented" | "listed";
  indent: number;
  listDepth: number;
}

class PageBuilder {
  private name = "";
  private section = "";
  private description: string | null = null;
  private heading = "";
  /** The NAME section's text, one list of pieces per line (`.br` starts the next). */
  private readonly nameLines: string[][] = [[]];
  private readonly items: OpenItem[] = [];
  private item: OpenItem | null = null;
  /** An option paragraph nested in the item's body (git-reset's --hard inside "git reset [<mode>]"). */
  private inner: OpenItem | null = null;
  private paragraph: string[] = [];
  private awaitingTag = false;
  private collectingTag = false;
  private spacing = true;
  private glueNext = false;
  private indent = 0;
  private listDepth = 0;

  constructor(private readonly strings: StringTable) {}

  feed(line: RoffLine): void {
    if (line.kind === "text") return this.text(line.raw);
    const args = line.args.map((a) => renderEscapes(a, this.strings));
    if (FONT_JOINED.has(line.name)) return void (args.length && this.addText(args.join("")));
    if (FONT_SPACED.has(line.name)) return void (args.length && this.addText(args.join(" ")));
    this.macro(line.name, args);
  }

  private text(raw: string): void {
    if (raw.trim() === "") return this.paragraphBreak();
    const glue = raw.endsWith("\\c");
    this.addText(renderEscapes(glue ? raw.slice(0, -2) : raw, this.strings));
    this.glueNext = glue;
  }

  private macro(name: string, args: string[]): void {
    switch (name) {
      case "TH": case "Dt": return this.title(args);
      case "SH": case "Sh": return this.sectionHeading(args.join(" "));
      case "SS": case "Ss": return this.closeItem();
      case "PP": case "P": case "LP": case "HP": case "Pp": case "Lp": return this.newParagraph();
      case "sp": case "Sp": return this.paragraphBreak();
      case "br": return this.lineBreak();
      case "TP": return this.taggedParagraph();
      case "TQ": return this.additionalTag();
      case "IP": return this.indentedParagraph(args[0] ?? "");
      case "RS": return this.indentStart();
      case "RE": return this.indentEnd();
      case "Bl": return void this.listDepth++;
      case "El": return this.listEnd();
      case "It": return this.listItem(args);
      case "Xc": return void (this.collectingTag = false);
      case "Nd": return void (this.description = args.join(" ").trim());
      case "Sm": return void (this.spacing = args[0] !== "off");
      case "OP": return this.addText(`[${args.join(" ")}]`);
      case "SY": return this.addText(args.join(" "));
      default:
        if (isMdocCallable(name)) this.addText(renderMdoc([name, ...args], this.name, this.spacing));
    }
  }

  private title(args: string[]): void {
    this.name ||= (args[0] ?? "").toLowerCase();
    this.section ||= args[1] ?? "";
  }

  private sectionHeading(title: string): void {
    this.closeItem();
    this.paragraph = [];
    this.indent = 0;
    this.heading = title.trim().toUpperCase();
  }

  private addText(text: string): void {
    if (text === "") return;
    if (this.heading === "NAME") {
      this.nameLines[this.nameLines.length - 1]!.push(text);
      return;
    }
    const target = this.awaitingTag || this.collectingTag ? this.item!.tag : this.item ? this.item.body : this.paragraph;
    if ((this.glueNext || (this.collectingTag && !this.spacing)) && target.length > 0) target[target.length - 1] += text;
    else target.push(text);
    if (this.inner && target === this.item?.body) this.inner.body.push(text);
    this.awaitingTag = false;
    this.glueNext = false;
  }

  /** Inside an item, deeper than where it started: paragraphs and nested lists belong to its body. */
  private nested(): boolean {
    return !!this.item && (this.indent > this.item.indent || this.listDepth > this.item.listDepth);
  }

  private newParagraph(): void {
    if (this.nested()) return this.paragraphBreak();
    this.closeItem();
    this.paragraph = [];
  }

  private paragraphBreak(): void {
    if (this.heading === "NAME") return this.nextNameLine();
    this.inner?.body.push("");
    if (this.item && !this.awaitingTag) this.item.body.push("");
    else if (!this.item) this.paragraph = [];
  }

  /** `.br` between docbook terms ("-U username" .br "--username=username") separates two names of one option. */
  private lineBreak(): void {
    if (this.heading === "NAME") return this.nextNameLine();
    if (!this.item && this.paragraph.length > 0) this.paragraph.push(",");
  }

  private nextNameLine(): void {
    if (this.nameLines[this.nameLines.length - 1]!.length > 0) this.nameLines.push([]);
  }

  private taggedParagraph(): void {
    if (this.nested()) return this.paragraphBreak();
    this.openItem("tagged", []);
    this.awaitingTag = true;
  }

  /** groff's .TQ: one more tag line for the same paragraph (a comma keeps the option names apart). */
  private additionalTag(): void {
    if (!this.item) return;
    this.item.tag.push(",");
    this.awaitingTag = true;
  }

  private indentedParagraph(tag: string): void {
    if (this.nested() && tagOptions(tag).flags.length > 0) return this.nestedOption(tag);
    if (this.nested() || (tag.trim() === "" && this.item)) return this.paragraphBreak();
    if (tag.trim() === "" && this.isShortOptionLine()) return this.hangingTag();
    if (tag.trim() === "") return this.newParagraph();
    this.openItem("tagged", [tag]);
  }

  /** The paragraph so far is one short line naming an option, as `.HP` / `.PP` gives it before an `.IP` body. */
  private isShortOptionLine(): boolean {
    const line = this.paragraph.join(" ");
    return !this.item && this.paragraph.length > 0 && this.paragraph.length <= 3 && line.length <= SHORT_TAG && /^-/.test(line.trim());
  }

  /** help2man's `.HP` "-e script, --expression=script" `.IP` body: the short line is the tag. */
  private hangingTag(): void {
    this.openItem("tagged", [...this.paragraph]);
    this.paragraph = [];
  }

  /** `.IP "-b, --build dir"` inside an item's `.RS` block (dpkg's dpkg-deb actions): an option paragraph of its own. */
  private nestedOption(tag: string): void {
    this.closeInner();
    this.paragraphBreak();
    this.item!.body.push(tag);
    this.inner = { tag: [tag], body: [], kind: "tagged", indent: this.indent - 1, listDepth: this.listDepth };
  }

  /** Docbook's options: `.PP`, one short line (the tag), then `.RS 4` body `.RE`. */
  private indentStart(): void {
    const tag = this.paragraph.join(" ");
    if (!this.item && this.paragraph.length > 0 && this.paragraph.length <= 3 && tag.length <= SHORT_TAG) {
      this.openItem("indented", [...this.paragraph]);
      this.paragraph = [];
    } else if (this.item && !this.inner) {
      this.openInner();
    }
    this.indent++;
  }

  /** The body's last paragraph is one short line naming an option: it heads a nested option paragraph. */
  private openInner(): void {
    const body = this.item!.body;
    const last = body.lastIndexOf("");
    const lines = body.slice(last + 1);
    if (lines.length !== 1 || !/^-/.test(lines[0]!.trim()) || lines[0]!.length > SHORT_TAG) return;
    this.inner = { tag: [lines[0]!], body: [], kind: "indented", indent: this.indent, listDepth: this.listDepth };
  }

  private indentEnd(): void {
    this.indent = Math.max(0, this.indent - 1);
    if (this.inner && this.indent <= this.inner.indent) this.closeInner();
    if (!this.item) return;
    const ends = this.item.kind === "indented" ? this.indent <= this.item.indent : this.indent < this.item.indent;
    if (ends) this.closeItem();
  }

  private listEnd(): void {
    this.listDepth = Math.max(0, this.listDepth - 1);
    if (this.item && this.listDepth < this.item.listDepth) this.closeItem();
  }

  private listItem(args: string[]): void {
    const tag = renderMdoc(args, this.name, this.spacing);
    if (this.nested()) {
      this.paragraphBreak();
      this.item!.body.push(tag);
      return;
    }
    // With Xo the tag goes on over the next lines; the empty piece keeps a blank after what this line gave.
    const continued = args.includes("Xo");
    this.openItem("listed", continued ? [tag, ""] : [tag]);
    this.collectingTag = continued;
  }

  private openItem(kind: OpenItem["kind"], tag: string[]): void {
    this.closeItem();
    this.item = { tag, body: [], kind, indent: this.indent, listDepth: this.listDepth };
  }

  private closeInner(): void {
    if (this.inner) this.items.push(this.inner);
    this.inner = null;
  }

  private closeItem(): void {
    this.closeInner();
    if (this.item && this.item.tag.length > 0) this.items.push(this.item);
    this.item = null;
    this.awaitingTag = false;
    this.collectingTag = false;
  }

  finish(): ManPage {
    this.closeItem();
    const entries = nameEntriesOf(this.nameLines.map((pieces) => collapse(pieces.join(" "))).filter((line) => line !== ""));
    // mdoc: `.Nm` lines name the programs and `.Nd` describes them all.
    const nameEntries = this.description === null ? entries : [{ names: entries.flatMap((e) => e.names), description: this.description }];
    const description = nameEntries[0]?.description ?? null;
    const name = this.name || nameEntries[0]?.names[0] || "";
    const items = shareBodies(this.items.map(toItem).filter((item) => item.tag !== ""));
    return { name, section: this.section, description: description || null, nameEntries, items };
  }
}

/** "names \- description" lines; a line with no dash goes on with the line before it. */
function nameEntriesOf(lines: string[]): NameEntry[] {
  const entries: NameEntry[] = [];
  for (const line of lines) {
    const dash = /\s[-—–]+\s/.exec(line);
    const last = entries[entries.length - 1];
    if (!dash && last) last.description = `${last.description} ${line}`;
    else if (!dash) entries.push({ names: line.split(/[\s,]+/).filter(Boolean), description: line });
    else entries.push({ names: line.slice(0, dash.index).split(/[\s,]+/).filter(Boolean), description: line.slice(dash.index + dash[0].length) });
  }
  return entries;
}

/** The description of the NAME line that names `name` (bzcat's in bzip2's page); else the page's. */
export function descriptionFor(page: ManPage, name: string): string | null {
  return page.nameEntries.find((entry) => entry.names.includes(name))?.description || page.description;
}

function toItem(open: OpenItem): ManItem {
  const tag = collapse(open.tag.join(" ")).replace(/ ,/g, ",");
  const paragraphs: string[][] = [[]];
  for (const line of open.body) {
    if (line.trim() === "") paragraphs.push([]);
    else paragraphs[paragraphs.length - 1]!.push(line);
  }
  const text = paragraphs.map((p) => collapse(p.join(" "))).filter((p) => p !== "").join("\n\n");
  return { tag, text, ...tagOptions(tag) };
}

/** Consecutive tags with one body (`.IP "-exec cmd ;"` `.IP "-exec cmd {} +"` text): each gets that text. */
function shareBodies(items: ManItem[]): ManItem[] {
  for (let i = items.length - 2; i >= 0; i--) {
    if (items[i]!.text === "") items[i]!.text = items[i + 1]!.text;
  }
  return items;
}

export function collapse(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

const OPTION = /^(--?[A-Za-z0-9?@#][A-Za-z0-9_?@#.+-]*)/;

/**
 * The options a tag declares and whether they take a value: "-x, --extract, --get"; "-f, --file=ARCHIVE";
 * "-name pattern"; "-u[<mode>], --untracked-files[=<mode>]"; "--[no-]status"; "--verbose, -v".
 */
export function tagOptions(tag: string): { flags: string[]; value: ValueKind } {
  const flags: string[] = [];
  let value: ValueKind = "none";
  for (const part of tag.split(/,\s*|\s+\|\s+|\s+or\s+/)) {
    const text = part.trim();
    const negatable = /^--\[no-?\]([A-Za-z0-9][\w-]*)(.*)$/.exec(text);
    const m = negatable ? null : OPTION.exec(text);
    if (!negatable && !m) continue;
    const names = negatable ? [`--${negatable[1]}`, `--no-${negatable[1]}`] : [m![1]!.replace(/[.]+$/, "")];
    flags.push(...names);
    const rest = negatable ? negatable[2]! : text.slice(m![1]!.length);
    const kind = valueOf(rest);
    if (kind === "required" || (kind === "optional" && value === "none")) value = kind;
  }
  return { flags: [...new Set(flags)], value };
}

function valueOf(rest: string): ValueKind {
  if (rest.startsWith("[")) return "optional";
  if (rest.startsWith("=")) return "required";
  if (/^\s+\[[^\]]*\]\S/.test(rest)) return "required";
  if (/^\s+\[/.test(rest)) return "optional";
  if (/^\s+[^\s[-]/.test(rest)) return "required";
  return "none";
}
