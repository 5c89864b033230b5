/**
 * Log expected improvement and its optimisation over the mixed search space.
 *
 * The optimiser follows BoTorch's optimize_acqf in spirit: score many cheap candidates (uniform
 * random points plus Gaussian perturbations of the best observed points, which is where the
 * final digits of precision come from), then polish the best few with the box-constrained
 * quasi-Newton method on the continuous coordinates. Categorical coordinates are held fixed
 * during a gradient run and improved between runs by trying every other level of each one.
 * Discrete numeric coordinates are optimised as continuous and snapped at the end; every
 * candidate is compared after snapping, so the winner is scored at the point actually suggested.
 */
import type { Rng } from '../../../shared/rng.js';
import type { SpaceEncoding } from './encode.js';
import { minimizeBox } from './optimize.js';
import type { Posterior } from './posterior.js';
import { logH } from './special.js';

export class LogEI {
  private readonly dm: Float64Array;
  private readonly dv: Float64Array;

  /** `best` is the incumbent (lowest) standardised loss; improvement means going below it. */
  constructor(readonly post: Posterior, readonly best: number) {
    this.dm = new Float64Array(post.D);
    this.dv = new Float64Array(post.D);
  }

  value(x: ArrayLike<number>): number {
    const { mean, variance } = this.post.predict(x);
    const sd = Math.sqrt(variance);
    return Math.log(sd) + logH((this.best - mean) / sd).value;
  }

  /** log EI at x, with its gradient written into `grad`. */
  valueGrad(x: ArrayLike<number>, grad: Float64Array): number {
    const { dm, dv } = this;
    const { mean, variance } = this.post.predict(x, dm, dv);
    const sd = Math.sqrt(variance);
    const z = (this.best - mean) / sd;
    const h = logH(z);
    for (let d = 0; d < grad.length; d++) {
      const dLogSd = dv[d]! / (2 * variance);
      // dz/dx = -dmean/sd - z dlog(sd)/dx
      grad[d] = dLogSd + h.dz * (-dm[d]! / sd - z * dLogSd);
    }
    return Math.log(sd) + h.value;
  }
}

export interface AcquisitionOptions {
  /** Uniform random candidates scored. */
  rawSamples: number;
  /** Perturbations scored around each of the best observed points. */
  perturbations: number;
  /** Candidates polished by gradient steps. */
  restarts: number;
  maxIter: number;
}

export const DEFAULT_ACQUISITION: AcquisitionOptions = { rawSamples: 768, perturbations: 48, restarts: 6, maxIter: 40 };

const PERTURB_SCALES = [0.003, 0.01, 0.03, 0.1, 0.3];

/** The feature vector maximising log EI (snapped onto the space). */
export function maximizeAcquisition(acq: LogEI, enc: SpaceEncoding, seeds: readonly Float64Array[], rng: Rng, opts: AcquisitionOptions = DEFAULT_ACQUISITION): Float64Array {
  const { D, dims } = enc;
  const candidates: Float64Array[] = [];
  for (let i = 0; i < opts.rawSamples; i++) candidates.push(enc.random(rng));
  const catDims = dims.flatMap((d, i) => (d.cat ? [i] : []));
  for (const seed of seeds) {
    for (let k = 0; k < opts.perturbations; k++) {
      const sigma = PERTURB_SCALES[k % PERTURB_SCALES.length]!;
      const x = Float64Array.from(seed);
      for (let d = 0; d < D; d++) {
        if (dims[d]!.cat) continue;
        x[d] = reflect(x[d]! + sigma * rng.normal());
      }
      // Change about one category on average, so mixed spaces also explore near the incumbent.
      for (const d of catDims) if (rng.next() < 1 / catDims.length) x[d] = rng.int(dims[d]!.levels);
      candidates.push(enc.snap(x));
    }
  }
  const scores = candidates.map((x) => acq.value(x));
  const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);

  let bestX = candidates[order[0]!]!;
  let bestV = scores[order[0]!]!;
  const starts: Float64Array[] = [];
  for (const i of order) {
    if (starts.length >= opts.restarts) break;
    const x = candidates[i]!;
    if (starts.some((s) => sqDist(s, x) < 1e-10)) continue;
    starts.push(x);
  }
  for (const start of starts) {
    let x = polish(acq, enc, start, opts.maxIter);
    let v = acq.value(x);
    if (catDims.length > 0) {
      // Coordinate search over categories, then re-polish the continuous part once if a level changed.
      let changed = false;
      for (const d of catDims) {
        if (enc.conditional) {
          // A level can switch a branch on or off: score each level's snapped (imputed) point.
          if (!enc.activeDims(x)[d]) continue;
          const keep = x[d]!;
          let bestY = x;
          for (let level = 0; level < dims[d]!.levels; level++) {
            if (level === keep) continue;
            const y = Float64Array.from(x);
            y[d] = level;
            enc.snap(y);
            const lv = acq.value(y);
            if (lv > v) { v = lv; bestY = y; }
          }
          if (bestY !== x) { x = bestY; changed = true; }
          continue;
        }
        const keep = x[d]!;
        let bestLevel = keep;
        for (let level = 0; level < dims[d]!.levels; level++) {
          if (level === keep) continue;
          x[d] = level;
          const lv = acq.value(x);
          if (lv > v) { v = lv; bestLevel = level; }
        }
        x[d] = bestLevel;
        if (bestLevel !== keep) changed = true;
      }
      if (changed) {
        const x2 = polish(acq, enc, x, opts.maxIter);
        const v2 = acq.value(x2);
        if (v2 > v) { x = x2; v = v2; }
      }
    }
    if (v > bestV) { bestV = v; bestX = x; }
  }
  return bestX;
}

/** Gradient ascent on the continuous coordinates from `start`, categories fixed; returns the snapped result. */
function polish(acq: LogEI, enc: SpaceEncoding, start: Float64Array, maxIter: number): Float64Array {
  const D = enc.D;
  const lo = new Float64Array(D);
  const hi = new Float64Array(D);
  // Categories stay fixed, and so do the imputed features of parameters they leave inactive.
  const active = enc.activeDims(start);
  for (let d = 0; d < D; d++) {
    if (enc.dims[d]!.cat || !active[d]) { lo[d] = start[d]!; hi[d] = start[d]!; } else { lo[d] = 0; hi[d] = 1; }
  }
  const res = minimizeBox((x, g) => {
    const v = acq.valueGrad(x, g);
    for (let d = 0; d < D; d++) g[d] = -g[d]!;
    return -v;
  }, start, lo, hi, { maxIter, gtol: 1e-7, ftol: 1e-10 });
  const x = enc.snap(res.x);
  // Snapping a discrete coordinate can only lose value; the start was already a snapped point.
  return acq.value(x) >= acq.value(start) ? x : Float64Array.from(start);
}

function reflect(u: number): number {
  let v = Math.abs(u) % 2;
  if (v > 1) v = 2 - v;
  return v;
}

function sqDist(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s;
}
