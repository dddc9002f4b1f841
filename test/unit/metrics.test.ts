import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { commandTemplate, exactMatch, templateMatch } from "../../server/src/eval/match";
import { flagScore, nlc2cmdBest, nlc2cmdScore } from "../../server/src/eval/nlc2cmd";
import { averageRanks, bootstrapCi, mean, pairedDifference, spearman } from "../../server/src/eval/stats";
import { loadShellParser, type ShellParser } from "../../server/src/shell/parser";

let parser: ShellParser;
before(async () => {
  parser = await loadShellParser();
});

const close = (actual: number, expected: number) =>
  assert.ok(Math.abs(actual - expected) < 1e-4, `expected ${expected}, got ${actual}`);

describe("nlc2cmdScore", () => {
  // The clai README examples (prediction, reference, score).
  const worked: Array<[string, string, number]> = [
    ["find . -type f | tail -n 5", "find . -type f -ctime -3 | tail -n 5", 0.75],
    ["df | grep diskpath", "df | grep /dev/disk0s2", 1.0],
    ["touch directory", "mkdir directory", -1.0],
    ["tail -n 1 | df --total", "df --total | tail -n 1", -1.0],
    ["find / -EXdsx -name linux", "find / -name linux", 1 / 6],
    ["ls -a -l -h /tmp", "ls -lha /tmp", 1.0],
  ];
  for (const [prediction, reference, expected] of worked) {
    it(`${prediction}  vs  ${reference}  = ${expected.toFixed(4)}`, () => {
      close(nlc2cmdScore(prediction, reference, parser), expected);
    });
  }

  it("does not equate long and short flags (ls --all vs ls -a = -0.5)", () => {
    close(nlc2cmdScore("ls --all", "ls -a", parser), -0.5);
  });

  it("scores utilities outside bashlint's grammar against themselves (documented deviation)", () => {
    close(nlc2cmdScore("git log --oneline", "git log --oneline", parser), 1);
    close(nlc2cmdScore("sudo apt-get install -y curl", "sudo apt-get install -y curl", parser), 1);
  });

  it("counts a nested utility's flags for its parent too", () => {
    // find's subtree flags {-exec, -l} vs {-exec, -c}: S_F = (2·1 − 3)/2 = −0.5 → 0.25;
    // grep {-l} vs {-c}: S_F = −2 → −0.5; mean −0.125. Without subtree flags find would score 1 and the mean 0.25.
    close(nlc2cmdScore("find . -exec grep -l x {} \\;", "find . -exec grep -c x {} \\;", parser), -0.125);
  });

  it("pads the shorter list with None and returns 0 when both are empty", () => {
    close(nlc2cmdScore("ls", "ls | wc -l", parser), 0);
    assert.equal(nlc2cmdScore("", "# nothing", parser), 0);
  });

  it("scales by confidence", () => {
    close(nlc2cmdScore("touch x", "mkdir x", parser, 0.5), -0.5);
  });

  it("flagScore spans [-2, 1]", () => {
    assert.equal(flagScore(new Set(), new Set()), 1);
    assert.equal(flagScore(new Set(["-a"]), new Set(["-b"])), -2);
  });
});

describe("nlc2cmdBest", () => {
  it("takes the max when any score is positive", () => {
    const score = nlc2cmdBest(
      [{ cmd: "mkdir x", confidence: 1 }, { cmd: "ls -a", confidence: 1 }],
      ["ls -a", "ls --all"],
      parser,
    );
    close(score, 1);
  });

  it("takes the mean when no score is positive", () => {
    const score = nlc2cmdBest([{ cmd: "mkdir x" }, { cmd: "ls --all" }], ["ls -a"], parser);
    close(score, (-1 + -0.5) / 2);
  });

  it("counts only the first five predictions, and 0 with none", () => {
    const wrong = Array.from({ length: 5 }, () => ({ cmd: "rm x" }));
    close(nlc2cmdBest([...wrong, { cmd: "ls" }], ["ls"], parser), -1);
    assert.equal(nlc2cmdBest([], ["ls"], parser), 0);
  });
});

