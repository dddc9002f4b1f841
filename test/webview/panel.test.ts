// The progress panel in headless Chromium (Debian `chromium` + playwright-core), outside VS Code: the real panel
// HTML (CSP + nonce) and the real bundle, with a stubbed acquireVsCodeApi. Needs `npm run build` (webview bundle).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { CHROMIUM_ARGS, chromiumPath } from "../helpers/chromium";
import { panelHtml } from "../../client/src/panelHtml";
import type { CyclePoint, HostToWebview, RunView } from "../../common/protocol";

const ROOT = resolve(__dirname, "../..");
const BUNDLE = join(ROOT, "webview/dist/main.js");
const ARTIFACTS = join(ROOT, "test-artifacts");


let browser: Browser;
let dir: string;
let harnessUrl: string;

const point = (cycle: number, extra: Partial<CyclePoint> = {}): CyclePoint => ({
  cycle,
  selectionScore: 0.15 + cycle * 0.05,
  scoreBefore: 0.2 + cycle * 0.05,
  scoreAfter: 0.25 + cycle * 0.05,
  acceptanceRate: 0.3 + cycle * 0.1,
  trainLoss: 2.5 - cycle * 0.3,
  trainSkipped: null,
  external: null,
  ...extra,
});

const view = (runDir: string, version: number, points: CyclePoint[], status: string, state: RunView["state"] = "running", extra: Partial<RunView> = {}): HostToWebview => ({
  type: "view",
  view: { version, runDir, points, state, status, percent: 0, heldOut: "", resumable: false, placeholder: "", notes: { score: "", loss: "" }, ...extra },
});

before(async () => {
  assert.ok(existsSync(BUNDLE), `missing ${BUNDLE}: run npm run build first`);
  dir = mkdtempSync(join(tmpdir(), "inversion-webview-"));
  copyFileSync(BUNDLE, join(dir, "main.js"));
  writeFileSync(join(dir, "harness.html"), panelHtml({ cspSource: "file:", scriptUri: "main.js", nonce: "TESTNONCE123" }));
  harnessUrl = pathToFileURL(join(dir, "harness.html")).href;
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: [...CHROMIUM_ARGS, "--allow-file-access-from-files"], timeout: 30_000 });
});

after(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Stubbed acquireVsCodeApi: postMessage records into __sent; getState/setState are backed by sessionStorage. */
const STUB = `
  window.__name = (f) => f;
  window.__sent = [];
  window.__csp = [];
  document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));
  window.acquireVsCodeApi = () => ({
    postMessage: (m) => window.__sent.push(m),
    getState: () => { const s = sessionStorage.getItem("vscode-state"); return s ? JSON.parse(s) : undefined; },
    setState: (s) => sessionStorage.setItem("vscode-state", JSON.stringify(s)),
  });
`;

interface Problems {
  errors: string[];
}

async function openPage(): Promise<{ page: Page; problems: Problems }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  const problems: Problems = { errors: [] };
  page.on("pageerror", (e) => problems.errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.errors.push(`console.error: ${m.text()}`);
  });
  // A string, not a function: tsx (esbuild keepNames) would wrap inner functions in `__name`, which the page lacks.
  await page.addInitScript({ content: STUB });
  return { page, problems };
}

const send = (page: Page, m: HostToWebview) => page.evaluate((msg) => window.postMessage(msg, "*"), m);
const sent = (page: Page) => page.evaluate(() => (window as unknown as { __sent: { type: string; runDir?: string | null }[] }).__sent);
const csp = (page: Page) => page.evaluate(() => (window as unknown as { __csp: string[] }).__csp);

