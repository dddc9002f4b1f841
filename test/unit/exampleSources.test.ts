// The cheat-sheet parsers of scripts/examples/sources.ts on small pages written for these tests (each in the format of
// its source), and readSource on a throwaway git repository.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import {
  logicalLines,
  makePair,
  parseCheatSheet,
  parseChubinSheet,
  parseEgPage,
  parseHashCommentLines,
  parseNaviCheat,
  parseTldrPage,
  readSource,
  renderTldrPlaceholders,
  SOURCE_SNAPSHOTS,
  stripFrontMatter,
  stripMnemonics,
  type SourcePair,
} from "../../scripts/examples/sources";

const brief = (pairs: readonly SourcePair[]): string[][] => pairs.map((p) => [p.ref, p.description, p.command]);

describe("common rules", () => {
  it("collapses spaces in the description and trims the command", () => {
    assert.deepEqual(makePair("  List   the\tfiles ", "  ls -l  ", "s", "r"), { description: "List the files", command: "ls -l", source: "s", ref: "r" });
  });

  it("drops empty, multi-line and over-long pairs", () => {
    assert.equal(makePair(" ", "ls", "s", "r"), undefined);
    assert.equal(makePair("List", "  ", "s", "r"), undefined);
    assert.equal(makePair("List", "ls\npwd", "s", "r"), undefined);
    assert.equal(makePair("List", `echo ${"x".repeat(300)}`, "s", "r"), undefined);
    assert.equal(makePair("d".repeat(201), "ls", "s", "r"), undefined);
    assert.ok(makePair("d".repeat(200), `echo ${"x".repeat(295)}`, "s", "r"));
  });

  it("joins backslash continuations into logical lines", () => {
    assert.deepEqual(logicalLines(["docker run \\", "  --rm \\", "  alpine", "ls"]), ["docker run --rm alpine", "ls"]);
  });

  it("strips YAML front matter only at the top", () => {
    assert.equal(stripFrontMatter("---\ntags: [ a ]\n---\n# To x:\nx\n"), "# To x:\nx\n");
    assert.equal(stripFrontMatter("# To x:\nx\n---\ny\n---\n"), "# To x:\nx\n---\ny\n---\n");
  });
});

describe("tldr pages (other platforms)", () => {
  const page = [
    "# mytool",
    "",
    "> Does things.",
    "> More information: <https://example.org>.",
    "",
    "- [c]reate an archive, e[x]tract it and be [v]erbose:",
    "",
    "`mytool {{[-c|--create]}} {{path/to/file}}`",
    "",
    "- Show the page of the GNU version:",
    "",
    "`tldr {{[-p|--platform]}} linux mytool`",
    "",
    "- Use IPv[4] and the [arch]itecture [no brackets removed here]:",
    "",
    "`mytool {{4|6}} --arch {{x86_64}} \\{\\{literal\\}\\}`",
    "",
    "- Index `array[i]` of [3] months:",
    "",
    "`mytool {{command1 | command2}}`",
  ].join("\n");

  it("reads each example with placeholders rendered and mnemonic brackets removed", () => {
    assert.deepEqual(brief(parseTldrPage(page, "osx", "mytool")), [
      ["osx/mytool#0", "create an archive, extract it and be verbose", "mytool -c path/to/file"],
      ["osx/mytool#2", "Use IPv4 and the architecture [no brackets removed here]", "mytool 4 --arch x86_64 {{literal}}"],
      ["osx/mytool#3", "Index `array[i]` of 3 months", "mytool command1 | command2"],
    ]);
    assert.ok(parseTldrPage(page, "osx", "mytool").every((p) => p.source === "tldr-other"));
  });

  it("renders placeholders: short option, first alternative, literal braces", () => {
    assert.equal(renderTldrPlaceholders("ls {{[-a|--all]}} {{path/to/dir1 path/to/dir2 ...}}"), "ls -a path/to/dir1 path/to/dir2 ...");
    assert.equal(renderTldrPlaceholders("base64 {{[-b|--break]}} {{0|76|...}}"), "base64 -b 0");
    assert.equal(renderTldrPlaceholders("echo \\{\\{x\\}\\} {{[0-9]}}"), "echo {{x}} [0-9]");
  });

  it("strips only single-word bracket groups", () => {
    assert.equal(stripMnemonics("List [a]ll files, filesystem t[Y]pes [see notes]"), "List all files, filesystem tYpes [see notes]");
  });
});

