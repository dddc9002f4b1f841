// Man pages from roff fixtures written for these tests (test/fixtures/manpages): parsing man, docbook-style and
// mdoc pages, finding and caching pages, reading a command's flags, the explanation, and grounding.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { parseManPage, tagOptions } from "../../server/src/knowledge/manpages/page";
import { renderEscapes } from "../../server/src/knowledge/manpages/escapes";
import { readOptions } from "../../server/src/knowledge/manpages/options";
import { ManLibrary } from "../../server/src/knowledge/manpages/library";
import { manPath, parseManPathConfig } from "../../server/src/knowledge/manpages/locate";
import { explainCommand, trimText, type CommandExplanation } from "../../server/src/knowledge/manpages/explain";
import { checkGrounding, groundingStats } from "../../server/src/engine/grounding";
import { explanationText } from "../../server/src/cli/explain";
import { groundingCell } from "../../server/src/cli/report";
import { manPageMarkdown } from "../../server/src/lsp/manHover";
import { loadShellParser, type ShellParser } from "../../server/src/shell/parser";

const FIXTURES = resolve(__dirname, "../fixtures/manpages");
const fixture = (rel: string): string => readFileSync(join(FIXTURES, rel), "utf8");

let parser: ShellParser;
let root: string;
let library: ManLibrary;
before(async () => {
  parser = await loadShellParser();
  root = mkdtempSync(join(tmpdir(), "inversion-man-"));
  cpSync(FIXTURES, root, { recursive: true });
  // Installed pages are gzip'd: frob.1 only as frob.1.gz.
  writeFileSync(join(root, "man1/frob.1.gz"), gzipSync(readFileSync(join(root, "man1/frob.1"))));
  rmSync(join(root, "man1/frob.1"));
  library = new ManLibrary({ dirs: [root] });
});
after(() => rmSync(root, { recursive: true, force: true }));

const explain = (command: string): Promise<CommandExplanation> => explainCommand(command, { parser, library });

describe("roff escapes", () => {
  it("renders fonts, dashes, named characters and strings to plain text", () => {
    const strings = new Map([["Aq", "'"]]);
    assert.equal(renderEscapes("\\fB\\-\\-file\\fR=\\fI\\,ARCHIVE\\/\\fP \\(em it\\*(Aqs \\(lqx\\(rq \\[u2192] \\e \\s-2small\\s0", strings), "--file=ARCHIVE — it's “x” → \\ small");
    assert.equal(renderEscapes("a\\h'-04'b\\&c \\\" comment"), "abc ");
  });
});

describe("parseManPage", () => {
  it("reads a man(7) page: NAME description, .TP/.TQ/.IP paragraphs, conditionals as nroff, macros skipped", () => {
    const page = parseManPage(fixture("man1/frob.1"));
    assert.equal(page.name, "frob");
    assert.equal(page.section, "1");
    assert.equal(page.description, "frobnicate archives — quickly");
    assert.deepEqual(
      page.items.map((i) => [i.tag, i.flags, i.value]),
      [
        ["-x, --extract", ["-x", "--extract"], "none"],
        ["-f, --file=ARCHIVE", ["-f", "--file"], "required"],
        ["-v", ["-v"], "none"],
        ["--color[=WHEN]", ["--color"], "optional"],
        ["-z, --gzip", ["-z", "--gzip"], "none"],
        ["-name pattern", ["-name"], "required"],
        ["-n", ["-n"], "none"],
        ["commit MESSAGE", [], "none"],
      ],
    );
    const file = page.items[1]!;
    assert.equal(file.text, "Use archive file ARCHIVE; it's read gzip(1) style.\n\nA second paragraph that the trimmed text leaves out.");
    assert.equal(page.items[5]!.text, "Match the base name against pattern.\n\nStill the same paragraph as -name.");
  });

  it("reads docbook-style options (.PP tag, .br between its names, .RS body .RE), --[no-]name, and options nested in a paragraph", () => {
    // The fixture also opens with an `.am` block ended by an indented `.  .` (util-linux pages): it must not swallow the page.
    const page = parseManPage(fixture("man1/frob-commit.1"));
    assert.equal(page.description, "Record frobnications");
    assert.deepEqual(page.items.map((i) => i.flags), [["-a", "--all"], ["-m", "--message"], ["-n", "--verify", "--no-verify"], ["--hard"], []]);
    assert.equal(page.items[3]!.text, "Reset everything.");
    assert.equal(page.items[4]!.text, "Modes, nested in this paragraph:\n\n--hard Reset everything.");
    assert.equal(page.items[1]!.text, "Use the given <msg> as the message.\n\nSeveral -m options are joined.");
    assert.equal(page.items[1]!.value, "required");
  });

  it("reads an mdoc page: .Nd, .It Fl/Ar, .Xo … .Xc tags, nested lists inside an item", () => {
    const page = parseManPage(fixture("man8/blip.8"));
    assert.equal(page.name, "blip");
    assert.equal(page.section, "8");
    assert.equal(page.description, "send a blip to a remote host");
    assert.deepEqual(page.items.map((i) => i.tag), ["-4", "-i identity_file", "-L [bind_address:]port:host", "-o option", "-v"]);
    assert.equal(page.items[1]!.text, "Selects the identity file; see ssh(1).");
    assert.equal(page.items[3]!.text, "Give an option:\n\nCompression Nested item, still part of -o.");
  });

  it("takes a tag's options and value kind apart", () => {
    assert.deepEqual(tagOptions("-x, --extract, --get"), { flags: ["-x", "--extract", "--get"], value: "none" });
    assert.deepEqual(tagOptions("-e PATTERNS, --regexp=PATTERNS"), { flags: ["-e", "--regexp"], value: "required" });
    assert.deepEqual(tagOptions("-u[<mode>], --untracked-files[=<mode>]"), { flags: ["-u", "--untracked-files"], value: "optional" });
    assert.deepEqual(tagOptions("--verbose, -v"), { flags: ["--verbose", "-v"], value: "none" });
    assert.deepEqual(tagOptions("restart PATTERN..."), { flags: [], value: "none" });
  });
});

