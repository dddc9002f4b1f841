// Tasks and candidates grounded in this machine: topics from the programs that have a manual page here
// (`--topics man`), and a gate (--documented-flags) that every flag of a candidate is in its program's page.
import type { Candidate, GateVerdict } from "./types";
import type { ShellParser } from "../shell/types";
import type { ManLibrary } from "../knowledge/manpages/library";
import type { ExampleIndex } from "../knowledge/examples/exampleIndex";
import { explainCommand, type CommandExplanation } from "../knowledge/manpages/explain";
import { throwIfAborted } from "./session";

/** `--topics man`: write tasks about the programs documented on this machine. */
export const MACHINE_TOPICS = "man";
/** The most topics taken from this machine; people's examples rank them (most examples first). */
export const MAX_MACHINE_TOPICS = 200;
/** A program needs this many examples people wrote to be a topic: the task writer knows too little of rarer ones. */
const MIN_TOPIC_EXAMPLES = 5;

/** Programs people wrote examples for that have a manual page here, most examples first. */
export async function machineTopics(index: ExampleIndex, library: ManLibrary, signal?: AbortSignal): Promise<string[]> {
  const topics: string[] = [];
  for (const program of index.programsByExamples(MIN_TOPIC_EXAMPLES)) {
    throwIfAborted(signal);
    if ((await library.page(program, signal)) !== null) topics.push(program);
    if (topics.length >= MAX_MACHINE_TOPICS) break;
  }
  if (topics.length === 0) throw new Error("--topics man: no program with examples has a manual page on this machine (is man-db installed, and MANPATH set?).");
  return topics;
}

export const DOCUMENTED_FLAGS_GATE = "documented-flags";

/** Whether every flag the command gives a documented program is in that program's page. Programs without a page here
 * cannot be checked and pass: the gate refuses only what a page contradicts. */
export function documentedFlagsVerdict(e: CommandExplanation): GateVerdict {
  const missing = e.programs.filter((p) => p.page !== null).flatMap((p) => p.flags.filter((f) => !f.found).map((f) => `${p.program} ${f.flag}`));
  if (missing.length) return { gate: DOCUMENTED_FLAGS_GATE, pass: false, reason: `not in the manual page: ${missing.join(", ")}` };
  const pages = e.programs.filter((p) => p.page !== null).map((p) => p.page!);
  return { gate: DOCUMENTED_FLAGS_GATE, pass: true, reason: pages.length ? `every flag is in ${pages.join(", ")}` : "no manual page here to check against" };
}

/** Adds the documented-flags verdict to each candidate's gates (in place); a failed one is rejected for it. */
export async function applyDocumentedFlagsGate(candidates: Candidate[], deps: { parser: ShellParser; library: ManLibrary; signal?: AbortSignal }): Promise<void> {
  for (const c of candidates) {
    throwIfAborted(deps.signal);
    if (!c.command.trim()) continue;
    const verdict = documentedFlagsVerdict(await explainCommand(c.command, deps));
    c.gates.push(verdict);
    if (!verdict.pass) c.rejectReason = [c.rejectReason, `${verdict.gate}: ${verdict.reason}`].filter(Boolean).join("; ");
  }
}
