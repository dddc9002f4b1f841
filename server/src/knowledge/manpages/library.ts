// Parsed man pages by program name, cached in memory: a page is read once, on the page worker (pageOffThread.ts),
// and reused while its file's mtime and size stay the same; so is a page that could not be read, with the reason.
// A name with no page is looked up again after a while (packages get installed).
import { stat } from "node:fs/promises";
import { findPageFile, manPath } from "./locate";
import { descriptionFor, type ManItem, type ManPage } from "./page";
import { sharedManPageWorker, type PageReader, type PageReadOutcome } from "./pageOffThread";

export interface LoadedPage {
  page: ManPage;
  path: string;
  /** "git-commit(1)" */
  title: string;
  /** Option name → its paragraph; the first paragraph that declares it wins. */
  options: ReadonlyMap<string, ManItem>;
}

/** A name's page: read, none installed, or found but not readable (with why: "not a regular file (a FIFO)"). */
export type PageLookup = { found: LoadedPage } | { none: true } | { unreadable: string; path: string };

export interface ManLibraryOptions {
  /** Directories to search instead of man's search path (tests, fixtures). */
  dirs?: readonly string[];
  /** How long "no page" is remembered, in ms. */
  missTtlMs?: number;
  /** Reads and parses a page file; by default the process's shared page worker. */
  reader?: PageReader;
}

/** What tells a changed file from the one read: a read is reused while both stay the same. */
interface FileStamp {
  mtimeMs: number;
  size: number;
}

interface Read extends FileStamp {
  lookup: Promise<PageLookup>;
}

type Located = { path: string; stamp: FileStamp } | { unreadable: string; path: string };

export class ManLibrary {
  private dirs: Promise<readonly string[]> | undefined;
  private readonly located = new Map<string, { path: string } | { missedAt: number }>();
  private readonly reads = new Map<string, Read>();

  constructor(private readonly options: ManLibraryOptions = {}) {}

  /** The search path in use. */
  searchPath(): Promise<readonly string[]> {
    this.dirs ??= this.options.dirs ? Promise.resolve(this.options.dirs) : manPath();
    return this.dirs;
  }

  /** The page of a program (or `program-subcommand`); null when none is installed or it could not be read. */
  async page(name: string, signal?: AbortSignal): Promise<LoadedPage | null> {
    const lookup = await this.lookup(name, signal);
    return "found" in lookup ? lookup.found : null;
  }

  /** The page of a program, or why there is none. */
  async lookup(name: string, signal?: AbortSignal): Promise<PageLookup> {
    const file = await this.locateCurrent(name, signal);
    if (!file) return { none: true };
    if ("unreadable" in file) return file;
    const lookup = await this.read(name, file.path, file.stamp);
    signal?.throwIfAborted();
    return lookup;
  }

  /** The located file and its stat; located again once if it is gone (a package removed since). */
  private async locateCurrent(name: string, signal?: AbortSignal): Promise<Located | null> {
    for (let attempt = 0; ; attempt++) {
      const file = await this.locate(name, signal);
      if (!file) return null;
      const info = await stat(file).catch((err: NodeJS.ErrnoException) => err);
      if (!(info instanceof Error)) return { path: file, stamp: { mtimeMs: info.mtimeMs, size: info.size } };
      this.located.delete(name);
      // The same path again (a dangling link the directory listing still names): say so rather than loop.
      if (attempt > 0) return { unreadable: info.code === "ENOENT" ? "the file does not exist (a dangling link?)" : info.message, path: file };
    }
  }

  /** A path names one page name (`name.section…`), so the loaded page is cached with its name's title. */
  private read(name: string, file: string, stamp: FileStamp): Promise<PageLookup> {
    const cached = this.reads.get(file);
    if (cached && cached.mtimeMs === stamp.mtimeMs && cached.size === stamp.size) return cached.lookup;
    const reader = this.options.reader ?? sharedManPageWorker();
    const lookup = reader.read(file).then(
      (outcome) => loaded(name, file, outcome),
      (err: Error): PageLookup => ({ unreadable: err.message, path: file }),
    );
    this.reads.set(file, { ...stamp, lookup });
    return lookup;
  }

  private async locate(name: string, signal?: AbortSignal): Promise<string | null> {
    const known = this.located.get(name);
    if (known && "path" in known) return known.path;
    if (known && Date.now() - known.missedAt < (this.options.missTtlMs ?? 30_000)) return null;
    const found = await findPageFile(name, await this.searchPath(), signal);
    this.located.set(name, found ? { path: found.path } : { missedAt: Date.now() });
    return found?.path ?? null;
  }
}

function loaded(name: string, file: string, outcome: PageReadOutcome): PageLookup {
  if ("unreadable" in outcome) return { unreadable: outcome.unreadable, path: file };
  const page = { ...outcome.page, description: descriptionFor(outcome.page, name) };
  return { found: { page, path: file, title: `${name}(${page.section || "?"})`, options: optionIndex(page) } };
}

function optionIndex(page: ManPage): Map<string, ManItem> {
  const index = new Map<string, ManItem>();
  for (const item of page.items) for (const flag of item.flags) if (!index.has(flag)) index.set(flag, item);
  return index;
}

let shared: ManLibrary | undefined;

/** One library per process over man's own search path (the language server, the CLI and the loop share it). */
export function sharedManLibrary(): ManLibrary {
  shared ??= new ManLibrary();
  return shared;
}
