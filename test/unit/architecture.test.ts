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
