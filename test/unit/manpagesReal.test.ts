// Against the real man pages Debian installs (CI installs them: man-db, coreutils, findutils, tar, git, …). Where
// they are missing these tests fail under CI and are skipped elsewhere, with the reason.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { before, describe, it } from "node:test";
import { explainCommand, type CommandExplanation, type ProgramNote } from "../../server/src/knowledge/manpages/explain";
import { ManLibrary } from "../../server/src/knowledge/manpages/library";
import { loadShellParser, type ShellParser } from "../../server/src/shell/parser";

const NEEDED = ["man1/tar.1.gz", "man1/find.1.gz", "man1/git-commit.1.gz", "man1/rm.1.gz"].map((p) => join("/usr/share/man", p));
const missing = NEEDED.filter((p) => !existsSync(p));
const skip = missing.length > 0 && !process.env.CI ? `man pages not installed here: ${missing.join(", ")}` : false;

let parser: ShellParser;
const library = new ManLibrary();

const explain = (command: string): Promise<CommandExplanation> => explainCommand(command, { parser, library });

function program(e: CommandExplanation, name: string): ProgramNote {
  const p = e.programs.find((x) => x.program === name);
  assert.ok(p, `${name} in ${JSON.stringify(e.programs.map((x) => x.program))}`);
  return p;
}

describe("real man pages", { skip }, () => {
  before(async () => {
    assert.deepEqual(missing, [], "CI installs these pages (.ci/run)");
    parser = await loadShellParser();
  });

  it("tar -xzvf names extract, gzip, verbose and file", async () => {
    const tar = program(await explain("tar -xzvf a.tgz"), "tar");
    assert.equal(tar.page, "tar(1)");
    assert.equal(tar.description, "an archiving utility");
    assert.deepEqual(tar.flags.map((f) => [f.flag, f.value, f.found, f.tag]), [
      ["-x", undefined, true, "-x, --extract, --get"],
      ["-z", undefined, true, "-z, --gzip, --gunzip, --ungzip"],
      ["-v", undefined, true, "-v, --verbose"],
      ["-f", "a.tgz", true, "-f, --file=ARCHIVE"],
    ]);
    assert.match(tar.flags[0]!.text, /^Extract files from an archive\./);
    assert.match(tar.flags[1]!.text, /^Filter the archive through gzip\(1\)\.$/);
    assert.match(tar.flags[2]!.text, /^Verbosely list files processed\./);
    assert.match(tar.flags[3]!.text, /^Use archive file or device ARCHIVE\./);
  });

  it("find . -name '*.py' -mtime -1 -exec rm {} + names each of its flags", async () => {
    const e = await explain("find . -name '*.py' -mtime -1 -exec rm {} +");
    const find = program(e, "find");
    assert.equal(find.description, "search for files in a directory hierarchy");
    assert.deepEqual(find.flags.map((f) => [f.flag, f.value, f.found]), [
      ["-name", "*.py", true],
      ["-mtime", "-1", true],
      ["-exec", undefined, true],
    ]);
    assert.match(find.flags[0]!.text, /^Base of file name/);
    assert.match(find.flags[1]!.text, /last modified/);
    assert.match(find.flags[2]!.text, /^Execute command/);
    assert.equal(program(e, "rm").description, "remove files or directories");
  });

  it("git commit -am msg finds git-commit's page", async () => {
    const git = program(await explain("git commit -am msg"), "git");
    assert.equal(git.page, "git-commit(1)");
    assert.equal(git.subcommand, "commit");
    assert.equal(git.subcommandText, "Record changes to the repository");
    assert.deepEqual(git.flags.map((f) => [f.flag, f.value, f.found, f.tag]), [
      ["-a", undefined, true, "-a, --all"],
      ["-m", "msg", true, "-m <msg>, --message=<msg>"],
    ]);
  });

  it("an unknown program says no page, in the view and on the command line", async () => {
    const e = await explain("inversion-no-such-program --frob");
    assert.deepEqual(e.programs, [
      { program: "inversion-no-such-program", page: null, description: null, subcommand: null, subcommandText: null, flags: [{ flag: "--frob", text: "", found: false }] },
    ]);
    const cli = spawnSync(process.execPath, ["--import", "tsx", resolve(__dirname, "../../server/src/cli/main.ts"), "explain", "inversion-no-such-program --frob"], { encoding: "utf8" });
    assert.equal(cli.status, 0, cli.stderr);
    assert.equal(cli.stdout, "inversion-no-such-program: no manual page found on this machine\n  --frob  (no manual page)\n");
  });

  it("inversion explain --json prints the same view", async () => {
    const cli = spawnSync(process.execPath, ["--import", "tsx", resolve(__dirname, "../../server/src/cli/main.ts"), "explain", "--json", "tar -xzvf a.tgz"], { encoding: "utf8" });
    assert.equal(cli.status, 0, cli.stderr);
    assert.deepEqual(JSON.parse(cli.stdout), await explain("tar -xzvf a.tgz"));
  });
});

/** The reason to skip a test when its page is not installed here (these pages are not among those CI installs). */
const unless = (...pages: string[]): { skip: string | false } => {
  const absent = pages.map((p) => join("/usr/share/man", p)).filter((p) => !existsSync(p));
  return { skip: absent.length ? `not installed here: ${absent.join(", ")}` : false };
};

describe("real man pages read as man reads them (issue 23)", () => {
  before(async () => {
    parser ??= await loadShellParser();
  });

  it("`[` is explained from test(1)'s page", unless("man1/[.1.gz"), async () => {
    assert.equal(program(await explain("[ -f x ]"), "[").description, "check file types and compare values");
  });

  it("sed -e is found in sed's help2man page (.HP tag, .IP body)", unless("man1/sed.1.gz"), async () => {
    const [flag] = program(await explain("sed -e s/a/b/ file"), "sed").flags;
    assert.deepEqual([flag?.flag, flag?.value, flag?.found, flag?.text], ["-e", "s/a/b/", true, "add the script to the commands to be executed"]);
  });

  it("dpkg --info is found among the dpkg-deb actions nested in dpkg's page", unless("man1/dpkg.1.gz"), async () => {
    const [flag] = program(await explain("dpkg --info pkg.deb"), "dpkg").flags;
    assert.deepEqual([flag?.flag, flag?.found, flag?.text], ["--info", true, "Show information about a package."]);
  });

  it("grep -v -- '-cert.pub$': the pattern after -- is not read as flags", unless("man1/grep.1.gz"), async () => {
    const grep = program(await explain("grep -v -- '-cert.pub$' keys"), "grep");
    assert.deepEqual(grep.flags.map((f) => f.flag), ["-v"]);
  });

  it("start-stop-daemon … -- --system: the daemon's arguments are not its flags", unless("man8/start-stop-daemon.8.gz"), async () => {
    const ssd = program(await explain("start-stop-daemon --start --exec /usr/bin/dbus-daemon -- --system"), "start-stop-daemon");
    assert.deepEqual(ssd.flags.map((f) => f.flag), ["--start", "--exec"]);
  });

  it("bunzip2 is described by its own line of bzip2's NAME section", unless("man1/bunzip2.1.gz"), async () => {
    assert.equal(program(await explain("bunzip2 -k x.bz2"), "bunzip2").description, "a block-sorting file compressor, v1.0.8");
  });

  it("bzcat is described by its own line of bzip2's NAME section", unless("man1/bzcat.1.gz"), async () => {
    assert.equal(program(await explain("bzcat x.bz2"), "bzcat").description, "decompresses files to stdout");
  });
});