test("panel renders charts from host messages, keeps state across reload, no CSP or console errors", { timeout: 60_000 }, async () => {
  const { page, problems } = await openPage();
  try {
    await page.goto(harnessUrl);
    await page.waitForFunction(() => (window as unknown as { __sent: { type: string }[] }).__sent.some((m) => m.type === "ready"), null, { timeout: 10_000 });
    assert.deepEqual((await sent(page)).find((m) => m.type === "ready"), { type: "ready", runDir: null });

    const runs = [
      { runDir: "/runs/run-a", name: "run-a", time: 2 },
      { runDir: "/runs/run-b", name: "run-b", time: 1 },
    ];
    await send(page, { type: "runs", runs });
    await send(page, view("/runs/run-a", 5, [point(1), point(2)], "Cycle 3/4: generating 2/4"));
    const gap = point(3, { scoreAfter: null, trainLoss: null, trainSkipped: "no accepted examples to train on" });
    const lossNote = { score: "", loss: "No training in cycle 3: no accepted examples to train on." };
    await send(page, view("/runs/run-a", 6, [point(1), point(2), gap], "Cycle 3/4: generating 2/4", "running", { notes: lossNote }));
    await page.waitForFunction(() => document.body.dataset.points === "3", null, { timeout: 10_000 });
    // An older view of the same run (a notification overtaken by a newer one) is not shown.
    await send(page, view("/runs/run-a", 4, [point(1)], "stale"));
    // The loss chart carries the server's note (why a cycle has no loss).
    assert.equal(await page.textContent("#note-loss"), "No training in cycle 3: no accepted examples to train on.");

    // The external chart appears once a point has a value. The message is dispatched and the canvases read in one task,
    // so every chart must be drawn when the handler returns, not a frame later (CI once read a 0-wide canvas).
    const last = view("/runs/run-a", 7, [point(1), point(2), gap, point(4, { external: 0.41 })], "Cycle 3/4: generating 2/4");
    const drawn = await page.evaluate((msg) => {
      window.dispatchEvent(new MessageEvent("message", { data: msg }));
      return [...document.querySelectorAll("canvas")].map((c) => {
        const box = c.closest("section") as HTMLElement;
        if (c.width === 0 || c.height === 0) return { id: c.id, hidden: box.hidden, width: c.width, painted: 0 };
        const ctx = (c as HTMLCanvasElement).getContext("2d")!;
        const { data } = ctx.getImageData(0, 0, c.width, c.height);
        let painted = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted++;
        return { id: c.id, hidden: box.hidden, width: c.width, painted };
      });
    }, last);
    assert.equal(await page.evaluate(() => document.body.dataset.points), "4");
    assert.equal(drawn.length, 4);
    for (const d of drawn) {
      assert.equal(d.hidden, false, `${d.id} hidden`);
      assert.ok(d.width > 0 && d.painted > 500, `${d.id} not drawn: ${JSON.stringify(d)}`);
    }
    assert.equal(await page.textContent("#status"), "Cycle 3/4: generating 2/4");
    // Each render is acknowledged to the host.
    assert.ok((await sent(page)).some((m) => m.type === "rendered" && (m as { points?: number }).points === 4 && m.runDir === "/runs/run-a"));
    assert.deepEqual(await page.$$eval("#run option", (os) => os.map((o) => (o as HTMLOptionElement).value)), ["/runs/run-a", "/runs/run-b"]);
    await page.screenshot({ path: join(ARTIFACTS, "webview-panel.png"), fullPage: true });

    // The CSP is live: an injected inline script without the nonce is blocked and reported.
    await page.evaluate(() => {
      const s = document.createElement("script");
      s.textContent = "window.__inlineRan = true";
      document.body.append(s);
    });
    await page.waitForFunction(() => (window as unknown as { __csp: string[] }).__csp.length > 0, null, { timeout: 5_000 });
    assert.equal(await page.evaluate(() => (window as unknown as { __inlineRan?: boolean }).__inlineRan), undefined);
    const violations = (await csp(page)).filter((v) => !v.startsWith("script-src-elem inline"));
    assert.deepEqual(violations, [], "CSP violations from the panel itself");

    // Choosing another run asks the host for it.
    await page.selectOption("#run", "/runs/run-b");
    assert.ok((await sent(page)).some((m) => m.type === "openRun" && m.runDir === "/runs/run-b"));

    // Reload: state comes back from getState() before the host says anything, and `ready` names the run shown.
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.points === "4", null, { timeout: 10_000 });
    assert.equal(await page.evaluate(() => document.body.dataset.runDir), "/runs/run-a");
    const afterReload = await sent(page);
    assert.deepEqual(afterReload.find((m) => m.type === "ready"), { type: "ready", runDir: "/runs/run-a" });
    assert.deepEqual(await csp(page), []);

    // Opening a past run replaces the points.
    await send(page, view("/runs/run-b", 0, [point(1)], "1 cycle", "stored"));
    await page.waitForFunction(() => document.body.dataset.points === "1", null, { timeout: 10_000 });

    // The only console error allowed is the deliberate inline-script violation above.
    const unexpected = problems.errors.filter((e) => !/Content Security Policy/.test(e));
    assert.deepEqual(unexpected, [], "page errors");
    assert.ok(problems.errors.length <= 1, problems.errors.join("\n"));
  } finally {
    await page.context().close();
  }
});

/** Pixels of the score chart's plot (below its legend) close to each colour. */
async function seriesPixels(page: Page, colors: Record<string, [number, number, number]>): Promise<Record<string, number>> {
  return page.evaluate((cs) => {
    const c = document.getElementById("chart-score") as HTMLCanvasElement;
    const { data } = c.getContext("2d")!.getImageData(0, 0, c.width, c.height);
    const counts: Record<string, number> = Object.fromEntries(Object.keys(cs).map((k) => [k, 0]));
    const top = Math.floor(c.height * 0.25) * c.width * 4; // the legend's colour boxes are above this
    for (let i = top; i < data.length; i += 4) {
      if (data[i + 3]! < 200) continue;
      for (const [k, [r, g, b]] of Object.entries(cs)) if (Math.abs(data[i]! - r) < 30 && Math.abs(data[i + 1]! - g) < 30 && Math.abs(data[i + 2]! - b) < 30) counts[k]!++;
    }
    return counts;
  }, colors);
}

