// Turns a tree-sitter-bash tree into the utility list NLC2CMD-style metrics and gates need.
import type { Node as SyntaxNode } from "web-tree-sitter";
import type { ParsedCommand, Utility } from "./types";
import { classifyWords, dequote, nestedCommandRanges, type Word } from "./words";

const MAX_DEPTH = 400;
const MAX_ERRORS = 20;
const TEST_OPERANDS = new Set([
  "word", "string", "raw_string", "ansi_c_string", "number", "simple_expansion", "expansion",
  "concatenation", "extglob_pattern", "regex",
]);

export function analyseTree(root: SyntaxNode): ParsedCommand {
  const utilities: Utility[] = [];
  collect(root, utilities, 0);
  const echoArgs = utilities.filter((u) => u.name === "echo" || u.name === "printf").flatMap((u) => u.args);
  return {
    ok: !root.hasError,
    errors: root.hasError ? describeErrors(root) : [],
    utilities,
    comments: root.descendantsOfType("comment").map((c) => (c?.text ?? "").replace(/^#/, "").trim()),
    hasHeredoc: root.descendantsOfType("heredoc_redirect").length > 0,
    echoArgs,
  };
}

function collect(node: SyntaxNode, out: Utility[], depth: number): void {
  if (depth > MAX_DEPTH) return;
  switch (node.type) {
    case "command":
      collectCommand(node, out);
      break;
    case "declaration_command":
    case "unset_command":
      collectKeywordCommand(node, out);
      break;
    case "test_command":
      collectTest(node, out);
      break;
  }
  for (const child of node.namedChildren) if (child) collect(child, out, depth + 1);
}

function toWord(node: SyntaxNode): Word {
  return { text: dequote(node.text), startIndex: node.startIndex, endIndex: node.endIndex };
}

function collectCommand(node: SyntaxNode, out: Utility[]): void {
  const nameNode = node.childForFieldName("name");
  if (!nameNode || nameNode.isMissing || nameNode.text === "") return;
  const words = node.childrenForFieldName("argument").flatMap((n) => (n ? [toWord(n)] : []));
  addSimpleCommand(dequote(nameNode.text), nameNode.startIndex, node.endIndex, words, out);
}

/** Adds one utility and, after it, the commands it wraps (xargs grep, sudo ls, find -exec grep). */
function addSimpleCommand(name: string, start: number, end: number, words: Word[], out: Utility[]): void {
  const { ranges, terminators } = nestedCommandRanges(name, words);
  const skipped = new Set(terminators);
  for (const [from, to] of ranges) for (let i = from; i < to; i++) skipped.add(i);
  const own = words.filter((_, i) => !skipped.has(i));
  const { flags, args } = classifyWords(name, own);
  out.push({ name, flags, args, words: own.map((w) => w.text), startIndex: start, endIndex: end });
  for (const [from, to] of ranges) {
    const [first, ...rest] = words.slice(from, to);
    if (first) addSimpleCommand(first.text, first.startIndex, words[to - 1]?.endIndex ?? first.endIndex, rest, out);
  }
}

/** export/local/declare/readonly/typeset/unset: the keyword is the utility. */
function collectKeywordCommand(node: SyntaxNode, out: Utility[]): void {
  const keyword = node.child(0);
  if (!keyword) return;
  const words = node.namedChildren.flatMap((n) => (n ? [toWord(n)] : []));
  const { flags, args } = classifyWords(keyword.text, words);
  out.push({ name: keyword.text, flags, args, words: words.map((w) => w.text), startIndex: node.startIndex, endIndex: node.endIndex });
}

/** `[ … ]` and `[[ … ]]` both become utility "[" (the `test` builtin keeps its own name); test operators are its flags. */
function collectTest(node: SyntaxNode, out: Utility[]): void {
  const flags: string[] = [];
  const args: string[] = [];
  const words: string[] = [];
  const visit = (n: SyntaxNode, depth: number): void => {
    if (depth > MAX_DEPTH) return;
    if (n.type === "test_operator" || TEST_OPERANDS.has(n.type)) {
      const text = n.type === "test_operator" ? n.text : dequote(n.text);
      (n.type === "test_operator" ? flags : args).push(text);
      words.push(text);
    } else for (const child of n.namedChildren) if (child) visit(child, depth + 1);
  };
  visit(node, 0);
  out.push({ name: "[", flags, args, words, startIndex: node.startIndex, endIndex: node.endIndex });
}

function describeErrors(root: SyntaxNode): string[] {
  const errors: string[] = [];
  const stack: SyntaxNode[] = [root];
  while (stack.length > 0 && errors.length < MAX_ERRORS) {
    const node = stack.pop()!;
    const where = `${node.startPosition.row + 1}:${node.startPosition.column + 1}`;
    if (node.isMissing) {
      errors.push(`missing ${JSON.stringify(node.type)} at ${where}`);
    } else if (node.isError) {
      errors.push(`syntax error at ${where} near ${JSON.stringify(node.text.slice(0, 30))}`);
    } else if (node.hasError) {
      const children = node.children;
      for (let i = children.length - 1; i >= 0; i--) {
        const child = children[i];
        if (child) stack.push(child);
      }
    }
  }
  return errors;
}
