/**
 * The CMA-ES distribution and its update (Hansen, "The CMA Evolution Strategy: A Tutorial",
 * 2016), on the unit cube. Only the maths: which trials make up a generation is the caller's
 * business (cmaes.ts replays generations from the trial history).
 */
import type { Rng } from '../../../shared/rng.js';
import { symmetricEigen } from './eigen.js';

export interface StrategyParams {
  lambda: number;
  mu: number;
  weights: Float64Array;
  muEff: number;
  cc: number;
  cs: number;
  c1: number;
  cmu: number;
  damps: number;
  chiN: number;
}

/** The default population size for n dimensions: 4 + floor(3 ln n). */
export const defaultPopsize = (n: number): number => 4 + Math.floor(3 * Math.log(Math.max(1, n)));

export function strategyParams(n: number, lambda: number): StrategyParams {
  const mu = Math.max(1, Math.floor(lambda / 2));
  const raw = Array.from({ length: mu }, (_, i) => Math.log(mu + 0.5) - Math.log(i + 1));
  const sum = raw.reduce((s, v) => s + v, 0);
  const weights = Float64Array.from(raw, (v) => v / sum);
  const muEff = 1 / weights.reduce((s, w) => s + w * w, 0);
  const c1 = 2 / ((n + 1.3) ** 2 + muEff);
  return {
    lambda,
    mu,
    weights,
    muEff,
    cc: (4 + muEff / n) / (n + 4 + (2 * muEff) / n),
    cs: (muEff + 2) / (n + muEff + 5),
    c1,
    cmu: Math.min(1 - c1, (2 * (muEff - 2 + 1 / muEff)) / ((n + 2) ** 2 + muEff)),
    damps: 1 + 2 * Math.max(0, Math.sqrt((muEff - 1) / (n + 1)) - 1) + (muEff + 2) / (n + muEff + 5),
    chiN: Math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n)),
  };
}

export class CmaState {
  readonly mean: Float64Array;
  sigma: number;
  /** Covariance, row-major n x n. */
  readonly C: Float64Array;
  readonly pc: Float64Array;
  readonly ps: Float64Array;
  /** C = B diag(D^2) B^T, kept in step with C by `decompose`. */
  B: Float64Array;
  D: Float64Array;
  generation = 0;
  /** Best rank-0 losses per generation, for the stagnation test. */
  readonly history: number[] = [];

  constructor(readonly n: number, sigma0: number, mean?: Float64Array) {
    this.mean = mean ?? new Float64Array(n).fill(0.5);
    this.sigma = sigma0;
    this.C = new Float64Array(n * n);
    this.B = new Float64Array(n * n);
    for (let i = 0; i < n; i++) this.C[i * n + i] = this.B[i * n + i] = 1;
    this.D = new Float64Array(n).fill(1);
    this.pc = new Float64Array(n);
    this.ps = new Float64Array(n);
  }

  /**
   * One draw from N(mean, sigma^2 C) inside the unit cube: resampled while outside (as the
   * `cmaes` library does), clipped as a last resort, so the sample stays unbiased where it can.
   */
  sample(rng: Rng): Float64Array {
    const { n } = this;
    const x = new Float64Array(n);
    const z = new Float64Array(n);
    for (let attempt = 0; attempt < 100; attempt++) {
      for (let i = 0; i < n; i++) z[i] = this.D[i]! * rng.normal();
      let inside = true;
      for (let i = 0; i < n; i++) {
        let y = 0;
        for (let j = 0; j < n; j++) y += this.B[i * n + j]! * z[j]!;
        x[i] = this.mean[i]! + this.sigma * y;
        if (x[i]! < 0 || x[i]! > 1) inside = false;
      }
      if (inside) return x;
    }
    return x.map((v) => Math.min(1, Math.max(0, v)));
  }

