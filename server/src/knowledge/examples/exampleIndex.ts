// The example index: (description, command) pairs written by people (tldr-pages, cheat sheets), each with its source
// and licence, searched by TF-IDF over lower-case words. Searching descriptions answers "which commands do this task";
// searching commands answers "what do people say commands like this do". Loaded once per process.
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { TfIdf, type Vector } from "./tfidf";
import { programOf } from "./program";

/** Where a set of examples comes from: shown beside every example the product quotes (it is someone else's text). */
export interface ExampleSource {
  id: string;
  /** "tldr-pages", "cheat/cheatsheets", … */
  name: string;
  repo: string;
  licence: string;
  licenceUrl: string;
  commit: string;
  attribution: string;
}

export interface Example {
  description: string;
  command: string;
  /** ExampleSource.id */
  source: string;
  /** Where in the source: a page and example number ("common/tar#2"), a sheet and block, a file and line. */
  ref: string;
}

export interface ExampleHit {
  example: Example;
  source: ExampleSource;
  /** Cosine similarity of the query to what was searched (the description or the command), 0..1. */
  similarity: number;
}

export interface SearchOptions {
  k: number;
  /** Only examples whose command runs this program (e.g. "tar"). */
  program?: string;
  /** Examples to leave out (e.g. the training pair itself and pairs sharing its task or command). */
  exclude?: (example: Example) => boolean;
}

/** The first line of the index file. */
export interface ExampleIndexHeader {
  kind: typeof INDEX_KIND;
  version: typeof INDEX_VERSION;
  sources: ExampleSource[];
  count: number;
  /** How the file was made: the script, the held-out splits it excludes, their sha256. */
  build: Record<string, unknown>;
}

export const INDEX_KIND = "inversion-example-index";
export const INDEX_VERSION = 1;
/** The largest index file read (compressed); the shipped one is a few MB. */
export const MAX_INDEX_BYTES = 64 << 20;

/** One example line of the file: [description, command, source index in the header, ref]. */
type ExampleRow = [string, string, number, string];

export class ExampleIndexError extends Error {
  constructor(file: string, why: string) {
    super(`The example index ${file} cannot be read: ${why}. Reinstall the extension, or rebuild it with \`node --import tsx scripts/examples/build.ts\`.`);
    this.name = "ExampleIndexError";
  }
}

export class ExampleIndex {
  private readonly byDescription: TfIdf;
  private readonly byCommand: TfIdf;
  private readonly programs: string[];
  private readonly programCounts = new Map<string, number>();
  private readonly sourceById: Map<string, ExampleSource>;

  constructor(
    readonly examples: readonly Example[],
    readonly sources: readonly ExampleSource[],
    /** Changes with the content (the file's sha256 when read from one): keys caches of results that rest on it. */
    readonly identity = `examples:${examples.length}`,
  ) {
    this.sourceById = new Map(sources.map((s) => [s.id, s]));
    for (const e of examples) if (!this.sourceById.has(e.source)) throw new Error(`example ${e.ref} names unknown source ${e.source}`);
    this.byDescription = new TfIdf(examples.map((e) => e.description));
    this.byCommand = new TfIdf(examples.map((e) => e.command));
    this.programs = examples.map((e) => programOf(e.command) ?? "");
    for (const p of this.programs) this.programCounts.set(p, (this.programCounts.get(p) ?? 0) + 1);
  }

  /** How many examples run this program. */
  programExamples(program: string): number {
    return this.programCounts.get(program) ?? 0;
  }

  /** Programs with at least `min` examples, most examples first (ties by name). */
  programsByExamples(min: number): string[] {
    return [...this.programCounts]
      .filter(([program, n]) => program && n >= min)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([program]) => program);
  }

  static fromFile(file: string): ExampleIndex {
    const { header, examples, sha256 } = readIndexFile(file);
    return new ExampleIndex(examples, header.sources, `examples:${sha256}`);
  }

  get size(): number {
    return this.examples.length;
  }

  source(id: string): ExampleSource {
    return this.sourceById.get(id)!;
  }

  /** Examples whose description is most like the task: the commands people wrote for tasks like it. */
  byTask(task: string, opts: SearchOptions): ExampleHit[] {
    return this.hits(this.byDescription, this.byDescription.vector(task), opts);
  }

  /** Examples whose command is most like this one: what people say commands like it do. */
  byCommandText(command: string, opts: SearchOptions): ExampleHit[] {
    return this.hits(this.byCommand, this.byCommand.vector(command), opts);
  }

  /** The nearest example of the command's own program; null when people's examples have none for it (an example
   * of another program would say nothing about this command). */
  nearestFor(command: string): ExampleHit | null {
    const program = programOf(command);
    return program ? (this.byCommandText(command, { k: 1, program })[0] ?? null) : null;
  }

  /**
   * How well a comment agrees with what people say commands like this one do: the cosine between the comment and
   * the joined descriptions of the `k` examples nearest the command (measured: 0.94 AUC on the built-in pairs).
   */
  commentSupport(comment: string, command: string, opts: Omit<SearchOptions, "k"> & { k?: number } = {}): { similarity: number; hits: ExampleHit[] } {
    const hits = this.byCommandText(command, { k: opts.k ?? COMMENT_SUPPORT_K, exclude: opts.exclude, program: opts.program });
    const joined = this.byDescription.vector(hits.map((h) => h.example.description).join(" "));
    return { similarity: cosine(this.byDescription.vector(comment), joined), hits };
  }

  /** A description's TF-IDF vector under this index's word weights (for comparing texts outside the index). */
  descriptionVector(text: string): Vector {
    return this.byDescription.vector(text);
  }

  /** A command's TF-IDF vector under this index's word weights. */
  commandVector(text: string): Vector {
    return this.byCommand.vector(text);
  }

  /** Text similarity of two descriptions under this index's word weights (0..1). */
  textSimilarity(a: string, b: string): number {
    return cosine(this.byDescription.vector(a), this.byDescription.vector(b));
  }

  private hits(tfidf: TfIdf, query: Vector, opts: SearchOptions): ExampleHit[] {
    const accept = (doc: number): boolean =>
      (opts.program === undefined || this.programs[doc] === opts.program) && !(opts.exclude?.(this.examples[doc]!) ?? false);
    return tfidf.nearest(query, opts.k, accept).map(({ doc, similarity }) => {
      const example = this.examples[doc]!;
      return { example, source: this.sourceById.get(example.source)!, similarity };
    });
  }
}

