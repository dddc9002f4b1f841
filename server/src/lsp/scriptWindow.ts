// The statements around one line, from a parse of the lines near it: what a hover uses while the whole script is
// still being parsed on the worker thread, or when that parse was refused for size. Exact for statements inside the
// window; one that began above it is seen from the window's first line (tree-sitter recovers inner commands).
import type { ScriptCommand, ShellParser } from "../shell/parser";

export const WINDOW_LINES = 200;
/** A window longer than this (a script of huge lines) is not parsed on the main thread: no statements. */
export const MAX_WINDOW_CHARS = 256 * 1024;

interface LineText {
  lineCount: number;
  getText(range: { start: { line: number; character: number }; end: { line: number; character: number } }): string;
}

export function statementsAround(parser: ShellParser, doc: LineText, line: number): ScriptCommand[] {
  const first = Math.max(0, line - WINDOW_LINES);
  const end = Math.min(doc.lineCount, line + WINDOW_LINES + 1);
  const text = doc.getText({ start: { line: first, character: 0 }, end: { line: end, character: 0 } });
  if (text.length > MAX_WINDOW_CHARS) return [];
  return parser.parseScript(text).map((entry) => ({ ...entry, startLine: entry.startLine + first, endLine: entry.endLine + first }));
}
