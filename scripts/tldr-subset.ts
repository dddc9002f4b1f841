// Writes a JSONL of tldr-pages pairs restricted to common Unix tools and short commands: a narrower distribution that a
// tiny model can learn something of. Used for docs/RESULTS.md; the data stays outside the repository.
//   node --import tsx scripts/tldr-subset.ts OUT.jsonl TLDR.tsv [TLDR.tsv ...]
import { writeFileSync } from "node:fs";
import { loadPairs, isListedProgram } from "../server/src/engine/api";

const [out, ...inputs] = process.argv.slice(2);
if (!out || inputs.length === 0) {
  console.error("usage: tldr-subset.ts OUT.jsonl TLDR.tsv [TLDR.tsv ...]");
  process.exit(2);
}
const seen = new Set<string>();
const kept = inputs
  .flatMap((f) => loadPairs(f))
  .filter((p) => {
    const tool = p.task.split(":")[0]!;
    const ok =
      isListedProgram(tool) &&
      p.command.split(/\s+/)[0] === tool &&
      p.task.length + p.command.length <= 100 &&
      /^[\x20-\x7e]*$/.test(p.task + p.command) &&
      !seen.has(p.command);
    if (ok) seen.add(p.command);
    return ok;
  });
writeFileSync(out, kept.map((p) => JSON.stringify(p)).join("\n") + "\n");
console.log(`${kept.length} pairs from ${new Set(kept.map((p) => p.task.split(":")[0])).size} tools -> ${out}`);
