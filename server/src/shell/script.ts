// Splits a script into statements (one per simple command, pipeline or &&/|| list) with their stated intent.
import type { Node as SyntaxNode } from "web-tree-sitter";
import type { ScriptCommand } from "./types";

/** Statement kinds reported as one entry when they contain no compound command. */
const SIMPLE = new Set([
  "command", "pipeline", "list", "redirected_statement", "negated_command", "test_command",
  "variable_assignment", "variable_assignments", "declaration_command", "unset_command",
]);
/** Nodes whose statements are searched for entries (compound commands and their parts, error recovery nodes). */
const CONTAINERS = new Set([
  "program", "ERROR", "subshell", "compound_statement", "do_group", "for_statement", "c_style_for_statement",
  "while_statement", "if_statement", "elif_clause", "else_clause", "case_statement", "case_item",
  "function_definition",
]);
const COMPOUND = [...CONTAINERS].filter((t) => t !== "program" && t !== "ERROR");
const MAX_DEPTH = 400;

interface Comment {
  row: number;
  col: number;
  text: string;
}

export function collectStatements(root: SyntaxNode, source: string): ScriptCommand[] {
  const entries: ScriptCommand[] = [];
  const visit = (node: SyntaxNode, depth: number): void => {
    if (depth > MAX_DEPTH) return;
    for (const child of node.namedChildren) {
      if (!child) continue;
      if (SIMPLE.has(child.type) && child.descendantsOfType(COMPOUND).length === 0) {
        entries.push(toEntry(child, source));
      } else if (SIMPLE.has(child.type) || CONTAINERS.has(child.type)) {
        visit(child, depth + 1);
      }
    }
  };
  try {
    visit(root, 0);
    attachIntents(entries, readComments(root, source));
  } catch {
    // Odd input must never break the language server: keep whatever was collected.
  }
  return entries;
}

function toEntry(node: SyntaxNode, source: string): ScriptCommand {
  const start = node.startPosition;
  const end = node.endPosition;
  return {
    startLine: start.row,
    startCol: start.column,
    endLine: end.row,
    endCol: end.column,
    text: source.slice(node.startIndex, node.endIndex),
  };
}

function readComments(root: SyntaxNode, source: string): { ownLine: Map<number, Comment>; trailing: Comment[] } {
  const ownLine = new Map<number, Comment>();
  const trailing: Comment[] = [];
  for (const node of root.descendantsOfType("comment")) {
    if (!node) continue;
    const { row, column } = node.startPosition;
    const raw = node.text;
    if (row === 0 && raw.startsWith("#!")) continue;
    const comment = { row, col: column, text: raw.replace(/^#+/, "").trim() };
    const lineStart = source.lastIndexOf("\n", node.startIndex - 1) + 1;
    if (source.slice(lineStart, node.startIndex).trim() === "") ownLine.set(row, comment);
    else trailing.push(comment);
  }
  return { ownLine, trailing };
}

/** Comment lines that speak to a tool, not about the command: a linter's or editor's directive states no intent. */
const TOOL_DIRECTIVE = /^(shellcheck\s+(disable|enable|source|shell|external-sources)=|shfmt:|vim?:|ex:|-\*-|noqa\b|nolint\b|pragma\b|checkov:skip|trunk-ignore)/i;

/** Intent = the contiguous comment lines right above a statement (tool directives aside), else a comment trailing its last line. */
function attachIntents(entries: ScriptCommand[], comments: { ownLine: Map<number, Comment>; trailing: Comment[] }): void {
  for (const entry of entries) {
    const lines: string[] = [];
    for (let row = entry.startLine - 1; comments.ownLine.has(row); row--) lines.unshift(comments.ownLine.get(row)!.text);
    const text = lines.filter((l) => l !== "" && !TOOL_DIRECTIVE.test(l)).join(" ");
    if (text !== "") entry.intent = text;
  }
  const endingOn = new Map<number, ScriptCommand[]>();
  for (const entry of entries) {
    const list = endingOn.get(entry.endLine) ?? [];
    list.push(entry);
    endingOn.set(entry.endLine, list);
  }
  for (const comment of comments.trailing) {
    let owner: ScriptCommand | undefined;
    for (const entry of endingOn.get(comment.row) ?? []) {
      if (entry.endCol <= comment.col && (!owner || entry.endCol > owner.endCol)) owner = entry;
    }
    if (owner && owner.intent === undefined && comment.text !== "" && !TOOL_DIRECTIVE.test(comment.text)) owner.intent = comment.text;
  }
}
