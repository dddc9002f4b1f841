// A run's memory (--learn memory|both): the (task, command) pairs the run accepted, retrieved for later prompts beside
// the shipped examples people wrote. It is not stored apart: it is the accepted lines of examples.jsonl up to the last
// complete cycle, in the order they were accepted, so it is exactly as crash-safe and resumable as that file.
import type { Candidate } from "./types";
import type { Shot } from "./prompts";
import { sharesTaskOrCommand, type ShotSource } from "./shots";
import { ExampleIndex, cosine, type Example, type ExampleSource } from "../knowledge/examples/exampleIndex";
import { words, type Vector } from "../knowledge/examples/tfidf";

/** Where a memory pair came from, as a retrieved example names it. */
export const MEMORY_SOURCE = "run-memory";

interface Remembered {
  example: Example;
  task: Vector;
  command: Vector;
}

interface Scored {
  shot: Shot;
  similarity: number;
}

/** Word-count vectors for when no example index is installed: every word weighs the same. */
function plainVector(text: string): Vector {
  const v: Vector = new Map();
  for (const w of words(text)) v.set(w, (v.get(w) ?? 0) + 1);
  const norm = Math.sqrt([...v.values()].reduce((s, x) => s + x * x, 0)) || 1;
  for (const [w, x] of v) v.set(w, x / norm);
  return v;
}

/** The memory pairs of a run: its accepted candidates of complete cycles, in order (training tasks only). */
export function memoryPairs(accepted: readonly Candidate[]): Candidate[] {
  return accepted.filter((c) => c.accepted && c.phase === "before");
}

export class RunMemory {
  private readonly remembered: Remembered[] = [];
  private readonly commands = new Set<string>();

  /** Texts are weighed with the shipped index's word weights, so memory and shipped similarities compare. */
  constructor(private readonly index: ExampleIndex | null) {}

  get size(): number {
    return this.remembered.length;
  }

  /** Adds accepted pairs; a command already remembered is not added twice. Returns how many were added. */
  add(pairs: readonly Candidate[]): number {
    const before = this.remembered.length;
    for (const c of pairs) {
      const command = c.command.trim();
      if (!command || this.commands.has(command)) continue;
      this.commands.add(command);
      const example: Example = { description: c.task, command, source: MEMORY_SOURCE, ref: `cycle ${c.cycle}, ${c.taskId}` };
      this.remembered.push({ example, task: this.taskVector(c.task), command: this.commandVector(command) });
    }
    return this.remembered.length - before;
  }

  /** The pairs in the order they were remembered. */
  pairs(): Shot[] {
    return this.remembered.map((r) => ({ task: r.example.description, command: r.example.command }));
  }

  nearest(query: string, by: "task" | "command", k: number, leaveOut?: Shot): Scored[] {
    const vector = by === "task" ? this.taskVector(query) : this.commandVector(query);
    const excluded = leaveOut ? sharesTaskOrCommand(leaveOut) : () => false;
    return this.remembered
      .filter((r) => !excluded(r.example))
      .map((r) => ({ shot: { task: r.example.description, command: r.example.command }, similarity: cosine(vector, by === "task" ? r.task : r.command) }))
      .filter((s) => s.similarity > 0)
      .sort((a, b) => b.similarity - a.similarity)
      .slice(0, k);
  }

  private taskVector(text: string): Vector {
    return this.index ? this.index.descriptionVector(text) : plainVector(text);
  }

  private commandVector(text: string): Vector {
    return this.index ? this.index.commandVector(text) : plainVector(text);
  }
}

/**
 * k examples per prompt from the shipped index and the run's memory together, the most similar first (both weighed
 * with the shipped index's word weights); a memory pair whose command the shipped examples already show is not repeated.
 */
export function shotsWithMemory(index: ExampleIndex | null, memory: RunMemory, k: number): ShotSource {
  const merged = (query: string, by: "task" | "command", leaveOut?: Shot): Shot[] => {
    if (k <= 0) return [];
    const exclude = leaveOut && sharesTaskOrCommand(leaveOut);
    const shipped = index ? (by === "task" ? index.byTask(query, { k, exclude }) : index.byCommandText(query, { k, exclude })) : [];
    const shown = new Set(shipped.map((h) => h.example.command.trim()));
    const fromShipped: Scored[] = shipped.map((h) => ({ shot: { task: h.example.description, command: h.example.command }, similarity: h.similarity }));
    const fromMemory = memory.nearest(query, by, k, leaveOut).filter((s) => !shown.has(s.shot.command));
    // stable: on equal similarity the people's example comes first
    return [...fromShipped, ...fromMemory].sort((a, b) => b.similarity - a.similarity).slice(0, k).map((s) => s.shot);
  };
  return { forTask: (task, leaveOut) => merged(task, "task", leaveOut), forCommand: (command, leaveOut) => merged(command, "command", leaveOut) };
}

/** The source a memory example names: the run's own accepted output, not anyone's writing. */
export const MEMORY_EXAMPLE_SOURCE: ExampleSource = {
  id: MEMORY_SOURCE,
  name: "this run's accepted examples",
  repo: "",
  licence: "model output",
  licenceUrl: "",
  commit: "",
  attribution: "written by the model and accepted by the run's selection",
};

/** The shipped index with the run's memory added (for the comment check of a picked run); built anew, about 1 s. */
export function memoryIndex(index: ExampleIndex, memory: RunMemory): ExampleIndex {
  const remembered: Example[] = memory.pairs().map((p, i) => ({ description: p.task, command: p.command, source: MEMORY_SOURCE, ref: `memory#${i}` }));
  return new ExampleIndex([...index.examples, ...remembered], [...index.sources, MEMORY_EXAMPLE_SOURCE], `${index.identity}+memory:${memory.size}`);
}