/** Examples joined for the comment check (measured on the built-in pairs: top-3 0.865, top-10 0.937 AUC). */
export const COMMENT_SUPPORT_K = 10;

/** Cosine of two unit-length vectors. */
export function cosine(a: Vector, b: Vector): number {
  let dot = 0;
  for (const [w, x] of a) dot += x * (b.get(w) ?? 0);
  return Math.max(0, Math.min(1, dot));
}

export function readIndexFile(file: string): { header: ExampleIndexHeader; examples: Example[]; sha256: string } {
  let text: string;
  let sha256: string;
  try {
    const raw = readFileSync(file);
    sha256 = createHash("sha256").update(raw).digest("hex");
    if (raw.length > MAX_INDEX_BYTES) throw new ExampleIndexError(file, `it is ${raw.length} bytes, over the ${MAX_INDEX_BYTES}-byte limit`);
    text = gunzipSync(raw, { maxOutputLength: 8 * MAX_INDEX_BYTES }).toString("utf8");
  } catch (err) {
    if (err instanceof ExampleIndexError) throw err;
    throw new ExampleIndexError(file, (err as Error).message);
  }
  const lines = text.split("\n").filter((l) => l.length > 0);
  const header = parseHeader(file, lines[0]);
  const examples = lines.slice(1).map((line, i) => parseRow(file, i + 2, line, header.sources));
  if (examples.length !== header.count) throw new ExampleIndexError(file, `the header says ${header.count} examples, the file holds ${examples.length}`);
  return { header, examples, sha256 };
}

function parseHeader(file: string, line: string | undefined): ExampleIndexHeader {
  let header: Partial<ExampleIndexHeader>;
  try {
    header = JSON.parse(line ?? "") as Partial<ExampleIndexHeader>;
  } catch {
    throw new ExampleIndexError(file, "its first line is not a JSON header");
  }
  if (header.kind !== INDEX_KIND) throw new ExampleIndexError(file, `it is not an example index (kind ${JSON.stringify(header.kind)})`);
  if (header.version !== INDEX_VERSION) throw new ExampleIndexError(file, `version ${String(header.version)} is not ${INDEX_VERSION}`);
  if (!Array.isArray(header.sources) || typeof header.count !== "number") throw new ExampleIndexError(file, "the header lacks sources or count");
  return header as ExampleIndexHeader;
}

function parseRow(file: string, lineNo: number, line: string, sources: readonly ExampleSource[]): Example {
  let row: unknown;
  try {
    row = JSON.parse(line);
  } catch {
    throw new ExampleIndexError(file, `line ${lineNo} is not JSON`);
  }
  const valid =
    Array.isArray(row) && row.length === 4 && typeof row[0] === "string" && typeof row[1] === "string" &&
    Number.isInteger(row[2]) && row[2] >= 0 && row[2] < sources.length && typeof row[3] === "string";
  if (!valid) throw new ExampleIndexError(file, `line ${lineNo} is not [description, command, source, ref]`);
  const [description, command, source, ref] = row as ExampleRow;
  return { description, command, source: sources[source]!.id, ref };
}

/** The file's text: a header line, then one row per example (gzip it to ship). */
export function indexFileText(header: Omit<ExampleIndexHeader, "kind" | "version" | "count">, examples: readonly Example[]): string {
  const sourceIndex = new Map(header.sources.map((s, i) => [s.id, i]));
  const full: ExampleIndexHeader = { kind: INDEX_KIND, version: INDEX_VERSION, sources: header.sources, count: examples.length, build: header.build };
  const rows = examples.map((e): ExampleRow => [e.description, e.command, sourceIndex.get(e.source)!, e.ref]);
  return [JSON.stringify(full), ...rows.map((r) => JSON.stringify(r))].join("\n") + "\n";
}
