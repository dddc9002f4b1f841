// Result shapes of the shell parser. Indices are JS string (UTF-16) offsets into the parsed text,
// so `text.slice(u.startIndex, u.endIndex)` is the utility's source; lines/columns are 0-based (LSP-style).

export interface Utility {
  /** First word of the simple command as written (no case folding); "[" for `[ … ]` and `[[ … ]]`. */
  name: string;
  /** Flags of this utility only (not of nested ones): combined short flags split (-la → -l, -a), long flags without =value. */
  flags: string[];
  /** Non-flag words, quotes removed where the text is literal. */
  args: string[];
  /** This utility's own words after its name, in order and unsplit (no nested command's words), quotes removed. */
  words: string[];
  startIndex: number;
  endIndex: number;
}

export interface ParsedCommand {
  /** True when the tree has no ERROR or MISSING node. */
  ok: boolean;
  /** Human-readable parse problems, e.g. `syntax error at 1:5 near "|"`. At most 20. */
  errors: string[];
  /** DFS order: pipeline stages left to right; nested utilities (xargs grep, find -exec grep, sudo ls, $(…)) after their parent. */
  utilities: Utility[];
  /** Comment texts without the leading `#`, trimmed. */
  comments: string[];
  hasHeredoc: boolean;
  /** Literal arguments of every echo/printf utility (options such as -n/-e excluded). */
  echoArgs: string[];
}

export interface ScriptCommand {
  startLine: number;
  startCol: number;
  endLine: number;
  endCol: number;
  text: string;
  /** Comment line(s) directly above (joined by a space) or else a trailing comment on the statement's last line. */
  intent?: string;
}

/** Bounds a whole-script parse: a tree of more syntax nodes is refused (ScriptTooLargeError) before it is walked. */
export interface ScriptLimits {
  maxNodes: number;
}

export interface ShellParser {
  parseCommand(text: string): ParsedCommand;
  parseScript(text: string, limits?: ScriptLimits): ScriptCommand[];
  isKnownProgram(name: string): boolean;
}
