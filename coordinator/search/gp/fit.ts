/**
 * GP hyperparameter fitting: maximum a-posteriori length scales, signal variance and noise
 * variance, optimised on log-parameters with analytic gradients of the log marginal likelihood.
 *
 * Priors (on log-parameters, so each is a normal in the optimiser's coordinates):
 *  - continuous length scales: LogNormal(log(D)/2, sqrt3), the dimension-scaled prior of
 *    Hvarfner et al. 2024 (as in BoTorch >= 0.12) with its location moved from sqrt2 to 0: the
 *    wide spread lets data override it, the sqrt(D) scaling keeps a 5-D problem from being
 *    modelled as noise, and the shorter centre suited the unit-cube benchmarks better (same
 *    final regret, faster start on rosenbrock4 and ackley5);
 *  - categorical length scales (Hamming distance): LogNormal(0, 1), i.e. other levels start
 *    about half correlated. A long-length-scale prior here says "the category does not matter"
 *    and the model then never tries the other levels near the incumbent;
 *  - noise: LogNormal(-4, 1) on the variance of standardised outputs (BoTorch's default);
 *    the data of a deterministic objective pulls it down to its 1e-6 floor, which with the
 *    Cholesky jitter still factorises stably;
 *  - signal variance: a weak LogNormal(0, 1.5) around the standardised unit scale.
 * The mean is a constant estimated by generalised least squares for the current kernel (a
 * profile likelihood; by the envelope theorem its gradient is the fixed-mean gradient).
 */
import type { Rng } from '../../../shared/rng.js';
import { cholesky, inverseFromCholesky, solveLower, solveUpperT } from './linalg.js';
import { matern52Both } from './kernel.js';
import { minimizeBox } from './optimize.js';

export interface GpData {
  /** n x D row-major inputs: unit-cube coordinates, or category indices on categorical dims. */
  X: Float64Array;
  n: number;
  D: number;
  isCat: Uint8Array;
  /** Standardised targets (lower is better, as the losses). */
  y: Float64Array;
}

export interface Hyper {
  /** 1 / l_d^2 per dimension. */
  invL2: Float64Array;
  signal: number;
  noise: number;
  mean: number;
}

const LOG_2PI = Math.log(2 * Math.PI);
const LOG_L_BOUNDS: [number, number] = [Math.log(0.005), Math.log(50)];
const LOG_SIGNAL_BOUNDS: [number, number] = [Math.log(0.05), Math.log(20)];
const LOG_NOISE_BOUNDS: [number, number] = [Math.log(1e-6), Math.log(1)];

export interface Prior { mu: Float64Array; sd: Float64Array; lo: Float64Array; hi: Float64Array }

/** Normal priors and box bounds on the packed log-parameters. */
export function hyperPrior(D: number, isCat: Uint8Array): Prior {
  const P = D + 2;
  const mu = new Float64Array(P);
  const sd = new Float64Array(P);
  const lo = new Float64Array(P);
  const hi = new Float64Array(P);
  for (let d = 0; d < D; d++) {
    mu[d] = isCat[d] ? 0 : 0.5 * Math.log(D);
    sd[d] = isCat[d] ? 1 : Math.sqrt(3);
    [lo[d], hi[d]] = LOG_L_BOUNDS;
  }
  mu[D] = 0; sd[D] = 1.5; [lo[D], hi[D]] = LOG_SIGNAL_BOUNDS;
  mu[D + 1] = -4; sd[D + 1] = 1; [lo[D + 1], hi[D + 1]] = LOG_NOISE_BOUNDS;
  return { mu, sd, lo, hi };
}

/** The hyperparameters a packed log-parameter vector [log l_1..D, log signal, log noise] stands for (mean left at 0). */
export function unpack(psi: Float64Array, D: number): Hyper {
  const invL2 = new Float64Array(D);
  for (let d = 0; d < D; d++) invL2[d] = Math.exp(-2 * psi[d]!);
  return { invL2, signal: Math.exp(psi[D]!), noise: Math.exp(psi[D + 1]!), mean: 0 };
}

/**
 * Negative log posterior of the packed log-parameters and its gradient (into `grad`). Returns
 * Infinity if the kernel matrix cannot be factorised, which the line search backs off from.
 */
