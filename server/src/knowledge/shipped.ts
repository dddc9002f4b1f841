// Where the package's shipped files are on this machine (their names are declared in common/shipped.ts).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { DEFAULT_MODEL_FILE, EXAMPLE_INDEX_FILE } from "../../../common/shipped";

export { DEFAULT_MODEL_FILE, EXAMPLE_INDEX_FILE };

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

/** The shipped example index's absolute path when it is installed, else null. */
export function exampleIndexPath(): string | null {
  const root = packageRoot();
  const file = root ? join(root, EXAMPLE_INDEX_FILE) : null;
  return file && existsSync(file) ? file : null;
}
