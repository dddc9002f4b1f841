import type { ScriptCommand } from "../shell/parser";

/** The script command whose range contains the 0-based position, if any. */
export function entryAt(entries: ScriptCommand[], line: number, character: number): ScriptCommand | undefined {
  return entries.find((e) => {
    if (line < e.startLine || line > e.endLine) return false;
    if (line === e.startLine && character < e.startCol) return false;
    if (line === e.endLine && character > e.endCol) return false;
    return true;
  });
}
