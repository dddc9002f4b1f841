// A link to where an example was written, at the commit the index was built from: every quoted example points at
// its page (it is someone else's text).
import type { ExampleHit } from "./exampleIndex";

const PAGE_PATH: Record<string, (ref: string) => string> = {
  tldr: (ref) => `pages/${ref.replace(/#\d+$/, "")}.md`,
  "tldr-other": (ref) => `pages/${ref.replace(/#\d+$/, "")}.md`,
  cheat: (ref) => ref.replace(/#\d+$/, ""),
  chubin: (ref) => `sheets/${ref.replace(/#\d+$/, "")}`,
  "navi-denisidoro": (ref) => ref.replace(/#\d+$/, ""),
  eg: (ref) => `eg/examples/${ref.replace(/#\d+$/, "")}.md`,
  "awesome-cheatsheets": (ref) => ref.replace(/:(\d+)$/, "#L$1"),
};

export function exampleUrl(hit: ExampleHit): string {
  const path = PAGE_PATH[hit.source.id]?.(hit.example.ref);
  return path && hit.source.commit ? `${hit.source.repo}/blob/${hit.source.commit}/${path}` : hit.source.repo;
}
