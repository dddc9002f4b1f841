// Checks a model written by build.ts in node-llama-cpp (1 thread): it loads, tokenizes commands into multi-character
// pieces, detokenizes corpus texts back exactly, agrees with SpmTokenCounter on token counts, and generates.
//   node --import tsx scripts/shell-model/check.ts DIR [LINES]
import { readFileSync } from "node:fs";
import type { Token } from "node-llama-cpp" with { "resolution-mode": "import" };
import { join } from "node:path";
import { SpmTokenCounter, type Vocabulary } from "../../tools/gguf/vocab";
import { exampleText, type CorpusExample } from "./corpus";

const SAMPLES = ["tar -czf logs.tgz /var/log", "find . -name '*.py'", "Task: list files\nCommand: ls -la\n", "a → b"];

async function main(): Promise<void> {
  const [dir, lineArg = "500"] = process.argv.slice(2);
  if (!dir) throw new Error("usage: check.ts DIR [LINES]");
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, maxThreads: 1, build: "never", logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: join(dir, "model-init.gguf") });
  const vocab = JSON.parse(readFileSync(join(dir, "vocab.json"), "utf8")) as Vocabulary;
  const counter = new SpmTokenCounter(vocab);
  for (const text of SAMPLES) {
    const tokens = model.tokenize(text);
    const pieces = tokens.map((t) => vocab.tokens[t]);
    console.log(JSON.stringify(text), "->", pieces.join(" | "), model.detokenize(tokens) === text ? "(round-trips)" : "(MISMATCH)");
  }
  const lines = readFileSync(join(dir, "examples.jsonl"), "utf8").trim().split("\n").slice(0, Number(lineArg));
  let mismatches = 0, countDiffs = 0;
  for (const line of lines) {
    const text = exampleText(JSON.parse(line) as CorpusExample);
    const tokens = model.tokenize(text);
    if (model.detokenize(tokens) !== text) mismatches++;
    if (tokens.length !== counter.count(text)) countDiffs++;
  }
  console.log(`round trip: ${mismatches}/${lines.length} mismatches; token count differs from SpmTokenCounter in ${countDiffs}`);
  const context = await model.createContext({ threads: 1, contextSize: 256 });
  const sequence = context.getSequence();
  const prompt = [model.tokens.bos!, ...model.tokenize("Task: list files\nCommand:")];
  const out: Token[] = [];
  for await (const token of sequence.evaluate(prompt, { temperature: 0 })) {
    out.push(token);
    if (out.length >= 8) break;
  }
  console.log(`generated ${out.length} tokens: ${JSON.stringify(model.detokenize(out))}`);
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  if (mismatches > 0) process.exitCode = 1;
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
