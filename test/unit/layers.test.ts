// The structure drawn from the imports: every arrow runs down the layers (issue 19), and the client imports no
// server code. A folder may import its own files and any folder below it, never one above.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative, resolve } from "node:path";

const ROOT = resolve(__dirname, "../..");
/** server/src's folders, bottom first. */
const LAYERS = ["util", "shell", "eval", "knowledge", "engine", "check", "view", "serve", "lsp", "cli"];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith(".ts") ? [p] : [];
  });
}

function imports(file: string): string[] {
  return [...readFileSync(file, "utf8").matchAll(/from "(\.[^"]+)"/g)].map((m) => normalize(join(dirname(file), m[1]!)));
}

test("server/src: every import stays in its folder or goes down a layer", () => {
  const src = join(ROOT, "server/src");
  const upward: string[] = [];
  for (const file of sources(src)) {
    const from = relative(src, file).split("/")[0]!;
    for (const target of imports(file)) {
      const to = relative(src, target).split("/")[0]!;
      if (to.startsWith("..") || to === from || !LAYERS.includes(from) || !LAYERS.includes(to)) continue;
      if (LAYERS.indexOf(to) > LAYERS.indexOf(from)) upward.push(`${relative(ROOT, file)} -> ${relative(ROOT, target)}`);
    }
  }
  assert.deepEqual(upward, []);
});

test("client/src imports nothing of the server's (only common/ and its own files)", () => {
  const server = join(ROOT, "server");
  const found = sources(join(ROOT, "client/src")).flatMap((file) => imports(file).filter((t) => t.startsWith(server)).map((t) => `${relative(ROOT, file)} -> ${relative(ROOT, t)}`));
  assert.deepEqual(found, []);
});

test("scripts/ reach server/src only through engine/api.ts, and the comment check through check/api.ts", () => {
  const src = join(ROOT, "server/src");
  const faces = [join(src, "engine/api"), join(src, "check/api")];
  const found = sources(join(ROOT, "scripts")).flatMap((file) =>
    imports(file).filter((t) => t.startsWith(src + "/") && !faces.includes(t)).map((t) => `${relative(ROOT, file)} -> ${relative(ROOT, t)}`),
  );
  assert.deepEqual(found, []);
});

test("server/src/cli reaches the engine only through engine/api.ts and the run store (issue 19 item 5)", () => {
  const src = join(ROOT, "server/src");
  const faces = [join(src, "engine/api"), join(src, "engine/store")];
  // static imports, and dynamic ones (`await import("../engine/…")`)
  const everyImport = (file: string): string[] =>
    [...readFileSync(file, "utf8").matchAll(/(?:from |import\()"(\.[^"]+)"/g)].map((m) => normalize(join(dirname(file), m[1]!)).replace(/\.js$/, ""));
  const found = sources(join(src, "cli")).flatMap((file) =>
    everyImport(file).filter((t) => t.startsWith(join(src, "engine") + "/") && !faces.includes(t)).map((t) => `${relative(ROOT, file)} -> ${relative(ROOT, t)}`),
  );
  assert.deepEqual(found, []);
});
