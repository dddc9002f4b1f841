// The man-page worker's budgets (issue 23.6): a page is read and parsed on a worker thread that is terminated past
// its time budget and dies past its heap budget, without taking the caller down; the next page gets a fresh worker.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, it } from "node:test";
import { ManPageWorker, PAGE_READ_BUDGET } from "../../server/src/knowledge/manpages/pageOffThread";

const FIXTURE = resolve(__dirname, "../fixtures/manpages/man8/blip.8");
let dir: string;
let big: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "inversion-man-worker-"));
  big = join(dir, "big.1");
  let page = ".TH BIG 1\n.SH NAME\nbig \\- a big page\n.SH OPTIONS\n";
  for (let i = 0; i < 60_000; i++) page += `.TP\n\\fB\\-\\-option${i}\\fR=\\fIVALUE\\fR\nSets option ${i} \\(em with \\fBbold\\fR words.\n`;
  writeFileSync(big, page);
});
after(() => rmSync(dir, { recursive: true, force: true }));

it("a read past its time budget is stopped, with the reason", { timeout: 10_000 }, async () => {
  const worker = new ManPageWorker({ ...PAGE_READ_BUDGET, timeMs: 100 }); // parsing the page takes ~1 s
  const outcome = await worker.read(big);
  worker.dispose();
  assert.deepEqual(outcome, { unreadable: "reading took over 0.1 s" });
});

it("after a read is stopped, the next page is read on a fresh worker", { timeout: 10_000 }, async () => {
  const budget = { ...PAGE_READ_BUDGET, timeMs: 100 };
  const worker = new ManPageWorker(budget);
  await worker.read(big);
  budget.timeMs = 10_000; // read at each job: room for the fresh worker to start
  const outcome = await worker.read(FIXTURE);
  worker.dispose();
  assert.equal("page" in outcome ? outcome.page.name : outcome.unreadable, "blip");
});

it("a worker past its heap budget dies alone: the page is reported unreadable", { timeout: 10_000 }, async () => {
  const worker = new ManPageWorker({ ...PAGE_READ_BUDGET, heapMb: 16 });
  const outcome = await worker.read(big);
  worker.dispose();
  assert.match("unreadable" in outcome ? outcome.unreadable : "read", /^the page reader (failed|exited)/);
});
