// `inversion check` as a quality measure (issues 10 and 18), with the grounded score and the default model's readings:
//  - false warnings per 100 commented commands on real, correct scripts (every /etc/init.d/* and 20 commented
//    shell scripts under /usr/bin);
//  - the share of seeded mismatches caught: the same scripts with each comment moved to the next commented command.
// $INVERSION_MODEL overrides the model, $INVERSION_CHECK_SCRIPTS (colon-separated paths) the scripts.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { Engine, MAX_COMMAND_CHARS } from "../server/src/engine/api";
import { loadShellParser, type ScriptCommand, type ShellParser } from "../server/src/shell/parser";
import { defaultModelPath, DEFAULT_MODEL_FILE } from "../server/src/knowledge/shipped";
import { checkableEntries, checkComment } from "../server/src/check/lint";
import { intentWithoutDirectives } from "../server/src/check/directives";
import { selfCheck, selfCheckSentence } from "../server/src/check/selfCheck";
import { groundedSource, shippedGrounding, type Grounding } from "../server/src/check/grounded";

interface Tally {
  commented: number;
  /** Commented commands the grounded score can judge (a program people's examples know; not `[`, `set`, …). */
  judgeable: number;
  judgeableSwaps: number;
  judgeableCaught: number;
  warnings: number;
  infos: number;
  swaps: number;
  caughtWarning: number;
  caughtAny: number;
}

const isText = (path: string): string | null => {
  try {
    if (!statSync(path).isFile()) return null;
    const text = readFileSync(path, "utf8");
    return text.includes("\u0000") ? null : text;
  } catch {
    return null;
  }
};

/** Every readable /etc/init.d script, and the first 20 (by name) shell scripts in /usr/bin with a commented command. */
export function benchScripts(parser: ShellParser): string[] {
  if (process.env.INVERSION_CHECK_SCRIPTS) return process.env.INVERSION_CHECK_SCRIPTS.split(":").filter(Boolean);
  const list = (dir: string): string[] => readdirSync(dir).sort().map((n) => join(dir, n));
  const initd = list("/etc/init.d").filter((p) => isText(p) !== null);
  const usrBin = list("/usr/bin")
    .filter((p) => {
      const text = isText(p);
      return !!text && /^#!.*\b(ba|da|k)?sh\b/.test(text) && text.length < 200_000 && checkableEntries(parser.parseScript(text), text, MAX_COMMAND_CHARS).length > 0;
    })
    .slice(0, 20);
  return [...initd, ...usrBin];
}

async function measureScript(engine: Engine, grounding: Grounding, parser: ShellParser, file: string, check: Awaited<ReturnType<typeof selfCheck>>, tally: Tally): Promise<void> {
  const text = isText(file);
  if (!text) return;
  const entries = checkableEntries(parser.parseScript(text), text, MAX_COMMAND_CHARS);
  const readingOf = (command: string): Promise<string> => engine.invert(command);
  const deps = { grounding, check, readingOf };
  for (const [i, entry] of entries.entries()) {
    tally.commented++;
    const own = await checkComment(entry, deps);
    if (own.support.judgeable) tally.judgeable++;
    if (own.finding?.severity === "warning") tally.warnings++;
    else if (own.finding) tally.infos++;
    const next = entries[(i + 1) % entries.length]!;
    if (entries.length < 2 || intentWithoutDirectives(next.intent) === intentWithoutDirectives(entry.intent)) continue;
    const swapped: ScriptCommand = { ...entry, intent: next.intent };
    const r = await checkComment(swapped, deps);
    tally.swaps++;
    if (r.finding?.severity === "warning") tally.caughtWarning++;
    if (r.finding) tally.caughtAny++;
    if (r.support.judgeable) tally.judgeableSwaps++;
    if (r.support.judgeable && r.finding) tally.judgeableCaught++;
  }
}

export async function benchCheck(): Promise<void> {
  console.log("\n## inversion check on real scripts (issue 10)\n");
  const modelPath = process.env.INVERSION_MODEL || defaultModelPath();
  if (!modelPath) throw new Error(`no default model (${DEFAULT_MODEL_FILE}); set INVERSION_MODEL`);
  const parser = await loadShellParser();
  const scripts = benchScripts(parser);
  const grounding = shippedGrounding(async () => parser);
  if ("error" in grounding) throw new Error(grounding.error);
  const engine = await Engine.open({ modelPath, gpu: "auto", threads: Number(process.env.INVERSION_THREADS) || undefined });
  try {
    const check = await selfCheck(groundedSource(grounding));
    console.log(`model ${modelPath}: ${selfCheckSentence(check)} (AUC ${check.auc.toFixed(3)})\n`);
    const tally: Tally = { commented: 0, judgeable: 0, judgeableSwaps: 0, judgeableCaught: 0, warnings: 0, infos: 0, swaps: 0, caughtWarning: 0, caughtAny: 0 };
    const t0 = performance.now();
    for (const file of scripts) await measureScript(engine, grounding, parser, file, check, tally);
    const seconds = (performance.now() - t0) / 1000;
    const per100 = (n: number): string => (tally.commented ? ((100 * n) / tally.commented).toFixed(1) : "n/a");
    const share = (n: number): string => (tally.swaps ? `${((100 * n) / tally.swaps).toFixed(0)}%` : "n/a");
    const judged = (n: number): string => (tally.judgeableSwaps ? `${((100 * n) / tally.judgeableSwaps).toFixed(0)}% of ${tally.judgeableSwaps}` : "n/a");
    console.log("| scripts | commented commands | judgeable | false warnings / 100 | also info / 100 | seeded swaps | caught (warning) | caught (warning or info) | caught among judgeable swaps | seconds |");
    console.log("|---|---|---|---|---|---|---|---|---|---|");
    console.log(`| ${scripts.length} | ${tally.commented} | ${tally.judgeable} | ${per100(tally.warnings)} | ${per100(tally.infos)} | ${tally.swaps} | ${share(tally.caughtWarning)} | ${share(tally.caughtAny)} | ${judged(tally.judgeableCaught)} | ${seconds.toFixed(0)} |`);
    console.log("\nTargets with the default model: ≤ 5 false warnings per 100 commented commands, ≥ 70% of swaps caught.");
  } finally {
    await engine.dispose();
  }
}
