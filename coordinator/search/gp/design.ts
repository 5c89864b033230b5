/**
 * The initial design, built one point at a time without state: an incremental Latin hypercube.
 * A study-wide LHS would need a permutation shared by all startup trials, but each suggestion
 * only gets an RNG seeded for its own trial number. So each new point instead takes, in every
 * dimension, a stratum (of `strata`) that no earlier point (finished or pending) occupies, and
 * among a few such candidates the one farthest from the earlier points. Asked one by one or as a
 * batch of pending trials, the first `strata` points form a Latin hypercube with good spread.
 */
import type { Rng } from '../../../shared/rng.js';
import type { SpaceEncoding } from './encode.js';

const CANDIDATES = 32;

export function designPoint(enc: SpaceEncoding, existing: readonly Float64Array[], strata: number, rng: Rng): Float64Array {
  const { D, dims } = enc;
  const n = Math.max(strata, existing.length + 1);
  // Free strata per dimension (categories are their own strata: the least used ones are free).
  const free: number[][] = [];
  for (let d = 0; d < D; d++) {
    const dim = dims[d]!;
    const cells = dim.cat ? dim.levels : n;
    const count = new Array<number>(cells).fill(0);
    for (const x of existing) {
      const c = dim.cat ? Math.round(x[d]!) : Math.min(cells - 1, Math.floor(x[d]! * cells));
      if (c >= 0 && c < cells) count[c]!++;
    }
    const least = Math.min(...count);
    free.push(count.flatMap((c, i) => (c === least ? [i] : [])));
  }
  let best: Float64Array | null = null;
  let bestScore = -Infinity;
  for (let c = 0; c < CANDIDATES; c++) {
    const x = new Float64Array(D);
    for (let d = 0; d < D; d++) {
      const dim = dims[d]!;
      const cells = free[d]!;
      const cell = cells[rng.int(cells.length)]!;
      x[d] = dim.cat ? cell : (cell + rng.next()) / n;
    }
    enc.snap(x);
    let minDist = Infinity;
    for (const e of existing) {
      let s = 0;
      for (let d = 0; d < D; d++) s += dims[d]!.cat ? (e[d] === x[d] ? 0 : 1) : (e[d]! - x[d]!) ** 2;
      minDist = Math.min(minDist, s);
    }
    if (minDist > bestScore) {
      bestScore = minDist;
      best = x;
    }
  }
  return best!;
}
