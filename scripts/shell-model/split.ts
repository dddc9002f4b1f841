// The shell model's held-out split of tldr-pages: the product's own seeded split (server/src/eval/dataset.ts
// splitPairs) over all pairs of pairs_common.tsv + pairs_linux.tsv, with tasks written as people write comments: the
// description alone, without the "tool:" prefix. Written to models/tldr-heldout.jsonl (id, task, command, tool), so
// `inversion eval --eval models/tldr-heldout.jsonl --seed 1` scores exactly these pairs with the same sha256.
//   node --import tsx scripts/shell-model/split.ts [TLDR_DIR] [OUT.jsonl]
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadPairs, splitPairs, type Pair } from "../../server/src/engine/api";

export const TLDR_FILES = ["pairs_common.tsv", "pairs_linux.tsv"];
export const SPLIT_SEED = 1;
export const HELD_OUT_SIZE = 300;

export interface ShellPair extends Pair {
  /** The tldr page name, e.g. "tar". */
  tool: string;
  /** `task` is the description alone; this is "tool: description". */
  toolTask: string;
  /** The command with long options, when tldr gives one that differs from `command`. */
  commandLong?: string;
}

export interface ShellSplit {
  train: ShellPair[];
  heldOut: ShellPair[];
  hash: string;
  /** sha256 of the input TSV files, in TLDR_FILES order. */
  dataHash: string;
}

function longCommands(file: string): Map<string, string> {
  const byId = new Map<string, string>();
  for (const line of readFileSync(file, "utf8").split(/\r?\n/).slice(1)) {
    const fields = line.split("\t");
    if (fields.length === 5) byId.set(fields[0]!, fields[4]!.trim());
  }
  return byId;
}

/** All tldr pairs (alias stubs and keypress pseudo-commands dropped by loadPairs), description-only tasks. */
export function loadShellPairs(tldrDir: string): ShellPair[] {
  return TLDR_FILES.flatMap((name) => {
    const file = join(tldrDir, name);
    const longs = longCommands(file);
    return loadPairs(file).map((pair): ShellPair => {
      const tool = /^[^/]*\/(.+)#\d+$/.exec(pair.id)![1]!;
      const prefix = `${tool}: `;
      if (!pair.task.startsWith(prefix)) throw new Error(`${file}: task of ${pair.id} does not start with "${prefix}"`);
      const long = longs.get(pair.id);
      return {
        id: pair.id,
        task: pair.task.slice(prefix.length),
        command: pair.command,
        tool,
        toolTask: pair.task,
        ...(long && long !== pair.command ? { commandLong: long } : {}),
      };
    });
  });
}

export function loadShellSplit(tldrDir: string, seed = SPLIT_SEED, size = HELD_OUT_SIZE): ShellSplit {
  const pairs = loadShellPairs(tldrDir);
  const byId = new Map(pairs.map((p) => [p.id, p]));
  const split = splitPairs(pairs, { seed, heldOut: size });
  const dataHash = createHash("sha256");
  for (const name of TLDR_FILES) dataHash.update(readFileSync(join(tldrDir, name)));
  return {
    train: split.train.map((p) => byId.get(p.id)!),
    heldOut: split.heldOut.map((p) => byId.get(p.id)!),
    hash: split.hash,
    dataHash: dataHash.digest("hex"),
  };
}

export function heldOutJsonl(heldOut: readonly ShellPair[]): string {
  return heldOut.map((p) => JSON.stringify({ id: p.id, task: p.task, command: p.command, tool: p.tool })).join("\n") + "\n";
}

function main(): void {
  const [tldrDir = "../shared/data/tldr-pages", out = "models/tldr-heldout.jsonl"] = process.argv.slice(2);
  const split = loadShellSplit(tldrDir);
  writeFileSync(out, heldOutJsonl(split.heldOut));
  console.log(
    `${split.heldOut.length} held-out pairs -> ${out} (split sha256 ${split.hash}); ` +
      `${split.train.length} training pairs; tldr data sha256 ${split.dataHash}`,
  );
}

if (require.main === module) main();
