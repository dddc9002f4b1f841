// Ships a trained shell model: F16 copy to models/inversion-shell.gguf, and its record (data hash, sizes,
// steps, loss and held-out curve, wall time) beside it as models/inversion-shell.json.
//
//   node --import tsx scripts/shell-model/ship.ts --dir /work/shell-train [--weights FILE]
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_MODEL_FILE } from "../../common/shipped";
import { loadToolsAddon } from "../../tools/native";
import { FIRST_STAGE_FILES } from "./refine";

const SHIP_LIMIT_BYTES = 16 * 1024 * 1024;
const root = resolve(__dirname, "..", "..");
const { values: args } = parseArgs({ options: { dir: { type: "string" }, weights: { type: "string" } } });
const dir = args.dir ?? (console.error("ship: --dir DIR is required"), process.exit(2));
const weights = args.weights ?? join(dir, "model-trained.gguf");
if (!existsSync(weights)) {
  console.error(`ship: ${weights} does not exist (train first, or pass --weights a checkpoint's weights-N.gguf)`);
  process.exit(2);
}

const readJsonl = (file: string): unknown[] =>
  existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as unknown) : [];

async function main(): Promise<void> {
  const out = join(root, DEFAULT_MODEL_FILE);
  const tmp = `${out}.tmp.gguf`;
  rmSync(tmp, { force: true });
  await loadToolsAddon().quantize({ inPath: weights, outPath: tmp, type: "F16", threads: 1 });
  const bytes = statSync(tmp).size;
  if (bytes > SHIP_LIMIT_BYTES) throw new Error(`the F16 model is ${bytes} bytes, over the 16 MiB limit for the repository`);
  renameSync(tmp, out);
  const build = JSON.parse(readFileSync(join(dir, "build.json"), "utf8")) as Record<string, unknown>;
  delete build.files;
  const curve = readJsonl(join(dir, "curve.jsonl")) as { wallSeconds?: number }[];
  const wallSeconds = (c: { wallSeconds?: number }[]): number => c.reduce((sum, x) => sum + (x.wallSeconds ?? 0), 0);
  const firstStageArgs = join(dir, FIRST_STAGE_FILES.trainArgs);
  const firstStage = existsSync(firstStageArgs)
    ? { training: JSON.parse(readFileSync(firstStageArgs, "utf8")) as unknown, curve: readJsonl(join(dir, FIRST_STAGE_FILES.curve)) as { wallSeconds?: number }[] }
    : null;
  const record = {
    kind: "inversion-shell-model",
    file: DEFAULT_MODEL_FILE,
    sha256: createHash("sha256").update(readFileSync(out)).digest("hex"),
    bytes,
    type: "F16 (trained in F32)",
    trainedFrom: weights.endsWith("model-trained.gguf") ? "final weights" : `checkpoint ${weights.split("/").pop()}`,
    license: "CC BY 4.0 (derived from tldr-pages, by the tldr-pages team and contributors)",
    build,
    training: JSON.parse(readFileSync(join(dir, "train-args.json"), "utf8")) as unknown,
    trainingWallSeconds: wallSeconds(curve) + (firstStage ? wallSeconds(firstStage.curve) : 0),
    curve,
    ...(firstStage ? { firstStage } : {}),
  };
  writeFileSync(join(root, "models", "inversion-shell.json"), JSON.stringify(record, null, 2) + "\n");
  console.log(`ship: ${out} (${(bytes / 1048576).toFixed(1)} MiB), record models/inversion-shell.json`);
}

void main().catch((err: Error) => {
  console.error(`ship: ${err.message}`);
  process.exit(1);
});
