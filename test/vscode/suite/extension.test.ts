// Real VS Code (extension host + workbench) with the real language server, engine and the fixture model.
// The workspace (settings, fixture model, scripts) is prepared by test/vscode/run.ts (or prepareWorkspace()).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import type { InversionApi } from "../../../client/src/extension";
import type { ProgressPanel } from "../../../client/src/panel";
import type { TestHooks } from "../../../client/src/testHooks";
import { ReloadModelRequest, type RunCyclesRequest, type WebviewToHost } from "../../../common/protocol";
import { DEFAULT_MODEL_FILE } from "../../../server/src/knowledge/shipped";

const EXT_ID = "inversion.inversion";
let api: InversionApi;

function root(): string {
  const f = vscode.workspace.workspaceFolders?.[0];
  assert.ok(f, "the tests need the prepared workspace folder");
  return f.uri.fsPath;
}
/** path.resolve: a `..` left in the URI would not match the document's key. */
const fileUri = (name: string) => vscode.Uri.file(path.resolve(root(), name));

async function waitFor<T>(what: string, fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function openShell(name: string): Promise<vscode.TextDocument> {
  let doc = await vscode.workspace.openTextDocument(fileUri(name));
  if (doc.languageId !== "shellscript") doc = await vscode.languages.setTextDocumentLanguage(doc, "shellscript");
  await vscode.window.showTextDocument(doc, { preview: false });
  return doc;
}

const inversionDiagnostics = (uri: vscode.Uri) => vscode.languages.getDiagnostics(uri).filter((d) => d.source === "inversion");

async function hoverText(uri: vscode.Uri, pos: vscode.Position): Promise<string> {
  const hovers = (await vscode.commands.executeCommand<vscode.Hover[]>("vscode.executeHoverProvider", uri, pos)) ?? [];
  return hovers
    .flatMap((h) => h.contents)
    .map((c) => (typeof c === "string" ? c : (c as vscode.MarkdownString).value))
    .join("\n");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Asks test/vscode/run.ts what the workbench shows ("": a screenshot, test-artifacts/NAME.png) and waits for the answer. */
async function askWorkbench(name: string, kind: "" | "notifications" | "statusbar"): Promise<string> {
  const dir = path.join(root(), ".screenshots");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${name}.request`), kind);
  await waitFor(`${kind || "screenshot"} ${name}`, () => fs.existsSync(path.join(dir, `${name}.done`)), 30_000);
  return path.join(dir, `${name}.json`);
}

async function screenshot(name: string): Promise<void> {
  await askWorkbench(name, "");
}

interface ShownNotification {
  message: string;
  source: string;
  buttons: string[];
}
let asked = 0;

/**
 * The notifications on screen, read from the workbench's DOM by test/vscode/run.ts: what the user sees, not what the
 * extension meant to show. The smoke-test driver this suite runs under hides toasts, so the notifications center is
 * opened first (where every notification also lists, as it does for a user who clicks the bell).
 */
async function shownNotifications(): Promise<ShownNotification[]> {
  await vscode.commands.executeCommand("notifications.showList");
  await sleep(500);
  return JSON.parse(fs.readFileSync(await askWorkbench(`notifications-${++asked}`, "notifications"), "utf8")) as ShownNotification[];
}

/** Inversion's item in the status bar as the workbench shows it (read from its DOM by test/vscode/run.ts). */
async function statusBarText(): Promise<string> {
  const texts = JSON.parse(fs.readFileSync(await askWorkbench(`statusbar-${++asked}`, "statusbar"), "utf8")) as string[];
  return texts.find((t) => t.startsWith("Inversion")) ?? "";
}

/** What the extension host has only in this suite (client/src/testHooks.ts; run.ts sets INVERSION_TEST_HOOKS). */
function hooks(): TestHooks {
  assert.ok(api.testHooks, "the extension host runs with INVERSION_TEST_HOOKS=1");
  return api.testHooks;
}

/** The progress panel ("Show progress" returns it) and every message its webview sends from now on. */
async function panelMessages(): Promise<{ panel: ProgressPanel; received: WebviewToHost[] }> {
  const panel = (await vscode.commands.executeCommand("inversion.showPanel")) as ProgressPanel;
  const received: WebviewToHost[] = [];
  panel.panel.webview.onDidReceiveMessage((m: WebviewToHost) => received.push(m));
  return { panel, received };
}

async function notificationLike(what: string, re: RegExp, timeoutMs = 30_000): Promise<ShownNotification> {
  return waitFor(what, async () => (await shownNotifications()).find((n) => re.test(n.message)), timeoutMs);
}

/** The suite's settings are the user's (test/vscode/prepare.ts): a workspace's model settings wait for an answer. */
async function setSetting(key: string, value: unknown): Promise<void> {
  await vscode.workspace.getConfiguration("inversion").update(key, value, vscode.ConfigurationTarget.Global);
}

const userModel = (): string | undefined => vscode.workspace.getConfiguration("inversion").inspect<string>("model")?.globalValue;

suite("Inversion in VS Code", () => {
  suiteSetup(async function () {
    this.timeout(180_000);
    await openShell("commented.sh");
    const ext = vscode.extensions.getExtension<InversionApi>(EXT_ID);
    assert.ok(ext, `extension ${EXT_ID} not found`);
    api = await ext.activate();
    await waitFor("a server status", () => api.status());
  });

  // First, so that the scripts other tests open do not crowd its Problems panel.
  test("the new user's path, as screenshots with the notifications shown: hover, Problems, the end of a run, Select model, the setting", async function () {
    this.timeout(600_000);
    const shipped = path.join(vscode.extensions.getExtension(EXT_ID)!.extensionPath, DEFAULT_MODEL_FILE);
    const original = userModel();
    await setSetting("model", undefined);
    try {
      await waitFor("the shipped model", () => api.status()?.modelPath === shipped, 30_000);
      await vscode.commands.executeCommand("notifications.clearAll");
      await vscode.commands.executeCommand("workbench.action.closeAllEditors");
      await vscode.commands.executeCommand("workbench.action.closeAuxiliaryBar");
      const doc = await openShell("commented.sh");
      const diags = await waitFor("two warnings", () => inversionDiagnostics(doc.uri).length === 2 && inversionDiagnostics(doc.uri), 120_000);
      const editor = await vscode.window.showTextDocument(doc);
      const at = diags[0]!.range.start.translate(0, 1);
      editor.selection = new vscode.Selection(at, at);
      await waitFor("a hover with the model's reading", async () => /reads this command as/.test(await hoverText(doc.uri, at)), 180_000);
      await vscode.commands.executeCommand("editor.action.showHover");
      await sleep(1000);
      await screenshot("vscode-new-user-1-hover");
      await vscode.commands.executeCommand("editor.action.hideHover");
      await vscode.commands.executeCommand("workbench.actions.view.problems");
      await sleep(1000);
      await screenshot("vscode-new-user-2-problems");
      await vscode.commands.executeCommand("workbench.action.closePanel");

      // A short run with the shipped model, trained as a new user's would be; the panel beside, the notification below.
      const { received } = await panelMessages();
      const result = (await vscode.commands.executeCommand("inversion.runCycles", { cycles: 2, tasks: 4, candidates: 2 })) as RunCyclesRequest.Result;
      assert.equal(result.state, "finished");
      await waitFor("the panel drew the run", () => received.some((m) => m.type === "rendered" && m.runDir === result.runDir && m.points === 2), 30_000);
      const ended = await notificationLike("the end-of-run notification", /^Inversion: Run finished/);
      assert.equal(ended.message, `Inversion: ${result.status}`);
      await sleep(1000);
      await screenshot("vscode-new-user-3-run-end");
      await vscode.commands.executeCommand("notifications.hideList");
      // The panel alone: its charts, their notes and what the last cycle accepted.
      await vscode.commands.executeCommand("workbench.action.focusSecondEditorGroup");
      await vscode.commands.executeCommand("workbench.action.toggleMaximizeEditorGroup");
      await vscode.commands.executeCommand("workbench.action.closeSidebar");
      await sleep(1500);
      await screenshot("vscode-new-user-4-panel");
      await vscode.commands.executeCommand("workbench.action.toggleSidebarVisibility");
      await vscode.commands.executeCommand("workbench.action.toggleMaximizeEditorGroup");
      await vscode.commands.executeCommand("workbench.action.focusFirstEditorGroup");

      const picking = vscode.commands.executeCommand("inversion.selectModel") as Thenable<string | undefined>;
      await sleep(1500);
      await screenshot("vscode-new-user-5-select-model");
      await vscode.commands.executeCommand("workbench.action.closeQuickOpen");
      assert.equal(await picking, undefined);

      // The setting, found in the User tab of the settings editor.
      await vscode.commands.executeCommand("workbench.action.openSettings", "inversion.model");
      await sleep(2500);
      await screenshot("vscode-new-user-6-setting");
      await vscode.commands.executeCommand("workbench.action.closeActiveEditor");
    } finally {
      // later tests open their own panel
      ((await vscode.commands.executeCommand("inversion.showPanel")) as ProgressPanel).dispose();
      await vscode.commands.executeCommand("inversion.selectModel", original);
    }
    await waitFor("the fixture model again", () => api.status()?.modelPath === original, 30_000);
  });

  test("a commented command gets a warning, a plain hover and two quick fixes", async () => {
    const doc = await openShell("commented.sh");
    const diags = await waitFor("inversion diagnostics", () => {
      const d = inversionDiagnostics(doc.uri);
      return d.length === 2 ? d : undefined;
    }, 120_000);
    assert.deepEqual(diags.map((d) => [d.range.start.line, d.severity, typeof d.code === "object" ? d.code.value : d.code]), [
      [2, vscode.DiagnosticSeverity.Warning, "intent-mismatch"],
      [5, vscode.DiagnosticSeverity.Warning, "intent-mismatch"],
    ]);
    assert.match(diags[0]!.message, /^The comment says “make the script executable”; an example of `rm [^`]*` \(.+?\) says “.+”; the model reads it as: \S/);
    const text = await hoverText(doc.uri, new vscode.Position(2, 2));
    assert.match(text, /\*\*Example\*\* from \[[^\]]+\]\(https:\/\/github\.com\/[^)]+\) \([^)]*\[[^\]]+\]\(https:/, "the example, its source and its licence");
    assert.match(text, /the model reads this command as: “/);
    assert.match(text, /⚠ The comment shares almost nothing with what examples/);
    assert.match(text, /tell a matching comment from a wrong one \d+% of the time/);
    // the server coalesces its status notifications (100 ms), so "ready" may follow the hover by that much
    await waitFor("the model's status: ready", () => api.status()?.model === "ready", 5_000);
    assert.match(await statusBarText(), /fixture/, "the model's name is in the status bar");

    const actions = (await vscode.commands.executeCommand<vscode.CodeAction[]>("vscode.executeCodeActionProvider", doc.uri, diags[0]!.range)) ?? [];
    const mine = actions.filter((a) => /model's reading|inversion: ignore/.test(a.title));
    assert.deepEqual(mine.map((a) => a.title.split(":")[0]), ["Replace the comment with the model's reading", "Ignore this command (# inversion"]);

    // "Score command at cursor" returns the same structure.
    const editor = await vscode.window.showTextDocument(doc);
    editor.selection = new vscode.Selection(2, 1, 2, 1);
    const score = await vscode.commands.executeCommand<{ reading: string; agreement: unknown } | null>("inversion.scoreAtCursor");
    assert.ok(score && score.reading.trim() !== "" && score.agreement, "score at cursor");
  });

  test("# inversion: ignore above a comment silences that command", async () => {
    const doc = await openShell("commented.sh");
    await waitFor("two warnings", () => inversionDiagnostics(doc.uri).length === 2, 60_000);
    const editor = await vscode.window.showTextDocument(doc);
    assert.ok(await editor.edit((b) => b.insert(new vscode.Position(1, 0), "# inversion: ignore\n")));
    try {
      const d = await waitFor("one warning", () => inversionDiagnostics(doc.uri).length === 1 && inversionDiagnostics(doc.uri), 60_000);
      assert.equal(d[0]!.range.start.line, 6);
    } finally {
      await vscode.commands.executeCommand("workbench.action.files.revert");
    }
  });

  test("a Debian script: screenshots of a hover and of the Problems panel", async () => {
    const doc = await openShell("debian-x11-common.sh");
    const diags = await waitFor("warnings on the Debian script", () => inversionDiagnostics(doc.uri).length > 0 && inversionDiagnostics(doc.uri), 120_000);
    const editor = await vscode.window.showTextDocument(doc);
    const at = diags[0]!.range.start;
    editor.selection = new vscode.Selection(at.line, at.character + 1, at.line, at.character + 1);
    editor.revealRange(diags[0]!.range, vscode.TextEditorRevealType.InCenter);
    await waitFor("hover ready", async () => /reads this command as/.test(await hoverText(doc.uri, at.translate(0, 1))), 60_000);
    await vscode.commands.executeCommand("editor.action.showHover");
    await screenshot("vscode-hover-debian");
    await vscode.commands.executeCommand("workbench.actions.view.problems");
    await screenshot("vscode-problems-debian");
    await vscode.commands.executeCommand("workbench.action.closePanel");
  });

  test("Run self-improvement cycle runs to completion and the panel receives its points", async () => {
    const { received } = await panelMessages();
    await waitFor("panel ready", () => received.some((m) => m.type === "ready"), 60_000);
    const result = (await vscode.commands.executeCommand("inversion.runCycles", { cycles: 1, tasks: 2, candidates: 2, learn: "none" })) as RunCyclesRequest.Result;
    assert.ok(result, "run result");
    assert.equal(result.state, "finished");
    assert.equal(result.points.length, 1);
    assert.ok(fs.existsSync(path.join(result.runDir, "cycles.jsonl")));
    await waitFor("webview rendered the point", () => received.some((m) => m.type === "rendered" && m.runDir === result.runDir && m.points === 1), 30_000);
    await waitFor("status bar shows the cycle", async () => /cycle 1/.test(await statusBarText()), 10_000);
    // Reopening the run from the store (as "Open past run" does) shows the same point.
    const before = received.length;
    await vscode.commands.executeCommand("inversion.openRun", result.runDir);
    await waitFor("reopened", () => received.slice(before).some((m) => m.type === "rendered" && m.runDir === result.runDir && m.points === 1), 30_000);
  });

  test("cancel stops a run: before its first cycle nothing is kept and nothing is offered to resume; after it, the run can be resumed", async () => {
    const pending = vscode.commands.executeCommand("inversion.runCycles", { cycles: 50, tasks: 200, candidates: 2, learn: "none" }) as Thenable<RunCyclesRequest.Result>;
    await waitFor("run in progress", () => hooks().run()?.state === "running", 60_000);
    const runDir = hooks().run()!.runDir;
    assert.equal(hooks().cancelActiveRun(), true);
    const t0 = Date.now();
    const r = await pending;
    assert.deepEqual([r.state, r.points.length, r.resumable, r.status], ["cancelled", 0, false, "Run stopped before its first cycle completed; no cycle was kept."]);
    assert.equal(r.runDir, runDir);
    assert.equal(fs.existsSync(runDir), false, "the run's directory is gone: it is not the latest run, nor one to resume");
    assert.deepEqual(hooks().run(), r, "the window shows the run's final view");
    assert.ok(Date.now() - t0 < 30_000);
    // Stop run (the command) once a cycle is complete: the run keeps it and is offered to resume.
    const pending2 = vscode.commands.executeCommand("inversion.runCycles", { cycles: 50, tasks: 20, candidates: 2, learn: "none" }) as Thenable<RunCyclesRequest.Result>;
    await waitFor("the first cycle of the second run", () => hooks().run()?.state === "running" && hooks().run()?.points.at(-1)?.cycle === 1, 120_000);
    const stopped = (await vscode.commands.executeCommand("inversion.stopRun")) as { stopped: boolean };
    assert.equal(stopped.stopped, true);
    const r2 = await pending2;
    assert.deepEqual([r2.state, r2.resumable], ["cancelled", true]);
    assert.ok(r2.points.length >= 1 && r2.points.length < 50);
    assert.ok(fs.existsSync(path.join(r2.runDir, "cycles.jsonl")));
  });

  test("Stop run given right after Run (before the run request reached the server) stops the run: it is not lost", async () => {
    const pending = vscode.commands.executeCommand("inversion.runCycles", { cycles: 1, tasks: 2, candidates: 2, learn: "none" }) as Thenable<RunCyclesRequest.Result>;
    const stopped = (await vscode.commands.executeCommand("inversion.stopRun")) as { stopped: boolean };
    assert.equal(stopped.stopped, true);
    const r = await pending;
    assert.deepEqual([r.state, r.points.length, r.resumable, r.status], ["cancelled", 0, false, "Run stopped before its first cycle completed; no cycle was kept."]);
    assert.equal(fs.existsSync(r.runDir), false);
    assert.deepEqual(hooks().run(), r, "the window shows the run's final view");
  });

  test("binary and invalid UTF-8 files are skipped without errors", async () => {
    const pid = api.status()!.pid;
    // VS Code does not open a binary file from disk as a text document, so the server never receives one that way…
    await assert.rejects(Promise.resolve(vscode.workspace.openTextDocument(fileUri("binary.sh"))), /binary/i);
    // …but an editor can hold NUL characters (here an untitled shell script), and invalid UTF-8 arrives as U+FFFD:
    // both carry a comment the check would warn on, and the server skips both.
    const nul = await vscode.workspace.openTextDocument({ language: "shellscript", content: "# make the script executable\nrm -rf build\n\0\x01\x02\0\x7fELF\0\n" });
    await vscode.window.showTextDocument(nul);
    const latin1 = await openShell("latin1.sh");
    await sleep(1500);
    for (const doc of [nul, latin1]) {
      assert.equal(inversionDiagnostics(doc.uri).length, 0, doc.uri.toString());
      assert.doesNotMatch(await hoverText(doc.uri, new vscode.Position(1, 1)), /reads this command as/);
    }
    assert.equal(api.status()!.pid, pid, "the server did not restart");
    await vscode.window.showTextDocument(nul);
    await vscode.commands.executeCommand("workbench.action.revertAndCloseActiveEditor");
  });

  test("a 50,000-line script is scored incrementally and an edit is handled before queued scoring resumes", async () => {
    const doc = await openShell("big.sh");
    assert.ok(doc.lineCount >= 50_000);
    await waitFor("first diagnostics in the big script", () => inversionDiagnostics(doc.uri).length > 0, 120_000);
    const editor = await vscode.window.showTextDocument(doc);
    // Background passes are still running (10 commands per pass, 25,000 comments): an edit cancels them and the
    // next diagnostics are for the edited text (everything below line 0 moves down by one).
    assert.ok(await editor.edit((b) => b.insert(new vscode.Position(0, 0), "# x\n")));
    const shifted = await waitFor("diagnostics of the edited version", () => {
      const d = inversionDiagnostics(doc.uri);
      return d.length > 0 && d.every((x) => x.range.start.line % 2 === 0) && d;
    }, 60_000);
    assert.ok(shifted.length > 0);
    const text = await hoverText(doc.uri, new vscode.Position(doc.lineCount - 2, 1));
    assert.match(text, /reads this command as/);
    await vscode.commands.executeCommand("workbench.action.files.revert");
  });

  test("a missing model gives one clear message, not a crash loop", async () => {
    const pid = api.status()!.pid;
    const { missingModelMessages } = hooks();
    const before = missingModelMessages.length;
    const original = vscode.workspace.getConfiguration("inversion").get<string>("model");
    await setSetting("model", path.join(root(), "no-such-model.gguf"));
    try {
      await waitFor("missing status", () => api.status()?.model === "missing", 30_000);
      await waitFor("one message", () => missingModelMessages.length === before + 1, 10_000);
      assert.match(missingModelMessages.at(-1)!, /does not exist/);
      await setSetting("diagnostics.debounceMs", 101); // another config change: no second message
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(missingModelMessages.length, before + 1);
      assert.equal(api.status()!.pid, pid, "the server kept running");
      assert.match(await statusBarText(), /model not found/);
    } finally {
      // "Select model" with an argument writes the setting and reloads the model (no dialogs).
      assert.equal(await vscode.commands.executeCommand("inversion.selectModel", original), original);
      assert.equal(userModel(), original, "Select model writes the user's settings");
      await setSetting("diagnostics.debounceMs", 100);
    }
    await waitFor("the fixture model set again", () => api.status()?.modelPath === original, 60_000);
    const doc = await openShell("commented.sh");
    await waitFor("hover works again", async () => /reads this command as/.test(await hoverText(doc.uri, new vscode.Position(2, 2))), 60_000);
    assert.deepEqual([api.status()?.model, api.status()?.modelPath], ["ready", original]);
  });

  test("a killed server is restarted by the client", async () => {
    const pid = api.status()!.pid;
    process.kill(pid, "SIGKILL");
    await waitFor("a new server", () => api.status() && api.status()!.pid !== pid, 60_000);
    const doc = await openShell("commented.sh");
    await waitFor("hover after restart", async () => /reads this command as/.test(await hoverText(doc.uri, new vscode.Position(2, 2))), 90_000);
  });

  test("with no model set, the default model reads tar -czf as archiving or compressing and the status bar says it is the default", async function () {
    this.timeout(300_000);
    const shipped = path.join(vscode.extensions.getExtension(EXT_ID)!.extensionPath, DEFAULT_MODEL_FILE);
    const original = userModel();
    await setSetting("model", undefined);
    try {
      await waitFor("the default model", () => api.status()?.modelPath === shipped, 30_000);
      // Named while it waits, loads and once ready.
      await waitFor("the status bar naming the default model", async () => /inversion-shell \(default model\)/.test(await statusBarText()), 10_000);
      const doc = await openShell("archive.sh");
      const text = await waitFor("a hover with a reading", async () => {
        const t = await hoverText(doc.uri, new vscode.Position(0, 1));
        return /reads this command as/.test(t) && t;
      }, 180_000);
      const reading = /the model reads this command as: “(.*?)”/s.exec(text)?.[1];
      assert.match(reading ?? "", /archiv|compress/i, `a reading about archiving in: ${text}`);
      assert.match(text, /\*\*Example\*\* from \[[^\]]+\]\(https:[^)]+\) \([^)]*\[(CC BY 4\\\.0|CC0 1\\\.0|MIT)\]/, "the nearest example with its attribution");
      // the comment check rests on examples and man pages: with the default model too, a mismatch is a Problem
      const commented = await openShell("commented.sh");
      await waitFor("warnings with the default model", () => inversionDiagnostics(commented.uri).filter((d) => d.severity === vscode.DiagnosticSeverity.Warning).length === 2, 120_000);
    } finally {
      await vscode.commands.executeCommand("inversion.selectModel", original);
    }
    await waitFor("the fixture model again", () => api.status()?.modelPath === original, 30_000);
  });

  test("what the user is told, read from the screen: the notification that ends a run, and the comment check's notice", async function () {
    this.timeout(300_000);
    await vscode.commands.executeCommand("notifications.clearAll");
    const result = (await vscode.commands.executeCommand("inversion.runCycles", { cycles: 1, tasks: 2, candidates: 2, learn: "none" })) as RunCyclesRequest.Result;
    assert.equal(result.state, "finished");
    const ended = await notificationLike("the end-of-run notification", /^Inversion: Run finished/);
    assert.equal(ended.message, `Inversion: ${result.status}`);

    // The comment check's notice is shown once per window when its self-check falls below the floor. This suite's
    // check is fit (its warnings are tested above), so its cached result is made unfit and the server restarted.
    assert.equal(api.status()?.selfCheck?.fit, true);
    const cache = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "inversion", "self-check");
    const saved = fs.readdirSync(cache).filter((f) => f.endsWith(".json")).map((f) => [path.join(cache, f), fs.readFileSync(path.join(cache, f), "utf8")] as const);
    assert.ok(saved.length > 0, `a measured self-check in ${cache}`);
    const restart = async (fit: boolean): Promise<void> => {
      const pid = api.status()!.pid;
      await vscode.commands.executeCommand("inversion.restartServer");
      await waitFor(`a new server whose comment check is ${fit ? "fit" : "unfit"}`, () => api.status()?.pid !== pid && api.status()?.selfCheck?.fit === fit, 120_000);
    };
    try {
      for (const [file, text] of saved) fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(text), auc: 0.52, fit: false }));
      await restart(false);
      const notice = await notificationLike("the comment check's notice", /Comment checks/);
      assert.equal(notice.message, `Inversion: ${api.status()!.selfCheck!.summary}`);
      assert.match(notice.message, /52% of the time \(below \d+%\), so comment warnings are off\.$/);
      await screenshot("vscode-notifications");
    } finally {
      for (const [file, text] of saved) fs.writeFileSync(file, text);
      await vscode.commands.executeCommand("notifications.hideList");
      await restart(true);
    }
  });

  test("Select model offers the shipped model first: choosing it clears the user's model and the shipped model is used", async function () {
    this.timeout(120_000);
    const shipped = path.join(vscode.extensions.getExtension(EXT_ID)!.extensionPath, DEFAULT_MODEL_FILE);
    const original = userModel();
    assert.ok(original && original !== shipped);
    try {
      const picking = vscode.commands.executeCommand("inversion.selectModel") as Thenable<string | undefined>;
      await sleep(1500);
      await screenshot("vscode-select-model");
      // the first item is active: Enter takes it
      await vscode.commands.executeCommand("workbench.action.acceptSelectedQuickOpenItem");
      assert.equal(await picking, "");
      assert.equal(userModel(), undefined, "the user's setting is removed, not set to a path");
      await waitFor("the shipped model", () => api.status()?.modelPath === shipped, 30_000);
    } finally {
      await vscode.commands.executeCommand("inversion.selectModel", original);
    }
    await waitFor("the fixture model again", () => api.status()?.modelPath === original, 30_000);
  });

  // Last: the question is a modal that stays open (nothing in the extension host can answer it).
  test("a workspace's model setting different from the user's is not used until the user allows it", async () => {
    const mine = userModel();
    const theirs = path.join(root(), "workspace-model.gguf");
    await vscode.workspace.getConfiguration("inversion").update("model", theirs, vscode.ConfigurationTarget.Workspace);
    try {
      // The question is pending: the server, made to read the settings again, gets the user's model.
      const asking = await hooks().client.sendRequest(ReloadModelRequest.type);
      assert.equal(asking.modelPath, mine);
      // "Inversion: Use or ignore this workspace's model settings" answers without the modal.
      assert.equal(await vscode.commands.executeCommand("inversion.workspaceSettings", "allow"), true);
      await waitFor("the workspace's model", () => api.status()?.modelPath === theirs, 30_000);
    } finally {
      await vscode.workspace.getConfiguration("inversion").update("model", undefined, vscode.ConfigurationTarget.Workspace);
    }
    await waitFor("the user's model again", () => api.status()?.modelPath === mine, 30_000);
  });
});
