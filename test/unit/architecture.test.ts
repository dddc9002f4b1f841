// docs/ARCHITECTURE.md stays true: every path its layout table names exists.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(__dirname, "../..");

test("every folder and file the layout table of docs/ARCHITECTURE.md names exists", () => {
  const text = readFileSync(join(ROOT, "docs/ARCHITECTURE.md"), "utf8");
  const rows = text.split("\n").filter((l) => l.startsWith("| `"));
  const dirs = rows.map((row) => /`([^`]+)`/.exec(row)?.[1] ?? "");
  const missing: string[] = [];
  for (const row of rows) {
    const [dirCell = "", what = ""] = row.split(" | ");
    const dir = /`([^`]+)`/.exec(dirCell)?.[1] ?? "";
    if (!existsSync(join(ROOT, dir))) missing.push(dir);
    // files named in the description, relative to the row's folder, the root or another folder of the table
    for (const [, name] of what.matchAll(/`([\w./-]+\.(?:ts|md|json|gguf|jsonl|gz))`/g)) {
      if (![dir, "", ...dirs].some((d) => existsSync(join(ROOT, d, name!)))) missing.push(`${dir} ${name}`);
    }
  }
  assert.deepEqual(missing, []);
});

test("every file and folder docs/ARCHITECTURE.md names anywhere exists (build outputs aside)", () => {
  const text = readFileSync(join(ROOT, "docs/ARCHITECTURE.md"), "utf8");
  const folders = text.split("\n").filter((l) => l.startsWith("| `")).map((row) => /`([^`]+)`/.exec(row)?.[1] ?? "");
  // a source file by its name alone, or a path; relative to the root, server/src or a folder of the layout table
  const named = [...text.matchAll(/`([\w.-]+\.ts|[\w.-]+(?:\/[\w.-]+)*\/(?:[\w.-]+\.\w+)?)`/g)].map((m) => m[1]!);
  const built = /^(webview\/)?dist\//;
  const missing = named.filter((name) => !built.test(name) && !["", "server/src", ...folders].some((d) => existsSync(join(ROOT, d, name))));
  assert.ok(named.length > 60, `${named.length} names read`);
  assert.deepEqual(missing, []);
});
