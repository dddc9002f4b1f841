// The held-out splits the example index, the corpus and the loop never see, and the keys that keep them out: a pair
// sharing a task or a command (after normalising case and spaces) with a held-out pair counts as the held-out pair.
import { createHash } from "node:crypto";
import { programOf } from "../../server/src/engine/api";
import type { SourcePair } from "./sources";

export const CHEAT_HELDOUT_FILE = "models/cheat-heldout.jsonl";
/** Share of cheat/cheatsheets sheets held out, chosen by a seeded hash of the sheet's name. */
export const CHEAT_HELDOUT_SHARE = 0.2;
export const CHEAT_SPLIT_SEED = 1;

export interface HeldOutPair {
  task: string;
  command: string;
}

export interface CheatHeldOutPair extends HeldOutPair {
  id: string;
  tool: string;
  sheet: string;
}

export const normTask = (s: string): string => s.toLowerCase().replace(/[\s.:]+$/, "").replace(/\s+/g, " ").trim();
export const normCommand = (s: string): string => s.replace(/\s+/g, " ").trim();

export function heldOutKeys(pairs: readonly HeldOutPair[]): { tasks: Set<string>; commands: Set<string> } {
  return { tasks: new Set(pairs.map((p) => normTask(p.task))), commands: new Set(pairs.map((p) => normCommand(p.command))) };
}

export const sheetOf = (ref: string): string => ref.replace(/#\d+$/, "");

function heldOutSheet(sheet: string): boolean {
  const h = createHash("sha256").update(`cheat-split-${CHEAT_SPLIT_SEED}:${sheet}`).digest();
  return h.readUInt32BE(0) / 2 ** 32 < CHEAT_HELDOUT_SHARE;
}

/** cheat/cheatsheets split by whole sheets; held-out pairs are unique by task and by command. */
export function cheatSplit(pairs: readonly SourcePair[]): { train: SourcePair[]; heldOut: CheatHeldOutPair[]; sheets: number; sha256: string } {
  const train: SourcePair[] = [];
  const heldOut: CheatHeldOutPair[] = [];
  const tasks = new Set<string>();
  const commands = new Set<string>();
  const sheets = new Set<string>();
  for (const p of pairs) {
    const sheet = sheetOf(p.ref);
    if (!heldOutSheet(sheet)) {
      train.push(p);
      continue;
    }
    const tool = programOf(p.command);
    if (!tool || tasks.has(normTask(p.description)) || commands.has(normCommand(p.command))) continue;
    tasks.add(normTask(p.description));
    commands.add(normCommand(p.command));
    sheets.add(sheet);
    heldOut.push({ id: `cheat/${p.ref}`, task: p.description, command: p.command, tool, sheet });
  }
  const sha256 = createHash("sha256").update(heldOut.map((p) => JSON.stringify(p)).join("\n")).digest("hex");
  return { train, heldOut, sheets: sheets.size, sha256 };
}
