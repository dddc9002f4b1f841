// Which commented commands the comment rule checks.
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkableEntries } from "../../server/src/check/lint";
import { MAX_COMMAND_CHARS } from "../../server/src/engine/api";
import { MAX_TASK_CHARS } from "../../server/src/engine/tasks";
import { loadShellParser } from "../../server/src/shell/parser";

test("a comment block longer than a task (a licence header) is not checked; an ordinary comment is", async () => {
  const parser = await loadShellParser();
  const header = `# ${"This program is free software; you can redistribute it. ".repeat(12)}`;
  assert.ok(header.length > MAX_TASK_CHARS);
  const text = `${header}\nset -e\n\n# create the build directory\nmkdir -p build\n`;
  const checked = checkableEntries(parser.parseScript(text), text, MAX_COMMAND_CHARS).map((e) => e.text);
  assert.deepEqual(checked, ["mkdir -p build"]);
});
