// One hover parses its command once: the parse, and the man pages read from it, go to every part of the hover.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Engine } from "../../server/src/engine/api";
import { shippedGrounding } from "../../server/src/check/grounded";
import { hoverFor } from "../../server/src/lsp/hover";
import { CommandScoreCache } from "../../server/src/lsp/scoring";
import { loadShellParser } from "../../server/src/shell/parser";
import { fixtureModel, tempDir } from "../helpers/fixture";

test("a hover with a comment, the examples, the man pages and a model parses its command once (before: four times)", { timeout: 120_000 }, async () => {
  const { dir, cleanup } = await tempDir();
  // The process's one parser: the engine's too, so the spy counts the model's side as well.
  const parser = await loadShellParser();
  const engine = await Engine.open({ modelPath: await fixtureModel(dir), gpu: "off", threads: 1 });
  const entry = { startLine: 1, startCol: 0, endLine: 1, endCol: 23, text: "tar -czf logs.tgz logs/", intent: "compress the logs folder" };
  const parseCommand = parser.parseCommand;
  let parses = 0;
  parser.parseCommand = (text) => {
    if (text.trim() === entry.text) parses++;
    return parseCommand.call(parser, text);
  };
  try {
    const grounding = shippedGrounding(async () => parser);
    assert.ok(!("error" in grounding), "the shipped example index");
    const scores = new CommandScoreCache();
    const markdown = await hoverFor(entry, { parser, grounding, selfCheck: async () => null, score: (parsed) => scores.full(engine, entry, undefined, parsed) });
    assert.match(markdown, /reads this command as/);
    assert.equal(parses, 1);
  } finally {
    parser.parseCommand = parseCommand;
    await engine.dispose();
    await cleanup();
  }
});
