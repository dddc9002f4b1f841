// The hostile-input corpus of the editor side (issue 11.1, 11.9, 11.10): the parse worker's budgets, a bad hover
// adapter, and whose values of the model settings a workspace may set. Over stdio: test/server/hostile.test.ts.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir, fixtureModel } from "../helpers/fixture";
import { ScriptParseWorker } from "../../server/src/shell/parseOffThread";
import { ModelHost } from "../../server/src/lsp/modelHost";
import { DEFAULT_SETTINGS, type InversionSettings } from "../../common/protocol";
import { decideWorkspaceSettings, type ScopedValue } from "../../client/src/workspaceSettingsDecision";

let dir: string;
let cleanup: () => Promise<void>;
let model: string;

before(async () => {
  ({ dir, cleanup } = await tempDir("inversion-hostile-editor-"));
  model = await fixtureModel(dir);
});
after(() => cleanup());

// 11.9 -------------------------------------------------------------------------------------------------------------
const TINY_COMMANDS = (n: number): string => "#a\nb\n".repeat(n);

test("a script over the parser's node budget is refused with its node count", async () => {
  const worker = new ScriptParseWorker({ timeMs: 60_000, maxNodes: 1000, heapMb: 512 });
  await assert.rejects(worker.parse(TINY_COMMANDS(1000)), { name: "ParseRefusedError", message: "the script has 4001 syntax nodes, over the parser's budget of 1000" });
});

test("a parse past its time budget is stopped, and the next script parses on a fresh worker", async () => {
  const worker = new ScriptParseWorker({ timeMs: 2000, maxNodes: 1e9, heapMb: 2048 });
  const slow = worker.parse(TINY_COMMANDS(800_000)); // 4 MB: walking 3.2 million nodes takes far longer than 2 s
  const next = worker.parse("# list the files\nls -la\n");
  await assert.rejects(slow, { name: "ParseRefusedError", message: "parsing took over 2 s" });
  assert.deepEqual(await next, [{ startLine: 1, startCol: 0, endLine: 1, endCol: 6, text: "ls -la", intent: "list the files" }]);
});

test("a queued parse of a version edited since is skipped, not run", async () => {
  const worker = new ScriptParseWorker();
  await assert.rejects(worker.parse("ls", () => false), { name: "ParseRefusedError", message: "a newer version replaced it" });
});

// 11.10 ------------------------------------------------------------------------------------------------------------
async function hoverModelWith(adapter: string): Promise<{ adapterPath: string | null | undefined; logs: string[]; status: string | null }> {
  const logs: string[] = [];
  let status: string | null = null;
  const host = new ModelHost({ status: (s) => (status = s.message), missing: () => undefined, log: (m) => logs.push(m) }, (fn) => void fn());
  const settings: InversionSettings = { ...DEFAULT_SETTINGS, model, threads: 1, gpu: "off", hoverAdapter: adapter };
  await host.configure(settings);
  const engine = await host.get();
  const adapterPath = engine?.adapterPath;
  await host.dispose();
  return { adapterPath: engine ? adapterPath ?? null : undefined, logs, status };
}

test("a corrupt hover adapter falls back to the base model with a message naming it", async () => {
  const corrupt = join(dir, "corrupt-adapter.gguf");
  await writeFile(corrupt, Buffer.concat([Buffer.from("GGUF"), Buffer.alloc(60, 0xff)]));
  const { adapterPath, status } = await hoverModelWith(corrupt);
  assert.deepEqual({ adapterPath, statusNamesAdapter: status?.startsWith(`The hover adapter ${corrupt} could not be loaded`) && status.endsWith("hovers use the base model.") }, { adapterPath: null, statusNamesAdapter: true });
});

test("a model file given as the hover adapter falls back to the base model", async () => {
  const { adapterPath, logs } = await hoverModelWith(model);
  assert.deepEqual({ adapterPath, logged: logs.some((m) => m.startsWith(`The hover adapter ${model} could not be loaded`)) }, { adapterPath: null, logged: true });
});

// 11.1 -------------------------------------------------------------------------------------------------------------
const fromRepo: ScopedValue[] = [
  { name: "model", user: "/home/me/model.gguf", workspace: "https://example.com/other.gguf" },
  { name: "hoverAdapter", user: undefined, workspace: undefined },
];

test("an untrusted workspace's model settings are never used nor asked about", () => {
  const d = decideWorkspaceSettings(false, fromRepo, { allow: true, values: decideWorkspaceSettings(true, fromRepo, undefined).fingerprint });
  assert.deepEqual({ use: d.useWorkspaceValues, ask: d.ask }, { use: false, ask: false });
});

test("a trusted workspace's model settings are asked about first, and the user's values apply meanwhile", () => {
  const d = decideWorkspaceSettings(true, fromRepo, undefined);
  assert.deepEqual({ use: d.useWorkspaceValues, ask: d.ask, asking: d.asking.map((v) => v.name) }, { use: false, ask: true, asking: ["model"] });
});

test("the remembered answer for the same workspace values is used without asking again", () => {
  const { fingerprint } = decideWorkspaceSettings(true, fromRepo, undefined);
  const d = decideWorkspaceSettings(true, fromRepo, { allow: true, values: fingerprint });
  assert.deepEqual({ use: d.useWorkspaceValues, ask: d.ask }, { use: true, ask: false });
});

test("a workspace that changes its model setting after the answer is asked about again", () => {
  const { fingerprint } = decideWorkspaceSettings(true, fromRepo, undefined);
  const changed = [{ ...fromRepo[0]!, workspace: "hf:someone/else/model.gguf" }, fromRepo[1]!];
  const d = decideWorkspaceSettings(true, changed, { allow: true, values: fingerprint });
  assert.deepEqual({ use: d.useWorkspaceValues, ask: d.ask }, { use: false, ask: true });
});

test("a workspace that sets the same values as the user is not asked about", () => {
  const same = [{ name: "model", user: "/home/me/model.gguf", workspace: "/home/me/model.gguf" }];
  assert.equal(decideWorkspaceSettings(true, same, undefined).ask, false);
});
