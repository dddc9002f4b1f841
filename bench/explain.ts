// Issue-13 benchmarks: explaining a command from the local man pages.
//  1. explain p95 with the page cached (target < 20 ms)
//  2. first lookup of a page: find, read, gunzip and parse (target < 150 ms)
//  3. coverage: the share of flags in the held-out tldr commands for which a paragraph is found
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { explainCommand } from "../server/src/knowledge/manpages/explain";
import { ManLibrary } from "../server/src/knowledge/manpages/library";
import { loadPairs, splitPairs } from "../server/src/eval/dataset";
import { DEFAULT_EVAL_SIZE } from "../server/src/engine/external";
import { loadShellParser, type ShellParser } from "../server/src/shell/parser";
import { median, row } from "./common";

const CACHED = ["tar -xzvf a.tgz", "find . -name '*.py' -mtime -1 -exec rm {} +", "git commit -am msg", "ls -la | grep -v foo"];
const PAGES = ["tar", "find", "grep", "sed", "ls", "cp", "rm", "gzip", "git", "git-commit", "rsync", "ssh", "systemctl", "apt-get", "ps", "du", "sort", "xargs", "chmod", "curl"];
const TLDR_FILES = ["pairs_common.tsv", "pairs_linux.tsv"];

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

export async function benchExplain(rounds = 200): Promise<void> {
  console.log("\n## Explain from man pages (issue 13)\n");
  const parser = await loadShellParser();
  console.log(row(["measure", "p50 ms", "p95 ms", "max ms", "n", "target"]));
  await cachedExplain(parser, rounds);
  await firstLookup();
  await coverage(parser);
}

async function cachedExplain(parser: ShellParser, rounds: number): Promise<void> {
  const library = new ManLibrary();
  for (const c of CACHED) await explainCommand(c, { parser, library });
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    await explainCommand(CACHED[i % CACHED.length]!, { parser, library });
    times.push(performance.now() - t);
  }
  console.log(row(["explain, cached page", median(times), percentile(times, 95), Math.max(...times), String(times.length), "p95 < 20"]));
}

/** Each page once, each with a fresh library: locate, read, gunzip, parse. */
async function firstLookup(): Promise<void> {
  const times: number[] = [];
  for (const name of PAGES) {
    const library = new ManLibrary();
    await library.searchPath();
    const t = performance.now();
    const page = await library.page(name);
    if (page) times.push(performance.now() - t);
  }
  if (times.length === 0) return void console.log("first lookup: no page of the list is installed here");
  console.log(row(["first lookup of a page", median(times), percentile(times, 95), Math.max(...times), String(times.length), "< 150"]));
}

async function coverage(parser: ShellParser): Promise<void> {
  const dir = resolve(__dirname, "../../shared/data/tldr-pages");
  const library = new ManLibrary();
  for (const file of TLDR_FILES) {
    const path = resolve(dir, file);
    if (!existsSync(path)) {
      console.log(`coverage: ${path} not found`);
      continue;
    }
    const heldOut = splitPairs(loadPairs(path), { seed: 1, heldOut: DEFAULT_EVAL_SIZE }).heldOut;
    let flags = 0;
    let found = 0;
    let withPage = 0;
    let foundWithPage = 0;
    let programs = 0;
    let programsWithPage = 0;
    for (const pair of heldOut) {
      for (const p of (await explainCommand(pair.command, { parser, library })).programs) {
        programs++;
        if (p.page) programsWithPage++;
        flags += p.flags.length;
        found += p.flags.filter((f) => f.found).length;
        if (p.page) withPage += p.flags.length;
        if (p.page) foundWithPage += p.flags.filter((f) => f.found).length;
      }
    }
    const pct = (a: number, b: number): string => `${((100 * a) / Math.max(1, b)).toFixed(1)}% (${a}/${b})`;
    console.log(
      `coverage, ${file} held-out split (seed 1, ${heldOut.length} commands): flags with a paragraph ${pct(found, flags)}; ` +
        `among programs with a page ${pct(foundWithPage, withPage)}; programs with a page ${pct(programsWithPage, programs)}`,
    );
  }
}
