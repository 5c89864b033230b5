/**
 * A Parzen estimator: a weighted mixture of one kernel per observation plus a broad prior
 * kernel, over some of the space's dimensions jointly (multivariate TPE) or one dimension
 * (univariate TPE). Numeric kernels are normals truncated to [0, 1]; categorical kernels put
 * most of their mass on the observed category and spread the prior's share over the rest.
 */
import type { Rng } from '../../../shared/rng.js';
import { LOG_SQRT_2PI, massBetween, truncatedNormal } from './normal.js';
import type { Observation } from './observations.js';
import type { Dim } from './space.js';

export interface ParzenOptions {
  /** Weight of the prior kernel (a broad normal over the whole range) relative to one observation. */
  priorWeight: number;
  /** Floors bandwidths at range / min(100, focus n + 1 + prior) so that few observations do not make needle kernels. */
  magicClip: boolean;
  /** For the neighbour rule: whether the outermost kernels may use their distance to the bound. */
  endpoints: boolean;
  /** 'scott': one bandwidth 0.2 n^(-1/(d+4)) for all kernels; 'neighbor': each kernel as wide as its larger gap to a neighbour. */
  bandwidth: 'scott' | 'neighbor';
  /** Multiplies every observation kernel's bandwidth (< 1 exploits more). */
  bandwidthFactor: number;
  /**
   * The magic clip counts this many observations per actual one (>= 1): a larger focus lets
   * kernels narrow faster, so the search converges more finely around its good points.
   */
  focus: number;
}

export class ParzenEstimator {
  readonly size: number;
  private readonly cumW: Float64Array;
  private readonly logW: Float64Array;
  /** Per numeric active dim, per kernel: mean, bandwidth and log normaliser (-log sigma - log sqrt(2 pi) - log mass in [0, 1]). */
  private readonly mu: Float64Array[] = [];
  private readonly sigma: Float64Array[] = [];
  private readonly logNorm: Float64Array[] = [];
  /** Per categorical active dim: kernel-major probabilities and their logs. */
  private readonly catP: Float64Array[] = [];
  private readonly catLogP: Float64Array[] = [];
  private readonly numDims: number[] = [];
  private readonly catDims: Array<{ d: number; n: number }> = [];
  private readonly scratch: Float64Array;

  constructor(dims: readonly Dim[], active: readonly number[], obs: readonly Observation[], weights: ArrayLike<number>, opts: ParzenOptions) {
    const n = obs.length;
    const prior = opts.priorWeight > 0 || n === 0;
    const K = n + (prior ? 1 : 0);
    this.size = K;
    const w = new Float64Array(K);
    for (let i = 0; i < n; i++) w[i] = weights[i]!;
    if (prior) w[n] = n === 0 ? 1 : opts.priorWeight;
    const total = w.reduce((s, v) => s + v, 0);
    this.logW = w.map((v) => Math.log(v / total));
    this.cumW = new Float64Array(K);
    let acc = 0;
    for (let k = 0; k < K; k++) this.cumW[k] = acc += w[k]! / total;
    this.scratch = new Float64Array(K);

    const nNum = active.filter((d) => dims[d]!.kind === 'num').length;
    for (const d of active) {
      const dim = dims[d]!;
      if (dim.kind === 'cat') {
        this.catDims.push({ d, n: dim.n });
        const p = categoricalKernels(obs, d, dim.n, prior, opts.priorWeight);
        this.catP.push(p);
        this.catLogP.push(p.map(Math.log));
        continue;
      }
      this.numDims.push(d);
      const mu = new Float64Array(K);
      for (let i = 0; i < n; i++) mu[i] = obs[i]!.x[d]!;
      if (prior) mu[n] = 0.5;
      const sigma = opts.bandwidth === 'scott' ? scottBandwidths(n, nNum, K) : neighborBandwidths(mu, n, prior, opts.endpoints);
      const lo = opts.magicClip ? 1 / Math.min(100, opts.focus * n + 1 + (prior ? 1 : 0)) : 1e-12;
      // Two cells wide at least, so a kernel on an int value keeps real mass on its neighbours:
      // otherwise a parameter whose neighbouring values are only slightly better stalls.
      const floor = Math.max(lo, 2 * dim.cell);
      for (let i = 0; i < n; i++) sigma[i] = Math.min(1, Math.max(floor, sigma[i]! * opts.bandwidthFactor));
      if (prior) sigma[n] = 1;
      const logNorm = new Float64Array(K);
      for (let k = 0; k < K; k++) logNorm[k] = -Math.log(sigma[k]!) - LOG_SQRT_2PI - Math.log(massBetween(mu[k]!, sigma[k]!, 0, 1));
      this.mu.push(mu);
      this.sigma.push(sigma);
      this.logNorm.push(logNorm);
    }
  }