  /**
   * Updates the distribution from one generation's evaluated points, best first. The points are
   * the parameters actually run (snapped, possibly sampled from a slightly different
   * distribution when the history was incomplete), so steps are computed from them rather than
   * from stored draws.
   */
  tell(sorted: readonly Float64Array[], bestLoss: number, p: StrategyParams): void {
    const { n } = this;
    const mu = Math.min(p.mu, sorted.length);
    const w = p.weights.subarray(0, mu);
    const wSum = w.reduce((s, v) => s + v, 0);
    const ys = sorted.slice(0, mu).map((x) => x.map((v, i) => (v - this.mean[i]!) / this.sigma));
    const yw = new Float64Array(n);
    for (let k = 0; k < mu; k++) for (let i = 0; i < n; i++) yw[i] = yw[i]! + (w[k]! / wSum) * ys[k]![i]!;
    for (let i = 0; i < n; i++) this.mean[i] = this.mean[i]! + this.sigma * yw[i]!;

    // C^(-1/2) yw = B D^-1 B^T yw.
    const t = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += this.B[i * n + j]! * yw[i]!;
      t[j] = s / this.D[j]!;
    }
    const csFactor = Math.sqrt(p.cs * (2 - p.cs) * p.muEff);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += this.B[i * n + j]! * t[j]!;
      this.ps[i] = (1 - p.cs) * this.ps[i]! + csFactor * s;
    }
    const psNorm = Math.hypot(...this.ps);
    this.generation++;
    const hsig = psNorm / Math.sqrt(1 - (1 - p.cs) ** (2 * this.generation)) / p.chiN < 1.4 + 2 / (n + 1) ? 1 : 0;
    const ccFactor = Math.sqrt(p.cc * (2 - p.cc) * p.muEff);
    for (let i = 0; i < n; i++) this.pc[i] = (1 - p.cc) * this.pc[i]! + hsig * ccFactor * yw[i]!;

    const keep = 1 - p.c1 - p.cmu + (1 - hsig) * p.c1 * p.cc * (2 - p.cc);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let rankMu = 0;
        for (let k = 0; k < mu; k++) rankMu += (w[k]! / wSum) * ys[k]![i]! * ys[k]![j]!;
        const v = keep * this.C[i * n + j]! + p.c1 * this.pc[i]! * this.pc[j]! + p.cmu * rankMu;
        this.C[i * n + j] = this.C[j * n + i] = v;
      }
    }
    this.sigma *= Math.exp(Math.min(1, (p.cs / p.damps) * (psNorm / p.chiN - 1)));
    // The unit cube bounds the useful step size; a sigma far above 1 only wastes samples on resampling.
    this.sigma = Math.min(this.sigma, 2);
    this.history.push(bestLoss);
    this.decompose();
  }

  /**
   * Eigen-decomposes C starting from the previous basis: B^T C B is nearly diagonal after one
   * generation's update, so Jacobi needs a sweep or two instead of starting from scratch, which
   * is what keeps replaying hundreds of generations per suggestion affordable.
   */
  decompose(): void {
    const { n, B, C } = this;
    const cb = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < n; k++) {
        const cik = C[i * n + k]!;
        if (cik === 0) continue;
        for (let j = 0; j < n; j++) cb[i * n + j] = cb[i * n + j]! + cik * B[k * n + j]!;
      }
    }
    const a = new Float64Array(n * n);
    for (let k = 0; k < n; k++) {
      for (let i = 0; i < n; i++) {
        const bki = B[k * n + i]!;
        if (bki === 0) continue;
        for (let j = 0; j < n; j++) a[i * n + j] = a[i * n + j]! + bki * cb[k * n + j]!;
      }
    }
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[i * n + j] = a[j * n + i] = (a[i * n + j]! + a[j * n + i]!) / 2;
    const { values, vectors } = symmetricEigen(a, n);
    const next = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < n; k++) {
        const bik = B[i * n + k]!;
        if (bik === 0) continue;
        for (let j = 0; j < n; j++) next[i * n + j] = next[i * n + j]! + bik * vectors[k * n + j]!;
      }
    }
    this.B = next;
    this.D = values.map((v) => Math.sqrt(Math.max(v, 1e-20)));
  }

  /** Hansen's restart conditions, reduced to the ones that matter on a bounded box. */
  shouldStop(p: StrategyParams): boolean {
    const { n } = this;
    let maxStd = 0;
    for (let i = 0; i < n; i++) maxStd = Math.max(maxStd, this.sigma * Math.sqrt(this.C[i * n + i]!));
    if (maxStd < 1e-6) return true;
    const dMax = Math.max(...this.D);
    const dMin = Math.min(...this.D);
    if ((dMax / dMin) ** 2 > 1e14) return true;
    const window = 10 + Math.ceil((30 * n) / p.lambda);
    if (this.history.length >= window) {
      const recent = this.history.slice(-window);
      if (Math.max(...recent) - Math.min(...recent) < 1e-12) return true;
    }
    return false;
  }
}
