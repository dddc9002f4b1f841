// `# inversion: ignore` above a command silences that command (the first code line after the directive, so the
// command's own comment may sit between them); `# inversion: ignore-file` anywhere in a script silences the file.
const DIRECTIVE = /^\s*#\s*inversion:\s*(ignore-file|ignore)\b/;

export const IGNORE_LINE = "# inversion: ignore";
export const IGNORE_FILE = "# inversion: ignore-file";

export interface Directives {
  file: boolean;
  /** 0-based lines whose command is silenced (the first code line after each `ignore`). */
  lines: Set<number>;
}

export function readDirectives(text: string): Directives {
  const lines = new Set<number>();
  let file = false;
  let pending = false;
  text.split(/\r?\n/).forEach((line, i) => {
    const m = DIRECTIVE.exec(line);
    if (m?.[1] === "ignore-file") file = true;
    else if (m?.[1] === "ignore") pending = true;
    else if (pending && line.trim() && !line.trim().startsWith("#")) {
      lines.add(i);
      pending = false;
    }
  });
  return { file, lines };
}

export function isIgnored(d: Directives, commandStartLine: number): boolean {
  return d.file || d.lines.has(commandStartLine);
}

/** A command's comment without directive text (a directive sits in the same comment block as the intent). */
export function intentWithoutDirectives(intent: string | undefined): string {
  return (intent ?? "").replace(/#?\s*inversion:\s*ignore(-file)?\b/g, " ").replace(/\s+/g, " ").trim();
}
