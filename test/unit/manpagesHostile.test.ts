// Hostile man pages (issue 23.6): any directory on MANPATH can hold a page (man derives man directories from PATH
// entries, so a project's own bin/ brings its man/ along). Each page here hung the CLI and the language server's main
// thread, or grew them to many GB, before. They are made at run time in a temp dir: a FIFO, links to /dev/zero and
// /dev/urandom, a gzip bomb, roff that ran in quadratic time or overflowed the stack.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { explainCommand, type ProgramNote } from "../../server/src/knowledge/manpages/explain";
import { ManLibrary } from "../../server/src/knowledge/manpages/library";
import { parseManPage } from "../../server/src/knowledge/manpages/page";
import { manPageMarkdown } from "../../server/src/lsp/manHover";
import { loadShellParser, type ShellParser } from "../../server/src/shell/parser";

const ROOT = resolve(__dirname, "../..");
const HEADER = ".TH HOSTILE 1\n.SH NAME\nhostile \\- a page written to hurt\n.SH OPTIONS\n";
const OPTION_X = ".TP\n\\fB\\-x\\fR\nThe x option.\n";

let parser: ShellParser;
let dir: string;
let library: ManLibrary;

/** 16 MiB of zeros in 16 gzip members of 1 MiB each: 16 KB on disk. */
function gzipBomb(): Buffer {
  const member = gzipSync(Buffer.alloc(1024 * 1024));
  return Buffer.concat(Array.from({ length: 16 }, () => member));
}

/** A legitimate-looking page that takes about a second to parse: 60,000 options, 7 MB. */
function slowPage(): string {
  let page = HEADER;
  for (let i = 0; i < 60_000; i++) page += `.TP\n\\fB\\-\\-option${i}\\fR=\\fIVALUE\\fR\nSets option ${i} \\(em with \\fBbold\\fR words.\n`;
  return page;
}

before(async () => {
  parser = await loadShellParser();
  dir = mkdtempSync(join(tmpdir(), "inversion-man-hostile-"));
  const man1 = join(dir, "man1");
  mkdirSync(man1);
  // A suffixed name (like openssl.1ssl) is found in the directory listing, where no is-a-file check ran.
  const made = spawnSync("mkfifo", [join(man1, "fifo.1zz")]);
  assert.equal(made.status, 0, `mkfifo: ${made.stderr}`);
  symlinkSync("/dev/zero", join(man1, "zero.1zz"));
  symlinkSync("/dev/urandom", join(man1, "urandom.1zz"));
  symlinkSync(join(dir, "nowhere"), join(man1, "dangling.1zz"));
  writeFileSync(join(man1, "bomb.1.gz"), gzipBomb());
  writeFileSync(join(man1, "slow.1"), slowPage());
  library = new ManLibrary({ dirs: [dir] });
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function note(command: string, lib = library): Promise<ProgramNote> {
  return (await explainCommand(command, { parser, library: lib })).programs[0]!;
}

describe("hostile page files", () => {
  it("a page that is a FIFO is refused at once, not waited on for ever", { timeout: 5000 }, async () => {
    assert.equal((await note("fifo -x")).unreadable, "not a regular file (a FIFO)");
  });

  it("a page that is a link to /dev/zero is refused, not read until memory runs out", { timeout: 5000 }, async () => {
    assert.equal((await note("zero -x")).unreadable, "not a regular file (a character device)");
  });

  it("a page that is a link to /dev/urandom is refused, not read until memory runs out", { timeout: 5000 }, async () => {
    assert.equal((await note("urandom -x")).unreadable, "not a regular file (a character device)");
  });

  it("a gzip bomb is refused at the decompressed-size cap", { timeout: 5000 }, async () => {
    assert.equal((await note("bomb -x")).unreadable, "over 8 MiB once decompressed");
  });

  it("a dangling link with a suffixed name is reported, not looked up again for ever", { timeout: 5000 }, async () => {
    assert.equal((await note("dangling -x")).unreadable, "the file does not exist (a dangling link?)");
  });

  it("a page that could not be read is remembered as such: the next lookup does not read it again", { timeout: 5000 }, async () => {
    let reads = 0;
    const reader = { read: async () => (reads++, { unreadable: "not a regular file (a FIFO)" }) };
    const own = new ManLibrary({ dirs: [dir], reader });
    await note("fifo", own);
    await note("fifo -x", own);
    assert.equal(reads, 1);
  });

  it("the hover shows why the page could not be read", { timeout: 5000 }, async () => {
    const e = await explainCommand("fifo -x", { parser, library });
    assert.equal(manPageMarkdown(e), "**From the man pages**\n\n`fifo`: _page could not be read: not a regular file (a FIFO)_");
  });

  it("inversion explain on a FIFO page answers at once with the reason", { timeout: 20_000 }, () => {
    const cli = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "server/src/cli/main.ts"), "explain", "fifo -x"], {
      cwd: ROOT,
      env: { ...process.env, MANPATH: dir },
      encoding: "utf8",
      timeout: 15_000,
    });
    assert.equal(cli.stdout, "fifo: page could not be read: not a regular file (a FIFO)\n  -x  (page not read)\n");
  });

  it("the event loop keeps turning while a slow page is read (the read is off the main thread)", { timeout: 10_000 }, async () => {
    let longestGap = 0;
    let last = performance.now();
    const tick = (): void => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    };
    const ticker = setInterval(tick, 10);
    try {
      assert.ok(await library.page("slow"), "read");
    } finally {
      clearInterval(ticker);
      tick(); // a read that blocked the thread resolves before the next timer could fire: count that gap too
    }
    assert.ok(longestGap < 400, `the longest gap between ticks was ${Math.round(longestGap)} ms`);
  });
});

