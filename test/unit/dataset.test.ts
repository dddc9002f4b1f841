import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { loadPairs, splitPairs, type Pair } from "../../server/src/eval/dataset";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "inversion-dataset-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

const TLDR = [
  "id\tdescription\tcommand_raw\tcommand_short\tcommand_long",
  "common/tar#0\tCreate an archive from files\ttar cf {{path/to/target.tar}} {{path/to/file}}\ttar cf path/to/target.tar path/to/file\ttar cf path/to/target.tar path/to/file",
  "common/tar#1\tList the contents\ttar {{[-t|--list]}} -f x.tar\ttar -t -f x.tar\ttar --list -f x.tar",
  "common/gtar#0\tView documentation for the original command\ttldr tar\ttldr tar\ttldr tar",
  "linux/apt-get#2\tUpdate the list of packages\tapt-get update\tapt-get update\tapt-get update",
  "",
].join("\n");

describe("loadPairs", () => {
  it("reads the tldr TSV: tool-prefixed task, short command, no alias stubs", () => {
    const pairs = loadPairs(write("tldr.tsv", TLDR));
    assert.deepEqual(pairs, [
      { id: "common/tar#0", task: "tar: Create an archive from files", command: "tar cf path/to/target.tar path/to/file" },
      { id: "common/tar#1", task: "tar: List the contents", command: "tar -t -f x.tar" },
      { id: "linux/apt-get#2", task: "apt-get: Update the list of packages", command: "apt-get update" },
    ]);
  });

  it("reads a generic task<TAB>command TSV, with or without a header", () => {
    const pairs = loadPairs(write("plain.tsv", "task\tcommand\nlist files\tls -la\r\n\ncount lines\twc -l f\n"));
    assert.deepEqual(
      pairs.map((p) => [p.task, p.command]),
      [["list files", "ls -la"], ["count lines", "wc -l f"]],
    );
    assert.equal(new Set(pairs.map((p) => p.id)).size, 2);
  });

  it("reads JSONL, keeping ids when given", () => {
    const pairs = loadPairs(write("pairs.jsonl", '{"id":"a","task":"list files","command":"ls"}\n\n{"task":"where am i","command":"pwd"}\n'));
    assert.deepEqual(pairs[0], { id: "a", task: "list files", command: "ls" });
    assert.equal(pairs[1]?.command, "pwd");
  });

  it("fails clearly on a missing file, a wrong format and zero pairs", () => {
    assert.throws(() => loadPairs(path.join(dir, "nope.tsv")), /not found/);
    assert.throws(() => loadPairs(write("three.tsv", "a\tb\tc\n")), /three\.tsv:1: expected 2 tab-separated fields/);
    assert.throws(() => loadPairs(write("bad.jsonl", '{"task":"x"}\n')), /bad\.jsonl:1: .*"command"/);
    assert.throws(() => loadPairs(write("broken.jsonl", "{nope\n")), /broken\.jsonl:1: invalid JSON/);
    assert.throws(() => loadPairs(write("empty.tsv", "\n\n")), /no \(task, command\) pairs/);
    const stubsOnly = TLDR.split("\n").filter((l, i) => i === 0 || l.includes("\ttldr ")).join("\n");
    assert.throws(() => loadPairs(write("stubs.tsv", stubsOnly)), /no \(task, command\) pairs/);
    assert.throws(() => loadPairs(write("short.tsv", TLDR.split("\n")[0] + "\ncommon/x#0\tonly two\n")), /short\.tsv:2: expected 5/);
  });
});

describe("splitPairs", () => {
  const pairs: Pair[] = Array.from({ length: 200 }, (_, i) => ({ id: `p${i}`, task: `task ${i}`, command: `cmd ${i}` }));
  // Leakage traps: same text under another id, and pairs sharing only the task or only the command.
  const leaky: Pair[] = [
    ...pairs,
    ...pairs.slice(0, 50).map((p) => ({ ...p, id: `${p.id}-copy` })),
    ...pairs.slice(50, 100).map((p) => ({ id: `${p.id}-task`, task: ` ${p.task.toUpperCase()} `, command: `other ${p.id}` })),
    ...pairs.slice(100, 150).map((p) => ({ id: `${p.id}-cmd`, task: `other ${p.id}`, command: p.command.replace(" ", "   ") })),
  ];

  it("is deterministic for a seed, independent of input order, and varies with the seed", () => {
    const a = splitPairs(leaky, { seed: 42, heldOut: 30 });
    const b = splitPairs([...leaky].reverse(), { seed: 42, heldOut: 30 });
    assert.deepEqual(b.heldOut, a.heldOut);
    assert.equal(b.hash, a.hash);
    assert.match(a.hash, /^[0-9a-f]{64}$/);
    const c = splitPairs(leaky, { seed: 43, heldOut: 30 });
    assert.notEqual(c.hash, a.hash);
  });

  it("holds out exactly heldOut pairs and shares no task or command with train", () => {
    for (const seed of [1, 2, 3]) {
      const { train, heldOut } = splitPairs(leaky, { seed, heldOut: 40 });
      assert.equal(heldOut.length, 40);
      const norm = (s: string) => s.trim().replace(/\s+/g, " ").toLowerCase();
      const tasks = new Set(heldOut.map((p) => norm(p.task)));
      const commands = new Set(heldOut.map((p) => norm(p.command)));
      assert.equal(tasks.size, 40);
      for (const p of train) {
        assert.ok(!tasks.has(norm(p.task)), `task leaked: ${p.id}`);
        assert.ok(!commands.has(norm(p.command)), `command leaked: ${p.id}`);
      }
      assert.ok(train.length > 0 && train.length + heldOut.length <= leaky.length);
    }
  });

  it("rejects impossible sizes", () => {
    assert.throws(() => splitPairs(pairs, { seed: 1, heldOut: 201 }), /Cannot hold out 201/);
    assert.throws(() => splitPairs(pairs, { seed: 1, heldOut: -1 }), /non-negative integer/);
    assert.equal(splitPairs(pairs, { seed: 1, heldOut: 0 }).train.length, 200);
  });
});
