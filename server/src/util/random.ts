// Seeded randomness, so a run can be repeated from its recorded seed.
import { createHash } from "node:crypto";

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 31-bit seed derived from a run seed and labels, e.g. deriveSeed(seed, "cycle", 3). */
export function deriveSeed(seed: number, ...labels: (string | number)[]): number {
  const h = createHash("sha256").update([seed, ...labels].join("\u0000")).digest();
  return h.readUInt32LE(0) & 0x7fffffff;
}

export function shuffled<T>(items: readonly T[], rand: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