/** Milliseconds `parse` took. A test's timeout cannot stop synchronous code, so the slow ones are measured. */
function msToParse(source: string): number {
  const started = performance.now();
  parseManPage(source);
  return performance.now() - started;
}

/** Linear parses of these pages take 10–30 ms; the quadratic ones took from 30 s to hours. */
const LINEAR_MS = 2000;

describe("hostile roff", () => {
  it("an unterminated .de runs to the end of the page, as in groff", () => {
    const page = parseManPage(`${HEADER}.de XX\n${OPTION_X}`);
    assert.deepEqual(page.items, []);
  });

  it("100,000 unterminated .ig lines are skipped in linear time", () => {
    const ms = msToParse(HEADER + ".ig\n".repeat(100_000));
    assert.ok(ms < LINEAR_MS, `${Math.round(ms)} ms`);
  });

  it("a page over 200,000 lines is refused", () => {
    assert.throws(() => parseManPage(HEADER + "x\n".repeat(200_000)), { name: "UnreadablePageError", message: "over 200000 lines" });
  });

  it("a line of 300,000 backslashes is read in linear time", () => {
    const ms = msToParse(`${HEADER}${OPTION_X}${"\\".repeat(300_000)}x\n`);
    assert.ok(ms < LINEAR_MS, `${Math.round(ms)} ms`);
  });

  it("strings that name strings 20 times over, 8 deep, are rendered within a budget", () => {
    let strings = ".ds a0 \\&\n";
    for (let level = 1; level <= 8; level++) strings += `.ds a${level} ${`\\*(a${level - 1}`.repeat(20)}\n`;
    const ms = msToParse(`${strings}${HEADER}.TP\n\\-x\\*(a8\nThe x option.\n`);
    assert.ok(ms < LINEAR_MS, `${Math.round(ms)} ms`);
  });

  it("8,000 nested mdoc enclosures do not overflow the stack", () => {
    const page = parseManPage(`.Dt DEEP 1\n.Sh NAME\n.Nm deep\n.Nd nested\n.Sh DESCRIPTION\n.Bl -tag\n.It Fl v ${"Op ".repeat(8000)}x\nbody\n.El\n`);
    assert.deepEqual(page.items[0]!.flags, ["-v"]);
  });
});
