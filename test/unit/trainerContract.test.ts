// The native trainer's contract is declared once (server/src/engine/train/contract.ts): the C++ side is generated from
// it, and the addon takes and returns exactly what it declares.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { GENERATED } from "../../scripts/gen-trainer-contract";
import { TRAIN_OPTIONS, TRAIN_RESULT } from "../../server/src/engine/train/contract";
import { backendDir, loadAddon, type NativeTrainOptions } from "../../server/src/engine/train/native";
import { writeFixtureModel } from "../../tools/gguf/fixtureModel";

const skip = process.env.INVERSION_SKIP_NATIVE_TESTS ? "INVERSION_SKIP_NATIVE_TESTS is set" : false;

test("the generated C++ contract is what contract.ts declares (run scripts/gen-trainer-contract.ts after editing it)", () => {
  for (const [path, text] of GENERATED) assert.equal(readFileSync(path, "utf8"), text(), path);
});

test("every option's default appears once, in the generated struct", () => {
  const header = readFileSync(GENERATED[0]![0], "utf8");
  for (const [name, spec] of Object.entries(TRAIN_OPTIONS)) {
    assert.match(header, new RegExp(`\\b${spec.cxx}\\b.*// ${name}:`), `${name} is a field of struct Options`);
  }
  const js = readFileSync(join(__dirname, "../../server/native/trainer/src/js_options.cpp"), "utf8");
  for (const name of Object.keys(TRAIN_OPTIONS)) assert.doesNotMatch(js, new RegExp(`"${name}"`), `js_options.cpp names ${name} itself`);
});

describe("the addon keeps the contract", { skip }, () => {
  let dir: string;
  let base: NativeTrainOptions;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "inversion-contract-"));
    const model = await writeFixtureModel(join(dir, "model.gguf"));
    base = {
      baseModelPath: model, outPath: join(dir, "a.gguf"), examples: [{ prompt: "Task: list files\nCommand:", completion: " ls" }],
      mode: "lora", rank: 2, alpha: 4, targets: ["attn_q"], epochs: 1, contextSize: 32, threads: 1, backendDir: backendDir(),
    };
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("train() resolves to exactly the fields TRAIN_RESULT declares", async () => {
    const r = await loadAddon().train(base);
    assert.deepEqual(Object.keys(r).sort(), Object.keys(TRAIN_RESULT).sort());
  });

  test("masking's old name, softmax, is read as completion", async () => {
    const r = await loadAddon().train({ ...base, outPath: join(dir, "old-name.gguf"), masking: "softmax" as NativeTrainOptions["masking"] });
    assert.match(r.masking, /^completion-rows/);
  });

  const refusals: [string, Record<string, unknown>, RegExp][] = [
    ["an option of the wrong type", { threads: "2" }, /^threads must be an integer$/],
    ["a fractional integer", { epochs: 1.5 }, /^epochs must be an integer$/],
    ["an unknown choice", { masking: "sometimes" }, /^masking must be one of completion, none$/],
    ["a value below its declared minimum", { epochs: 0 }, /^epochs must be at least 1 \(got 0\)$/],
    ["an example without a completion", { examples: [{ prompt: "x" }] }, /^example 0 needs string prompt and completion$/],
  ];
  for (const [what, options, message] of refusals) {
    test(`train() rejects ${what}, naming the option`, async () => {
      await assert.rejects(loadAddon().train({ ...base, outPath: join(dir, `${what}.gguf`), ...options } as NativeTrainOptions), (e: Error) => message.test(e.message));
    });
  }
});
