/**
 * Search-space maths shared by every sampler and by spec validation: parameter kinds, and the
 * one mapping between a parameter's value and a point in [0, 1] (log scale and int steps
 * included), so no algorithm re-implements scaling on its own.
 */
export type ParamValue = number | string | boolean;
export type Params = Record<string, ParamValue>;

export interface FloatParam { type: 'float'; min: number; max: number; log?: boolean; step?: number }
export interface IntParam { type: 'int'; min: number; max: number; log?: boolean; step?: number }
export interface CategoricalParam { type: 'categorical'; values: ParamValue[] }
export type ParamSpec = FloatParam | IntParam | CategoricalParam;
export type SearchSpace = Record<string, ParamSpec>;

export function isNumeric(p: ParamSpec): p is FloatParam | IntParam {
  return p.type !== 'categorical';
}

/** Number of distinct values of an int or stepped float parameter (Infinity for a plain float). */
export function cardinality(p: ParamSpec): number {
  if (p.type === 'categorical') return p.values.length;
  if (p.type === 'int') return Math.floor((p.max - p.min) / (p.step ?? 1)) + 1;
  return p.step ? Math.floor((p.max - p.min) / p.step + 1e-9) + 1 : Infinity;
}

/** Rounds a numeric value onto the parameter's grid (int / step) and clamps it into bounds. */
export function snap(p: FloatParam | IntParam, v: number): number {
  const step = p.type === 'int' ? (p.step ?? 1) : p.step;
  let x = Math.min(p.max, Math.max(p.min, v));
  if (step) {
    x = p.min + Math.round((x - p.min) / step) * step;
    if (x > p.max + 1e-12) x -= step;
    // Trim float noise such as 0.30000000000000004 so values print and compare cleanly.
    x = Number(x.toPrecision(12));
  }
  return p.type === 'int' ? Math.round(x) : x;
}

/**
 * Maps u in [0, 1] to a value. Int parameters get the half-step widening that makes every
 * integer equally likely under a uniform u (Optuna does the same).
 */
export function fromUnit(p: ParamSpec, u: number): ParamValue {
  const t = Math.min(1, Math.max(0, u));
  if (p.type === 'categorical') return p.values[Math.min(p.values.length - 1, Math.floor(t * p.values.length))]!;
  const [lo, hi] = numericRange(p);
  const x = lo + t * (hi - lo);
  return snap(p, p.log ? Math.exp(x) : x);
}

/** Inverse of fromUnit: a value to its position in [0, 1] (centre of its cell for ints/categories). */
export function toUnit(p: ParamSpec, v: ParamValue): number {
  if (p.type === 'categorical') {
    const i = p.values.findIndex((c) => c === v);
    return (Math.max(0, i) + 0.5) / p.values.length;
  }
  const [lo, hi] = numericRange(p);
  const x = p.log ? Math.log(Number(v)) : Number(v);
  return hi === lo ? 0.5 : Math.min(1, Math.max(0, (x - lo) / (hi - lo)));
}

/** The internal (log if asked) interval a numeric parameter is searched on, widened by half a step for discrete ones. */
export function numericRange(p: FloatParam | IntParam): [number, number] {
  const step = p.type === 'int' ? (p.step ?? 1) : p.step;
  if (p.log) {
    const half = p.type === 'int' && !p.step ? 0.5 : 0;
    return [Math.log(Math.max(p.min - half, p.min * 0.5)), Math.log(p.max + half)];
  }
  const half = step ? step / 2 : 0;
  return [p.min - half, p.max + half];
}

/** Whether a value is a legal value of the parameter (used to check told/enqueued params). */
export function contains(p: ParamSpec, v: ParamValue): boolean {
  if (p.type === 'categorical') return p.values.some((c) => c === v);
  if (typeof v !== 'number' || !Number.isFinite(v) || v < p.min || v > p.max) return false;
  if (p.type === 'int' && !Number.isInteger(v)) return false;
  return true;
}

/** All values of a discrete parameter, or `points` evenly spaced ones (log-even when log) of a plain float. */
export function gridValues(p: ParamSpec, points: number): ParamValue[] {
  if (p.type === 'categorical') return [...p.values];
  const n = cardinality(p);
  if (Number.isFinite(n)) {
    const step = p.type === 'int' ? (p.step ?? 1) : p.step!;
    return Array.from({ length: n }, (_, i) => snap(p, p.min + i * step));
  }
  if (points === 1) return [snap(p, p.log ? Math.sqrt(p.min * p.max) : (p.min + p.max) / 2)];
  return Array.from({ length: points }, (_, i) => {
    const t = i / (points - 1);
    const x = p.log ? Math.exp(Math.log(p.min) + t * (Math.log(p.max) - Math.log(p.min))) : p.min + t * (p.max - p.min);
    // Trim float noise (10.000000000000002) so grid values print and compare as written.
    return snap(p, Number(x.toPrecision(12)));
  });
}
