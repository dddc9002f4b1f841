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
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
