// Exact and template match (NL2Bash-style) between a predicted and a reference command.
import type { ShellParser } from "../shell/types";

/** Tools whose first positional word is a subcommand kept verbatim in templates (`git push` ≠ `git pull`). */
const SUBCOMMAND_TOOLS = new Set(
  (
    "git gh docker docker-compose podman kubectl helm npm npx yarn pnpm bun cargo go pip pip3 conda apt apt-get " +
    "dnf yum brew snap systemctl journalctl service ip nmcli aws az gcloud terraform vagrant heroku rustup dotnet " +
    "poetry uv gem bundle composer svn hg tmux screen openssl ffmpeg"
  ).split(" "),
);
const SUBCOMMAND = /^[a-z][a-z0-9-]*$/;
const OPERATORS = /\|\||&&|[|&;<>()]+/g;

export function normaliseWhitespace(command: string): string {
  return command.trim().replace(/\s+/g, " ");
}

export function exactMatch(prediction: string, reference: string): boolean {
  return normaliseWhitespace(prediction) === normaliseWhitespace(reference);
}

/**
 * Template of a command: per utility its lower-cased name, sorted unique flags, and its arguments as placeholders
 * (`ARG`, or NUMBER/PATH/PATTERN/ARG with `typed`); the operators between top-level commands (| && ; >) are kept.
 */
export function commandTemplate(command: string, parser: ShellParser, opts: { typed?: boolean } = {}): string {
  const { utilities } = parser.parseCommand(command);
  const parts: string[] = [];
  let covered = 0;
  for (const u of utilities) {
    if (u.startIndex >= covered) {
      parts.push(...(command.slice(covered, u.startIndex).match(OPERATORS) ?? []));
      covered = u.endIndex;
    }
    const name = u.name.toLowerCase();
    const first = u.args[0];
    const subcommand = first !== undefined && SUBCOMMAND_TOOLS.has(name) && SUBCOMMAND.test(first) ? [first] : [];
    const args = u.args.slice(subcommand.length).map((arg) => placeholder(arg, opts.typed ?? false));
    parts.push(name, ...subcommand, ...[...new Set(u.flags)].sort(), ...args);
  }
  parts.push(...(command.slice(covered).match(OPERATORS) ?? []));
  return parts.join(" ");
}

export function templateMatch(
  prediction: string,
  reference: string,
  parser: ShellParser,
  opts: { typed?: boolean } = {},
): boolean {
  return commandTemplate(prediction, parser, opts) === commandTemplate(reference, parser, opts);
}

function placeholder(arg: string, typed: boolean): string {
  if (!typed) return "ARG";
  if (/^[+-]?\d+(\.\d+)?[a-zA-Z%]?$/.test(arg)) return "NUMBER";
  if (/[*?[\]^$|\\{}]/.test(arg)) return "PATTERN";
  if (/[/~]/.test(arg) || /^\.{1,2}$/.test(arg) || /\.[A-Za-z0-9]{1,5}$/.test(arg)) return "PATH";
  return "ARG";
}
