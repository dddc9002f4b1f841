// Grounded in this machine (issue 20, item 2): topics from programs with a page here, and the documented-flags gate,
// on the real man pages Debian installs (CI installs them; skipped elsewhere with the reason).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { explainCommand } from "../../server/src/knowledge/manpages/explain";
import { ManLibrary } from "../../server/src/knowledge/manpages/library";
import { ExampleIndex } from "../../server/src/knowledge/examples/exampleIndex";
import { loadShellParser, type ShellParser } from "../../server/src/shell/parser";
import { documentedFlagsVerdict, machineTopics } from "../../server/src/engine/machine";

const NEEDED = ["man1/tar.1.gz", "man1/ls.1.gz"].map((p) => join("/usr/share/man", p));
const missing = NEEDED.filter((p) => !existsSync(p));
const skip = missing.length > 0 && !process.env.CI ? `man pages not installed here: ${missing.join(", ")}` : false;

let parser: ShellParser;
const library = new ManLibrary();
const verdict = async (command: string) => documentedFlagsVerdict(await explainCommand(command, { parser, library }));

describe("grounded in this machine", { skip }, () => {
  before(async () => {
    parser = await loadShellParser();
  });

  it("passes flags the page documents and names the one it does not", async () => {
    const good = await verdict("tar -czf backup.tgz docs");
    assert.equal(good.pass, true, good.reason);
    assert.match(good.reason, /tar\(1\)/);
    const bad = await verdict("ls -la --frobnicate");
    assert.equal(bad.pass, false);
    assert.equal(bad.reason, "not in the manual page: ls --frobnicate");
  });

  it("a program with no page here cannot be contradicted and passes", async () => {
    const v = await verdict("zzznotaprogram --anything");
    assert.deepEqual([v.pass, v.reason], [true, "no manual page here to check against"]);
  });

  it("topics: only programs with a page here, most examples first", async () => {
    const source = { id: "s", name: "t", repo: "", licence: "CC0-1.0", licenceUrl: "", commit: "", attribution: "" };
    const examples = [
      ...Array.from({ length: 6 }, (_, i) => ({ description: `d${i}`, command: `ls dir${i}`, source: "s", ref: `l${i}` })),
      ...Array.from({ length: 9 }, (_, i) => ({ description: `t${i}`, command: `tar -xf a${i}.tar`, source: "s", ref: `t${i}` })),
      ...Array.from({ length: 7 }, (_, i) => ({ description: `z${i}`, command: `zzznotaprogram ${i}`, source: "s", ref: `z${i}` })),
      { description: "rare", command: "ls -l", source: "s", ref: "r" },
    ];
    assert.deepEqual(await machineTopics(new ExampleIndex(examples, [source]), library), ["tar", "ls"]);
  });
});
