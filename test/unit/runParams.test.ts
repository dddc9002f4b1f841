// The run parameters are declared once (common/runParams.ts); these tests fail when anything drifts from it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { RUN_PARAMS, RUN_PARAM_KEYS, SETTING_PARAM_KEYS, cliHelp, defaultRunParams, manifestEntry, settingName, withCurrentNames } from "../../common/runParams";
import { DEFAULT_SETTINGS } from "../../common/protocol";
import { DEFAULT_RUN_OPTIONS } from "../../server/src/engine/api";
import { normalizeSettings } from "../../server/src/lsp/settings";
import { runOptionsFromSettings as serverRunOptions } from "../../server/src/lsp/runs";
import { options as cliFlags, runOptions as cliRunOptions, type Values } from "../../server/src/cli/args";

const manifest = JSON.parse(readFileSync(join(__dirname, "../../package.json"), "utf8")) as {
  contributes: { configuration: { properties: Record<string, Record<string, unknown>> } };
};

test("package.json's run-parameter settings match their declaration (else run scripts/sync-settings.ts)", () => {
  const properties = manifest.contributes.configuration.properties;
  for (const key of SETTING_PARAM_KEYS) {
    const { order: _order, ...entry } = properties[settingName(key)] ?? {};
    assert.deepEqual(entry, manifestEntry(key), settingName(key));
  }
});

test("every setting in package.json is one the extension reads (no dead settings)", () => {
  const known = Object.entries(DEFAULT_SETTINGS).flatMap(([key, value]) =>
    value !== null && typeof value === "object" ? Object.keys(value).map((sub) => `inversion.${key}.${sub}`) : [`inversion.${key}`],
  );
  assert.deepEqual(Object.keys(manifest.contributes.configuration.properties).filter((name) => !known.includes(name)), []);
});

test("the original experiment's scorer is `original`; its old name `seed` is an alias on the CLI and in recorded runs", () => {
  assert.equal(cliRunOptions({ scorer: "seed" } as unknown as Values, "/m.gguf", "/out").scorer, "original");
  assert.equal(cliRunOptions({ scorer: "original" } as unknown as Values, "/m.gguf", "/out").scorer, "original");
  assert.deepEqual(withCurrentNames({ scorer: "seed", seed: 7 }), { scorer: "original", seed: 7 });
  assert.throws(() => cliRunOptions({ scorer: "judge" } as unknown as Values, "/m.gguf", "/out"), /--scorer must be one of lift, original, coder-reviewer/);
});

test("the judge with the weights being trained is `learner`; its old name `policy` is read as it, on the CLI with a note", () => {
  const notes: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((text: string) => notes.push(text) > 0) as unknown as typeof process.stderr.write;
  try {
    assert.equal(cliRunOptions({ judge: "policy" } as unknown as Values, "/m.gguf", "/out").judge, "learner");
  } finally {
    process.stderr.write = write;
  }
  assert.deepEqual(notes, ["inversion: --judge policy is now --judge learner; reading it as that\n"]);
  assert.deepEqual(withCurrentNames({ judge: "policy" }), { judge: "learner" });
});

test("every run parameter has a CLI flag and a line in --help", () => {
  const help = cliHelp();
  for (const key of RUN_PARAM_KEYS) {
    assert.ok(RUN_PARAMS[key].flag in cliFlags, `--${RUN_PARAMS[key].flag}`);
    assert.match(help, new RegExp(`--${RUN_PARAMS[key].flag}\\b`));
  }
});

test("the engine, the settings, the CLI and the server start from the same defaults", () => {
  const defaults = defaultRunParams();
  const settings = normalizeSettings({});
  const fromCli = cliRunOptions({} as Values, "/m.gguf", "/out");
  const fromServer = serverRunOptions({ ...settings, model: "/m.gguf" }, { out: "/out" });
  for (const key of RUN_PARAM_KEYS) {
    assert.equal(DEFAULT_RUN_OPTIONS[key], defaults[key], `engine ${key}`);
    assert.equal(fromCli[key], defaults[key], `CLI ${key}`);
    assert.equal(fromServer[key], defaults[key], `server ${key}`);
  }
  for (const key of SETTING_PARAM_KEYS) assert.equal(DEFAULT_SETTINGS[key as keyof typeof DEFAULT_SETTINGS], defaults[key], `setting ${key}`);
});

test("a setting that breaks its declaration falls back to the default and says so; integers are not rounded", () => {
  const problems: string[] = [];
  const s = normalizeSettings({ tasks: 2.5, cycles: 4, temperature: 1e9 }, (m) => problems.push(m));
  assert.deepEqual([s.tasks, s.cycles, s.temperature], [RUN_PARAMS.tasks.default, 4, RUN_PARAMS.temperature.default]);
  assert.deepEqual(problems, [
    "inversion.tasks must be an integer at least 1 and at most 10000 (got 2.5); using 20.",
    "inversion.temperature must be a number at least 0 and at most 5 (got 1000000000); using 0.7.",
  ]);
});
