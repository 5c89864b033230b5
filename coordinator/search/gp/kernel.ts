/**
 * Matérn-5/2 kernel on a mixed space, written as a function of one scaled squared distance
 *   r^2 = sum_d dist_d(x, y) / l_d^2,
 * where dist_d is (x_d - y_d)^2 on a continuous unit-cube dimension and the Hamming indicator
 * [x_d != y_d] on a categorical one (x_d holds the category index). Putting both kinds under
 * one Matérn keeps a single length scale per dimension, ARD over categories for free (a large
 * l_d says "this category does not matter"), and the same gradient form for every dimension.
 */

const SQRT5 = Math.sqrt(5);

/** k(r^2) / signal. */
export function matern52(r2: number): number {
  const s = SQRT5 * Math.sqrt(r2);
  return (1 + s + (s * s) / 3) * Math.exp(-s);
}

/** dk/d(r^2) / signal: finite at r = 0, unlike dk/dr / r written naively. */
export function matern52Grad(r2: number): number {
  const s = SQRT5 * Math.sqrt(r2);
  return (-5 / 6) * (1 + s) * Math.exp(-s);
}

/** Both at once, sharing the exp: [k, dk/dr^2] / signal. */
export function matern52Both(r2: number, out: Float64Array): void {
  const s = SQRT5 * Math.sqrt(r2);
  const e = Math.exp(-s);
  out[0] = (1 + s + (s * s) / 3) * e;
  out[1] = (-5 / 6) * (1 + s) * e;
}

/** Scaled squared distance between row i of A and row j of B (both D wide). */
export function scaledSqDist(A: Float64Array, i: number, B: Float64Array, j: number, D: number, isCat: Uint8Array, invL2: Float64Array): number {
  const a = i * D;
  const b = j * D;
  let r2 = 0;
  for (let d = 0; d < D; d++) {
    if (isCat[d]) {
      if (A[a + d] !== B[b + d]) r2 += invL2[d]!;
    } else {
      const t = A[a + d]! - B[b + d]!;
      r2 += t * t * invL2[d]!;
    }
  }
  return r2;
}
