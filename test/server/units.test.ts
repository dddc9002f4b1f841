// Pure pieces of the language server: text guard, settings, hover-adapter resolution, run options, work queue.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { guardText } from "../../server/src/lsp/textGuard";
import { normalizeSettings } from "../../server/src/lsp/settings";
import { ModelHost, modelProblem, resolveHoverAdapter } from "../../server/src/lsp/modelHost";
import { RunRequests } from "../../server/src/lsp/runRequests";
import { runOptionsFromSettings, runOverridesOf } from "../../server/src/lsp/runs";
import { PreemptedError, WorkQueue } from "../../server/src/lsp/workQueue";
import { entryAt } from "../../server/src/lsp/commandAt";
import { cyclePoint, runPercent } from "../../server/src/view/runView";
import type { CycleRecord } from "../../server/src/engine/types";

test("guardText: text passes; NULs, invalid UTF-8 and oversize files are skipped with a reason", () => {
  assert.deepEqual(guardText("ls -la\n", 1000), { ok: true, bytes: 7 });
  const nul = guardText("ls\u0000", 1000);
  assert.ok(!nul.ok && /binary/.test(nul.reason));
  const bad = guardText("ls \ufffd\ufffd\n", 1000);
  assert.ok(!bad.ok && /UTF-8/.test(bad.reason));
  const big = guardText("x".repeat(2000), 1000);
  assert.ok(!big.ok && /maxFileBytes/.test(big.reason));
  // One stray replacement character in a long file is tolerated.
  assert.equal(guardText("echo hi\n".repeat(1000) + "\ufffd", 1e6).ok, true);
});

test("normalizeSettings fills defaults and refuses out-of-range run settings", () => {
  const s = normalizeSettings({ candidates: 99, diagnostics: { maxCommandsPerPass: 7 }, gpu: "weird", learn: "none" });
  assert.equal(s.candidates, 3);
  assert.equal(s.diagnostics.maxCommandsPerPass, 7);
  assert.equal(s.diagnostics.enabled, true);
  assert.equal(s.gpu, "auto");
  assert.equal(s.learn, "none");
  assert.equal(normalizeSettings(null).hoverAdapter, "best");
});

test("modelProblem: empty, relative, missing; URIs are left to the engine", () => {
  assert.match(modelProblem("")!, /No model/);
  assert.match(modelProblem("model.gguf")!, /not absolute/);
  assert.match(modelProblem("/nope/model.gguf")!, /does not exist/);
  assert.equal(modelProblem("hf:user/repo/model.gguf"), null);
});

