// The `inversion` command line: the same engine as the language server, for bigger machines and scripts.
import { parseArgs } from "node:util";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import type { RunOptions } from "../engine/api";
import { cycleTable } from "./report";
import { compareSvg, compareTable, distinctByCycle, type NamedRun } from "./compare";
import { RunStore, makeDirs, type RunLogs } from "../engine/store";
import { RUN_PARAMS, cliHelp, RunParamError, type RunParams } from "../../../common/runParams";
import { UsageError, modelOf, options, resumeOptions, runOptions, type Values } from "./args";
import { DEFAULT_MODEL_FILE, packageRoot } from "../knowledge/shipped";
import { shippedExamples } from "../knowledge/examples/shared";
import { exampleUrl } from "../knowledge/examples/links";
import { cmdEval, cmdRepair, cmdRun, cmdUnlock, cmdWarmStart, withEngine } from "./commands";
import { cmdCheck } from "./check";
import { cmdExplain } from "./explain";
import { cmdExport, cmdExportAdapter, cmdImportAdapter } from "./scaleOut";
import { cmdServe } from "./serve";

const USAGE = `inversion: a local model that improves at turning intent into shell commands.

Usage:
  inversion demo [--out DIR]                     a short run on the shipped shell model, scored on its held-out split
  inversion run [--model M] --out RUN_DIR [options] run self-improvement cycles
  inversion run [--model M] --out RUN_DIR --resume [--cycles N]   continue a run after its last complete cycle,
                                                 with the model (and --eval, --commands) it was started with, to
                                                 its recorded number of cycles, or to N in all (N at least those done)
  inversion repair RUN_DIR                       cut a run with a corrupt log line back to its last intact cycle
  inversion unlock RUN_DIR                       remove a run's lock held from another host (or left stale)
  inversion report RUN_DIR                       a table per cycle
  inversion report --compare RUN_A RUN_B ... [--svg FILE]   runs side by side (and as an SVG chart)
  inversion score [--model M] TASK COMMAND       how well COMMAND carries TASK
  inversion invert [--model M] COMMAND           what the model reads COMMAND as
  inversion explain [--json] COMMAND             each program and flag of COMMAND from this machine's man pages
  inversion check [--model M] [--format json] FILE...   comments that disagree with their commands (exit 1 on warnings)
  inversion eval --model M --eval FILE           score a model (and --adapter) on the held-out split of FILE
  inversion warmstart --model M --pairs FILE --out OUT.gguf [--mode full|lora] [--max-pairs N] [--epochs N]
                                                 fine-tune on the training split of FILE (held-out split excluded)
  inversion export RUN_DIR --format trl --out DIR [--model M]
                                                 the run's accepted examples as a TRL prompt-completion dataset
                                                 (the prompts the trainer saw) with a dataset card
  inversion import-adapter PEFT_DIR --base MODEL.gguf --out ADAPTER.gguf   a PEFT LoRA (TRL, vLLM) as a GGUF adapter
  inversion export-adapter ADAPTER.gguf --out PEFT_DIR [--base MODEL.gguf] [--hf-model ID]
                                                 a GGUF adapter as a PEFT LoRA (vLLM --enable-lora); docs/SCALE-OUT.md
  inversion serve [--model M] [--host H] [--port P] [--lora NAME=A.gguf] [--lora-dir DIR] [--allow-network]
                                                 the model behind an OpenAI-compatible API (vLLM's subset: prompt
                                                 log-probabilities, n, seed, stop, LoRA load/unload) on 127.0.0.1

Model: a local .gguf path or an hf: URI (downloaded once; offline, pass a local file). Also $INVERSION_MODEL.
Without either, the default model: ${DEFAULT_MODEL_FILE}, a small shell model this project trains from tldr-pages.

run parameters (also --gpu and --threads for every command that loads a model):
${cliHelp()}
  --topics a,b,c             topics the model writes tasks about
  --commands FILE            real commands (one per line, or a script) read back into held-out tasks
  --train-command "CMD"      with --trainer external: the command that trains each cycle (run without a shell;
                             placeholders {data} {data_file} {out} {base} {rank} {alpha} {lr} {epochs} {seed})
  --eval FILE                (task, command) pairs (TSV, JSONL, tldr-pages TSV): a seeded held-out split of
                             --eval-size pairs is scored after every cycle (NLC2CMD, exact, template, 95% CIs)
  --backend URL              run the model on a server (vLLM, SGLang, inversion serve) for run, score,
                             invert, eval and check: https, or http on this machine; the API key from
                             $INVERSION_BACKEND_API_KEY. A run still trains on --model here.
other options:
  --adapter FILE  --json
`;

