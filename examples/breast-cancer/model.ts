/** L2-regularised logistic regression, full-batch gradient descent, and its scores (F1, ROC AUC). */
import { FEATURES, type Dataset } from './data.js';

export interface LogReg { w: number[]; b: number }

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

export function predictProba(m: LogReg, d: Dataset): Float64Array {
  const p = new Float64Array(d.rows);
  for (let r = 0; r < d.rows; r++) {
    let z = m.b;
    for (let f = 0; f < FEATURES; f++) z += m.w[f]! * d.x[r * FEATURES + f]!;
    p[r] = sigmoid(z);
  }
  return p;
}

/** One full-batch step; returns the regularised log loss before it. */
export function step(m: LogReg, d: Dataset, lr: number, l2: number): number {
  const p = predictProba(m, d);
  const gw = new Array<number>(FEATURES).fill(0);
  let gb = 0;
  let loss = 0;
  for (let r = 0; r < d.rows; r++) {
    const e = p[r]! - d.y[r]!;
    loss -= d.y[r]! ? Math.log(Math.max(p[r]!, 1e-12)) : Math.log(Math.max(1 - p[r]!, 1e-12));
    gb += e;
    for (let f = 0; f < FEATURES; f++) gw[f]! += e * d.x[r * FEATURES + f]!;
  }
  for (let f = 0; f < FEATURES; f++) {
    loss += 0.5 * l2 * m.w[f]! ** 2 * d.rows;
    m.w[f] = m.w[f]! - lr * (gw[f]! / d.rows + l2 * m.w[f]!);
  }
  m.b -= (lr * gb) / d.rows;
  return loss / d.rows;
}

/** F1 of the positive class (label 1) at threshold 0.5. */
export function f1(p: Float64Array, y: Uint8Array): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < p.length; i++) {
    const hit = p[i]! >= 0.5;
    if (hit && y[i]) tp++;
    else if (hit) fp++;
    else if (y[i]) fn++;
  }
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

/** ROC AUC: the chance a random positive scores above a random negative (ties count half). */
export function auc(p: Float64Array, y: Uint8Array): number {
  let pairs = 0;
  let wins = 0;
  for (let i = 0; i < p.length; i++) {
    if (!y[i]) continue;
    for (let j = 0; j < p.length; j++) {
      if (y[j]) continue;
      pairs++;
      wins += p[i]! > p[j]! ? 1 : p[i] === p[j] ? 0.5 : 0;
    }
  }
  return pairs === 0 ? 0 : wins / pairs;
}
