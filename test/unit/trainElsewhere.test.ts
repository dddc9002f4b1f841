// Training elsewhere (docs/SCALE-OUT.md): `inversion export --format trl` writes exactly the prompts and completions
// the local trainer sees (toTrainExample); `--trainer external` runs a user's command on a cycle's data without a
// shell, loads the PEFT adapter it leaves, and a cancel kills it.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { tempDir } from "../helpers/fixture";
import { cli } from "../helpers/cli";
import { writeFixtureModel } from "../../tools/gguf/fixtureModel";
import { DEFAULT_RUN_OPTIONS, runLoop } from "../../server/src/engine/api";
import { toTrainExample, type RunOptions } from "../../server/src/engine/loop";
import { loadModel } from "../../server/src/engine/runtime";
import { ModelSession } from "../../server/src/engine/session";
import { promptShots } from "../../server/src/engine/shots";
import { RunStore } from "../../server/src/engine/store";
import { exportTrainingData } from "../../server/src/engine/trainingData";
import { trlLine } from "../../server/src/engine/train/dataset";
import { ExternalTrainer, parseTrainCommand } from "../../server/src/engine/train/external";
import { AbortError } from "../../server/src/engine/abort";
import { GGUF_VALUE, writeGgufFile, GGML_TYPE, type GgufTensorData } from "../../server/src/engine/adapters/gguf";
import { exportPeftAdapter } from "../../server/src/engine/adapters/peft";
import type { Candidate, TrainExample } from "../../server/src/engine/types";

let dir: string;
let cleanup: () => Promise<void>;
let model: string;

before(async () => {
  ({ dir, cleanup } = await tempDir("inversion-elsewhere-"));
  model = await writeFixtureModel(join(dir, "fixture.gguf"), { seed: 1 });
});
after(() => cleanup());


const smallRun = (out: string, overrides: Partial<RunOptions> = {}): RunOptions => ({
  ...DEFAULT_RUN_OPTIONS,
  modelPath: model,
  out,
  cycles: 1,
  tasks: 3,
  candidates: 2,
  threads: 1,
  gpu: "off",
  heldOutTasks: 1,
  selection: "all",
  learn: "none",
  ...overrides,
});

/** What the loop hands its trainer for these candidates: toTrainExample with the run's shots, fitted by its model. */
async function trainerView(accepted: Candidate[], examples: number, contextSize?: number): Promise<TrainExample[]> {
  const loaded = await loadModel({ modelPath: model, gpu: "off", threads: 1, contextSize });
  const session = await ModelSession.create(loaded, { sequences: 1 });
  try {
    const shots = promptShots(examples);
    return accepted.map((c) => toTrainExample(c, shots, session));
  } finally {
    await session.dispose();
    await loaded.model.dispose();
  }
}

describe("inversion export --format trl", () => {
  test("each line is toTrainExample's prompt and completion for an accepted example, in order; the card names run, model, counts and licences", async () => {
    const runDir = join(dir, "export-run");
    await runLoop(smallRun(runDir));
    const examples = await new RunStore(runDir).examples();
    const accepted = examples.filter((c) => c.accepted);
    assert.ok(accepted.length >= 3, `the run accepted examples (${accepted.length})`);
    const expected = await trainerView(accepted, DEFAULT_RUN_OPTIONS.examples);

    const out = join(dir, "export-data");
    const r = await exportTrainingData({ runDir, modelPath: model, out, gpu: "off", threads: 1 });
    assert.equal(r.examples, accepted.length);
    const lines = readFileSync(join(out, "train.jsonl"), "utf8").trimEnd().split("\n");
    assert.deepEqual(lines, expected.map(trlLine));
    for (const [i, line] of lines.entries()) assert.deepEqual(JSON.parse(line), { prompt: expected[i]!.prompt, completion: expected[i]!.completion });
    assert.ok(expected.some((e) => e.prompt.includes("\n\nTask:")), "prompts carry retrieved examples");

    const card = readFileSync(join(out, "README.md"), "utf8");
    assert.match(card, /^---\nlicense: other\n[\s\S]*path: train\.jsonl\n---\n/);
    assert.ok(card.includes(runDir) && card.includes(model), "the card names the run and the model");
    assert.match(card, new RegExp(`\\| 1 \\| ${accepted.length} \\|`));
    assert.match(card, /\| \[tldr-pages \(common, linux\)\]\(https:\/\/github\.com\/tldr-pages\/tldr\) at `08e345f42639` \| \[CC BY 4\.0\]/);
    assert.ok(r.promptsWithShots > 0);

    // the CLI writes the same lines, and refuses another model than the run's
    const viaCli = await cli(["export", runDir, "--format", "trl", "--out", join(dir, "export-cli"), "--model", model, "--threads", "1", "--gpu", "off"]);
    assert.equal(viaCli.code, 0, viaCli.stderr);
    assert.equal(readFileSync(join(dir, "export-cli", "train.jsonl"), "utf8"), readFileSync(join(out, "train.jsonl"), "utf8"));
    const other = await writeFixtureModel(join(dir, "other.gguf"), { seed: 2 });
    const refused = await cli(["export", runDir, "--format", "trl", "--out", join(dir, "export-other"), "--model", other]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /was recorded with the model .*fixture\.gguf, but the model given is .*other\.gguf/);
    const badFormat = await cli(["export", runDir, "--format", "jsonl", "--out", join(dir, "x"), "--model", model]);
    assert.equal(badFormat.code, 2);
    assert.match(badFormat.stderr, /--format must be trl/);
  });
});