test("resolveHoverAdapter: base, best (best held-out cycle of the latest run), explicit path", async () => {
  const root = mkdtempSync(join(tmpdir(), "inversion-adapter-"));
  try {
    const log: string[] = [];
    assert.equal(await resolveHoverAdapter("best", join(root, "none"), (m) => log.push(m)), null);
    const run = join(root, "run-1");
    mkdirSync(join(run, "adapters"), { recursive: true });
    writeFileSync(join(run, "config.json"), "{}");
    const stats = (meanScore: number) => ({ candidates: 2, accepted: 1, acceptanceRate: 0.5, meanScore, distinctCommands: 2, distinctPrograms: 1 });
    const rec = (cycle: number, after: number, adapter: string) => ({
      cycle, startedAt: "2026-01-01T00:00:00Z", seed: cycle, tasks: { train: 2, heldOut: 2 }, timings: {},
      before: stats(0.1), after: stats(after), selection: stats(0.1), adapterPath: adapter, train: null, external: null,
    });
    for (const name of ["a1", "a2", "a3"]) writeFileSync(join(run, "adapters", `${name}.gguf`), "an adapter");
    writeFileSync(join(run, "cycles.jsonl"), [rec(1, 0.3, "adapters/a1.gguf"), rec(2, 0.6, "adapters/a2.gguf"), rec(3, 0.4, "adapters/a3.gguf")].map((r) => JSON.stringify(r)).join("\n") + "\n");
    assert.equal(await resolveHoverAdapter("best", root, () => undefined), join(run, "adapters/a2.gguf"));
    assert.equal(await resolveHoverAdapter("base", root, () => undefined), null);
    // An adapter that measured below the base model (cycle 1's score before training) is never preferred.
    const worse = (cycle: number, after: number, adapter: string) => ({ ...rec(cycle, after, adapter), before: stats(0.7) });
    writeFileSync(join(run, "cycles.jsonl"), [worse(1, 0.3, "adapters/a1.gguf"), worse(2, 0.6, "adapters/a2.gguf")].map((r) => JSON.stringify(r)).join("\n") + "\n");
    assert.equal(await resolveHoverAdapter("best", root, () => undefined), null);
    assert.equal(await resolveHoverAdapter(join(root, "missing.gguf"), root, (m) => log.push(m)), null);
    assert.ok(log.some((l) => /does not exist/.test(l)));
    writeFileSync(join(root, "mine.gguf"), "x");
    assert.equal(await resolveHoverAdapter(join(root, "mine.gguf"), root, () => undefined), join(root, "mine.gguf"));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/** Counts the listings of `dir` (readdir calls) while `during` runs. */
async function listingsOf(dir: string, during: () => Promise<unknown>): Promise<number> {
  const fsp = require("node:fs/promises") as { readdir: (...args: unknown[]) => Promise<unknown> };
  const readdir = fsp.readdir;
  let n = 0;
  fsp.readdir = (...args: unknown[]) => {
    if (args[0] === dir) n++;
    return readdir(...args);
  };
  try {
    await during();
  } finally {
    fsp.readdir = readdir;
  }
  return n;
}

test("the runs directory is listed once per request, and once per settings change (before: twice each)", async () => {
  const root = mkdtempSync(join(tmpdir(), "inversion-listing-"));
  try {
    for (const name of ["run-1", "run-2"]) {
      mkdirSync(join(root, name));
      writeFileSync(join(root, name, "config.json"), "{}");
    }
    const settings = { ...normalizeSettings({ model: "/nope/m.gguf" }), runsDirectory: root };
    const requests = new RunRequests({ connection: undefined as never, settings: async () => settings, log: () => undefined, onRunEnded: () => undefined });
    const host = new ModelHost({ status: () => undefined, missing: () => undefined, log: () => undefined }, () => undefined);
    assert.deepEqual([await listingsOf(root, () => requests.onListRuns()), await listingsOf(root, () => host.configure(settings))], [1, 1]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("runOptionsFromSettings merges settings and overrides; percent only grows", () => {
  const s = normalizeSettings({ model: "/m.gguf", runsDirectory: "/runs", cycles: 4, threads: 2 });
  const o = runOptionsFromSettings(s, { cycles: 1, learn: "none" });
  assert.equal(o.cycles, 1);
  assert.equal(o.learn, "none");
  assert.equal(o.threads, 2);
  assert.match(o.out, /^\/runs\/run-/);
  assert.throws(() => runOptionsFromSettings(normalizeSettings({ model: "/m.gguf" })), /runs directory/);
  let p = 0;
  p = runPercent({ type: "phase", cycle: 1, phase: "tasks", done: 1, total: 2, message: "" }, 2, p);
  assert.ok(p > 0 && p < 50);
  assert.equal(runPercent({ type: "phase", cycle: 1, phase: "tasks", done: 0, total: 2, message: "" }, 2, p), p);
});

test("a resume request takes no run parameter but cycles: it continues with those its run recorded", () => {
  assert.throws(() => runOverridesOf({ overrides: { out: "/runs/run-1", resume: true, cycles: 4, tasks: 5 } }), /takes only cycles \(its new total\), not tasks\./);
});

test("WorkQueue runs higher priority first and drops aborted items", async () => {
  const q = new WorkQueue();
  const order: string[] = [];
  const slow = q.run(1, undefined, async () => {
    await new Promise((r) => setTimeout(r, 30));
    order.push("first");
  });
  const ac = new AbortController();
  const low = q.run(1, undefined, async () => void order.push("low"));
  const dropped = q.run(1, ac.signal, async () => void order.push("dropped"));
  const high = q.run(0, undefined, async () => void order.push("high"));
  ac.abort();
  await Promise.all([slow, low, high]);
  await assert.rejects(dropped, /cancelled/);
  assert.deepEqual(order, ["first", "high", "low"]);
});

test("entryAt and cyclePoint", () => {
  const e = { startLine: 2, startCol: 4, endLine: 3, endCol: 5, text: "x" };
  assert.equal(entryAt([e], 2, 3), undefined);
  assert.equal(entryAt([e], 2, 4), e);
  assert.equal(entryAt([e], 3, 5), e);
  assert.equal(entryAt([e], 3, 6), undefined);
  const stats = { candidates: 0, acceptedTasks: 0, acceptanceRate: 0, meanScore: 0, distinctCommands: 0, distinctPrograms: 0 };
  const selection = { ...stats, candidates: 4, meanScore: 0.25, acceptanceRate: 0.5, acceptedExamples: 2 };
  const p = cyclePoint({ cycle: 1, before: stats, after: null, selection, train: null, trainSkipped: "learn is none: no weights are trained", external: null } as unknown as CycleRecord);
  assert.deepEqual(p, { cycle: 1, selectionScore: 0.25, scoreBefore: null, scoreAfter: null, acceptanceRate: 0.5, trainLoss: null, trainSkipped: "learn is none: no weights are trained", external: null });
});

test("WorkQueue preempts running background work for a hover", async () => {
  const q = new WorkQueue();
  const bg = q.run(
    1,
    undefined,
    (signal) =>
      new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => resolve("finished"), 2000);
        signal?.addEventListener("abort", () => {
          clearTimeout(t);
          reject(new Error("aborted by signal"));
        });
      }),
    { preemptible: true },
  );
  const bgOutcome = bg.then(
    () => null,
    (e: unknown) => e,
  );
  await new Promise((r) => setTimeout(r, 20));
  const t0 = Date.now();
  const hover = await q.run(0, undefined, async () => "hover");
  assert.equal(hover, "hover");
  assert.ok(Date.now() - t0 < 500, "the hover did not wait for the background item");
  assert.ok((await bgOutcome) instanceof PreemptedError);
  assert.equal(q.preemptions, 1);
});
