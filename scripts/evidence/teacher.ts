// Evidence (c) of docs/RESULTS.md, "Your own scripts as a teacher": real commented shell scripts split into teaching
// commands and held-out (comment, command) pairs. The loop sees only the teaching commands (`inversion run --commands`,
// no comment ever written to its file); the held-out comments are the labels, measured before and after each way of
// learning: the model's reading of each held-out command against its comment (token F1, paired with the base), the
// model's own comment judging (lift AUC, each comment against another held-out pair's), and the grounded comment
// check's AUC with the run's memory in its example index.
//   node --import tsx scripts/evidence/teacher.ts [--out DIR] [--variants none,memory,lora,both] [--cycles 5] [--tasks 32]
// Reads the scripts from bare git mirrors (/work/.mirror/<owner>+<repo>/repo, brought with the `fetch` tool); a rerun
// resumes the runs and measures again.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadModel, type LoadedModel, ModelSession, invertCommand, liftScorer, indexShots, type ShotSource, RunMemory, memoryIndex, memoryPairs, shotsWithMemory, tokenF1, readRunExamples, bestAdapter, loadShellParser, type ShellParser, ExampleIndex, explainCommand, sharedManLibrary, bootstrapCi, mean, pairedDifference } from "../../server/src/engine/api";
import { groundedSupport, type Grounding, rocAuc } from "../../server/src/check/api";
import { EXAMPLE_INDEX_FILE } from "../../common/shipped";

/** The scripts, each under a permissive licence, named with the commit read. Not this machine's /etc/init.d or
 * /usr/bin (the check benchmark's), and nothing ShareAlike or GPL. */
export const TEACHER_SOURCES = [
  { repo: "mathiasbynens/dotfiles", licence: "MIT", files: [".macos", "brew.sh", "bootstrap.sh", ".functions", ".aliases", ".exports"] },
  { repo: "thoughtbot/laptop", licence: "MIT", files: ["mac"] },
] as const;

export interface HeldOutPair {
  id: string;
  comment: string;
  command: string;
}

/** Every commented command and every command of the scripts: comments only ever go to the held-out labels. */
export function splitScripts(
  scripts: readonly { name: string; text: string }[],
  parser: ShellParser,
  heldOutShare: number,
): { teaching: string[]; heldOut: HeldOutPair[] } {
  const heldOut: HeldOutPair[] = [];
  const all: string[] = [];
  for (const { name, text } of scripts) {
    for (const c of parser.parseScript(text)) {
      const command = c.text.replace(/\\\n/g, " ").replace(/\s+/g, " ").trim();
      if (!command || command.length > 300) continue;
      all.push(command);
      const comment = c.intent?.trim();
      const id = `${name}:${c.startLine + 1}`;
      // a seeded hash of where the pair is, so the split does not depend on the order files are read in
      const share = createHash("sha256").update(id).digest().readUInt32BE(0) / 2 ** 32;
      if (comment && comment.length >= 8 && comment.length <= 200 && share < heldOutShare) heldOut.push({ id, comment, command });
    }
  }
  const held = new Set(heldOut.map((p) => p.command));
  return { teaching: [...new Set(all.filter((c) => !held.has(c)))], heldOut };
}

function readScripts(mirrors: string): { scripts: { name: string; text: string }[]; provenance: string[] } {
  const scripts: { name: string; text: string }[] = [];
  const provenance: string[] = [];
  for (const source of TEACHER_SOURCES) {
    const gitDir = join(mirrors, source.repo.replace("/", "+"), "repo");
    if (!existsSync(gitDir)) throw new Error(`${gitDir} is missing: bring github:${source.repo} with the fetch tool first.`);
    const commit = execFileSync("git", ["--git-dir", gitDir, "rev-parse", "HEAD"], { encoding: "utf8" }).trim();
    provenance.push(`${source.repo}@${commit.slice(0, 12)} (${source.licence}): ${source.files.join(", ")}`);
    for (const file of source.files) scripts.push({ name: `${source.repo}/${file}`, text: execFileSync("git", ["--git-dir", gitDir, "show", `${commit}:${file}`], { encoding: "utf8" }) });
  }
  return { scripts, provenance };
}

function run(args: string[]): void {
  const r = spawnSync(process.execPath, ["bin/inversion.js", ...args], { stdio: ["ignore", "ignore", "inherit"] });
  if (r.status !== 0) throw new Error(`inversion ${args.join(" ")} exited ${r.status}`);
}

interface Measures {
  f1: number[];
  liftAuc: number;
  checkAuc: number;
}

/** A seeded derangement: each held-out command with another pair's comment. */
const otherComment = (pairs: readonly HeldOutPair[], i: number): string => pairs[(i + 1 + (i * 7) % (pairs.length - 1)) % pairs.length]!.comment;

async function measure(loaded: LoadedModel, adapter: string | null, shots: ShotSource, grounding: Grounding, pairs: readonly HeldOutPair[]): Promise<Measures> {
  const session = await ModelSession.create(loaded, { sequences: 2, adapterPath: adapter });
  try {
    const f1: number[] = [];
    const matched: number[] = [];
    const mismatched: number[] = [];
    const checkMatched: number[] = [];
    const checkMismatched: number[] = [];
    for (const [i, p] of pairs.entries()) {
      f1.push(tokenF1(await invertCommand(session, p.command, undefined, shots), p.comment));
      const other = otherComment(pairs, i);
      matched.push((await liftScorer.score(session, { task: p.comment, command: p.command, reconstruction: "" })).parts.liftBitsPerToken!);
      mismatched.push((await liftScorer.score(session, { task: other, command: p.command, reconstruction: "" })).parts.liftBitsPerToken!);
      checkMatched.push((await groundedSupport(grounding, p.comment, p.command)).score);
      checkMismatched.push((await groundedSupport(grounding, other, p.command)).score);
    }
    return { f1, liftAuc: rocAuc(matched, mismatched), checkAuc: rocAuc(checkMatched, checkMismatched) };
  } finally {
    await session.dispose();
  }
}

