/**
 * The GP posterior over the latent objective at fixed hyperparameters: one Cholesky of the
 * training covariance, then mean and variance (and their input gradients) at any point in
 * O(n D + n^2). Scratch buffers are reused across calls because the acquisition optimiser calls
 * predict thousands of times per suggestion.
 */
import { cholesky, solveLower, solveUpperRows, transpose } from './linalg.js';
import { matern52Both } from './kernel.js';
import type { Hyper } from './fit.js';

export interface Prediction {
  mean: number;
  variance: number;
}

export class Posterior {
  readonly n: number;
  readonly D: number;
  private readonly L: Float64Array;
  private readonly LT: Float64Array;
  private readonly alpha: Float64Array;
  private readonly kStar: Float64Array;
  private readonly kGrad: Float64Array;
  private readonly v: Float64Array;
  private readonly w: Float64Array;
  private readonly kd = new Float64Array(2);

  constructor(
    readonly X: Float64Array,
    n: number,
    D: number,
    readonly isCat: Uint8Array,
    readonly y: Float64Array,
    readonly hyper: Hyper,
  ) {
    this.n = n;
    this.D = D;
    const K = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < i; j++) {
        const k = this.kernel(X, i, j);
        K[i * n + j] = k;
        K[j * n + i] = k;
      }
      K[i * n + i] = hyper.signal + hyper.noise;
    }
    const chol = cholesky(K, n);
    if (!chol) throw new Error('GP covariance could not be factorised (non-finite inputs?)');
    this.L = chol.L;
    this.LT = transpose(chol.L, n);
    const r = new Float64Array(n);
    for (let i = 0; i < n; i++) r[i] = y[i]! - hyper.mean;
    this.alpha = solveUpperRows(this.LT, n, solveLower(this.L, n, r, new Float64Array(n)), new Float64Array(n));
    this.kStar = new Float64Array(n);
    this.kGrad = new Float64Array(n);
    this.v = new Float64Array(n);
    this.w = new Float64Array(n);
  }

  private kernel(A: Float64Array, i: number, j: number): number {
    const { D, isCat } = this;
    const { invL2, signal } = this.hyper;
    let r2 = 0;
    const a = i * D;
    const b = j * D;
    for (let d = 0; d < D; d++) {
      if (isCat[d]) { if (A[a + d] !== A[b + d]) r2 += invL2[d]!; } else { const t = A[a + d]! - A[b + d]!; r2 += t * t * invL2[d]!; }
    }
    matern52Both(r2, this.kd);
    return signal * this.kd[0]!;
  }

  /**
   * Posterior mean and latent variance at x (length D). With `dMean`/`dVar` given, also their
   * gradients with respect to x's continuous coordinates (zero on categorical ones).
   */
  predict(x: ArrayLike<number>, dMean?: Float64Array, dVar?: Float64Array): Prediction {
    const { n, D, X, isCat, L, alpha, kStar, kGrad, v, kd } = this;
    const { invL2, signal, mean: m0 } = this.hyper;
    let mean = m0;
    for (let i = 0; i < n; i++) {
      let r2 = 0;
      const b = i * D;
      for (let d = 0; d < D; d++) {
        if (isCat[d]) { if (x[d] !== X[b + d]) r2 += invL2[d]!; } else { const t = x[d]! - X[b + d]!; r2 += t * t * invL2[d]!; }
      }
      matern52Both(r2, kd);
      kStar[i] = signal * kd[0]!;
      kGrad[i] = signal * kd[1]!;
      mean += kStar[i]! * alpha[i]!;
    }
    solveLower(L, n, kStar, v);
    let vv = 0;
    for (let i = 0; i < n; i++) vv += v[i]! * v[i]!;
    // Floor the variance so log-EI stays finite at (and exactly on) training points.
    const variance = Math.max(signal - vv, 1e-12 * signal);
    if (dMean && dVar) {
      const w = solveUpperRows(this.LT, n, v, this.w); // K^-1 k*
      for (let d = 0; d < D; d++) {
        if (isCat[d]) { dMean[d] = 0; dVar[d] = 0; continue; }
        let gm = 0;
        let gv = 0;
        const xd = x[d]!;
        for (let i = 0; i < n; i++) {
          // dk_i/dx_d = dk/dr^2 * 2 (x_d - X_id) / l_d^2
          const dk = kGrad[i]! * (xd - X[i * D + d]!);
          gm += alpha[i]! * dk;
          gv += w[i]! * dk;
        }
        const s = 2 * invL2[d]!;
        dMean[d] = gm * s;
        dVar[d] = signal - vv > 1e-12 * signal ? -2 * gv * s : 0;
      }
    }
    return { mean, variance };
  }
}