export async function main(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  const [command, ...rest] = positionals;
  if (v.help || !command) {
    process.stdout.write(USAGE);
    return command || v.help ? 0 : 2;
  }
  switch (command) {
    case "run": {
      if (!v.out) throw new UsageError("Pass --out RUN_DIR: the directory the run is written to.");
      // A resume takes its model (and --eval, --commands) from the flags as a new run does, never from the run
      // directory, which refuses files other than those it was started with; its other parameters are the recorded ones.
      return cmdRun(v, v.resume ? resumeOptions(v, modelOf(v), v.out) : runOptions(v, modelOf(v), v.out));
    }
    case "demo":
      return cmdRun(v, await demoOptions(v));
    case "report": {
      if (v.compare) {
        if (rest.length < 1) throw new UsageError("Usage: inversion report --compare RUN_A RUN_B ... [--svg FILE]");
        const runs = await Promise.all(
          rest.map(async (d) => {
            const r = await reportedRun(d);
            const distinct = r.external.length ? distinctByCycle(r.external, r.cycles.length) : undefined;
            return { name: basename(resolve(d)), config: r.config as NamedRun["config"], cycles: r.cycles, distinct };
          }),
        );
        // Names are the directories' names, or the paths as given where two share a name.
        const shared = new Set(runs.map((r) => r.name).filter((n, i, all) => all.indexOf(n) !== i));
        for (const [i, run] of runs.entries()) if (shared.has(run.name)) run.name = rest[i]!;
        process.stdout.write(compareTable(runs) + "\n");
        if (v.svg) {
          await writeFile(v.svg, compareSvg(runs));
          process.stdout.write(`chart: ${v.svg}\n`);
        }
        return 0;
      }
      const dir = rest[0] ?? v.out;
      if (!dir) throw new UsageError("Usage: inversion report RUN_DIR");
      const run = await reportedRun(dir);
      if (v.json) process.stdout.write(JSON.stringify(run.cycles, null, 2) + "\n");
      else process.stdout.write(run.cycles.length ? cycleTable(run.cycles) + "\n" : `${dir} has no complete cycle yet.\n`);
      return 0;
    }
    case "score": {
      if (rest.length !== 2) throw new UsageError('Usage: inversion score --model M "TASK" "COMMAND"');
      const result = await withEngine(v, (e) => e.score(rest[0]!, rest[1]!, { compare: v.compare ?? false }));
      if (v.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
      else {
        process.stdout.write(`score ${result.score.value.toFixed(3)} (${result.score.scorer})\n${result.score.explanation}\n`);
        process.stdout.write(`model reads the command as: ${result.reconstruction || "(nothing)"}\n`);
        for (const [name, s] of Object.entries(result.altScores)) process.stdout.write(`${name}: ${s.value.toFixed(3)}: ${s.explanation}\n`);
        for (const g of result.gates) process.stdout.write(`${g.pass ? "pass" : "FAIL"} ${g.gate}: ${g.reason}\n`);
      }
      return 0;
    }
    case "invert": {
      if (rest.length !== 1) throw new UsageError('Usage: inversion invert --model M "COMMAND"');
      const reading = await withEngine(v, (e) => e.invert(rest[0]!));
      const index = shippedExamples();
      const hit = index ? index.nearestFor(rest[0]!) : null;
      const example = hit && { description: hit.example.description, command: hit.example.command, source: hit.source.name, licence: hit.source.licence, url: exampleUrl(hit) };
      if (v.json) process.stdout.write(JSON.stringify({ reconstruction: reading, example }) + "\n");
      else {
        // the model's reading first (what scripts read); then someone else's text, marked as such
        process.stdout.write(`${reading}\n`);
        if (example) process.stdout.write(`example (${example.source}, ${example.licence}): ${example.command} — ${example.description}\n`);
      }
      return 0;
    }
    case "explain":
      return cmdExplain(v, rest);
    case "repair":
      return cmdRepair(rest[0] ?? v.out);
    case "unlock":
      return cmdUnlock(rest[0] ?? v.out);
    case "check":
      return cmdCheck(v, rest);
    case "eval":
      return cmdEval(v);
    case "warmstart":
      return cmdWarmStart(v);
    case "export":
      return cmdExport(v, rest);
    case "import-adapter":
      return cmdImportAdapter(v, rest);
    case "export-adapter":
      return cmdExportAdapter(v, rest);
    case "serve":
      return cmdServe(v);
    default:
      throw new UsageError(`Unknown command "${command}". Run inversion --help.`);
  }
}

export function runCli(): void {
  process.env.GGML_NO_BACKTRACE ??= "1";
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      const e = err as Error & { code?: string };
      const usage = err instanceof UsageError || err instanceof RunParamError || e.code?.startsWith("ERR_PARSE_ARGS");
      process.stderr.write(`inversion: ${usage ? "" : "error: "}${e.message}\n`);
      process.exit(usage ? 2 : 1);
    },
  );
}

if (require.main === module) runCli();

/** A run's config and logs for `report`, every log checked as a resume checks it: a corrupt line stops both. */
async function reportedRun(dir: string): Promise<{ config: unknown } & RunLogs> {
  const store = new RunStore(resolve(dir));
  return { config: await store.readConfig(), ...(await store.logs()) };
}

/** The main job: a short real run on the shipped shell model, scored on the shipped held-out split every cycle. */
async function demoOptions(v: Values): Promise<RunOptions> {
  const dir = v.out ? resolve(v.out) : await mkdtemp(join(tmpdir(), "inversion-demo-"));
  await makeDirs(dir);
  const model = modelOf(v);
  const heldOut = join(packageRoot() ?? ".", DEMO_HELD_OUT);
  process.stdout.write(
    `Demo: ${v.model ? model : `the shipped shell model (${DEFAULT_MODEL_FILE})`}: it writes tasks, commands for them and reads each\n` +
      `command back; gated, high-scoring answers ${LEARN_WORDS[RUN_PARAMS.learn.default]}. After every cycle the model is scored\n` +
      `on ${DEMO_HELD_OUT}: tldr-pages pairs (CC BY 4.0) it never trained on.\n\n`,
  );
  const defaults = { cycles: "2", tasks: "16", candidates: "3" };
  return runOptions({ ...defaults, ...v, eval: v.eval ?? heldOut }, model, join(dir, "run"));
}

const DEMO_HELD_OUT = "models/tldr-heldout.jsonl";

/** What the accepted answers do under each --learn, in the demo's words. */
const LEARN_WORDS: Record<RunParams["learn"], string> = {
  lora: "train a LoRA adapter each cycle",
  memory: "join the run's memory, retrieved in later prompts",
  both: "train a LoRA adapter and join the run's memory each cycle",
  none: "are kept, and nothing is learned",
};
