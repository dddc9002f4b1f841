// Builds the shipped example index and the cheat-sheet test split, in one run:
//   - models/examples.jsonl.gz: tldr-pages' training split (common + linux) plus clean pairs from other authors;
//   - models/cheat-heldout.jsonl: a slice of cheat/cheatsheets held out by sheet (the second test split);
//   - models/examples.README.md: every source with its licence, commit and attribution.
// No pair of either held-out split, and no pair sharing a task or a command with one, is in the index.
// NL2Bash and NLC2CMD are benchmarks: no source here is built from them.
//   node --import tsx scripts/examples/build.ts [TLDR_DIR]
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { EXAMPLE_INDEX_ATTRIBUTION, EXAMPLE_INDEX_FILE } from "../../common/shipped";
import { indexFileText, type Example, type ExampleSource, programOf } from "../../server/src/engine/api";
import { loadShellSplit, type ShellSplit } from "../shell-model/split";
import { readSource, SOURCE_SNAPSHOTS, type SourcePair, type SourceSnapshot } from "./sources";
import { CHEAT_HELDOUT_FILE, cheatSplit, heldOutKeys, normCommand, normTask, type HeldOutPair } from "./splits";

/** Sources other than tldr's common and linux pages, in the order they are read. */
const OTHER_SOURCES = ["tldr-other", "cheat", "chubin", "navi-denisidoro", "eg", "awesome-cheatsheets"] as const;

export const TLDR_SOURCE: Omit<ExampleSource, "commit"> = {
  id: "tldr",
  name: "tldr-pages (common, linux)",
  repo: "https://github.com/tldr-pages/tldr",
  licence: "CC BY 4.0",
  licenceUrl: "https://creativecommons.org/licenses/by/4.0/",
  attribution: "tldr-pages team and contributors",
};
const TLDR_COMMIT = "08e345f42639f67d99282813247ac670dc6e87cb";

function tldrExamples(split: ShellSplit): Example[] {
  return split.train.map((p) => ({ description: p.task, command: p.command, source: TLDR_SOURCE.id, ref: p.id }));
}

/** tldr's mnemonic brackets ("e[x]ecute"), which other sheets copied with tldr's text: removed before the held-out
 * comparison, so a copied held-out pair is recognised. */
const withoutMnemonics = (s: string): string => s.replace(/\[([A-Za-z0-9])\]/g, "$1");

const asExample = (p: SourcePair): Example => ({ description: withoutMnemonics(p.description), command: p.command, source: p.source, ref: p.ref });

/** Drops pairs that share a task or a command with a held-out pair, and repeats of the same (task, command). */
function clean(examples: readonly Example[], heldOut: readonly HeldOutPair[]): { kept: Example[]; leaked: number; repeats: number } {
  const { tasks, commands } = heldOutKeys(heldOut);
  const seen = new Set<string>();
  const kept: Example[] = [];
  let leaked = 0;
  let repeats = 0;
  for (const e of examples) {
    if (tasks.has(normTask(e.description)) || commands.has(normCommand(e.command))) {
      leaked++;
      continue;
    }
    const key = `${normTask(e.description)}\0${normCommand(e.command)}`;
    if (seen.has(key)) {
      repeats++;
      continue;
    }
    seen.add(key);
    kept.push(e);
  }
  return { kept, leaked, repeats };
}

