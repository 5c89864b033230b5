/** Reading loss curves the same way in every rule. */
import type { IntermediateValue } from '../../shared/trial.js';

/** A NaN loss (a diverged run) ranks as the worst possible value instead of poisoning comparisons. */
export const asLoss = (v: number): number => (Number.isNaN(v) ? Infinity : v);

/** Index of the first report with step >= `step`, in recorded order; -1 when there is none. */
export function firstIndexAtOrAfter(curve: readonly IntermediateValue[], step: number): number {
  return curve.findIndex((p) => p.step >= step);
}

/** Losses reported at steps <= `step`. */
export function lossesUpTo(curve: readonly IntermediateValue[], step: number): number[] {
  return curve.filter((p) => p.step <= step).map((p) => asLoss(p.value));
}

export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Compact number for decision reasons. */
export const fmt = (x: number): string => (Number.isFinite(x) ? String(Number(x.toPrecision(6))) : String(x));
