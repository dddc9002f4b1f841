import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { concreteCommand } from "../../scripts/shell-model/concrete";
import { buildCorpus, buildRefineCorpus, DEFAULT_CORPUS_OPTIONS } from "../../scripts/shell-model/corpus";
import type { ShellPair } from "../../scripts/shell-model/split";
import { mulberry32 } from "../../server/src/util/random";

const pair = (tool: string, task: string, command: string): ShellPair => ({
  id: `common/${tool}#1`, tool, task, toolTask: `${tool}: ${task}`, command,
});

const TRAIN = [
  pair("tar", "Create a gzipped archive and write it to a file", "tar czf path/to/target.tar.gz path/to/file1 path/to/file2 ..."),
  pair("tar", "Extract a (compressed) archive file into the target directory", "tar xf path/to/source.tar[.gz|.bz2|.xz] -C path/to/directory"),
  pair("git", "Show the status of the current branch", "git status"),
  pair("mkdir", "Create specific directories", "mkdir path/to/directory1 path/to/directory2 ..."),
];

describe("concreteCommand", () => {
  test("leaves no tldr placeholder path, optional part or trailing ellipsis", () => {
    const random = mulberry32(1);
    for (const p of TRAIN) {
      const concrete = concreteCommand(p.command, random);
      assert.doesNotMatch(concrete, /path\/to\/|\[\.gz|\.\.\.$/, concrete);
      assert.equal(concrete.split(" ")[0], p.tool);
    }
  });

  test("writes tar's bundled options with a dash when its coin says so, naming a gzip archive .tar.gz or .tgz", () => {
    assert.match(concreteCommand(TRAIN[0]!.command, () => 0), /^tar -czf \S+\.(tar\.gz|tgz) /);
    assert.match(concreteCommand(TRAIN[0]!.command, () => 0.99), /^tar czf \S+\.tar\.gz /);
  });

  test("picks one of `a|b|c` alternatives but leaves a quoted pipe alone", () => {
    assert.match(concreteCommand("npm unstar pkg --loglevel silent|error|warn", () => 0.99), /--loglevel warn$/);
    assert.equal(concreteCommand(`echo "a|b" | cut -d '|' -f 1`, () => 0.99), `echo "a|b" | cut -d '|' -f 1`);
  });
});

describe("buildRefineCorpus", () => {
  test("is the first stage's corpus plus concrete command -> task examples of the same pairs only", () => {
    const first = buildCorpus(TRAIN, DEFAULT_CORPUS_OPTIONS);
    const refine = buildRefineCorpus(TRAIN, DEFAULT_CORPUS_OPTIONS);
    const key = (e: { prompt: string; completion: string }): string => e.prompt + e.completion;
    const refineKeys = new Set(refine.map(key));
    assert.ok(first.every((e) => refineKeys.has(key(e))), "a first-stage example is missing");
    const concrete = refine.filter((e) => e.kind === "inverse-concrete");
    const tasks = new Set(TRAIN.flatMap((p) => [` ${p.task}\n`, ` ${p.toolTask}\n`]));
    assert.ok(concrete.length >= 3, `only ${concrete.length} concrete examples`);
    assert.ok(concrete.every((e) => tasks.has(e.completion) && !e.prompt.includes("path/to/")));
  });
});