  /** Draws a point: writes the active dimensions of `out`. */
  sample(rng: Rng, out: Float64Array): void {
    const r = rng.next();
    let k = 0;
    while (k < this.size - 1 && this.cumW[k]! <= r) k++;
    this.sampleKernel(rng, out, k, 1);
  }

  /** Draws from kernel k alone, its numeric bandwidths multiplied by `scale`. */
  sampleKernel(rng: Rng, out: Float64Array, k: number, scale: number): void {
    for (let j = 0; j < this.numDims.length; j++) out[this.numDims[j]!] = truncatedNormal(rng, this.mu[j]![k]!, this.sigma[j]![k]! * scale);
    for (let j = 0; j < this.catDims.length; j++) {
      const { d, n } = this.catDims[j]!;
      const p = this.catP[j]!;
      let u = rng.next();
      let c = 0;
      while (c < n - 1 && (u -= p[k * n + c]!) > 0) c++;
      out[d] = c;
    }
  }

  /** Log density of the mixture at `x` (its active dimensions). */
  logPdf(x: ArrayLike<number>): number {
    const s = this.scratch;
    s.set(this.logW);
    for (let j = 0; j < this.numDims.length; j++) {
      const v = x[this.numDims[j]!]!;
      const mu = this.mu[j]!;
      const sigma = this.sigma[j]!;
      const logNorm = this.logNorm[j]!;
      for (let k = 0; k < this.size; k++) {
        const z = (v - mu[k]!) / sigma[k]!;
        s[k] = s[k]! + logNorm[k]! - 0.5 * z * z;
      }
    }
    for (let j = 0; j < this.catDims.length; j++) {
      const { d, n } = this.catDims[j]!;
      const lp = this.catLogP[j]!;
      const c = x[d]!;
      for (let k = 0; k < this.size; k++) s[k] = s[k]! + lp[k * n + c]!;
    }
    let m = -Infinity;
    for (let k = 0; k < this.size; k++) if (s[k]! > m) m = s[k]!;
    let sum = 0;
    for (let k = 0; k < this.size; k++) sum += Math.exp(s[k]! - m);
    return m + Math.log(sum);
  }
}

function scottBandwidths(n: number, nNum: number, K: number): Float64Array {
  return new Float64Array(K).fill(0.2 * Math.max(n, 1) ** (-1 / (nNum + 4)));
}

/**
 * Each kernel as wide as the larger gap to its sorted neighbours (the prior's centre counts as a
 * neighbour). Sorting a typed copy and locating each value by binary search keeps this cheap
 * with thousands of trials. Tied values (repeated ints) take consecutive sorted positions in
 * kernel order, as a stable sort would place them: inner ties get a zero gap (then the floor),
 * which lets a kernel on a value tried often stay focused there.
 */
function neighborBandwidths(mu: Float64Array, n: number, prior: boolean, endpoints: boolean): Float64Array {
  const K = mu.length;
  const sorted = Float64Array.from(mu).sort();
  const sigma = new Float64Array(K);
  const tiesSeen = new Map<number, number>();
  for (let k = 0; k < K; k++) {
    const v = mu[k]!;
    let lo = 0;
    let hi = K - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    const seen = tiesSeen.get(v) ?? 0;
    tiesSeen.set(v, seen + 1);
    const r = lo + seen;
    const left = r > 0 ? v - sorted[r - 1]! : endpoints || K === 1 ? v : 0;
    const right = r < K - 1 ? sorted[r + 1]! - v : endpoints || K === 1 ? 1 - v : 0;
    sigma[k] = Math.max(left, right);
  }
  if (prior) sigma[n] = 1;
  return sigma;
}

/** Kernel-major category probabilities: each observation's own category plus a prior share spread evenly. */
function categoricalKernels(obs: readonly Observation[], d: number, nCat: number, prior: boolean, priorWeight: number): Float64Array {
  const n = obs.length;
  const K = n + (prior ? 1 : 0);
  const p = new Float64Array(K * nCat);
  const share = prior ? priorWeight / (n + 1) : 0;
  for (let i = 0; i < n; i++) {
    const c = obs[i]!.x[d]!;
    const rowSum = 1 + share * nCat;
    for (let j = 0; j < nCat; j++) p[i * nCat + j] = (share + (j === c ? 1 : 0)) / rowSum;
  }
  if (prior) p.fill(1 / nCat, n * nCat);
  return p;
}
