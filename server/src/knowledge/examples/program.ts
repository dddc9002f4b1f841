// The program a one-line command runs, as the index groups examples by it: the first word after `sudo`, `env` and
// variable assignments, without its directory ("/usr/bin/tar -x" → "tar"). Lexical on purpose: index rows are
// tldr templates and cheat-sheet lines that a shell parser would often reject.

const PREFIXES = new Set(["sudo", "env", "nohup", "time", "exec", "command"]);

export function programOf(command: string): string | null {
  for (const word of command.trim().split(/\s+/)) {
    if (!word || PREFIXES.has(word) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(word) || /^-/.test(word)) continue;
    const name = word.replace(/^.*\//, "");
    return /^[A-Za-z0-9_.+\-[]+$/.test(name) ? name : null;
  }
  return null;
}