/** The lookup alone: the description of the example nearest each held-out command, against its comment (token F1). */
export function lookupReadingF1(index: ExampleIndex, pairs: readonly HeldOutPair[]): number[] {
  return pairs.map((p) => tokenF1(index.byCommandText(p.command, { k: 1 })[0]?.example.description ?? "", p.comment));
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      out: { type: "string", default: "../runs/evidence/teacher" },
      model: { type: "string", default: "models/inversion-shell.gguf" },
      mirrors: { type: "string", default: "/work/.mirror" },
      variants: { type: "string", default: "none,memory,lora,both" },
      cycles: { type: "string", default: "5" },
      tasks: { type: "string", default: "32" },
      threads: { type: "string", default: "1" },
      share: { type: "string", default: "0.3" },
    },
  });
  const out = resolve(v.out!);
  mkdirSync(out, { recursive: true });
  const parser = await loadShellParser();
  const { scripts, provenance } = readScripts(v.mirrors!);
  const { teaching, heldOut } = splitScripts(scripts, parser, Number(v.share));
  const teachingFile = join(out, "teaching.txt");
  writeFileSync(teachingFile, teaching.join("\n") + "\n");
  writeFileSync(join(out, "held-out.jsonl"), heldOut.map((p) => JSON.stringify(p)).join("\n") + "\n");
  console.log(`scripts: ${provenance.join("; ")}\nteaching commands: ${teaching.length}; held-out (comment, command) pairs: ${heldOut.length}`);

  const variants = v.variants!.split(",");
  for (const variant of variants) {
    const dir = join(out, variant);
    const common = ["--model", v.model!, "--commands", teachingFile, "--out", dir, "--threads", v.threads!];
    if (existsSync(join(dir, "config.json"))) run(["run", ...common, "--resume", "--cycles", v.cycles!]);
    else run(["run", ...common, "--learn", variant, "--cycles", v.cycles!, "--tasks", v.tasks!, "--candidates", "4", "--seed", "1", "--gpu", "off", "--policy", "continue", "--epochs", "2"]);
    console.log(`${variant}: run complete`);
  }

  const shipped = ExampleIndex.fromFile(EXAMPLE_INDEX_FILE);
  const library = sharedManLibrary();
  const grounding = (index: ExampleIndex): Grounding => ({ index, explain: (command, signal) => explainCommand(command, { parser, library, signal }) });
  const loaded = await loadModel({ modelPath: v.model!, gpu: "off", threads: Number(v.threads), contextSize: 512 });
  const rows: string[] = [];
  const base = await measure(loaded, null, indexShots(shipped, 3), grounding(shipped), heldOut);
  const ci = (xs: number[]): string => {
    const [lo, hi] = bootstrapCi(xs, { seed: 1 });
    return `${mean(xs).toFixed(3)} [${lo.toFixed(3)}, ${hi.toFixed(3)}]`;
  };
  const look = lookupReadingF1(shipped, heldOut);
  rows.push(`| lookup only (nearest example's description) | ${ci(look)} | – | – | ${base.checkAuc.toFixed(3)} (the check is lookup-based) |`);
  rows.push(`| base model (cycle 0) | ${ci(base.f1)} | – | ${base.liftAuc.toFixed(3)} | ${base.checkAuc.toFixed(3)} |`);
  for (const variant of variants) {
    const dir = join(out, variant);
    const accepted = memoryPairs((await readRunExamples(dir)).filter((c) => c.accepted));
    const learnsMemory = variant === "memory" || variant === "both";
    const memory = new RunMemory(shipped);
    if (learnsMemory) memory.add(accepted);
    const adapter = variant === "lora" || variant === "both" ? await lastAdapter(dir) : null;
    const index = learnsMemory ? memoryIndex(shipped, memory) : shipped;
    const m = await measure(loaded, adapter, learnsMemory ? shotsWithMemory(shipped, memory, 3) : indexShots(shipped, 3), grounding(index), heldOut);
    const d = pairedDifference(base.f1, m.f1, { seed: 1 });
    rows.push(
      `| ${variant} (${accepted.length} accepted${adapter ? ", adapter" : ""}${learnsMemory ? `, ${memory.size} in memory` : ""}) | ${ci(m.f1)} | ${d.mean.toFixed(3)} [${d.ci[0].toFixed(3)}, ${d.ci[1].toFixed(3)}] | ${m.liftAuc.toFixed(3)} | ${m.checkAuc.toFixed(3)} |`,
    );
  }
  await loaded.model.dispose();
  const text = [
    `Scripts: ${provenance.join("; ")}. Teaching commands: ${teaching.length}; held-out pairs: ${heldOut.length}.`,
    "",
    "| model | reading F1 vs the comment [95% CI] | F1 − base [paired 95% CI] | model's lift AUC | grounded check AUC |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
  writeFileSync(join(out, "teacher.md"), text + "\n");
  console.log(text);
}

async function lastAdapter(dir: string): Promise<string | null> {
  const cycles = readFileSync(join(dir, "cycles.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { adapterPath: string | null });
  const last = cycles.at(-1)?.adapterPath;
  return last ? join(dir, last) : await bestAdapter(dir);
}

if (require.main === module) void main();
