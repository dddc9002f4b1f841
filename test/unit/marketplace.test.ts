// The extension's face: the README the package carries (README.marketplace.md, not the developers' README.md), its
// images and links, and the icon. Fails when the page names a setting or command the extension does not have.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ruleDocsUrl } from "../../server/src/check/findings";

const ROOT = resolve(__dirname, "../..");
const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  icon?: string;
  scripts: Record<string, string>;
  contributes: { commands: { command: string; title: string }[]; configuration: { properties: Record<string, unknown> } };
};
const page = readFileSync(join(ROOT, "README.marketplace.md"), "utf8");

test("the package carries README.marketplace.md as its README; the repository's README.md keeps its first two commands", () => {
  assert.match(manifest.scripts["package:vsix"]!, /--readme-path README\.marketplace\.md(\s|$)/);
  const firstBlock = /```sh\n([\s\S]*?)```/.exec(readFileSync(join(ROOT, "README.md"), "utf8"))![1]!.split("\n");
  assert.match(firstBlock[0]!, /^npm install && npm run demo\s/);
  assert.match(firstBlock[1]!, /^npm install && npm test\s/);
  assert.doesNotMatch(page, /npm (install|run|test)|apt-get/, "the user's page has no developer steps");
});

test("every setting the page names is one the extension declares, and every command title it names exists", () => {
  const settings = new Set(Object.keys(manifest.contributes.configuration.properties));
  const named = [...page.matchAll(/`(inversion\.[A-Za-z.]+)`/g)].map((m) => m[1]!);
  assert.ok(named.length >= 5);
  for (const name of named) assert.ok(settings.has(name), `${name} is not a setting`);
  const titles = new Set(manifest.contributes.commands.map((c) => `Inversion: ${c.title}`));
  const commands = [...page.matchAll(/\*(Inversion: [^*]+)\*/g)].map((m) => m[1]!);
  assert.ok(commands.length >= 4);
  for (const c of commands) assert.ok(titles.has(c), `${c} is not a command`);
});

test("the page's relative images and links point to files in the repository (PNG images under media/)", () => {
  const links = [...page.matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/i.test(l) && !l.startsWith("#"));
  assert.ok(links.length >= 2);
  for (const l of links) assert.ok(existsSync(join(ROOT, l)), `${l} is missing`);
  const images = [...page.matchAll(/!\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
  for (const img of images) assert.match(img, /^media\/[\w-]+\.png$/);
});

test("the icon is a PNG of at least 128×128 pixels (vsce takes no SVG)", () => {
  assert.equal(manifest.icon, "media/icon.png");
  const png = readFileSync(join(ROOT, manifest.icon!));
  assert.equal(png.subarray(1, 4).toString("latin1"), "PNG");
  assert.ok(png.readUInt32BE(16) >= 128 && png.readUInt32BE(20) >= 128);
});


test("the page a hover's \"How scoring works\" links to ships in the .vsix and is found beside the sources", () => {
  assert.match(ruleDocsUrl() ?? "", /^file:\/\/.*\/docs\/SCORING\.md#comment-warnings$/);
  const ignore = readFileSync(join(__dirname, "../../.vscodeignore"), "utf8").split("\n");
  assert.ok(ignore.indexOf("!docs/SCORING.md") > ignore.indexOf("docs/**"), ".vscodeignore keeps docs/SCORING.md after leaving docs/ out");
});