describe("cheat/cheatsheets sheets", () => {
  const sheet = [
    "---",
    "tags: [ archive ]",
    "---",
    "# To extract an archive:",
    "tar -xvf /path/to/foo.tar",
    "",
    "# To create an archive",
    "# of a whole directory:",
    "tar -cvf foo.tar \\",
    "  dir/",
    "",
    "# To list two archives:",
    "tar -tf a.tar",
    "tar -tf b.tar",
    "",
    "# To connect with a key exchange algorithm:",
    "# Full list of algorithms : man ssh_config",
    "ssh -oKexAlgorithms=+dh host",
    "",
    "# To compress. Then delete the files:",
    "tar --remove-files -czf a.tgz dir",
    "# or:",
    "tar -czf a.tgz dir && rm -r dir",
    "#",
    "# Print the version",
    "tar --version",
    "",
    "# To list an archive",
    "$ tar -tf a.tar",
    "",
    "A line of prose without a comment",
    "tar --help",
    "",
    "# A comment with no command",
    "",
    "tar --usage",
  ].join("\n");

  it("pairs one-sentence comments with one logical command line", () => {
    assert.deepEqual(brief(parseCheatSheet(sheet, "tar")), [
      ["tar#0", "Extract an archive", "tar -xvf /path/to/foo.tar"],
      ["tar#1", "Create an archive of a whole directory", "tar -cvf foo.tar dir/"],
      ["tar#6", "Print the version", "tar --version"],
      ["tar#7", "List an archive", "tar -tf a.tar"],
    ]);
    assert.ok(parseCheatSheet(sheet, "tar").every((p) => p.source === "cheat"));
  });

  it("keeps the sheet's path in the ref", () => {
    assert.deepEqual(brief(parseCheatSheet("# To open fzf files:\n:Files\n", "vim-plugins/vim-fzf")), [["vim-plugins/vim-fzf#0", "Open fzf files", ":Files"]]);
  });
});

describe("chubin/cheat.sheets sheets", () => {
  const sheet = [
    "# curl",
    "# Transfer data from or to a server",
    "",
    "# Download a file and save it with a specific name.",
    "curl -o file.txt http://example.com/file.txt",
    "",
    "# Install curl first",
    "sudo apt install curl",
    "",
    "# Fetch as root",
    "sudo curl -O http://example.com/a",
    "",
    "# Show headers. This is handy",
    "# when debugging.",
    "curl -I http://example.com",
    "",
    "# Follow redirects",
    "#",
    "# (the default is not to)",
    "curl -L http://example.com",
  ].join("\n");

  it("keeps only pairs whose command runs the sheet's program", () => {
    assert.deepEqual(brief(parseChubinSheet(sheet, "curl")), [
      ["curl#0", "Download a file and save it with a specific name", "curl -o file.txt http://example.com/file.txt"],
      ["curl#2", "Fetch as root", "sudo curl -O http://example.com/a"],
    ]);
  });

  it("reads nothing from sheets not named like a program", () => {
    assert.deepEqual(parseChubinSheet("# List\nBash-Snippets list\n", "Bash-Snippets"), []);
  });
});

describe("navi cheats", () => {
  const cheat = [
    "% compression, tar",
    "",
    "### Archives",
    "# Create a tar containing files",
    "tar cf <name>.tar <files>",
    "",
    "#Extract a tar file.",
    "tar xf <tar_file> 2>&1 > /dev/null",
    "",
    "; a note for the author",
    "# Rebase on upstream",
    "git fetch <remote>",
    "git rebase <remote>/master",
    "",
    "# Show the diff of a file",
    "cd <dir>; \\",
    "    git diff <file>",
    "$ tar_file: ls *.tar",
    "@ other",
  ].join("\n");

  it("renders <variables> as words and skips tags, variables and notes", () => {
    assert.deepEqual(brief(parseNaviCheat(cheat, "misc/compression.cheat")), [
      ["misc/compression.cheat#0", "Create a tar containing files", "tar cf name.tar files"],
      ["misc/compression.cheat#1", "Extract a tar file", "tar xf tar_file 2>&1 > /dev/null"],
      ["misc/compression.cheat#3", "Show the diff of a file", "cd dir; git diff file"],
    ]);
    assert.ok(parseNaviCheat(cheat, "x.cheat").every((p) => p.source === "navi-denisidoro"));
  });
});

