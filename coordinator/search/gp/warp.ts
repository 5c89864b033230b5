/**
 * Output transform before the GP sees the losses. Heavy-tailed objectives (rosenbrock spans six
 * orders of magnitude over its box) make a stationary GP spend its whole signal variance on the
 * worst points and model the good region as flat noise. Following Vizier's half-rank warping,
 * the better half keeps its values (only standardised), so the shape near the optimum is exact,
 * while the worse half is replaced by normal quantiles of its ranks, scaled like the good half:
 * it stays ordered and "worse than the median" but can no longer dominate. The result is then
 * standardised to zero mean and unit variance.
 */
import { normQuantile } from './special.js';

export function warpLosses(losses: ArrayLike<number>): Float64Array {
  const n = losses.length;
  const out = Float64Array.from(losses);
  if (n === 0) return out;
  const sorted = Float64Array.from(losses).sort();
  const median = n % 2 ? sorted[(n - 1) / 2]! : 0.5 * (sorted[n / 2 - 1]! + sorted[n / 2]!);

  // Spread of the good half around the median (the median plays the mean: the good half is one
  // side of a bell whose centre we do not know better).
  let ss = 0;
  let ng = 0;
  for (let i = 0; i < n; i++) if (sorted[i]! <= median) { ss += (sorted[i]! - median) ** 2; ng++; }
  let goodSd = ng > 1 ? Math.sqrt(ss / ng) : 0;
  if (!(goodSd > 0)) goodSd = 1;

  for (let i = 0; i < n; i++) {
    const v = out[i]!;
    if (v <= median) continue;
    // Mid-rank empirical CDF, in (0.5, 1): ties share a quantile.
    const below = lowerBound(sorted, v);
    const upTo = upperBound(sorted, v);
    const p = (below + upTo) / 2 / n;
    const warped = median + goodSd * normQuantile(Math.min(p, 1 - 0.5 / n));
    // Never make a bad point look worse than it is (matters when the bad half is short-tailed).
    out[i] = Math.min(v, warped);
  }
  return standardise(out);
}

export function standardise(v: Float64Array): Float64Array {
  const n = v.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += v[i]!;
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (v[i]! - mean) ** 2;
  const sd = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
  const s = sd > 0 ? sd : 1;
  for (let i = 0; i < n; i++) v[i] = (v[i]! - mean) / s;
  return v;
}

function lowerBound(a: Float64Array, v: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) { const m = (lo + hi) >> 1; if (a[m]! < v) lo = m + 1; else hi = m; }
  return lo;
}
function upperBound(a: Float64Array, v: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) { const m = (lo + hi) >> 1; if (a[m]! <= v) lo = m + 1; else hi = m; }
  return lo;
}
