// Grounding: does the model's reading of a command agree with what the man pages say the command does? Two
// heuristic marks, both lexical: a documented flag the reading does not account for (no word of the reading matches
// the flag's names, its paragraph's distinctive words or its value), and an action the reading names (delete,
// compress, download, …) that no program, subcommand or flag paragraph of the command mentions, synonyms included.
import type { Candidate, GroundingStats } from "./types";
import type { ShellParser } from "../shell/types";
import { explainCommand, type CommandExplanation, type FlagNote } from "../knowledge/manpages/explain";
import type { ManLibrary } from "../knowledge/manpages/library";

export interface GroundingCheck {
  /** False when no program of the command has a page: nothing can be checked. */
  checked: boolean;
  /** Documented flags in the command. */
  flags: number;
  unaccountedFlags: string[];
  unexplainedActions: string[];
}

/** Actions a reading may name, each with the words a page may use for it. */
const ACTIONS: readonly string[][] = [
  ["delete", "remove", "erase", "unlink", "rm", "wipe"],
  ["copy", "duplicate", "cp"],
  ["move", "rename", "mv"],
  ["compress", "gzip", "zip", "bzip2", "xz", "pack", "archive"],
  ["decompress", "extract", "unpack", "uncompress", "unzip", "gunzip", "untar"],
  ["download", "fetch", "retrieve", "transfer"],
  ["upload", "push", "send", "transfer"],
  ["search", "find", "grep", "locate", "match"],
  ["sort", "order"],
  ["count", "tally"],
  ["replace", "substitute", "edit"],
  ["create", "make", "new", "initialize", "init", "mkdir", "touch"],
  ["kill", "terminate", "signal", "stop"],
  ["start", "run", "launch", "execute", "exec"],
  ["restart", "reload"],
  ["install", "add"],
  ["uninstall", "purge", "remove"],
  ["update", "upgrade", "refresh"],
  ["encrypt", "cipher", "gpg"],
  ["decrypt", "decipher"],
  ["commit", "record"],
  ["merge", "combine", "join", "concatenate", "cat"],
  ["split", "divide"],
  ["mount"],
  ["unmount", "umount"],
  ["connect", "login", "ssh"],
  ["synchronize", "sync", "mirror", "rsync"],
  ["convert", "transform", "encode"],
  ["sign", "signature"],
  ["verify", "validate"],
  ["compare", "diff", "difference"],
  ["monitor", "watch"],
  ["change", "modify", "chmod", "chown"],
];

/** Words too common in man pages to tell one flag from another. */
const STOP = new Set(
  ("a an the and or of to in on for by with from as at is are be this that it its if when which not no than then " +
    "into only also any all each one two use used uses using file files option options default given specified " +
    "command commands output input name names value values argument arguments will can may must see set line lines " +
    "print show instead other more less most least such so do does done following per same without").split(" "),
);

export function checkGrounding(explanation: CommandExplanation, reading: string): GroundingCheck {
  const documented = explanation.programs.filter((p) => p.page !== null);
  if (documented.length === 0) return { checked: false, flags: 0, unaccountedFlags: [], unexplainedActions: [] };
  const readingStems = stems(reading);
  const unaccountedFlags: string[] = [];
  let flags = 0;
  for (const program of documented) {
    // Words of the program's own description say what the program does, not what a flag adds.
    const general = stems(`${program.program} ${program.description ?? ""}`);
    for (const flag of program.flags.filter((f) => f.found)) {
      flags++;
      if (!accounts(readingStems, reading, flag, general)) unaccountedFlags.push(flag.flag);
    }
  }
  const pageStems = stems(
    documented
      .flatMap((p) => [p.program, p.description ?? "", p.subcommand ?? "", p.subcommandText ?? "", ...p.flags.flatMap((f) => [f.tag ?? "", f.text])])
      .join(" "),
  );
  const unexplainedActions = actionsNamed(readingStems).filter((group) => !group.some((w) => matchesAny(stem(w), pageStems)));
  return { checked: true, flags, unaccountedFlags, unexplainedActions: unexplainedActions.map((g) => g[0]!) };
}

