// Small, dependency-free statistics with a seeded PRNG so reruns give identical intervals.

import { mulberry32 } from "../util/random";

/** The seeded PRNG the whole project uses (mulberry32), floats in [0, 1). */
export const seededRandom = mulberry32;

/** Arithmetic mean; NaN for an empty list. */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Percentile bootstrap interval of the mean. [NaN, NaN] for an empty list. */
export function bootstrapCi(
  values: readonly number[],
  opts: { iterations?: number; seed: number; level?: number },
): [number, number] {
  const iterations = opts.iterations ?? 1000;
  const level = opts.level ?? 0.95;
  if (values.length === 0) return [NaN, NaN];
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  if (!Number.isInteger(iterations) || iterations < 1) throw new RangeError(`iterations must be a positive integer`);
  const random = seededRandom(opts.seed);
  const means = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    let sum = 0;
    for (let j = 0; j < values.length; j++) sum += values[Math.floor(random() * values.length)]!;
    means[i] = sum / values.length;
  }
  means.sort();
  const tail = (1 - level) / 2;
  return [quantile(means, tail), quantile(means, 1 - tail)];
}

/**
 * The mean of `after[i] − before[i]` over paired items (the same task measured twice) with its percentile bootstrap
 * interval, resampling pairs, not the two sides apart: per-item difficulty cancels, so the interval is narrower than
 * two unpaired intervals would suggest.
 */
export function pairedDifference(
  before: readonly number[],
  after: readonly number[],
  opts: { iterations?: number; seed: number; level?: number },
): { mean: number; ci: [number, number] } {
  if (before.length !== after.length) throw new RangeError(`pairedDifference: lengths differ (${before.length} vs ${after.length})`);
  const differences = after.map((a, i) => a - before[i]!);
  return { mean: mean(differences), ci: bootstrapCi(differences, opts) };
}

/** Linear-interpolation quantile of sorted values. */
function quantile(sorted: Float64Array, q: number): number {
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  const low = sorted[below]!;
  return low + (sorted[above]! - low) * (position - below);
}

/** 1-based ranks; tied values share the average of the ranks they span. */
export function averageRanks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  for (let start = 0; start < order.length; ) {
    const value = order[start]![0];
    let end = start;
    while (end + 1 < order.length && order[end + 1]![0] === value) end++;
    const rank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) ranks[order[k]![1]] = rank;
    start = end + 1;
  }
  return ranks;
}

/** Spearman's rho = Pearson correlation of average ranks. NaN when n < 2 or either side is constant. */
export function spearman(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length !== ys.length) throw new RangeError(`spearman: lengths differ (${xs.length} vs ${ys.length})`);
  if (xs.length < 2) return NaN;
  return pearson(averageRanks(xs), averageRanks(ys));
}

function pearson(xs: readonly number[], ys: readonly number[]): number {
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < xs.length; i++) {
    const dx = xs[i]! - mx;
    const dy = ys[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx === 0 || syy === 0 ? NaN : sxy / Math.sqrt(sxx * syy);
}