describe("readOptions", () => {
  const page = parseManPage(fixture("man1/frob.1"));
  const index = new Map(page.items.flatMap((i) => i.flags.map((f) => [f, i] as const)));
  const read = (words: string[]) => readOptions(words, (f) => index.get(f));
  const flags = (words: string[]) => read(words).uses.map((u) => (u.value === undefined ? u.flag : `${u.flag}=${u.value}`));

  it("splits combined short flags; a value-taking letter takes the rest of the word or the next one", () => {
    assert.deepEqual(flags(["-xvf", "a.tgz", "b"]), ["-x", "-v", "-f=a.tgz"]);
    assert.deepEqual(flags(["-xfa.tgz"]), ["-x", "-f=a.tgz"]);
    assert.deepEqual(read(["-xvf", "a.tgz", "b"]).operands, ["b"]);
  });

  it("reads --long=value, --long value, an optional value only when attached, and single-dash long options", () => {
    assert.deepEqual(flags(["--file=x.tgz", "--file", "y.tgz", "--color", "z"]), ["--file=x.tgz", "--file=y.tgz", "--color"]);
    assert.deepEqual(flags(["-name", "*.py", "-v"]), ["-name=*.py", "-v"]);
  });

  it("stops at --, and a word that is one of the page's options is never taken as a value", () => {
    assert.deepEqual(read(["-v", "--", "-x", "file"]).operands, ["-x", "file"]);
    assert.deepEqual(flags(["-name", "-v"]), ["-name", "-v"]);
  });

  it("keeps an unknown single-dash word whole when its first letter is not an option", () => {
    assert.deepEqual(flags(["-quux"]), ["-quux"]);
    assert.equal(read(["-quux"]).uses[0]!.item, undefined);
  });
});

