import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { isKnownProgram, loadShellParser, type ShellParser } from "../../server/src/shell/parser";

let parser: ShellParser;
before(async () => {
  parser = await loadShellParser();
});

/** Loads the parser in a fresh process (the runtime initialises once per process) and returns its utility names. */
function loadInChild(wasmDir: string): string {
  const parserModule = path.resolve(__dirname, "../../server/src/shell/parser.ts");
  const script =
    `require(${JSON.stringify(parserModule)}).loadShellParser({ wasmDir: ${JSON.stringify(wasmDir)} })` +
    `.then((p) => console.log(p.parseCommand("ls | grep x").utilities.map((u) => u.name).join(",")))` +
    `.catch(() => console.log("failed"));`;
  const child = spawnSync(process.execPath, ["--import", "tsx", "-e", script], { encoding: "utf8" });
  return child.stdout.trim();
}

function at<T>(items: readonly T[], index: number): T {
  const item = items[index];
  assert.ok(item !== undefined, `no item ${index} in ${JSON.stringify(items)}`);
  return item;
}

const names = (command: string) => parser.parseCommand(command).utilities.map((u) => u.name);

describe("loadShellParser", () => {
  it("caches one parser per process", async () => {
    assert.equal(await loadShellParser(), parser);
  });

  it("prefers the .wasm files in wasmDir (as a bundle ships them)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "inversion-wasm-"));
    try {
      fs.copyFileSync(require.resolve("web-tree-sitter/tree-sitter.wasm"), path.join(dir, "tree-sitter.wasm"));
      const bash = path.join(path.dirname(require.resolve("tree-sitter-bash/package.json")), "tree-sitter-bash.wasm");
      fs.copyFileSync(bash, path.join(dir, "tree-sitter-bash.wasm"));
      assert.equal(loadInChild(dir), "ls,grep");
      fs.writeFileSync(path.join(dir, "tree-sitter-bash.wasm"), "not wasm");
      assert.notEqual(loadInChild(dir), "ls,grep");
      fs.rmSync(path.join(dir, "tree-sitter-bash.wasm"));
      assert.equal(loadInChild(dir), "ls,grep", "falls back to node_modules for a missing file");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("parseCommand utilities", () => {
  it("lists pipeline stages left to right", () => {
    assert.deepEqual(names("cat a.txt | sort | uniq -c | head -n 3"), ["cat", "sort", "uniq", "head"]);
  });

  it("puts nested utilities after their parent", () => {
    assert.deepEqual(names("find . -name '*.c' -exec grep -l foo {} \\; | xargs -0 wc -l"), ["find", "grep", "xargs", "wc"]);
    assert.deepEqual(names("echo $(date +%s) done"), ["echo", "date"]);
    assert.deepEqual(names("sudo -u bob ls /root"), ["sudo", "ls"]);
    assert.deepEqual(names("constructor toString"), ["constructor"]);
  });

  it("keeps flags of a nested command out of its parent", () => {
    const utilities = parser.parseCommand("find . -type f -exec grep -il todo {} + -print").utilities;
    const [find, grep] = [at(utilities, 0), at(utilities, 1)];
    assert.deepEqual(find.flags, ["-type", "-exec", "-print"]);
    assert.deepEqual(find.args, [".", "f"]);
    assert.deepEqual(grep.flags, ["-i", "-l"]);
    assert.deepEqual(grep.args, ["todo", "{}"]);
  });

  it("splits combined short flags, drops long-flag values, keeps find primaries whole", () => {
    const ls = at(parser.parseCommand("ls -la --color=auto --sort time /tmp").utilities, 0);
    assert.deepEqual(ls.flags, ["-l", "-a", "--color", "--sort"]);
    assert.deepEqual(ls.args, ["time", "/tmp"]);
    const find = at(parser.parseCommand("find / -EXdsx -name linux").utilities, 0);
    assert.deepEqual(find.flags, ["-E", "-X", "-d", "-s", "-x", "-name"]);
  });

  it("treats a negative number after a flag as that flag's value", () => {
    const find = at(parser.parseCommand("find . -ctime -3").utilities, 0);
    assert.deepEqual(find.flags, ["-ctime"]);
    assert.deepEqual(find.args, [".", "-3"]);
  });

  it("stops reading flags after --", () => {
    const rm = at(parser.parseCommand("rm -f -- -weird-name").utilities, 0);
    assert.deepEqual(rm.flags, ["-f"]);
    assert.deepEqual(rm.args, ["-weird-name"]);
  });

  it("uses the word after env assignments as the utility and reports its source range", () => {
    const text = "LANG=C FOO='a b' sort -u list";
    const sort = at(parser.parseCommand(text).utilities, 0);
    assert.equal(sort.name, "sort");
    assert.equal(text.slice(sort.startIndex, sort.endIndex), "sort -u list");
  });

  it("exposes [ ] and [[ ]] as utility '[' with test operators as flags", () => {
    const tests = parser.parseCommand('[ -d "$dir" ] && [[ -z $x ]]').utilities;
    const [single, double] = [at(tests, 0), at(tests, 1)];
    assert.deepEqual([single.name, single.flags], ["[", ["-d"]]);
    assert.deepEqual([double.name, double.flags], ["[", ["-z"]]);
    assert.deepEqual(names("test -f x"), ["test"]);
  });

  it("reports export/local as utilities, and commands inside assignments", () => {
    assert.deepEqual(names("export REV=$(git rev-parse HEAD)"), ["export", "git"]);
    assert.deepEqual(names("x=$(whoami)"), ["whoami"]);
  });

  it("removes quotes from arguments", () => {
    const grep = at(parser.parseCommand(`grep -e "a b" 'c d' e\\ f`).utilities, 0);
    assert.deepEqual(grep.args, ["a b", "c d", "e f"]);
  });
});

describe("parseCommand diagnostics", () => {
  it("flags missing and erroneous syntax", () => {
    const missing = parser.parseCommand("ls |");
    assert.equal(missing.ok, false);
    assert.match(at(missing.errors, 0), /missing/);
    const broken = parser.parseCommand("if then fi ((");
    assert.equal(broken.ok, false);
    assert.match(at(broken.errors, 0), /syntax error at 1:1/);
    assert.equal(parser.parseCommand("ls -la").ok, true);
    assert.deepEqual(parser.parseCommand("ls -la").errors, []);
  });

  it("detects comments, heredocs and echoed text", () => {
    const commented = parser.parseCommand("ls -la  # list everything");
    assert.deepEqual(commented.comments, ["list everything"]);
    assert.equal(parser.parseCommand("cat <<EOF\nhi\nEOF").hasHeredoc, true);
    assert.equal(parser.parseCommand("cat <<< hi").hasHeredoc, false);
    const echoed = parser.parseCommand('echo -n "list all files" && printf "%s\\n" done');
    assert.deepEqual(echoed.echoArgs, ["list all files", "%s\\n", "done"]);
    assert.deepEqual(parser.parseCommand("echo -hello world").echoArgs, ["-hello", "world"]);
  });

  it("never throws on garbage or binary input", () => {
    const binary = Buffer.from(Array.from({ length: 20000 }, (_, i) => (i * 7919) % 256)).toString("latin1");
    for (const input of ["", "\0\0\u0001", binary, "$(".repeat(3000) + "ls" + ")".repeat(3000), "\ud800 ls"]) {
      const parsed = parser.parseCommand(input);
      assert.equal(typeof parsed.ok, "boolean");
      assert.ok(Array.isArray(parser.parseScript(input)));
    }
  });
});

describe("parseScript", () => {
  const script = [
    "#!/bin/bash",
    "# fetch the repo",
    "# and enter it",
    "git clone https://x/y.git && cd y",
    "",
    "# separated by a blank line",
    "",
    "ls -la | grep foo  # list foo files",
    "for f in *.txt; do",
    "  # count lines",
    '  wc -l "$f"',
    "done",
    "if [ -d build ]; then rm -rf build; fi",
    "cat <<EOF > out.txt",
    "hello # not a comment",
    "EOF",
  ].join("\n");

  it("returns one entry per statement with 0-based ranges and intents", () => {
    const entries = parser.parseScript(script);
    assert.deepEqual(
      entries.map((e) => [e.text, e.intent]),
      [
        ["git clone https://x/y.git && cd y", "fetch the repo and enter it"],
        ["ls -la | grep foo", "list foo files"],
        ['wc -l "$f"', "count lines"],
        ["[ -d build ]", undefined],
        ["rm -rf build", undefined],
        ["cat <<EOF > out.txt\nhello # not a comment\nEOF", undefined],
      ],
    );
    const wc = at(entries, 2);
    assert.deepEqual([wc.startLine, wc.startCol, wc.endLine, wc.endCol], [10, 2, 10, 12]);
    const heredoc = at(entries, 5);
    assert.deepEqual([heredoc.startLine, heredoc.endLine, heredoc.endCol], [13, 15, 3]);
  });

  it("does not take a linter's or editor's directive as an intent (issue 23 item 7)", () => {
    const entries = parser.parseScript("# shellcheck disable=SC2010\nls | grep x\n# vim: set ft=sh:\n# list the logs\nls logs\necho hi # shellcheck disable=SC2086\n");
    assert.deepEqual(entries.map((e) => e.intent), [undefined, "list the logs", undefined]);
  });

  it("does not take the shebang as an intent", () => {
    const entry = at(parser.parseScript("#!/bin/sh\nmake all"), 0);
    assert.equal(entry.intent, undefined);
  });

  it("gives a trailing comment to the last statement on the line", () => {
    const entries = parser.parseScript("mkdir out; cd out # enter output");
    assert.deepEqual(
      entries.map((e) => e.intent),
      [undefined, "enter output"],
    );
  });

  it("handles a 50,000-line script within a few seconds", () => {
    const lines = Array.from({ length: 50_000 }, (_, i) =>
      i % 5 === 0 ? `# step ${i}` : i % 5 === 4 ? "done" : i % 5 === 3 ? "for x in a b; do" : `echo ${i} | grep -v x > /dev/null`,
    );
    const started = performance.now();
    const entries = parser.parseScript(lines.join("\n"));
    const elapsed = performance.now() - started;
    assert.equal(entries.length, 20_000);
    assert.equal(at(entries, 0).intent, "step 0");
    assert.ok(elapsed < 10_000, `took ${elapsed.toFixed(0)} ms`);
  });
});

describe("isKnownProgram", () => {
  it("knows builtins, common tools and PATH executables", () => {
    for (const name of ["cd", ".", "[", "source", "export", "git", "kubectl", "ffmpeg", "node"]) {
      assert.equal(isKnownProgram(name), true, name);
    }
    assert.equal(parser.isKnownProgram("tar"), true);
  });

  it("rejects made-up names and unsafe strings", () => {
    for (const name of ["definitelynotaprogram42", "", "$EDITOR", "a b", "../../nope-xyz"]) {
      assert.equal(isKnownProgram(name), false, name);
    }
    assert.equal(isKnownProgram("/usr/bin/git"), true);
  });
});
