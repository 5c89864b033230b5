/**
 * A small box-constrained quasi-Newton minimiser: L-BFGS directions restricted to the free
 * variables (those not pinned at a bound by their gradient), with a projected backtracking
 * (Armijo) line search. It is not L-BFGS-B's exact Cauchy-point machinery, but for the smooth,
 * low-dimensional problems here (GP hyperparameters, acquisition functions) it converges in a
 * few dozen steps and is a fraction of the code. Used for both fitting and acquisition.
 */

/** Writes the gradient into `g` and returns the objective. */
export type ObjectiveWithGradient = (x: Float64Array, g: Float64Array) => number;

export interface MinimizeOptions {
  maxIter: number;
  /** Stop when the projected gradient's largest component falls below this. */
  gtol?: number;
  /** Stop when an iteration improves f by less than ftol * (1 + |f|). */
  ftol?: number;
  /** L-BFGS memory. */
  memory?: number;
}

export interface MinimizeResult { x: Float64Array; f: number; evals: number }

export function minimizeBox(fg: ObjectiveWithGradient, x0: Float64Array, lo: Float64Array, hi: Float64Array, opts: MinimizeOptions): MinimizeResult {
  const n = x0.length;
  const gtol = opts.gtol ?? 1e-5;
  const ftol = opts.ftol ?? 1e-9;
  const m = opts.memory ?? 8;
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = clamp(x0[i]!, lo[i]!, hi[i]!);
  const g = new Float64Array(n);
  let f = fg(x, g);
  let evals = 1;
  if (!Number.isFinite(f)) return { x, f, evals };

  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const d = new Float64Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const free = new Uint8Array(n);
  const alpha = new Float64Array(m);

  for (let iter = 0; iter < opts.maxIter; iter++) {
    let pgMax = 0;
    for (let i = 0; i < n; i++) {
      const pinned = lo[i] === hi[i] || (x[i]! <= lo[i]! && g[i]! > 0) || (x[i]! >= hi[i]! && g[i]! < 0);
      free[i] = pinned ? 0 : 1;
      if (!pinned) pgMax = Math.max(pgMax, Math.abs(g[i]!));
    }
    if (pgMax < gtol) break;

    // Two-loop recursion on the free subspace.
    for (let i = 0; i < n; i++) d[i] = free[i] ? -g[i]! : 0;
    const k = S.length;
    for (let j = k - 1; j >= 0; j--) {
      const a = rho[j]! * dotMasked(S[j]!, d, free);
      alpha[j] = a;
      axpyMasked(-a, Y[j]!, d, free);
    }
    if (k > 0) {
      const yy = dotMasked(Y[k - 1]!, Y[k - 1]!, free);
      const sy = dotMasked(S[k - 1]!, Y[k - 1]!, free);
      const gamma = yy > 0 && sy > 0 ? sy / yy : 1;
      for (let i = 0; i < n; i++) d[i] = d[i]! * gamma;
    }
    for (let j = 0; j < k; j++) {
      const b = rho[j]! * dotMasked(Y[j]!, d, free);
      axpyMasked(alpha[j]! - b, S[j]!, d, free);
    }
    let gd = 0;
    for (let i = 0; i < n; i++) gd += g[i]! * d[i]!;
    if (!(gd < 0)) {
      // The quasi-Newton model went bad (curvature broken by the projection): restart from steepest descent.
      S.length = 0; Y.length = 0; rho.length = 0;
      gd = 0;
      for (let i = 0; i < n; i++) {
        d[i] = free[i] ? -g[i]! : 0;
        gd -= d[i]! * d[i]!;
      }
    }
    // First step of a fresh model: a move of a tenth of the box, which backtracking then shortens.
    let step = 1;
    if (S.length === 0) {
      let dMax = 0;
      for (let i = 0; i < n; i++) dMax = Math.max(dMax, Math.abs(d[i]!));
      step = dMax > 0 ? (0.1 * boxScale(lo, hi)) / dMax : 1;
    }

    let fNew = Infinity;
    let accepted = false;
    for (let ls = 0; ls < 30; ls++) {
      let dec = 0;
      for (let i = 0; i < n; i++) {
        xNew[i] = clamp(x[i]! + step * d[i]!, lo[i]!, hi[i]!);
        dec += g[i]! * (xNew[i]! - x[i]!);
      }
      fNew = fg(xNew, gNew);
      evals++;
      if (Number.isFinite(fNew) && fNew <= f + 1e-4 * dec) {
        accepted = true;
        break;
      }
      step *= 0.3;
    }
    if (!accepted) break;

    const sVec = new Float64Array(n);
    const yVec = new Float64Array(n);
    let sy = 0;
    for (let i = 0; i < n; i++) {
      sVec[i] = xNew[i]! - x[i]!;
      yVec[i] = gNew[i]! - g[i]!;
      sy += sVec[i]! * yVec[i]!;
    }
    const fOld = f;
    x.set(xNew);
    g.set(gNew);
    f = fNew;
    if (sy > 1e-12) {
      if (S.length === m) { S.shift(); Y.shift(); rho.shift(); }
      S.push(sVec); Y.push(yVec); rho.push(1 / sy);
    }
    if (fOld - f <= ftol * (1 + Math.abs(f))) break;
  }
  return { x, f, evals };
}

const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

function boxScale(lo: Float64Array, hi: Float64Array): number {
  let w = 0;
  for (let i = 0; i < lo.length; i++) if (hi[i]! > lo[i]!) w = Math.max(w, Math.min(hi[i]! - lo[i]!, 10));
  return w > 0 ? w : 1;
}

function dotMasked(a: Float64Array, b: Float64Array, mask: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) if (mask[i]) s += a[i]! * b[i]!;
  return s;
}

function axpyMasked(c: number, a: Float64Array, y: Float64Array, mask: Uint8Array): void {
  for (let i = 0; i < a.length; i++) if (mask[i]) y[i] = y[i]! + c * a[i]!;
}
