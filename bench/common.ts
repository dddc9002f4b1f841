// Shared benchmark helpers: models to measure, interleaved timing, and a median.
import { existsSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { writeFixtureModel } from "../tools/gguf/fixtureModel";
import { BENCH_SHAPES, benchModel, type BenchModelType, type BenchShape } from "../tools/gguf/benchModels";
import { loadToolsAddon } from "../tools/native";

process.env.GGML_NO_BACKTRACE ??= "1"; if (process.env.GGML_NO_BACKTRACE === "0") delete process.env.GGML_NO_BACKTRACE;

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

/**
 * The issue-8 bench models: the Qwen2.5-0.5B shape as Q4_K_M and Q8_0, made on first use and cached
 * (tools/gguf/benchModels.ts). INVERSION_BENCH_TINY=1 swaps in a 2-layer, 256-wide model of the same family,
 * to check the benchmarks run without the minutes the real shape takes.
 */
export async function realShapeModels(types: BenchModelType[] = ["Q4_K_M", "Q8_0"]): Promise<{ name: string; path: string; type: BenchModelType }[]> {
  const real: BenchShape = BENCH_SHAPES["qwen2.5-0.5b"];
  const shape = process.env.INVERSION_BENCH_TINY
    ? { ...real, name: "qwen2.5-tiny", embeddingLength: 256, blockCount: 2, headCount: 4, headCountKv: 2, feedForwardLength: 512 }
    : real;
  const addon = loadToolsAddon();
  const out = [];
  for (const type of types) {
    const path = await benchModel(shape, type, { threads: BENCH_THREADS, quantize: addon.quantize.bind(addon), onProgress: (m) => console.log(`(${m})`) });
    out.push({ name: `${shape.name} ${type}`, path, type });
  }
  return out;
}

/** The setting for models of real size: 2 threads (1 for the tiny check model, which more threads only slow). */
export const BENCH_THREADS = process.env.INVERSION_BENCH_TINY ? 1 : 2;

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