function attributionMarkdown(sources: readonly ExampleSource[], counts: ReadonlyMap<string, number>, build: Record<string, unknown>): string {
  const rows = sources.map(
    (s) => `| ${s.name} | [${s.repo.replace("https://github.com/", "")}](${s.repo}) at \`${s.commit.slice(0, 12)}\` | [${s.licence}](${s.licenceUrl}) | ${s.attribution} | ${counts.get(s.id) ?? 0} |`,
  );
  return [
    "# examples.jsonl.gz: the example index",
    "",
    "(description, command) pairs written by people, which Inversion retrieves to ground its hovers, comment checks and",
    "prompts. Each example keeps its source and a reference into it; the editor shows the source and licence beside every",
    "example it quotes. Built by `node --import tsx scripts/examples/build.ts` from the snapshots named below.",
    "",
    "| source | repository and commit | licence | attribution | examples |",
    "|---|---|---|---|---|",
    ...rows,
    "",
    "Changes: descriptions and commands selected from the sources' pages as described in `scripts/examples/sources.ts`",
    "(tldr placeholders rendered with short options, mnemonic brackets removed, a leading \"To\" and a trailing \":\" dropped",
    "from cheat-sheet comments); repeats dropped. Nothing under a ShareAlike or GPL licence is included; NL2Bash and",
    "NLC2CMD (benchmarks) are not sources.",
    "",
    "Held out, and kept out of this index together with every pair sharing a task or a command with them:",
    `\`models/tldr-heldout.jsonl\` (300 tldr pairs) and \`${CHEAT_HELDOUT_FILE}\` (cheat/cheatsheets, whole sheets).`,
    "",
    "File format: gzip of JSON lines; the first line is a header (`kind`, `version`, `sources`, `count`, `build`), then",
    "one line per example: `[description, command, source index, ref]`.",
    "",
    "Build record:",
    "",
    "```json",
    JSON.stringify(build, null, 2),
    "```",
    "",
  ].join("\n");
}

function main(): void {
  const [tldrDir = "../shared/data/tldr-pages"] = process.argv.slice(2);
  const split = loadShellSplit(tldrDir);
  const snapshots: SourceSnapshot[] = OTHER_SOURCES.map((id) => readSource(id, SOURCE_SNAPSHOTS[id]!));
  const cheat = snapshots.find((s) => s.source.id === "cheat")!;
  const cheatHeld = cheatSplit(cheat.pairs);
  const heldOut: HeldOutPair[] = [...split.heldOut.map((p) => ({ task: p.task, command: p.command })), ...cheatHeld.heldOut];

  const tldr: ExampleSource = { ...TLDR_SOURCE, commit: TLDR_COMMIT };
  const sources = [tldr, ...snapshots.map((s) => s.source)];
  const candidates = [
    ...tldrExamples(split),
    ...snapshots.flatMap((s) => (s.source.id === "cheat" ? cheatHeld.train : s.pairs).map(asExample)),
  ].filter((e) => programOf(e.command) !== null);
  const { kept, leaked, repeats } = clean(candidates, heldOut);

  const counts = new Map<string, number>();
  for (const e of kept) counts.set(e.source, (counts.get(e.source) ?? 0) + 1);
  const build = {
    script: "scripts/examples/build.ts",
    tldrHeldOutSha256: split.hash,
    tldrDataSha256: split.dataHash,
    cheatHeldOut: { file: CHEAT_HELDOUT_FILE, pairs: cheatHeld.heldOut.length, sheets: cheatHeld.sheets, sha256: cheatHeld.sha256 },
    dropped: { sharingATaskOrCommandWithHeldOut: leaked, repeats },
    bySource: Object.fromEntries(counts),
  };
  const text = indexFileText({ sources, build }, kept);
  writeFileSync(EXAMPLE_INDEX_FILE, gzipSync(Buffer.from(text, "utf8"), { level: 9 }));
  writeFileSync(CHEAT_HELDOUT_FILE, cheatHeld.heldOut.map((p) => JSON.stringify(p)).join("\n") + "\n");
  writeFileSync(EXAMPLE_INDEX_ATTRIBUTION, attributionMarkdown(sources, counts, build));
  const sha = createHash("sha256").update(text).digest("hex");
  console.log(`${kept.length} examples -> ${EXAMPLE_INDEX_FILE} (text sha256 ${sha}); ${cheatHeld.heldOut.length} held-out cheat pairs -> ${CHEAT_HELDOUT_FILE}`);
  console.log(JSON.stringify(build));
}

if (require.main === module) main();
