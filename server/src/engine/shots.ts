// Retrieved examples for the model's prompts (few-shot): for a task, pairs whose description is like it; for a
// command, pairs whose command is like it. A training example never sees its own pair, nor a pair sharing its task
// or its command, in its context.
import type { Shot } from "./prompts";
import type { Example, ExampleIndex } from "../knowledge/examples/exampleIndex";
import { shippedExamples } from "../knowledge/examples/shared";

export interface ShotSource {
  forTask(task: string, leaveOut?: Shot): Shot[];
  forCommand(command: string, leaveOut?: Shot): Shot[];
}

export const NO_SHOTS: ShotSource = { forTask: () => [], forCommand: () => [] };

const toShot = (e: Example): Shot => ({ task: e.description, command: e.command });

/** Leaves out the pair itself and any pair sharing its task (case aside) or its command. */
export function sharesTaskOrCommand(pair: Shot): (e: Example) => boolean {
  const task = pair.task.trim().toLowerCase();
  const command = pair.command.trim();
  return (e) => e.description.trim().toLowerCase() === task || e.command.trim() === command;
}

export function indexShots(index: ExampleIndex, k: number): ShotSource {
  if (k <= 0) return NO_SHOTS;
  return {
    forTask: (task, leaveOut) => index.byTask(task, { k, exclude: leaveOut && sharesTaskOrCommand(leaveOut) }).map((h) => toShot(h.example)),
    forCommand: (command, leaveOut) => index.byCommandText(command, { k, exclude: leaveOut && sharesTaskOrCommand(leaveOut) }).map((h) => toShot(h.example)),
  };
}

/** k examples from the shipped index per prompt; none when k is 0 or the index is not installed. */
export function promptShots(k: number): ShotSource {
  const index = k > 0 ? shippedExamples() : null;
  return index ? indexShots(index, k) : NO_SHOTS;
}