function accounts(readingStems: string[], reading: string, flag: FlagNote, general: string[]): boolean {
  if (flag.value && flag.value.length > 1 && reading.includes(flag.value)) return true;
  const names = (flag.tag ?? "").match(/--?[A-Za-z][\w-]*/g) ?? [];
  const nameWords = names.flatMap((n) => n.replace(/^-+/, "").split("-")).filter((w) => w.length > 2);
  const firstSentence = flag.text.split(/(?<=\.)\s/)[0] ?? "";
  const keywords = [...nameWords.map(stem), ...stems(firstSentence)].filter((k) => !matchesAny(k, general));
  return keywords.some((k) => matchesAny(k, readingStems));
}

/** The action groups whose words appear in the reading. */
function actionsNamed(readingStems: string[]): string[][] {
  return ACTIONS.filter((group) => group.some((w) => readingStems.includes(stem(w))));
}

function stems(text: string): string[] {
  return (text.toLowerCase().match(/[a-z][a-z0-9]+/g) ?? []).filter((w) => !STOP.has(w)).map(stem);
}

/** A crude stemmer: one common suffix off ("verbosely" → "verbose", "gzipped" → "gzipp", "lists" → "list"). */
export function stem(word: string): string {
  const w = word.toLowerCase();
  for (const suffix of ["ingly", "edly", "ing", "ied", "ies", "ed", "ly", "es", "s", "e"]) {
    if (w.endsWith(suffix) && w.length - suffix.length >= 3) return w.slice(0, -suffix.length);
  }
  return w;
}

/** Equal stems, or one a prefix of the other of at least four letters ("gzip"/"gzipp", "compres"/"compress"). */
function matchesAny(s: string, others: readonly string[]): boolean {
  return others.some((o) => o === s || (Math.min(o.length, s.length) >= 4 && (o.startsWith(s) || s.startsWith(o))));
}

/** Grounding over a cycle's examples (each candidate's command against its reading). */
export async function groundingStats(
  candidates: readonly Pick<Candidate, "command" | "reconstruction" | "accepted">[],
  deps: { parser: ShellParser; library: ManLibrary; signal?: AbortSignal },
): Promise<GroundingStats> {
  const stats: GroundingStats = { examples: 0, flags: 0, unaccountedFlags: 0, withUnaccountedFlags: 0, withUnexplainedActions: 0, ungrounded: 0, accepted: 0, acceptedUngrounded: 0 };
  for (const c of candidates) {
    if (c.reconstruction.trim() === "" || c.command.trim() === "") continue;
    const check = await checkCandidate(c, deps);
    if (!check?.checked) continue;
    const ungrounded = check.unaccountedFlags.length > 0 || check.unexplainedActions.length > 0;
    stats.examples++;
    stats.flags += check.flags;
    stats.unaccountedFlags += check.unaccountedFlags.length;
    if (check.unaccountedFlags.length > 0) stats.withUnaccountedFlags++;
    if (check.unexplainedActions.length > 0) stats.withUnexplainedActions++;
    if (ungrounded) stats.ungrounded++;
    if (c.accepted) {
      stats.accepted++;
      if (ungrounded) stats.acceptedUngrounded++;
    }
  }
  return stats;
}

/** One candidate's check; an unreadable page skips the candidate rather than failing the cycle. */
async function checkCandidate(
  c: Pick<Candidate, "command" | "reconstruction">,
  deps: { parser: ShellParser; library: ManLibrary; signal?: AbortSignal },
): Promise<GroundingCheck | null> {
  try {
    return checkGrounding(await explainCommand(c.command, deps), c.reconstruction);
  } catch (err) {
    if (deps.signal?.aborted) throw err;
    return null;
  }
}