describe("exactMatch / templateMatch", () => {
  it("exact match ignores only whitespace differences", () => {
    assert.equal(exactMatch("  ls   -la\t/tmp ", "ls -la /tmp"), true);
    assert.equal(exactMatch("ls -la /tmp", "ls -al /tmp"), false);
  });

  it("template match ignores argument values and flag order", () => {
    assert.equal(templateMatch("ls -la /tmp", "ls -al path/to/dir", parser), true);
    assert.equal(templateMatch("tar -xzf a.tgz -C out", "tar -C dir -fzx file.tgz", parser), true);
    assert.equal(templateMatch("cp a b", "cp a b c", parser), false);
    assert.equal(templateMatch("tar -xzf a.tgz", "tar -zxf b.tar.gz", parser), true);
    assert.equal(templateMatch("grep -r foo .", "grep -ri foo .", parser), false);
  });

  it("keeps utilities, operators and subcommands", () => {
    assert.equal(templateMatch("cat a | wc -l", "cat a && wc -l", parser), false);
    assert.equal(templateMatch("git push origin main", "git pull origin main", parser), false);
    assert.equal(templateMatch("git push origin main", "git push upstream dev", parser), true);
    assert.equal(commandTemplate("sort -r x > out.txt", parser), "sort -r ARG >");
  });

  it("can type arguments coarsely", () => {
    assert.equal(commandTemplate("head -n 5 ./a.txt '*.md'", parser, { typed: true }), "head -n NUMBER PATH PATTERN");
  });
});

describe("stats", () => {
  const values = [0.1, 0.4, 0.35, 0.8, 0.55, 0.2, 0.9, 0.65, 0.3, 0.5];

  it("mean", () => {
    close(mean(values), 0.475);
    assert.ok(Number.isNaN(mean([])));
  });

  it("bootstrapCi contains the mean and is stable for a seed", () => {
    const [lo, hi] = bootstrapCi(values, { seed: 7 });
    assert.ok(lo < mean(values) && mean(values) < hi, `[${lo}, ${hi}]`);
    assert.ok(hi - lo < 0.5);
    assert.deepEqual(bootstrapCi(values, { seed: 7 }), [lo, hi]);
    assert.notDeepEqual(bootstrapCi(values, { seed: 8 }), [lo, hi]);
    const [lo90, hi90] = bootstrapCi(values, { seed: 7, level: 0.9 });
    assert.ok(lo90 >= lo && hi90 <= hi);
    assert.deepEqual(bootstrapCi([], { seed: 1 }).map(Number.isNaN), [true, true]);
  });

  it("pairedDifference: a small shift shared by every item is significant paired, not unpaired", () => {
    const before = values;
    const after = values.map((v) => v + 0.05);
    const paired = pairedDifference(before, after, { seed: 3 });
    close(paired.mean, 0.05);
    assert.ok(paired.ci[0] > 0, `paired [${paired.ci}]`);
    // the two sides' own intervals overlap: only the pairing shows the shift
    assert.ok(bootstrapCi(after, { seed: 3 })[0] < bootstrapCi(before, { seed: 3 })[1]);
    assert.throws(() => pairedDifference([1], [1, 2], { seed: 1 }), /lengths differ/);
  });

  it("spearman on known vectors, with ties", () => {
    close(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7.5]), 0.9);
    close(spearman([1, 2, 3], [3, 2, 1]), -1);
    assert.deepEqual(averageRanks([10, 20, 20, 30]), [1, 2.5, 2.5, 4]);
    // scipy.stats.spearmanr([1,2,2,3],[1,3,2,4]) = 0.9486832980505138
    close(spearman([1, 2, 2, 3], [1, 3, 2, 4]), 0.9486833);
    assert.ok(Number.isNaN(spearman([1, 1, 1], [1, 2, 3])));
    assert.throws(() => spearman([1], [1, 2]), /lengths differ/);
  });
});
