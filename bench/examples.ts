// The example index (issue 18): load time, query latency (p50 / p95 over the held-out splits' tasks and commands,
// one thread) and what the model and index add to the .vsix. Target: query p95 ≤ 5 ms, model + index ≤ 24 MB.
import { readFileSync, statSync } from "node:fs";
import { DEFAULT_MODEL_FILE, EXAMPLE_INDEX_FILE } from "../common/shipped";
import { ExampleIndex } from "../server/src/knowledge/examples/exampleIndex";
import { median, percentile } from "./common";

const lines = (file: string): { task: string; command: string }[] => readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));

function timed(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

export async function benchExamples(): Promise<void> {
  console.log("\n## Example index (issue 18)\n");
  let index: ExampleIndex | undefined;
  const loadMs = timed(() => (index = ExampleIndex.fromFile(EXAMPLE_INDEX_FILE)));
  const pairs = [...lines("models/tldr-heldout.jsonl"), ...lines("models/cheat-heldout.jsonl")];
  const rows: [string, (p: { task: string; command: string }) => void][] = [
    ["task → 3 examples (forward prompts)", (p) => index!.byTask(p.task, { k: 3 })],
    ["command → 3 examples (inverse prompts)", (p) => index!.byCommandText(p.command, { k: 3 })],
    ["comment support (10 examples, joined)", (p) => index!.commentSupport(p.task, p.command)],
    ["nearest example of the program (hover)", (p) => index!.nearestFor(p.command)],
  ];
  const mb = (file: string): number => statSync(file).size / 2 ** 20;
  console.log(`${index!.size} examples from ${index!.sources.length} sources; loaded in ${loadMs.toFixed(0)} ms; model ${mb(DEFAULT_MODEL_FILE).toFixed(1)} MB + index ${mb(EXAMPLE_INDEX_FILE).toFixed(1)} MB = ${(mb(DEFAULT_MODEL_FILE) + mb(EXAMPLE_INDEX_FILE)).toFixed(1)} MB\n`);
  console.log("| query | n | p50 ms | p95 ms |");
  console.log("|---|---|---|---|");
  for (const [name, query] of rows) {
    for (const p of pairs.slice(0, 50)) query(p); // warm up
    const ms = pairs.map((p) => timed(() => query(p)));
    console.log(`| ${name} | ${ms.length} | ${median(ms).toFixed(2)} | ${percentile(ms, 95).toFixed(2)} |`);
  }
}
