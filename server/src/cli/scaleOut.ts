// Training elsewhere (docs/SCALE-OUT.md): `export` writes a run's training data for TRL, `import-adapter` and
// `export-adapter` convert LoRA adapters between PEFT (vLLM, TRL) and GGUF (llama.cpp, this loop).
import { resolve } from "node:path";
import { exportPeftAdapter, exportTrainingData, importPeftAdapter, type ConversionSummary } from "../engine/api";
import { isRemoteModelRef } from "../../../common/modelRef";
import { UsageError, interruptSignal, modelOf, param, type Values } from "./args";
import { requireInputFile } from "./inputFile";
import { ProgressLine } from "./progress";

export async function cmdExport(v: Values, rest: string[]): Promise<number> {
  const usage = "Usage: inversion export RUN_DIR --format trl --out DIR [--model M]";
  if (rest.length !== 1 || !v.out) throw new UsageError(usage);
  if (v.format !== "trl") throw new UsageError(`--format must be trl (a prompt-completion JSONL dataset for TRL)${v.format ? `, got "${v.format}"` : ""}. ${usage}`);
  const model = modelOf(v);
  if (!isRemoteModelRef(model)) await requireInputFile(model, v.model ? "--model" : "$INVERSION_MODEL");
  const progress = new ProgressLine();
  const signal = interruptSignal(progress);
  progress.message("Loading the run's model to fit each prompt to its context as the trainer did…");
  const r = await exportTrainingData({ runDir: rest[0]!, modelPath: model, out: resolve(v.out), gpu: param(v, "gpu"), threads: param(v, "threads"), signal });
  progress.clear();
  if (v.json) process.stdout.write(JSON.stringify(r, null, 2) + "\n");
  else {
    process.stdout.write(
      `Wrote ${r.examples} examples (the accepted examples of ${r.completeCycles} complete cycle(s)) to ${r.dataFile}\n` +
        `Dataset card: ${r.cardFile} (${r.promptsWithShots} prompts quote examples written by people, ${r.humanCompletions} completions are people's commands; sources and licences listed there)\n`,
    );
  }
  return 0;
}

function conversionLines(s: ConversionSummary): string {
  return (
    `${s.pairs} LoRA pairs on ${s.modules.join(", ")} in ${s.layers} layer(s), rank ${s.ranks.join("/")}, alpha ${s.alpha}; architecture ${s.architecture}` +
    (s.permutedQK ? " (q/k rows permuted by head, as llama.cpp stores them)" : "") +
    "\n" +
    s.notes.map((n) => `note: ${n}\n`).join("")
  );
}

export async function cmdImportAdapter(v: Values, rest: string[]): Promise<number> {
  if (rest.length !== 1 || !v.base || !v.out) throw new UsageError("Usage: inversion import-adapter PEFT_DIR --base MODEL.gguf --out ADAPTER.gguf");
  const r = importPeftAdapter({ peftDir: rest[0]!, baseModelPath: v.base, outPath: resolve(v.out) });
  if (v.json) process.stdout.write(JSON.stringify(r, null, 2) + "\n");
  else process.stdout.write(`Wrote ${r.outPath}: ${conversionLines(r)}`);
  return 0;
}

export async function cmdExportAdapter(v: Values, rest: string[]): Promise<number> {
  if (rest.length !== 1 || !v.out) throw new UsageError("Usage: inversion export-adapter ADAPTER.gguf --out PEFT_DIR [--base MODEL.gguf] [--hf-model ID]");
  const r = exportPeftAdapter({ adapterPath: rest[0]!, outDir: resolve(v.out), baseModelPath: v.base, hfModel: v["hf-model"] });
  if (v.json) process.stdout.write(JSON.stringify(r, null, 2) + "\n");
  else process.stdout.write(`Wrote ${r.outDir} (adapter_config.json, adapter_model.safetensors): ${conversionLines(r)}`);
  return 0;
}
