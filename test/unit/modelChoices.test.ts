// "Inversion: Select model" as a new user meets it: a way back to the shipped model, the models already on the
// machine, and where models come from; and the setting it writes, findable in the User tab of the settings.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HF_EXAMPLE, foundModels, modelChoices } from "../../client/src/modelChoices";
import { isRemoteModelRef } from "../../common/modelRef";

const downloads = "~/.node-llama-cpp/models";

test("Select model offers the shipped model first, marked in use when no model is set; choosing it is the way back", () => {
  const fresh = modelChoices({ current: "", defaultName: "inversion-shell", found: [], downloads });
  assert.equal(fresh[0]!.id, "default");
  assert.equal(fresh[0]!.label, "$(package) Shipped model: inversion-shell");
  assert.equal(fresh[0]!.description, "comes with Inversion · in use");
  assert.match(fresh[0]!.detail!, /nothing to download\. Clears your inversion\.model setting/);
  const mine = modelChoices({ current: "/m/coder.gguf", defaultName: "inversion-shell", found: ["/m/coder.gguf", "/m/other.gguf"], downloads });
  assert.deepEqual(
    mine.map((c) => [c.id, c.description ?? ""]),
    [
      ["default", "comes with Inversion"],
      ["found", "/m/coder.gguf · in use"],
      ["found", "/m/other.gguf"],
      ["file", ""],
      ["hf", ""],
      ["browse", ""],
    ],
  );
});

test("a user with no .gguf is told where models come from: Hugging Face, an example URI, where downloads go", () => {
  const choices = modelChoices({ current: "", defaultName: "inversion-shell", found: [], downloads });
  const byId = Object.fromEntries(choices.map((c) => [c.id, c]));
  assert.match(byId.file!.detail!, /GGUF: llama\.cpp's model format\. No such file yet\?/);
  assert.ok(byId.hf!.detail!.includes(downloads), "where the download goes");
  assert.ok(isRemoteModelRef(HF_EXAMPLE) && HF_EXAMPLE.endsWith(".gguf"), "the URI box shows a real example");
  assert.match(byId.browse!.label, /Where do models come from\?/);
  // The quick pick shows about 90 characters of a detail line: each one says its point within them.
  for (const c of choices) assert.ok((c.detail ?? "").length <= 90, `${c.id}: ${c.detail}`);
});

test("models already on the machine are offered: .gguf files of the model directories, newest first", () => {
  const dir = mkdtempSync(join(tmpdir(), "inversion-models-"));
  try {
    const a = join(dir, "a", "old.gguf");
    const b = join(dir, "b", "new.GGUF");
    mkdirSync(join(dir, "a"));
    mkdirSync(join(dir, "b"));
    mkdirSync(join(dir, "b", "dir.gguf"));
    writeFileSync(a, "x");
    writeFileSync(b, "x");
    writeFileSync(join(dir, "a", "notes.txt"), "x");
    utimesSync(a, new Date(1000), new Date(1000));
    assert.deepEqual(foundModels([join(dir, "a"), join(dir, "b"), join(dir, "missing")]), [b, a]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("inversion.model can be set in the User tab of a remote window's settings (not machine-scoped, which showed only under Remote)", () => {
  const manifest = JSON.parse(readFileSync(join(__dirname, "../../package.json"), "utf8")) as { contributes: { configuration: { properties: Record<string, { scope?: string }> } } };
  const scope = manifest.contributes.configuration.properties["inversion.model"]!.scope;
  assert.ok(scope === undefined || scope === "window" || scope === "resource", `scope ${scope}`);
});
