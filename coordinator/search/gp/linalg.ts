/**
 * The dense linear algebra a GP needs: Cholesky with escalating jitter, triangular solves and
 * the inverse of an SPD matrix from its factor. Matrices are row-major Float64Arrays; the loops
 * are arranged so every inner loop walks contiguous memory (V8 does no vectorisation for us, so
 * cache order is most of the speed).
 */

/**
 * Lower Cholesky factor of the SPD matrix `a` (n x n), written into a new array. When the matrix
 * is numerically indefinite (near-duplicate inputs with tiny noise), jitter is added to the
 * diagonal, growing tenfold, rather than failing the suggestion. Returns null only if even a
 * large jitter does not help (NaNs in the input).
 */
export function cholesky(a: Float64Array, n: number): { L: Float64Array; jitter: number } | null {
  const L = new Float64Array(n * n);
  let meanDiag = 0;
  for (let i = 0; i < n; i++) meanDiag += a[i * n + i]!;
  meanDiag = n > 0 ? meanDiag / n : 1;
  let jitter = 0;
  for (let attempt = 0; attempt < 8; attempt++) {
    L.set(a);
    if (jitter > 0) for (let i = 0; i < n; i++) L[i * n + i] = L[i * n + i]! + jitter;
    if (choleskyInPlace(L, n)) return { L, jitter };
    jitter = jitter === 0 ? 1e-9 * meanDiag : jitter * 10;
  }
  return null;
}

function choleskyInPlace(a: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let s = a[rj + j]!;
    for (let k = 0; k < j; k++) s -= a[rj + k]! * a[rj + k]!;
    if (!(s > 0)) return false;
    const d = Math.sqrt(s);
    a[rj + j] = d;
    const inv = 1 / d;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let t = a[ri + j]!;
      for (let k = 0; k < j; k++) t -= a[ri + k]! * a[rj + k]!;
      a[ri + j] = t * inv;
    }
  }
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) a[i * n + j] = 0;
  return true;
}

/** Solves L x = b (L lower triangular) into `out` (may alias b). */
export function solveLower(L: Float64Array, n: number, b: ArrayLike<number>, out: Float64Array): Float64Array {
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[ri + k]! * out[k]!;
    out[i] = s / L[ri + i]!;
  }
  return out;
}

/** Solves L^T x = b (L lower triangular) into `out` (may alias b). */
export function solveUpperT(L: Float64Array, n: number, b: ArrayLike<number>, out: Float64Array): Float64Array {
  if (out !== b) for (let i = 0; i < n; i++) out[i] = b[i]!;
  // Column-oriented back substitution: once x_i is known, remove it from all earlier rows, which
  // walks row i of L contiguously.
  for (let i = n - 1; i >= 0; i--) {
    const ri = i * n;
    const xi = out[i]! / L[ri + i]!;
    out[i] = xi;
    for (let k = 0; k < i; k++) out[k] = out[k]! - L[ri + k]! * xi;
  }
  return out;
}

/** K^{-1} from K's Cholesky factor, as a full symmetric matrix. */
export function inverseFromCholesky(L: Float64Array, n: number): Float64Array {
  // Row i of L^{-1} = (e_i - sum_{k<i} L_ik row_k(L^{-1})) / L_ii: row axpys, all contiguous.
  const Li = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let k = 0; k < i; k++) {
      const c = L[ri + k]!;
      if (c === 0) continue;
      const rk = k * n;
      for (let j = 0; j <= k; j++) Li[ri + j] = Li[ri + j]! - c * Li[rk + j]!;
    }
    const inv = 1 / L[ri + i]!;
    for (let j = 0; j < i; j++) Li[ri + j] = Li[ri + j]! * inv;
    Li[ri + i] = inv;
  }
  // K^{-1} = L^{-T} L^{-1} = sum_k row_k^T row_k: rank-one updates on the lower triangle.
  const K = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const rk = k * n;
    for (let i = 0; i <= k; i++) {
      const c = Li[rk + i]!;
      if (c === 0) continue;
      const ri = i * n;
      for (let j = 0; j <= i; j++) K[ri + j] = K[ri + j]! + c * Li[rk + j]!;
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) K[j * n + i] = K[i * n + j]!;
  return K;
}
