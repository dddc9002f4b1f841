// `npm run bench`: every benchmark, side by side in one run. Results go to docs/BENCHMARKS.md by hand, with the date.
import { benchEngine } from "./engine";
import { benchExplain } from "./explain";

async function main(): Promise<void> {
  const only = process.argv[2];
  console.log(`# Inversion benchmarks, ${new Date().toISOString()}`);
  if (!only || only === "engine") await benchEngine();
  if (!only || only === "explain") await benchExplain();
  if (!only || only === "train") {
    try {
      const { benchTrain } = (await import("./train.js")) as { benchTrain: () => Promise<void> };
      await benchTrain();
    } catch (err) {
      console.log(`\n## Training\n\nnot measured: ${(err as Error).message}`);
    }
  }
  // Issue 8, on the 0.5B-shape bench models (made and cached on first use: minutes).
  const realShape: [string, () => Promise<void>][] = [
    ["real", async () => (await import("./engine.js")).benchEngineRealShape()],
    ["train-real", async () => (await import("./train.js")).benchTrainRealShape()],
    ["hover", async () => (await import("./hover.js")).benchHover()],
    ["protocol", async () => (await import("./protocol.js")).benchProtocol()],
    ["protocol-train", async () => (await import("./protocol.js")).benchProtocolTraining()],
    ["phase", async () => (await import("./protocol.js")).benchPhase()],
    ["gradients", async () => (await import("./gradients.js")).benchGradients()],
    ["check", async () => (await import("./check.js")).benchCheck()],
    ["examples", async () => (await import("./examples.js")).benchExamples()],
  ];
  for (const [name, bench] of realShape) {
    if (only && only !== name) continue;
    try {
      await bench();
    } catch (err) {
      console.log(`\n## ${name}\n\nnot measured: ${(err as Error).message}`);
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
