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

/**
 * sum_{k<len} a[p+k] * b[q+k] with four independent accumulators: a single running sum is bound
 * by the floating-point add latency, and this loop is where all the O(n^3) time goes.
 */
export function dot(a: Float64Array, p: number, b: ArrayLike<number>, q: number, len: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let k = 0;
  for (; k + 3 < len; k += 4) {
    s0 += a[p + k]! * b[q + k]!;
    s1 += a[p + k + 1]! * b[q + k + 1]!;
    s2 += a[p + k + 2]! * b[q + k + 2]!;
    s3 += a[p + k + 3]! * b[q + k + 3]!;
  }
  for (; k < len; k++) s0 += a[p + k]! * b[q + k]!;
  return s0 + s1 + (s2 + s3);
}

function choleskyInPlace(a: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    const s = a[rj + j]! - dot(a, rj, a, rj, j);
    if (!(s > 0)) return false;
    const d = Math.sqrt(s);
    a[rj + j] = d;
    const inv = 1 / d;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      a[ri + j] = (a[ri + j]! - dot(a, ri, a, rj, j)) * inv;
    }
  }
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) a[i * n + j] = 0;
  return true;
}

/** Solves L x = b (L lower triangular) into `out` (may alias b). */
export function solveLower(L: Float64Array, n: number, b: ArrayLike<number>, out: Float64Array): Float64Array {
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    out[i] = (b[i]! - dot(L, ri, out, 0, i)) / L[ri + i]!;
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

/** L^T, row-major: lets back substitution with L^T run on contiguous rows (see solveUpperRows). */
export function transpose(L: Float64Array, n: number): Float64Array {
  const T = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) T[j * n + i] = L[i * n + j]!;
  return T;
}

/** Solves L^T x = b given LT = transpose(L), into `out` (must not alias b). */
export function solveUpperRows(LT: Float64Array, n: number, b: ArrayLike<number>, out: Float64Array): Float64Array {
  for (let i = n - 1; i >= 0; i--) {
    const ri = i * n;
    out[i] = (b[i]! - dot(LT, ri + i + 1, out, i + 1, n - i - 1)) / LT[ri + i]!;
  }
  return out;
}

/** K^{-1} from K's Cholesky factor, as a full symmetric matrix. */
export function inverseFromCholesky(L: Float64Array, n: number): Float64Array {
  // Row j of M = L^{-T} is column j of L^{-1}: forward substitution L x = e_j, where x_k = 0 for
  // k < j. Both operands of every dot product are then contiguous rows.
  const M = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    M[rj + j] = 1 / L[rj + j]!;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      M[rj + i] = -dot(L, ri + j, M, rj + j, i - j) / L[ri + i]!;
    }
  }
  // K^{-1}_ij = sum_{k >= max(i,j)} M_ik M_jk: again a dot product of two rows.
  const K = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const v = dot(M, ri + i, M, j * n + i, n - i);
      K[ri + j] = v;
      K[j * n + i] = v;
    }
  }
  return K;
}
