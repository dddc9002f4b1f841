// Parsed man pages by program name, cached in memory: a page is parsed once and reused while its file's mtime
// and size stay the same; a name with no page is looked up again after a while (packages get installed).
import { stat } from "node:fs/promises";
import { findPageFile, manPath, readPageSource } from "./locate";
import { parseManPage, type ManItem, type ManPage } from "./page";

export interface LoadedPage {
  page: ManPage;
  path: string;
  /** "git-commit(1)" */
  title: string;
  /** Option name → its paragraph; the first paragraph that declares it wins. */
  options: ReadonlyMap<string, ManItem>;
}

export interface ManLibraryOptions {
  /** Directories to search instead of man's search path (tests, fixtures). */
  dirs?: readonly string[];
  /** How long "no page" is remembered, in ms. */
  missTtlMs?: number;
}

interface Parsed {
  mtimeMs: number;
  size: number;
  loaded: LoadedPage;
}

export class ManLibrary {
  private dirs: Promise<readonly string[]> | undefined;
  private readonly located = new Map<string, { path: string } | { missedAt: number }>();
  private readonly parsed = new Map<string, Parsed>();

  constructor(private readonly options: ManLibraryOptions = {}) {}

  /** The search path in use. */
  searchPath(): Promise<readonly string[]> {
    this.dirs ??= this.options.dirs ? Promise.resolve(this.options.dirs) : manPath();
    return this.dirs;
  }

  /** The page of a program (or `program-subcommand`); null when none is installed. */
  async page(name: string, signal?: AbortSignal): Promise<LoadedPage | null> {
    const file = await this.locate(name, signal);
    if (!file) return null;
    const info = await stat(file).catch(() => null);
    if (!info) {
      this.located.delete(name);
      return this.page(name, signal);
    }
    const cached = this.parsed.get(file);
    if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached.loaded;
    const page = parseManPage(await readPageSource(file, signal));
    const loaded = { page, path: file, title: `${name}(${page.section || "?"})`, options: optionIndex(page) };
    this.parsed.set(file, { mtimeMs: info.mtimeMs, size: info.size, loaded });
    return loaded;
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
