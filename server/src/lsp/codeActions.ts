// Quick fixes for Inversion's diagnostics.
import { CodeActionKind, type CodeAction, type CodeActionParams } from "vscode-languageserver/node";
import type { TextDocument } from "vscode-languageserver-textdocument";
import { DIAGNOSTIC_SOURCE, type MismatchData } from "./diagnostics";

export function quickFixes(doc: TextDocument, params: CodeActionParams): CodeAction[] {
  const actions: CodeAction[] = [];
  for (const d of params.context.diagnostics) {
    if (d.source !== DIAGNOSTIC_SOURCE) continue;
    const data = d.data as MismatchData | undefined;
    const reading = data?.reading?.replace(/\s+/g, " ").trim();
    if (!reading) continue;
    const lineText = doc.getText({ start: { line: d.range.start.line, character: 0 }, end: { line: d.range.start.line, character: d.range.start.character } });
    const indent = /^\s*/.exec(lineText)?.[0] ?? "";
    actions.push({
      title: `Insert the model's reading as a comment: “${reading.length > 60 ? reading.slice(0, 57) + "…" : reading}”`,
      kind: CodeActionKind.QuickFix,
      diagnostics: [d],
      edit: {
        changes: {
          [params.textDocument.uri]: [{ range: { start: { line: d.range.start.line, character: 0 }, end: { line: d.range.start.line, character: 0 } }, newText: `${indent}# ${reading}\n` }],
        },
      },
    });
  }
  return actions;
}