describe("--trainer external", () => {
  test("the command line is split into words without a shell; what only a shell understands is refused", () => {
    assert.deepEqual(parseTrainCommand(`trl sft --dataset_name {data} --output_dir '{out}' "a b" c\\ d`), ["trl", "sft", "--dataset_name", "{data}", "--output_dir", "{out}", "a b", "c d"]);
    assert.equal(parseTrainCommand("~/venv/bin/trl sft")[0], `${process.env.HOME}/venv/bin/trl`);
    assert.deepEqual(parseTrainCommand(`node -e 'setInterval(() => {}, 1000)'`), ["node", "-e", "setInterval(() => {}, 1000)"]);
    assert.throws(() => parseTrainCommand("train.sh {data} | tee log"), /"\|" would mean something to a shell.*runs without a shell/);
    assert.throws(() => parseTrainCommand("train.sh > log"), /">" would mean something to a shell/);
    assert.throws(() => parseTrainCommand('train.sh "$HOME"'), /"\$" inside double quotes/);
    assert.throws(() => parseTrainCommand("train.sh 'open"), /single quote is not closed/);
    assert.throws(() => parseTrainCommand("train.sh {dataset}"), /\{dataset\} is not a placeholder \(known: \{data\} \{data_file\} \{out\}/);
    assert.throws(() => parseTrainCommand("   "), /the command is empty/);
  });

  test("a run trains each cycle with the command: it reads the cycle's TRL data, its PEFT adapter is imported and measured", async () => {
    // the "trainer": checks and keeps the data it was given, and leaves a prepared PEFT adapter (made from a GGUF one)
    const prepared = join(dir, "prepared adapter");
    const gguf = join(dir, "prepared.gguf");
    const tensors: GgufTensorData[] = [];
    for (const layer of [0, 1]) {
      for (const [m, rows] of [["attn_q", 32], ["attn_k", 16]] as const) {
        tensors.push({ name: `blk.${layer}.${m}.weight.lora_a`, dims: [32, 2], type: GGML_TYPE.F32, data: Buffer.from(new Float32Array(64).fill(0.01).buffer) });
        tensors.push({ name: `blk.${layer}.${m}.weight.lora_b`, dims: [2, rows], type: GGML_TYPE.F32, data: Buffer.from(new Float32Array(2 * rows).fill(0.02).buffer) });
      }
    }
    tensors.sort((a, b) => (a.name < b.name ? -1 : 1));
    writeGgufFile(gguf, [
      { key: "general.type", type: GGUF_VALUE.string, value: "adapter" },
      { key: "general.architecture", type: GGUF_VALUE.string, value: "llama" },
      { key: "adapter.type", type: GGUF_VALUE.string, value: "lora" },
      { key: "adapter.lora.alpha", type: GGUF_VALUE.f32, value: 4 },
    ], tensors);
    exportPeftAdapter({ adapterPath: gguf, outDir: prepared, baseModelPath: model });
    const seen = join(dir, "seen");
    mkdirSync(seen);
    const script = join(dir, "fake-train.cjs");
    writeFileSync(
      script,
      `const fs = require("fs"), path = require("path");
const [data, out, prepared, seen, rank] = process.argv.slice(2);
const text = fs.readFileSync(path.join(data, "train.jsonl"), "utf8");
const lines = text.trim().split("\\n").map((l) => JSON.parse(l));
if (!lines.length || !lines.every((l) => typeof l.prompt === "string" && typeof l.completion === "string")) process.exit(3);
if (!fs.readFileSync(path.join(data, "README.md"), "utf8").includes("path: train.jsonl")) process.exit(4);
fs.writeFileSync(path.join(seen, "train.jsonl"), text);
fs.writeFileSync(path.join(seen, "rank"), rank);
for (const f of ["adapter_config.json", "adapter_model.safetensors"]) fs.copyFileSync(path.join(prepared, f), path.join(out, f));
fs.writeFileSync(path.join(out, "trainer_state.json"), JSON.stringify({ global_step: 3, log_history: [{ loss: 2.5 }, { loss: 2 }, { loss: 1.5 }, { train_runtime: 1 }] }));
console.log("fake training done");
`,
    );
    const runDir = join(dir, "external-run");
    const command = `node ${script} {data} {out} '${prepared}' ${seen} {rank}`;
    const r = await cli(["run", "--model", model, "--out", runDir, "--cycles", "1", "--tasks", "3", "--candidates", "2", "--held-out", "1", "--select", "all", "--threads", "1", "--gpu", "off", "--learn", "lora", "--trainer", "external", "--train-command", command]);
    assert.equal(r.code, 0, r.stderr);
    const cycle = (await new RunStore(runDir).cycles())[0]!;
    assert.ok(cycle.train, "the cycle trained");
    assert.equal(cycle.train.trainer, "external");
    assert.deepEqual([cycle.train.lossFirst, cycle.train.lossLast, cycle.train.steps], [2.5, 1.5, 3]);
    assert.ok(existsSync(join(runDir, cycle.train.outPath)), "the imported adapter is in the run");
    assert.ok(cycle.after, "held-out tasks were measured with the imported adapter (node-llama-cpp loaded it)");
    assert.equal(readFileSync(join(seen, "rank"), "utf8"), "16");
    // the command saw exactly what the local trainer would have
    const accepted = (await new RunStore(runDir).examples()).filter((c) => c.accepted);
    const expected = await trainerView(accepted, DEFAULT_RUN_OPTIONS.examples);
    assert.deepEqual(readFileSync(join(seen, "train.jsonl"), "utf8").trimEnd().split("\n"), expected.map(trlLine));
    assert.ok(!existsSync(join(runDir, "checkpoints", "cycle-001")), "the work directory is removed after the cycle");
  });

  test("a failing command, a command that leaves no adapter, and a missing program are errors naming what to do", async () => {
    const base = { baseModelPath: model, examples: [{ prompt: "Task: list files\nCommand:", completion: " ls\n" }], mode: "lora" as const, rank: 4, alpha: 8, targets: [], learningRate: 1e-4, epochs: 1, batchSize: 1, contextSize: 64, threads: 1, seed: 1 };
    const work = (n: string): string => join(dir, `work-${n}`);
    await assert.rejects(new ExternalTrainer(`node -e 'console.error("out of GPU"); process.exit(7)'`).train({ ...base, outPath: join(dir, "f1.gguf"), checkpointDir: work("1") }), /exited with code 7:\nout of GPU\n\(its whole output: .*command\.log\)/);
    await assert.rejects(new ExternalTrainer(`node -e 0`).train({ ...base, outPath: join(dir, "f2.gguf"), checkpointDir: work("2") }), /exited 0 but left no PEFT adapter in \{out\}.*--output_dir \{out\}/);
    await assert.rejects(new ExternalTrainer(`no-such-trainer-program {data}`).train({ ...base, outPath: join(dir, "f3.gguf"), checkpointDir: work("3") }), /could not start the training command no-such-trainer-program: not found/);
    const bad = await cli(["run", "--model", model, "--out", join(dir, "r-bad"), "--trainer", "external", "--train-command", "train.sh | tee"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--train-command: "\|" would mean something to a shell/);
    const missing = await cli(["run", "--model", model, "--out", join(dir, "r-missing"), "--trainer", "external"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /--trainer external needs the training command: pass --train-command/);
    assert.ok(!existsSync(join(dir, "r-missing")) && !existsSync(join(dir, "r-bad")), "nothing is written");
  });

  test("a cancel stops the command (its whole process group) and rejects with AbortError", async () => {
    const pidFile = join(dir, "child.pid");
    const trainer = new ExternalTrainer(`node -e 'require("fs").writeFileSync(process.argv[1], String(process.pid)); setInterval(() => {}, 1000)' ${pidFile}`);
    const ac = new AbortController();
    const started = Date.now();
    const training = trainer.train({
      baseModelPath: model, examples: [{ prompt: "Task: x\nCommand:", completion: " ls\n" }], mode: "lora", rank: 4, alpha: 8, targets: [], learningRate: 1e-4,
      epochs: 1, batchSize: 1, contextSize: 64, threads: 1, seed: 1, outPath: join(dir, "cancelled.gguf"), checkpointDir: join(dir, "work-cancel"), signal: ac.signal,
    });
    while (!existsSync(pidFile)) await new Promise((r) => setTimeout(r, 50));
    const pid = Number(readFileSync(pidFile, "utf8"));
    ac.abort();
    await assert.rejects(training, (e: unknown) => e instanceof AbortError);
    assert.ok(Date.now() - started < 10_000);
    assert.throws(() => process.kill(pid, 0), /ESRCH/, "the command's process is gone");
    assert.deepEqual(readdirSync(dir).filter((n) => n === "cancelled.gguf"), []);
  });
});
