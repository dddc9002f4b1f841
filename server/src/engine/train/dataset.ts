// Training data as other trainers read it: one JSON line per example, {"prompt", "completion"} (TRL's standard
// prompt-completion format), the same strings Inversion's own trainer receives (loop.ts, toTrainExample), and a dataset
// card (README.md) whose YAML header names the file, so `datasets.load_dataset(DIR)` and `trl sft --dataset_name DIR`
// find it.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TrainExample } from "../types";

export const TRL_DATA_FILE = "train.jsonl";
export const DATASET_CARD_FILE = "README.md";

/** One line of the dataset: exactly the prompt and completion the local trainer sees. */
export function trlLine(e: TrainExample): string {
  return JSON.stringify({ prompt: e.prompt, completion: e.completion });
}

/** How the local trainer uses a line, for cards and docs. */
export const TRAINING_FORMAT =
  "Each line is `{\"prompt\", \"completion\"}`: plain text, no chat template. Inversion's trainer tokenizes " +
  "prompt + completion with the base model's tokenizer (BOS first, EOS after the completion) and puts the loss on the " +
  "completion tokens and the EOS only. TRL's SFTTrainer does the same with prompt-completion data " +
  "(`completion_only_loss`, on by default for such data in current TRL).";

/** The card's YAML header: the data file, so Hugging Face `datasets` loads the directory as one train split. */
export function cardHeader(licence: string): string {
  return [
    "---",
    `license: ${licence}`,
    "task_categories:",
    "- text-generation",
    "configs:",
    "- config_name: default",
    "  data_files:",
    "  - split: train",
    `    path: ${TRL_DATA_FILE}`,
    "---",
    "",
  ].join("\n");
}

/** Writes DIR/train.jsonl and DIR/README.md (DIR must exist); refuses to replace either. Returns the data file. */
export async function writeTrlDataset(dir: string, examples: readonly TrainExample[], card: string): Promise<string> {
  const file = join(dir, TRL_DATA_FILE);
  await writeFile(file, examples.map(trlLine).join("\n") + (examples.length ? "\n" : ""), { flag: "wx" });
  await writeFile(join(dir, DATASET_CARD_FILE), card, { flag: "wx" });
  return file;
}