test("the panel as a user reads it: the server's placeholder while no cycle is done, held-out before visible where after equals it, the notes, and what a cycle accepted", { timeout: 60_000 }, async () => {
  const { page, problems } = await openPage();
  try {
    await page.goto(harnessUrl);
    await page.waitForFunction(() => (window as unknown as { __sent: { type: string }[] }).__sent.some((m) => m.type === "ready"), null, { timeout: 10_000 });
    // A run under way with no complete cycle: the server's words, not "No cycles yet".
    const underWay = "The first cycle is under way: its point appears here when it completes (the line above says where it stands).";
    await send(page, view("/runs/live", 1, [], "Cycle 1/3: generating and scoring 2/20", "running", { placeholder: underWay }));
    await page.waitForFunction(() => document.body.dataset.runDir === "/runs/live", null, { timeout: 10_000 });
    assert.equal(await page.textContent("#empty"), underWay);
    assert.equal(await page.isVisible("#empty"), true);
    assert.equal(await page.isVisible("#examples"), false, "no examples section before a cycle is done");

    // Two cycles whose held-out score after training equals the one before.
    const same = [point(1, { selectionScore: null, scoreBefore: 0.4, scoreAfter: 0.4 }), point(2, { selectionScore: null, scoreBefore: 0.5, scoreAfter: 0.5 })];
    const scoreNote = "Held-out after equals before in cycles 1, 2 (0.400, 0.500): what the cycle learned (new weights, or examples added to the run's memory) did not change the held-out score, so the two lines lie on each other there.";
    const lossText = "Loss: how unexpected the accepted commands were to the model as it trained on them (lower: more expected). It is not a score of the model; the held-out score is.";
    await send(page, view("/runs/live", 2, same, "cycle 2: …", "running", { notes: { score: scoreNote, loss: lossText } }));
    await page.waitForFunction(() => document.body.dataset.points === "2", null, { timeout: 10_000 });
    assert.equal(await page.isVisible("#empty"), false);
    assert.equal(await page.textContent("#note-score"), scoreNote);
    assert.equal(await page.textContent("#note-loss"), lossText);
    const px = await seriesPixels(page, { before: [0x37, 0x94, 0xff], after: [0x89, 0xd1, 0x85] });
    // Before, "after" was drawn over "before" with the same line: no blue was left to see.
    assert.ok(px.before! > 150, `held-out before is visible where it equals after: ${JSON.stringify(px)}`);
    assert.ok(px.after! > 150, `held-out after is visible: ${JSON.stringify(px)}`);

    // The latest cycle's accepted examples are asked for, and shown as text (model output is never markup).
    const asked = () => sent(page).then((all) => all.filter((m) => m.type === "openCycle") as unknown as { runDir: string; cycle: number }[]);
    await page.waitForFunction(() => (window as unknown as { __sent: { type: string }[] }).__sent.some((m) => m.type === "openCycle"), null, { timeout: 10_000 });
    assert.deepEqual((await asked()).map((m) => [m.runDir, m.cycle]), [["/runs/live", 2]]);
    const wrong = { task: "show free disk space", command: "rm -rf / <img src=x onerror=alert(1)>", reading: "delete everything", score: "0.71", from: "the model" };
    await send(page, { type: "cycleExamples", examples: { runDir: "/runs/live", cycle: 2, title: "Cycle 2 accepted 1 example (1 of 2 tasks).", examples: [wrong], more: "" } });
    await page.waitForFunction(() => document.body.dataset.examples === "2:1", null, { timeout: 10_000 });
    assert.equal(await page.textContent("#examples-title"), "Cycle 2 accepted 1 example (1 of 2 tasks).");
    const rows = await page.$$eval("#examples-table tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
    assert.deepEqual(rows, [[wrong.task, wrong.command, wrong.reading, wrong.score, wrong.from]]);
    assert.equal(await page.$$eval("#examples-table img", (imgs) => imgs.length), 0);
    await page.screenshot({ path: join(ARTIFACTS, "webview-panel-examples.png"), fullPage: true });

    // Choosing cycle 1 asks for it; a new cycle then does not take the choice away.
    await page.selectOption("#cycle", "1");
    assert.deepEqual((await asked()).at(-1), { type: "openCycle", runDir: "/runs/live", cycle: 1 });
    await send(page, view("/runs/live", 3, [...same, point(3)], "cycle 3: …"));
    await page.waitForFunction(() => document.body.dataset.points === "3", null, { timeout: 10_000 });
    assert.equal((await asked()).length, 2);

    // Examples of another run are not shown over this one.
    await send(page, { type: "cycleExamples", examples: { runDir: "/runs/other", cycle: 1, title: "other", examples: [], more: "" } });
    assert.notEqual(await page.textContent("#examples-title"), "other");
    assert.deepEqual(problems.errors, []);
  } finally {
    await page.context().close();
  }
});
