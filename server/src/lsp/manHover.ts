// The hover's grounded half: what the local man pages say each program and flag of the command does. It needs no
// model, so it shows with none configured.
import type { CommandExplanation, ProgramNote } from "../knowledge/manpages/explain";

const MAX_FLAG_TEXT = 160;

export function manPageMarkdown(e: CommandExplanation): string {
  return ["**From the man pages**", ...e.programs.map(programMarkdown)].join("\n\n");
}

function programMarkdown(p: ProgramNote): string {
  const name = `\`${p.subcommand ? `${p.program} ${p.subcommand}` : p.program}\``;
  if (p.unreadable !== undefined) return `${name}: _page could not be read: ${escape(p.unreadable)}_`;
  if (p.builtin) return `${name}: shell builtin: see \`help ${p.program}\` in bash`;
  if (!p.page) return `${name}: _no manual page on this machine_`;
  const about = p.subcommandText ?? p.description;
  const lines = [`${name} — ${about ? escape(about) : "_no description_"} _(${escape(p.page)})_`];
  for (const f of p.flags) {
    const label = `\`${f.value !== undefined ? `${f.flag} ${f.value}` : f.flag}\``;
    lines.push(`- ${label} ${f.found ? escape(shorten(f.text)) : `_not in ${escape(p.page)}_`}`);
  }
  return lines.join("\n");
}

function shorten(text: string): string {
  return text.length <= MAX_FLAG_TEXT ? text : text.slice(0, text.lastIndexOf(" ", MAX_FLAG_TEXT)) + "…";
}

function escape(s: string): string {
  return s.replace(/([\\`*_{}[\]<>|])/g, "\\$1");
}
