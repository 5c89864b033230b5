/** Normal-distribution helpers for the Parzen kernels: CDF, log-pdf and truncated sampling on [0, 1]. */
import type { Rng } from '../../../shared/rng.js';

export const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * Complementary error function (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7):
 * plenty for kernel normalisers, whose kernels are centred inside the interval.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** Probability mass a normal(mu, sigma) puts on [lo, hi]. */
export function massBetween(mu: number, sigma: number, lo: number, hi: number): number {
  return Math.max(normalCdf((hi - mu) / sigma) - normalCdf((lo - mu) / sigma), 1e-300);
}

/**
 * A draw from normal(mu, sigma) truncated to [0, 1]. Rejection is cheap here because kernels are
 * centred inside the interval (acceptance >= ~1/2); the clamp only guards pathological inputs.
 */
export function truncatedNormal(rng: Rng, mu: number, sigma: number): number {
  for (let i = 0; i < 64; i++) {
    const x = mu + sigma * rng.normal();
    if (x >= 0 && x <= 1) return x;
  }
  return Math.min(1, Math.max(0, mu));
}

export function logSumExp(xs: ArrayLike<number>, n = xs.length): number {
  let m = -Infinity;
  for (let i = 0; i < n; i++) if (xs[i]! > m) m = xs[i]!;
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(xs[i]! - m);
  return m + Math.log(s);
}
