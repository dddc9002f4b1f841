// Quick fixes for Inversion's comment diagnostics: replace the comment with the model's reading, or silence the
// command with `# inversion: ignore` above its comment.
import { CodeActionKind, type CodeAction, type CodeActionParams, type Diagnostic, type TextEdit } from "vscode-languageserver/node";
import type { TextDocument } from "vscode-languageserver-textdocument";
import { IGNORE_LINE } from "../check/directives";
import { oneLine } from "../check/findings";
import { DIAGNOSTIC_SOURCE, type MismatchData } from "./diagnostics";

/** The reading as comment text: one line, no stray quotes around it. */
export function cleanReading(reading: string): string {
  return reading.replace(/\s+/g, " ").trim().replace(/^["'“”‘’`]+|["'“”‘’`]+$/g, "").trim();
}

const lineText = (doc: TextDocument, line: number): string =>
  doc.getText({ start: { line, character: 0 }, end: { line: line + 1, character: 0 } }).replace(/\r?\n$/, "");

/** 0-based first and last line of the own-line comment block directly above `line`, or null. */
export function commentBlockAbove(doc: TextDocument, line: number): { first: number; last: number } | null {
  let first = line;
  while (first > 0 && /^\s*#(?!!)/.test(lineText(doc, first - 1))) first--;
  return first < line ? { first, last: line - 1 } : null;
}

function replaceComment(doc: TextDocument, d: Diagnostic, reading: string): TextEdit | null {
  const line = d.range.start.line;
  const indent = /^\s*/.exec(lineText(doc, line))?.[0] ?? "";
  const block = commentBlockAbove(doc, line);
  if (block) return { range: { start: { line: block.first, character: 0 }, end: { line: line, character: 0 } }, newText: `${indent}# ${reading}\n` };
  const end = d.range.end;
  const hash = lineText(doc, end.line).indexOf("#", end.character);
  if (hash < 0) return null;
  return { range: { start: { line: end.line, character: hash }, end: { line: end.line, character: lineText(doc, end.line).length } }, newText: `# ${reading}` };
}

function ignoreLine(doc: TextDocument, d: Diagnostic): TextEdit {
  const line = d.range.start.line;
  const at = commentBlockAbove(doc, line)?.first ?? line;
  const indent = /^\s*/.exec(lineText(doc, line))?.[0] ?? "";
  return { range: { start: { line: at, character: 0 }, end: { line: at, character: 0 } }, newText: `${indent}${IGNORE_LINE}\n` };
}

export function quickFixes(doc: TextDocument, params: CodeActionParams): CodeAction[] {
  const actions: CodeAction[] = [];
  const uri = params.textDocument.uri;
  for (const d of params.context.diagnostics) {
    if (d.source !== DIAGNOSTIC_SOURCE) continue;
    const data = d.data as MismatchData | undefined;
    const reading = cleanReading(data?.reading ?? "");
    const replace = reading ? replaceComment(doc, d, reading) : null;
    if (replace) {
      const whose = data?.readingSource === "the model" || !data?.readingSource ? "the model's reading" : `the example's description (${data.readingSource})`;
      actions.push({ title: `Replace the comment with ${whose}: “${oneLine(reading, 60)}”`, kind: CodeActionKind.QuickFix, diagnostics: [d], edit: { changes: { [uri]: [replace] } } });
    }
    actions.push({ title: "Ignore this command (# inversion: ignore)", kind: CodeActionKind.QuickFix, diagnostics: [d], edit: { changes: { [uri]: [ignoreLine(doc, d)] } } });
  }
  return actions;
}
