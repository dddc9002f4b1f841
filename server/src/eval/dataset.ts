// (task, command) pairs from a file, and a deterministic train / held-out split that never leaks across.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export interface Pair {
  id: string;
  task: string;
  /** The reference command. */
  command: string;
}

export interface Split {
  train: Pair[];
  heldOut: Pair[];
  /** sha256 (hex) of the held-out ids, tasks and commands, in held-out order; record it with every run. */
  hash: string;
}

const TLDR_COLUMNS = ["id", "description", "command_raw", "command_short", "command_long"];

/**
 * Loads pairs from
 * - tldr TSV (header `id description command_raw command_short command_long`): task = "tool: description" with the
 *   tool taken from id `platform/tool#k`, command = command_short; alias stubs (`tldr …`) are dropped;
 * - generic TSV `task<TAB>command` (an optional `task<TAB>command` header line is skipped);
 * - JSONL `{"task": …, "command": …}` with an optional string `id` (chosen by a .jsonl/.ndjson extension or a
 *   first line starting with `{`).
 * Throws with the file and line on a missing file, a malformed line, or zero pairs.
 */
export function loadPairs(file: string): Pair[] {
  if (!fs.existsSync(file)) throw new Error(`Dataset file not found: ${file}`);
  const lines = fs.readFileSync(file, "utf8").replace(/^\uFEFF/, "").split(/\r?\n/);
  const firstLine = lines.find((l) => l.trim() !== "") ?? "";
  const label = path.basename(file);
  let pairs: Pair[];
  if (/\.(jsonl|ndjson)$/i.test(file) || firstLine.trimStart().startsWith("{")) pairs = parseJsonl(lines, file, label);
  else if (firstLine.split("\t").join(" ") === TLDR_COLUMNS.join(" ")) pairs = parseTldr(lines, file);
  else pairs = parseTaskTsv(lines, file, label);
  if (pairs.length === 0) throw new Error(`${file}: no (task, command) pairs found`);
  return pairs;
}

function parseTldr(lines: string[], file: string): Pair[] {
  const pairs: Pair[] = [];
  lines.forEach((line, i) => {
    if (i === 0 || line.trim() === "") return;
    const fields = line.split("\t");
    if (fields.length !== TLDR_COLUMNS.length) {
      throw new Error(`${file}:${i + 1}: expected ${TLDR_COLUMNS.length} tab-separated fields, got ${fields.length}`);
    }
    const [id = "", description = "", , commandShort = ""] = fields;
    const tool = /^[^/]*\/(.+)#\d+$/.exec(id)?.[1];
    if (!tool) throw new Error(`${file}:${i + 1}: id ${JSON.stringify(id)} is not of the form platform/tool#k`);
    // Alias stubs point at another page; keypress notation ("<Ctrl c>") is not a shell command.
    if (commandShort.startsWith("tldr ") || commandShort.startsWith("<")) return;
    if (description.trim() === "" || commandShort.trim() === "") {
      throw new Error(`${file}:${i + 1}: empty description or command`);
    }
    pairs.push({ id, task: `${tool}: ${description.trim()}`, command: commandShort.trim() });
  });
  return pairs;
}

function parseTaskTsv(lines: string[], file: string, label: string): Pair[] {
  const pairs: Pair[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    const fields = line.split("\t");
    if (fields.length !== 2) {
      throw new Error(
        `${file}:${i + 1}: expected 2 tab-separated fields (task, command), got ${fields.length}` +
          " (supported formats: tldr TSV, task<TAB>command TSV, JSONL)",
      );
    }
    const [task = "", command = ""] = fields.map((f) => f.trim());
    if (pairs.length === 0 && task.toLowerCase() === "task" && command.toLowerCase() === "command") return;
    if (task === "" || command === "") throw new Error(`${file}:${i + 1}: empty task or command`);
    pairs.push({ id: `${label}#${i + 1}`, task, command });
  });
  return pairs;
}

function parseJsonl(lines: string[], file: string, label: string): Pair[] {
  const pairs: Pair[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (err) {
      throw new Error(`${file}:${i + 1}: invalid JSON (${(err as Error).message})`);
    }
    const { id, task, command } = (record ?? {}) as Record<string, unknown>;
    if (typeof task !== "string" || typeof command !== "string" || task.trim() === "" || command.trim() === "") {
      throw new Error(`${file}:${i + 1}: expected an object with non-empty string fields "task" and "command"`);
    }
    pairs.push({ id: typeof id === "string" ? id : `${label}#${i + 1}`, task: task.trim(), command: command.trim() });
  });
  return pairs;
}

/**
 * Deterministic split: pairs are ordered by sha256(seed, id, task, command) — independent of input order — and the
 * first `heldOut` pairs with distinct tasks and commands are held out. Train pairs whose task or command (compared
 * case-insensitively, whitespace collapsed) equals a held-out one are dropped, so the two sets never share either.
 */
export function splitPairs(pairs: readonly Pair[], opts: { seed: number; heldOut: number }): Split {
  const { seed, heldOut: size } = opts;
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`heldOut must be a non-negative integer, got ${size}`);
  const ordered = pairs
    .map((pair, index) => ({ pair, index, key: sortKey(seed, pair) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.index - b.index))
    .map((entry) => entry.pair);
  const heldOut: Pair[] = [];
  const heldTasks = new Set<string>();
  const heldCommands = new Set<string>();
  const rest: Pair[] = [];
  for (const pair of ordered) {
    const task = normalise(pair.task);
    const command = normalise(pair.command);
    if (heldOut.length < size && !heldTasks.has(task) && !heldCommands.has(command)) {
      heldOut.push(pair);
      heldTasks.add(task);
      heldCommands.add(command);
    } else {
      rest.push(pair);
    }
  }
  if (heldOut.length < size) {
    throw new RangeError(`Cannot hold out ${size} pairs: only ${heldOut.length} have distinct tasks and commands`);
  }
  const train = rest.filter((p) => !heldTasks.has(normalise(p.task)) && !heldCommands.has(normalise(p.command)));
  const hash = createHash("sha256")
    .update(JSON.stringify(heldOut.map((p) => [p.id, p.task, p.command])))
    .digest("hex");
  return { train, heldOut, hash };
}

function sortKey(seed: number, pair: Pair): string {
  return createHash("sha256").update(`${seed}\0${pair.id}\0${pair.task}\0${pair.command}`).digest("hex");
}

function normalise(text: string): string {
  return text.trim().replace(/\s+/g, " ").toLowerCase();
}
