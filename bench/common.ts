// Shared benchmark helpers: models to measure, interleaved timing, and a median.
import { existsSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { writeFixtureModel } from "../server/src/engine/fixtureModel";

process.env.GGML_NO_BACKTRACE ??= "1";

/** The fixture model always; stories260K when it is beside the repo (or at $INVERSION_BENCH_MODEL). */
export async function benchModels(): Promise<{ name: string; path: string }[]> {
  const dir = mkdtempSync(join(tmpdir(), "inversion-bench-"));
  const models = [{ name: "fixture", path: await writeFixtureModel(join(dir, "fixture.gguf")) }];
  const real = process.env.INVERSION_BENCH_MODEL ?? resolve(__dirname, "../../shared/models/stories260K.gguf");
  if (existsSync(real)) models.unshift({ name: "stories260K", path: real });
  else console.log(`(stories260K not found at ${real}; set INVERSION_BENCH_MODEL to measure a real model)`);
  return models;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs a and b alternately `rounds` times (after one warm-up each) and returns their times in ms. */
export async function interleaved(rounds: number, a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<{ a: number[]; b: number[] }> {
  await a();
  await b();
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let t = performance.now();
    await a();
    ta.push(performance.now() - t);
    t = performance.now();
    await b();
    tb.push(performance.now() - t);
  }
  return { a: ta, b: tb };
}

export function row(cells: (string | number)[]): string {
  return cells.map((c) => (typeof c === "number" ? c.toFixed(c >= 100 ? 0 : 2) : c).toString().padEnd(14)).join(" ");
}