export function negLogPosterior(data: GpData, pr: Prior, psi: Float64Array, grad: Float64Array | null, meanOut?: { mean: number }): number {
  const { X, n, D, isCat, y } = data;
  const { invL2, signal, noise } = unpack(psi, D);
  const K = new Float64Array(n * n);
  const Kf = new Float64Array(n * n);
  const dK = new Float64Array(n * n);
  const kd = new Float64Array(2);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j < i; j++) {
      let r2 = 0;
      const a = i * D;
      const b = j * D;
      for (let d = 0; d < D; d++) {
        if (isCat[d]) { if (X[a + d] !== X[b + d]) r2 += invL2[d]!; } else { const t = X[a + d]! - X[b + d]!; r2 += t * t * invL2[d]!; }
      }
      matern52Both(r2, kd);
      const k = signal * kd[0]!;
      Kf[ri + j] = k;
      dK[ri + j] = signal * kd[1]!;
      K[ri + j] = k;
      K[j * n + i] = k;
    }
    Kf[ri + i] = signal;
    K[ri + i] = signal + noise;
  }
  const chol = cholesky(K, n);
  if (!chol) return Infinity;
  const { L } = chol;

  // GLS constant mean: c = 1'K^-1 y / 1'K^-1 1 (two solves; the inverse is only built for the gradient).
  const tmp = new Float64Array(n);
  const u = solveUpperT(L, n, solveLower(L, n, new Float64Array(n).fill(1), tmp), new Float64Array(n));
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += u[i]! * y[i]!;
    den += u[i]!;
  }
  const mean = den > 0 ? num / den : 0;
  if (meanOut) meanOut.mean = mean;
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) r[i] = y[i]! - mean;
  const alpha = solveUpperT(L, n, solveLower(L, n, r, tmp), new Float64Array(n));
  let quad = 0;
  let logDet = 0;
  for (let i = 0; i < n; i++) {
    quad += r[i]! * alpha[i]!;
    logDet += Math.log(L[i * n + i]!);
  }
  let f = 0.5 * quad + logDet + 0.5 * n * LOG_2PI;
  const P = D + 2;
  for (let p = 0; p < P; p++) {
    const z = (psi[p]! - pr.mu[p]!) / pr.sd[p]!;
    f += 0.5 * z * z;
  }
  if (!grad) return f;
  const Kinv = inverseFromCholesky(L, n);

  // dNLL/dpsi = -1/2 tr(W dK/dpsi), W = alpha alpha' - K^-1.
  grad.fill(0);
  let gSignal = 0;
  let gNoise = 0;
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    const a = i * D;
    for (let j = 0; j < i; j++) {
      const w = alpha[i]! * alpha[j]! - Kinv[ri + j]!;
      gSignal -= w * Kf[ri + j]!; // two symmetric entries times -1/2
      const c = 2 * w * dK[ri + j]!; // -1/2 * 2 entries * (-2 dist invL2) = +2 w dk dist invL2
      const b = j * D;
      for (let d = 0; d < D; d++) {
        let dist: number;
        if (isCat[d]) dist = X[a + d] !== X[b + d] ? 1 : 0; else { const t = X[a + d]! - X[b + d]!; dist = t * t; }
        grad[d] = grad[d]! + c * dist * invL2[d]!;
      }
    }
    const wii = alpha[i]! * alpha[i]! - Kinv[ri + i]!;
    gSignal -= 0.5 * wii * signal;
    gNoise -= 0.5 * wii * noise;
  }
  grad[D] = gSignal;
  grad[D + 1] = gNoise;
  for (let p = 0; p < P; p++) grad[p] = grad[p]! + (psi[p]! - pr.mu[p]!) / (pr.sd[p]! * pr.sd[p]!);
  return f;
}

export interface FitOptions {
  /** Random prior draws screened (one evaluation each) besides the prior mode. */
  screen: number;
  /** How many of the best screened points get a full optimisation. */
  restarts: number;
  maxIter: number;
}

export const DEFAULT_FIT: FitOptions = { screen: 8, restarts: 2, maxIter: 60 };

/** MAP hyperparameters for the data, mean included. */
export function fitHyper(data: GpData, rng: Rng, opts: FitOptions = DEFAULT_FIT): Hyper {
  const { D } = data;
  const P = D + 2;
  const pr = hyperPrior(D, data.isCat);
  const starts: Array<{ psi: Float64Array; f: number }> = [];
  const clampInto = (psi: Float64Array) => { for (let p = 0; p < P; p++) psi[p] = Math.min(pr.hi[p]!, Math.max(pr.lo[p]!, psi[p]!)); return psi; };
  // The prior mode, and a "wiggly" start with short length scales, cover the two basins the
  // marginal likelihood usually has (smooth trend vs. local structure); random prior draws add more.
  const mode = clampInto(Float64Array.from(pr.mu));
  const short = clampInto(Float64Array.from(pr.mu));
  for (let d = 0; d < D; d++) short[d] = Math.log(0.2);
  short[D + 1] = Math.log(1e-3);
  const candidates = [mode, short];
  for (let s = 0; s < opts.screen; s++) {
    const psi = new Float64Array(P);
    for (let p = 0; p < P; p++) psi[p] = pr.mu[p]! + 0.7 * pr.sd[p]! * rng.normal();
    candidates.push(clampInto(psi));
  }
  for (const psi of candidates) starts.push({ psi, f: negLogPosterior(data, pr, psi, null) });
  starts.sort((a, b) => a.f - b.f);
  let best = starts[0]!;
  // With many points the likelihood has one dominant basin; a second polish rarely pays for itself.
  const restarts = data.n > 64 ? 1 : opts.restarts;
  for (let s = 0; s < Math.min(restarts, starts.length); s++) {
    const res = minimizeBox((x, g) => negLogPosterior(data, pr, x, g), starts[s]!.psi, pr.lo, pr.hi, { maxIter: opts.maxIter, gtol: 1e-3, ftol: 1e-7 });
    if (res.f < best.f) best = { psi: res.x, f: res.f };
  }
  const meanOut = { mean: 0 };
  negLogPosterior(data, pr, best.psi, null, meanOut);
  return { ...unpack(best.psi, D), mean: meanOut.mean };
}