describe("eg pages", () => {
  const page = [
    "# tar",
    "",
    "extract .tar file",
    "",
    "    tar vfx archive.tar",
    "",
    "",
    "# Basic Usage",
    "",
    "    tar --help",
    "",
    "Untar a file:",
    "",
    "    tar vfx <tar-file-to-extract>",
    "",
    "The `-l` flag shows extended information, including permissions",
    "and the owner:",
    "",
    "    ls -l",
    "",
    "Show the long listing:",
    "",
    "    $ ls -l",
    "    total 16",
    "    -rw-r--r--  1 me  group  15 Feb  3 14:01 foo.txt",
    "",
    "Run two commands:",
    "",
    "    cd dir",
    "",
    "    ls",
    "",
    "Where kegs are installed. Find them with:",
    "",
    "    brew --cellar",
  ].join("\n");

  it("pairs one-line paragraphs with one-command code blocks", () => {
    assert.deepEqual(brief(parseEgPage(page, "tar")), [
      ["tar#0", "extract .tar file", "tar vfx archive.tar"],
      ["tar#1", "Untar a file", "tar vfx <tar-file-to-extract>"],
      ["tar#3", "Show the long listing", "ls -l"],
    ]);
    assert.ok(parseEgPage(page, "tar").every((p) => p.source === "eg"));
  });
});

describe("awesome-cheatsheets shell lines", () => {
  const text = [
    "#!/bin/bash",
    "##############################",
    "# FILE COMMANDS",
    "CTRL+A  # move to beginning of line",
    "ls -l                # lists your files in 'long format'",
    "sudo du -sh /var     # shows the size of /var.",
    "varname=value        # defines a variable",
    "for i in 1 2; do echo $i; done  # loops",
    "str1 == str2         # str1 matches str2",
    "ls > files.txt       # writes the listing to a file",
    "echo $SHELL # one space only",
    "  cd dir             # indented lines are skipped",
  ].join("\n");

  it("keeps commands that run a plausible program, with file:line refs", () => {
    assert.deepEqual(brief(parseHashCommentLines(text, "languages/bash.sh")), [
      ["languages/bash.sh:5", "lists your files in 'long format'", "ls -l"],
      ["languages/bash.sh:6", "shows the size of /var", "sudo du -sh /var"],
      ["languages/bash.sh:10", "writes the listing to a file", "ls > files.txt"],
    ]);
    assert.ok(parseHashCommentLines(text, "x.sh").every((p) => p.source === "awesome-cheatsheets"));
  });
});

describe("readSource", () => {
  it("reads a snapshot's commit, licence link and sheets", () => {
    const dir = mkdtempSync(join(tmpdir(), "example-sources-"));
    try {
      const files: Record<string, string> = {
        ".github/LICENSE.txt": "CC0 1.0 Universal\n",
        ".github/README.md": "# To ignore this:\nnothing\n",
        tar: "# To extract an archive:\ntar -xvf a.tar\n",
        "vim-plugins/vim-fzf": "# To list files:\n:Files\n",
      };
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      }
      const git = (...args: string[]): string => execFileSync("git", ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", ...args], { encoding: "utf8" });
      git("init", "-q");
      git("add", "-A");
      git("commit", "-q", "-m", "sheets");
      const commit = git("rev-parse", "HEAD").trim();

      const { source, pairs } = readSource("cheat", dir);
      assert.equal(source.commit, commit);
      assert.equal(source.licence, "CC0 1.0");
      assert.equal(source.licenceUrl, `https://github.com/cheat/cheatsheets/blob/${commit}/.github/LICENSE.txt`);
      assert.deepEqual(brief(pairs), [
        ["tar#0", "Extract an archive", "tar -xvf a.tar"],
        ["vim-plugins/vim-fzf#0", "List files", ":Files"],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("knows a snapshot directory for every source and refuses unknown ids", () => {
    assert.deepEqual(Object.keys(SOURCE_SNAPSHOTS).sort(), ["awesome-cheatsheets", "chubin", "cheat", "eg", "navi-denisidoro", "tldr-other"].sort());
    assert.throws(() => readSource("nope", "/nonexistent"), /unknown example source/);
  });
});
