// Finding a program's page the way man-db does, without running anything: the search path from $MANPATH and
// /etc/manpath.config (MANPATH_MAP for each $PATH directory, then MANDATORY_MANPATH), sections in command order,
// `name.section[.gz]` files. Reading a page (and its `.so` redirections) is pageFile.ts's, on the page worker.
import { readFile, readdir, stat } from "node:fs/promises";
import * as path from "node:path";

/** Command sections, in man's order for a program name: user commands, administration, games. */
export const COMMAND_SECTIONS = ["1", "8", "6"] as const;
export const STANDARD_MAN_DIRS = ["/usr/local/share/man", "/usr/share/man", "/usr/local/man", "/usr/man"];
const CONFIG_FILES = ["/etc/manpath.config", "/etc/man_db.conf"];
/** A program name that can name a page file: no path separators, no leading dot; `[` is test(1)'s other name. */
const PAGE_NAME = /^(\[|[A-Za-z0-9_][A-Za-z0-9._+:@-]*)$/;

export interface ManPathConfig {
  mandatory: string[];
  /** $PATH directory → its man directories. */
  map: Map<string, string[]>;
}

export function parseManPathConfig(text: string): ManPathConfig {
  const config: ManPathConfig = { mandatory: [], map: new Map() };
  for (const line of text.split("\n")) {
    const [key, first, second] = line.replace(/#.*/, "").trim().split(/\s+/);
    if (key === "MANDATORY_MANPATH" && first) config.mandatory.push(first);
    if (key === "MANPATH_MAP" && first && second) config.map.set(first, [...(config.map.get(first) ?? []), second]);
  }
  return config;
}

async function readConfig(files: readonly string[]): Promise<ManPathConfig> {
  for (const file of files) {
    const text = await readFile(file, "utf8").catch(() => null);
    if (text !== null) return parseManPathConfig(text);
  }
  return { mandatory: [], map: new Map() };
}

/**
 * The directories man would search, existing ones only. $MANPATH replaces the default unless it has an empty
 * element (a leading, trailing or doubled colon), which stands for the default, as in man-db.
 */
export async function manPath(env: NodeJS.ProcessEnv = process.env, configFiles: readonly string[] = CONFIG_FILES): Promise<string[]> {
  const config = await readConfig(configFiles);
  const defaults = defaultManPath(config, (env.PATH ?? "").split(path.delimiter).filter(Boolean));
  const fromEnv = env.MANPATH?.split(":");
  const dirs = fromEnv ? fromEnv.flatMap((d) => (d === "" ? defaults : [d])) : defaults;
  const existing = await Promise.all([...new Set(dirs)].map(async (d) => ((await isDirectory(d)) ? d : null)));
  return existing.filter((d): d is string => d !== null);
}

function defaultManPath(config: ManPathConfig, pathDirs: string[]): string[] {
  const fromPath = pathDirs.flatMap((bin) => config.map.get(bin) ?? [path.join(bin, "../share/man"), path.join(bin, "../man")]);
  return [...fromPath, ...config.mandatory, ...STANDARD_MAN_DIRS];
}

async function isDirectory(dir: string): Promise<boolean> {
  return stat(dir).then((s) => s.isDirectory(), () => false);
}

export interface PageFile {
  path: string;
  section: string;
}

/** Directory listings, for suffixed pages such as `openssl.1ssl.gz`; built once per directory. */
const listings = new Map<string, Promise<string[]>>();

function listing(dir: string): Promise<string[]> {
  let entries = listings.get(dir);
  if (!entries) {
    entries = readdir(dir).catch(() => []);
    listings.set(dir, entries);
  }
  return entries;
}

/** The first page for `name` in section order, then directory order; null when there is none. */
export async function findPageFile(name: string, dirs: readonly string[], signal?: AbortSignal): Promise<PageFile | null> {
  if (!PAGE_NAME.test(name)) return null;
  for (const section of COMMAND_SECTIONS) {
    for (const dir of dirs) {
      signal?.throwIfAborted();
      const sectionDir = path.join(dir, `man${section}`);
      for (const file of [`${name}.${section}.gz`, `${name}.${section}`]) {
        const candidate = path.join(sectionDir, file);
        if (await isFile(candidate)) return { path: candidate, section };
      }
      const suffixed = (await listing(sectionDir)).find((f) => isSuffixedPage(f, name, section));
      if (suffixed) return { path: path.join(sectionDir, suffixed), section };
    }
  }
  return null;
}

function isSuffixedPage(file: string, name: string, section: string): boolean {
  if (!file.startsWith(`${name}.${section}`)) return false;
  return /^[A-Za-z]+(\.gz)?$/.test(file.slice(name.length + 1 + section.length));
}

async function isFile(file: string): Promise<boolean> {
  return stat(file).then((s) => s.isFile(), () => false);
}
