// One comment finding, shared by the language server's diagnostics and `inversion check`: the rule, its message,
// its severity and where its documentation is.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { CommentJudgement } from "./calibration";
import type { GroundedSupport } from "./grounded";

export const RULE_CODE = "intent-mismatch";
export type FindingSeverity = "warning" | "info";

export interface Finding {
  /** 0-based position of the command. */
  line: number;
  col: number;
  endLine: number;
  endCol: number;
  severity: FindingSeverity;
  code: typeof RULE_CODE;
  message: string;
  intent: string;
  command: string;
  /** What the quick fix offers as the comment: the model's reading, else the nearest example's description. */
  reading: string;
  /** Where `reading` comes from: "the model", or the example's source ("tldr-pages (common, linux)"). */
  readingSource: string;
  /** The grounded score (grounded.ts combineSupport). */
  support: number;
}

/** Where the rule is documented: docs/SCORING.md beside the bundle or the sources, as a file URL. */
export function ruleDocsUrl(): string | null {
  for (let dir = __dirname, i = 0; i < 4; i++, dir = dirname(dir)) {
    const file = join(dir, "docs", "SCORING.md");
    if (existsSync(file)) return `${pathToFileURL(file).href}#comment-warnings`;
  }
  // the .vsix ships docs/SCORING.md (.vscodeignore), and a clone has it: only a broken install gets here, and then
  // no link is better than one to a page that is not there
  return null;
}

/** Collapses whitespace and cuts at a word boundary. */
export function oneLine(text: string, max = 120): string {
  const t = text.replace(/\s+/g, " ").trim();
  if (t.length <= max) return t;
  const cut = t.slice(0, max);
  return `${cut.slice(0, Math.max(cut.lastIndexOf(" "), max - 20)).trimEnd()}…`;
}

/** The comment, then what the examples (with their source) and, when there is one, the model say instead. */
export function findingMessage(intent: string, support: GroundedSupport, modelReading: string | null): string {
  const nearest = support.nearest;
  const examples = nearest
    ? `an example of \`${oneLine(nearest.example.command, 60)}\` (${nearest.source.name}) says “${oneLine(nearest.example.description)}”`
    : "no example or man page for this command shares its words";
  const model = modelReading?.trim() ? `; the model reads it as: ${oneLine(modelReading)}` : "";
  return `The comment says “${oneLine(intent, 80)}”; ${examples}${model}`;
}

export function toFinding(
  entry: { startLine: number; startCol: number; endLine: number; endCol: number; text: string },
  intent: string,
  support: GroundedSupport,
  modelReading: string | null,
  judgement: CommentJudgement,
): Finding | null {
  if (judgement.verdict !== "differs") return null;
  const fromModel = !!modelReading?.trim();
  return {
    line: entry.startLine,
    col: entry.startCol,
    endLine: entry.endLine,
    endCol: entry.endCol,
    severity: judgement.strength === "strong" ? "warning" : "info",
    code: RULE_CODE,
    message: findingMessage(intent, support, modelReading),
    intent,
    command: entry.text,
    reading: fromModel ? modelReading!.trim() : (support.nearest?.example.description ?? ""),
    readingSource: fromModel ? "the model" : (support.nearest?.source.name ?? ""),
    support: support.score,
  };
}
