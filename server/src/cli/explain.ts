// `inversion explain "COMMAND"`: each program and flag of COMMAND with its paragraph from the local man pages.
import { loadShellParser } from "../shell/parser";
import { explainCommand, type CommandExplanation, type ProgramNote } from "../knowledge/manpages/explain";
import { sharedManLibrary } from "../knowledge/manpages/library";
import { UsageError, type Values } from "./args";

export async function cmdExplain(v: Values, rest: string[]): Promise<number> {
  if (rest.length !== 1) throw new UsageError('Usage: inversion explain [--json] "COMMAND"');
  const explanation = await explainCommand(rest[0]!, { parser: await loadShellParser(), library: sharedManLibrary() });
  process.stdout.write(v.json ? JSON.stringify(explanation, null, 2) + "\n" : explanationText(explanation));
  return 0;
}

export function explanationText(e: CommandExplanation): string {
  if (e.programs.length === 0) return "No command found.\n";
  return e.programs.map(programText).join("\n");
}

function programText(p: ProgramNote): string {
  const name = p.subcommand ? `${p.program} ${p.subcommand}` : p.program;
  const lines = [p.page ? `${name}: ${p.subcommandText ?? p.description ?? "(no description)"}  [${p.page}]` : `${name}: ${noPageText(p)}`];
  const labels = p.flags.map((f) => (f.value !== undefined ? `${f.flag} ${f.value}` : f.flag));
  const width = Math.min(24, Math.max(0, ...labels.map((l) => l.length)));
  p.flags.forEach((f, i) => {
    const text = f.found ? f.text || "(documented, no text)" : p.page ? `(not in ${p.page})` : p.unreadable ? "(page not read)" : "(no manual page)";
    lines.push(`  ${labels[i]!.padEnd(width)}  ${text}`);
  });
  return lines.join("\n") + "\n";
}

function noPageText(p: ProgramNote): string {
  if (p.unreadable !== undefined) return `page could not be read: ${p.unreadable}`;
  if (p.builtin) return `shell builtin: see \`help ${p.program}\` in bash`;
  return "no manual page found on this machine";
}
