// Shared test setup: a temp dir and the fixture model, written once per test file.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFixtureModel } from "../../tools/gguf/fixtureModel";

process.env.GGML_NO_BACKTRACE ??= "1";

export async function tempDir(prefix = "inversion-test-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function fixtureModel(dir: string, name = "fixture.gguf"): Promise<string> {
  return writeFixtureModel(join(dir, name), { seed: 1 });
}
