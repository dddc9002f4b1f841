// Quick probe: does the shipped model use retrieved examples in its prompt? Forward (first utility) and inverse
// (token F1) on the first N held-out tldr pairs, k shots from the tldr training split.
//   node --import tsx scripts/examples/shots-probe.ts [N] [K,K,..]
import { loadModel } from "../../server/src/engine/runtime";
import { ModelSession } from "../../server/src/engine/session";
import { forwardPrompt, inversePrompt, type Shot } from "../../server/src/engine/prompts";
import { cleanCommand, cleanSentence, tokenF1 } from "../../server/src/engine/text";
import { loadShellParser } from "../../server/src/shell/parser";
import { mean } from "../../server/src/eval/stats";
import { ExampleIndex } from "../../server/src/knowledge/examples/exampleIndex";
import { loadShellSplit } from "../shell-model/split";
import { scoreAnswers } from "../shell-model/evaluate";

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 100);
  const ks = (process.argv[3] ?? "0,1,2,3").split(",").map(Number);
  const split = loadShellSplit("../shared/data/tldr-pages");
  const index = new ExampleIndex(
    split.train.map((p) => ({ description: p.task, command: p.command, source: "tldr", ref: p.id })),
    [{ id: "tldr", name: "tldr", repo: "", licence: "", licenceUrl: "", commit: "", attribution: "" }],
  );
  const pairs = split.heldOut.slice(0, n);
  const parser = await loadShellParser();
  const loaded = await loadModel({ modelPath: "models/inversion-shell.gguf", gpu: "off", threads: 1, contextSize: 256 });
  const session = await ModelSession.create(loaded, { sequences: 4 });
  const shot = (h: { example: { description: string; command: string } }): Shot => ({ task: h.example.description, command: h.example.command });
  const lookupF = pairs.map((p) => index.byTask(p.task, { k: 1 })[0]?.example.command ?? "");
  const lookupI = pairs.map((p) => index.byCommandText(p.command, { k: 1 })[0]?.example.description ?? "");
  console.log(JSON.stringify({ k: "lookup", ...scoreAnswers(pairs, lookupF, parser), f1: mean(pairs.map((p, i) => tokenF1(lookupI[i]!, p.task))) }));
  for (const k of ks) {
    const fwd: string[] = [];
    const inv: string[] = [];
    for (let i = 0; i < pairs.length; i += 4) {
      const chunk = pairs.slice(i, i + 4);
      fwd.push(...(await Promise.all(chunk.map(async (p) => cleanCommand(await session.complete(forwardPrompt(p.task, index.byTask(p.task, { k }).map(shot)), { maxTokens: 48 }))))));
      inv.push(...(await Promise.all(chunk.map(async (p) => cleanSentence(await session.complete(inversePrompt(p.command, index.byCommandText(p.command, { k }).map(shot)), { maxTokens: 48 }))))));
    }
    console.log(JSON.stringify({ k, ...scoreAnswers(pairs, fwd, parser), f1: mean(pairs.map((p, i) => tokenF1(inv[i]!, p.task))), sample: [fwd[0], inv[0]] }));
  }
  await session.dispose();
  await loaded.model.dispose();
}
void main();
