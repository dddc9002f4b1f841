// The one place that loads web-tree-sitter and the bash grammar. Initialised once per process.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Node as SyntaxNode, Parser, Tree } from "web-tree-sitter";
import { analyseTree } from "./commandWalk";
import { isKnownProgram } from "./knownPrograms";
import { collectStatements } from "./script";
import type { ParsedCommand, ScriptCommand, ScriptLimits, ShellParser } from "./types";

export type { ParsedCommand, ScriptCommand, ScriptLimits, ShellParser, Utility } from "./types";
export { isKnownProgram } from "./knownPrograms";

// The package is ESM-first ("import" → tree-sitter.js uses import.meta.url). An explicit require() picks its
// "require" entry (tree-sitter.cjs) under tsx and keeps esbuild's CJS bundle on that entry too.
const treeSitter = require("web-tree-sitter") as typeof import("web-tree-sitter");

const RUNTIME_WASM = "tree-sitter.wasm";
const BASH_WASM = "tree-sitter-bash.wasm";

let loading: Promise<ShellParser> | undefined;

/**
 * Loads the parser (first call) or returns the cached one. `wasmDir` is where a bundle ships both .wasm files; by
 * default this module's directory, which in a bundle (dist/*.js) is where esbuild.mjs copies them. A file missing
 * there is taken from node_modules (the packaged extension ships neither package). Only the first call's `wasmDir`
 * matters: the runtime can be initialised once per process.
 */
export function loadShellParser(opts: { wasmDir?: string } = {}): Promise<ShellParser> {
  loading ??= createParser(opts.wasmDir ?? __dirname).catch((err: unknown) => {
    loading = undefined;
    throw err;
  });
  return loading;
}

async function createParser(wasmDir: string | undefined): Promise<ShellParser> {
  const runtimeWasm = locateWasm(RUNTIME_WASM, wasmDir, () => resolvePackageFile("web-tree-sitter/tree-sitter.wasm"));
  const bashWasm = locateWasm(BASH_WASM, wasmDir, () =>
    path.join(path.dirname(resolvePackageFile("tree-sitter-bash/package.json")), BASH_WASM),
  );
  await withContext(`loading ${runtimeWasm}`, () => treeSitter.Parser.init({ locateFile: () => runtimeWasm }));
  const language = await withContext(`loading ${bashWasm}`, () => treeSitter.Language.load(bashWasm));
  const parser = new treeSitter.Parser();
  parser.setLanguage(language);
  return new TreeSitterShellParser(parser);
}

async function withContext<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw new Error(`Shell parser: failed ${what}: ${(err as Error).message}`, { cause: err });
  }
}

/** A runtime lookup in node_modules; taking the specifier as a parameter keeps esbuild from trying to bundle it. */
function resolvePackageFile(specifier: string): string {
  return require.resolve(specifier);
}

function locateWasm(file: string, wasmDir: string | undefined, fromPackage: () => string): string {
  const tried: string[] = [];
  if (wasmDir) {
    const candidate = path.join(wasmDir, file);
    if (fs.existsSync(candidate)) return candidate;
    tried.push(candidate);
  }
  try {
    const candidate = fromPackage();
    if (fs.existsSync(candidate)) return candidate;
    tried.push(candidate);
  } catch (err) {
    tried.push(`node_modules (${(err as Error).message.split("\n")[0]})`);
  }
  throw new Error(`Cannot find ${file}; looked in: ${tried.join(", ")}`);
}

export class ScriptTooLargeError extends Error {
  constructor(readonly nodes: number, readonly maxNodes: number) {
    super(`the script has ${nodes} syntax nodes, over the parser's budget of ${maxNodes}`);
    this.name = "ScriptTooLargeError";
  }
}

class TreeSitterShellParser implements ShellParser {
  constructor(private readonly parser: Parser) {}

  parseCommand(text: string): ParsedCommand {
    return this.withTree(text, (root) => analyseTree(root), {
      ok: false,
      errors: ["parser returned no tree"],
      utilities: [],
      comments: [],
      hasHeredoc: false,
      echoArgs: [],
    });
  }

  parseScript(text: string, limits?: ScriptLimits): ScriptCommand[] {
    return this.withTree(text, (root) => {
      // descendantCount is stored in the tree: checking it costs nothing, walking millions of nodes costs seconds.
      if (limits && root.descendantCount > limits.maxNodes) throw new ScriptTooLargeError(root.descendantCount, limits.maxNodes);
      return collectStatements(root, text);
    }, []);
  }

  isKnownProgram(name: string): boolean {
    return isKnownProgram(name);
  }

  private withTree<T>(text: string, use: (root: SyntaxNode) => T, fallback: T): T {
    let tree: Tree | null;
    try {
      tree = this.parser.parse(text);
    } catch {
      return fallback;
    }
    if (!tree) return fallback;
    try {
      return use(tree.rootNode);
    } finally {
      tree.delete(); // trees live in wasm memory; not freeing them leaks across a long session
    }
  }
}