describe("ManLibrary", () => {
  it("finds gzip'd pages, follows .so, and looks in section 1 before 8", async () => {
    assert.equal((await library.page("frob"))?.page.description, "frobnicate archives — quickly");
    assert.equal((await library.page("frobalias"))?.page.name, "frob");
    assert.equal((await library.page("blip"))?.title, "blip(8)");
    assert.equal(await library.page("no-such-program"), null);
  });

  it("parses a page once and again only when its file changes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "inversion-man-cache-"));
    try {
      cpSync(FIXTURES, dir, { recursive: true });
      const own = new ManLibrary({ dirs: [dir] });
      const first = await own.page("blip");
      assert.equal(await own.page("blip"), first, "the cached object");
      const file = join(dir, "man8/blip.8");
      writeFileSync(file, readFileSync(file, "utf8").replace("send a blip", "send two blips"));
      utimesSync(file, new Date(), new Date(Date.now() + 5000));
      assert.equal((await own.page("blip"))?.page.description, "send two blips to a remote host");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("builds man's search path: $MANPATH with an empty element means the default; the config maps PATH dirs", async () => {
    const config = parseManPathConfig("# c\nMANDATORY_MANPATH /m1\nMANPATH_MAP /bin /m2\nMANPATH_MAP /bin /m3\n");
    assert.deepEqual(config.mandatory, ["/m1"]);
    assert.deepEqual(config.map.get("/bin"), ["/m2", "/m3"]);
    const dirs = await manPath({ MANPATH: `${root}:`, PATH: "" }, []);
    assert.equal(dirs[0], root);
    assert.ok(dirs.length === 1 || dirs.slice(1).every((d) => d !== root), "no duplicate");
    assert.deepEqual(await manPath({ MANPATH: root, PATH: "/bin" }, []), [root]);
  });
});

describe("explainCommand", () => {
  it("names each flag of a program with its trimmed paragraph, values included", async () => {
    const e = await explain("frob -xvf out.tgz --color=never");
    assert.equal(e.programs.length, 1);
    const [p] = e.programs;
    assert.equal(p!.page, "frob(1)");
    assert.equal(p!.description, "frobnicate archives — quickly");
    assert.deepEqual(
      p!.flags.map((f) => [f.flag, f.value, f.found, f.text]),
      [
        ["-x", undefined, true, "Extract files from an archive."],
        ["-v", undefined, true, "Verbose: list files."],
        ["-f", "out.tgz", true, "Use archive file ARCHIVE; it's read gzip(1) style."],
        ["--color", "never", true, "Colour the output; WHEN is “always” or “never”."],
      ],
    );
  });

  it("reads a subcommand's own page (program-subcommand) or its paragraph in the program's page", async () => {
    const own = (await explain("frob commit -am 'first try'")).programs[0]!;
    assert.equal(own.page, "frob-commit(1)");
    assert.equal(own.subcommand, "commit");
    assert.equal(own.subcommandText, "Record frobnications");
    assert.deepEqual(own.flags.map((f) => [f.flag, f.value, f.found]), [["-a", undefined, true], ["-m", "first try", true]]);
    await withoutFile(join(root, "man1/frob-commit.1"), async () => {
      const fresh = new ManLibrary({ dirs: [root] });
      const inPage = (await explainCommand("frob commit now", { parser, library: fresh })).programs[0]!;
      assert.equal(inPage.page, "frob(1)");
      assert.equal(inPage.subcommandText, "Record the frobnication.");
    });
  });

  it("says when there is no page, and when a page lacks a flag", async () => {
    const e = await explain("unknownprog -q | frob -Q");
    assert.deepEqual(e.programs.map((p) => [p.program, p.page, p.flags.map((f) => [f.flag, f.found])]), [
      ["unknownprog", null, [["-q", false]]],
      ["frob", "frob(1)", [["-Q", false]]],
    ]);
    assert.match(explanationText(e), /^unknownprog: no manual page found on this machine\n  -q  \(no manual page\)\n\nfrob: .*\n  -Q  \(not in frob\(1\)\)\n$/);
  });

  it("trims a paragraph to its first part at a sentence end", () => {
    assert.equal(trimText("One. Two.\n\nThree."), "One. Two.");
    assert.equal(trimText(`${"a".repeat(150)}. ${"b ".repeat(100)}`, 200), `${"a".repeat(150)}.`);
  });
});

describe("renderers", () => {
  it("the hover's markdown lists each flag under its program; the CLI's text the same", async () => {
    const e = await explain("frob -x out");
    assert.equal(manPageMarkdown(e), "**From the man pages**\n\n`frob` — frobnicate archives — quickly _(frob(1))_\n- `-x` Extract files from an archive.");
    assert.equal(explanationText(e), "frob: frobnicate archives — quickly  [frob(1)]\n  -x  Extract files from an archive.\n");
  });
});

describe("grounding", () => {
  it("marks documented flags the reading does not account for, and actions nothing in the pages explains", async () => {
    const e = await explain("frob -xvf a.tgz");
    assert.deepEqual(checkGrounding(e, "extract a.tgz verbosely"), { checked: true, flags: 3, unaccountedFlags: [], unexplainedActions: [] });
    assert.deepEqual(checkGrounding(e, "delete the archive"), { checked: true, flags: 3, unaccountedFlags: ["-x", "-v", "-f"], unexplainedActions: ["delete"] });
    assert.equal(checkGrounding(await explain("unknownprog -q"), "delete everything").checked, false);
  });

  it("counts over a cycle's candidates, accepted ones apart; candidates with no page are not counted", async () => {
    const stats = await groundingStats(
      [
        { command: "frob -x a.tgz", reconstruction: "extract a.tgz", accepted: true },
        { command: "frob -v a.tgz", reconstruction: "delete a.tgz", accepted: true },
        { command: "unknownprog -q", reconstruction: "delete", accepted: false },
        { command: "frob -z", reconstruction: "", accepted: false },
      ],
      { parser, library },
    );
    assert.deepEqual(stats, { examples: 2, flags: 2, unaccountedFlags: 1, withUnaccountedFlags: 1, withUnexplainedActions: 1, ungrounded: 1, accepted: 2, acceptedUngrounded: 1 });
    assert.equal(groundingCell(stats), "1/2");
    assert.equal(groundingCell(undefined), "-");
  });
});

describe("issue 23: pages read as man reads them", () => {
  it("shell builtins with no page of their own are named as builtins", async () => {
    const e = await explain("set -e; . ./env; shift; umask 022; cd /tmp; export A=1; source f");
    assert.deepEqual(e.programs.map((p) => [p.program, p.page, p.builtin]), [
      ["set", null, true], [".", null, true], ["shift", null, true], ["umask", null, true], ["cd", null, true], ["export", null, true], ["source", null, true],
    ]);
  });

  it("a builtin's line points to bash's help, on the command line and in the hover", async () => {
    const e = await explain("cd /tmp");
    assert.deepEqual([explanationText(e), manPageMarkdown(e)], ["cd: shell builtin: see `help cd` in bash\n", "**From the man pages**\n\n`cd`: shell builtin: see `help cd` in bash"]);
  });

  it("nothing after a bare -- is a flag", async () => {
    const [frob] = (await explain("frob -v -- -x --file out")).programs;
    assert.deepEqual(frob!.flags.map((f) => f.flag), ["-v"]);
  });

  it("`[` finds its page ([.1, as test(1) is installed)", async () => {
    writeFileSync(join(root, "man1/[.1"), ".TH TEST 1\n.SH NAME\ntest, [ \\- check file types and compare values\n");
    assert.equal((await library.page("["))?.page.description, "check file types and compare values");
  });

  it("a NAME section of several lines (.br between them) is described by its first line", () => {
    const page = parseManPage(".TH BZIP2 1\n.SH NAME\nbzip2, bunzip2 \\- a block-sorting file compressor\n.br\nbzcat \\- decompresses files to stdout\n");
    assert.equal(page.description, "a block-sorting file compressor");
  });

  it("help2man's .HP tag and .IP body make an option paragraph (sed -e)", () => {
    const page = parseManPage(".TH SED 1\n.SH OPTIONS\n.HP\n\\fB\\-e\\fR script, \\fB\\-\\-expression\\fR=\\fI\\,script\\/\\fR\n.IP\nadd the script to the commands to be executed\n.HP\n\\fB\\-n\\fR\n.IP\nquiet\n");
    assert.deepEqual(page.items.map((i) => [i.flags, i.value, i.text]), [
      [["-e", "--expression"], "required", "add the script to the commands to be executed"],
      [["-n"], "none", "quiet"],
    ]);
  });

  it("an .IP option inside an item's .RS block is an option paragraph of its own (dpkg --info)", () => {
    const page = parseManPage(
      '.TH DPKG 1\n.SH ACTIONS\n.IP "\\fBdpkg-deb actions\\fR" 4\nSee dpkg-deb.\n.RS 4\n.IP "\\fB\\-c\\fR, \\fB\\-\\-contents\\fR \\fIarchive\\fR" 4\nList contents.\n' +
        '.IP "\\fB\\-I\\fR, \\fB\\-\\-info\\fR \\fIarchive\\fR" 4\nShow information.\n.RE\n.IP "\\fB\\-\\-version\\fR" 4\nVersion.\n',
    );
    assert.deepEqual(page.items.map((i) => [i.tag, i.text]), [
      ["-c, --contents archive", "List contents."],
      ["-I, --info archive", "Show information."],
      ["dpkg-deb actions", "See dpkg-deb.\n\n-c, --contents archive List contents.\n\n-I, --info archive Show information."],
      ["--version", "Version."],
    ]);
  });
});

async function withoutFile(file: string, run: () => Promise<void>): Promise<void> {
  const saved = readFileSync(file);
  rmSync(file);
  try {
    await run();
  } finally {
    writeFileSync(file, saved);
  }
}
