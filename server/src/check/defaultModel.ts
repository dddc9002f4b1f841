// The model used when none is configured (the CLI's --model, the extension's inversion.model): one declaration.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** Relative to the package root (the repository, or the installed extension). */
export const DEFAULT_MODEL_FILE = "models/inversion-shell.gguf";

/** The package root: the nearest directory above this module whose package.json is Inversion's. */
export function packageRoot(from = __dirname): string | null {
  for (let dir = from, i = 0; i < 6; i++, dir = dirname(dir)) {
    try {
      if ((JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string }).name === "inversion") return dir;
    } catch {
      // not here
    }
  }
  return null;
}

/** The default model's absolute path when it is installed, else null. */
export function defaultModelPath(): string | null {
  const root = packageRoot();
  const file = root ? join(root, DEFAULT_MODEL_FILE) : null;
  return file && existsSync(file) ? file : null;
}
