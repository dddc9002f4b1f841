// The shipped example index, loaded once per process on first use (about 0.5 s), or the reason it is unavailable.
import { EXAMPLE_INDEX_FILE, exampleIndexPath } from "../shipped";
import { ExampleIndex } from "./exampleIndex";

let loaded: { index: ExampleIndex } | { error: string } | undefined;

/** The shipped index, or `{ error }` saying why there is none (not installed, unreadable). */
export function sharedExampleIndex(): { index: ExampleIndex } | { error: string } {
  if (loaded) return loaded;
  const file = exampleIndexPath();
  if (!file) loaded = { error: `the example index (${EXAMPLE_INDEX_FILE}) is not installed` };
  else {
    try {
      loaded = { index: ExampleIndex.fromFile(file) };
    } catch (err) {
      loaded = { error: (err as Error).message };
    }
  }
  return loaded;
}

/** The shipped index or null. */
export function shippedExamples(): ExampleIndex | null {
  const r = sharedExampleIndex();
  return "index" in r ? r.index : null;
}
