// One comment finding, shared by the language server's diagnostics and `inversion check`: the rule, its message,
// its severity and where its documentation is.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { CommentJudgement } from "./calibration";

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
  reading: string;
  liftBits: number;
}

/** Where the rule is documented: docs/SCORING.md beside the bundle or the sources, as a file URL. */
export function ruleDocsUrl(): string {
  for (let dir = __dirname, i = 0; i < 4; i++, dir = dirname(dir)) {
    const file = join(dir, "docs", "SCORING.md");
    if (existsSync(file)) return `${pathToFileURL(file).href}#comment-warnings`;
  }
  return "https://github.com/inversion/inversion/blob/main/docs/SCORING.md#comment-warnings";
}

/** Collapses whitespace and cuts at a word boundary. */
export function oneLine(text: string, max = 120): string {
  const t = text.replace(/\s+/g, " ").trim();
  if (t.length <= max) return t;
  const cut = t.slice(0, max);
  return `${cut.slice(0, Math.max(cut.lastIndexOf(" "), max - 20)).trimEnd()}…`;
}

export function findingMessage(intent: string, reading: string): string {
  const r = reading.trim() ? `the model reads the command as: ${oneLine(reading)}` : "the model could not read the command";
  return `The comment says “${oneLine(intent, 80)}”; ${r}`;
}

export function toFinding(
  entry: { startLine: number; startCol: number; endLine: number; endCol: number; text: string },
  intent: string,
  reading: string,
  liftBits: number,
  judgement: CommentJudgement,
): Finding | null {
  if (judgement.verdict !== "differs") return null;
  return {
    line: entry.startLine,
    col: entry.startCol,
    endLine: entry.endLine,
    endCol: entry.endCol,
    severity: judgement.strength === "strong" ? "warning" : "info",
    code: RULE_CODE,
    message: findingMessage(intent, reading),
    intent,
    command: entry.text,
    reading,
    liftBits,
  };
}
