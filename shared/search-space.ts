/**
 * Search-space maths shared by every sampler and by spec validation: parameter kinds, and the
 * one mapping between a parameter's value and a point in [0, 1] (log scale and int steps
 * included), so no algorithm re-implements scaling on its own.
 */
import { Type, type Static } from 'typebox';

/** JavaScript's exactly representable integers: an int parameter outside them would be rounded. */
export const SAFE_INT = Number.MAX_SAFE_INTEGER;

const SafeInt = (description: string) => Type.Integer({ minimum: -SAFE_INT, maximum: SAFE_INT, description });
export const ParamValueSchema = Type.Union([Type.String(), Type.Number(), Type.Boolean()], { description: 'must be a string, number or boolean' });
/**
 * A conditional parameter's `when`: parent name -> the value (or one of the values) it must
 * take. Several parents must all hold. Which parents and values are legal is checked in
 * shared/conditional-space.ts (a schema cannot see the other parameters).
 */
export const WhenSchema = Type.Record(Type.String(), Type.Union([
  ParamValueSchema,
  Type.Array(ParamValueSchema, { minItems: 1, maxItems: 10_000, description: 'must be a non-empty array of values' }),
], { description: 'must be a value of the parent, or a non-empty array of its values' }), {
  minProperties: 1, maxProperties: 100,
  description: 'must be an object {parent: value | [values], ...} naming 1 to 100 categorical parameters',
});
const When = Type.Optional(WhenSchema);
export const FloatParamSchema = Type.Object({
  type: Type.Literal('float'),
  min: Type.Number({ description: 'must be a finite number' }),
  max: Type.Number({ description: 'must be a finite number' }),
  log: Type.Optional(Type.Boolean({ description: 'must be true or false' })),
  step: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'must be a finite number > 0' })),
  when: When,
}, { additionalProperties: false, description: 'a float parameter {type: "float", min, max, log?, step?, when?}' });
export const IntParamSchema = Type.Object({
  type: Type.Literal('int'),
  min: SafeInt(`must be an integer from ${-SAFE_INT} to ${SAFE_INT} (larger ones cannot be represented exactly)`),
  max: SafeInt(`must be an integer from ${-SAFE_INT} to ${SAFE_INT} (larger ones cannot be represented exactly)`),
  log: Type.Optional(Type.Boolean({ description: 'must be true or false' })),
  step: Type.Optional(Type.Integer({ minimum: 1, maximum: SAFE_INT, description: `must be an integer from 1 to ${SAFE_INT}` })),
  when: When,
}, { additionalProperties: false, description: 'an int parameter {type: "int", min, max, log?, step?, when?}' });
export const CategoricalParamSchema = Type.Object({
  type: Type.Literal('categorical'),
  values: Type.Array(ParamValueSchema, { minItems: 1, maxItems: 10_000, description: 'must be a non-empty array of at most 10000 strings, numbers or booleans' }),
  when: When,
}, { additionalProperties: false, description: 'a categorical parameter {type: "categorical", values, when?}' });
export const ParamSpecSchema = Type.Union([FloatParamSchema, IntParamSchema, CategoricalParamSchema], { description: 'must be an object with a type: "float", "int" or "categorical"' });
export const SearchSpaceSchema = Type.Record(Type.String(), ParamSpecSchema, { minProperties: 1, maxProperties: 100, description: 'must be an object with 1 to 100 parameters' });
export const ParamsSchema = Type.Record(Type.String(), ParamValueSchema, { description: 'parameter values by name' });

export type ParamValue = Static<typeof ParamValueSchema>;
export type Condition = Static<typeof WhenSchema>;
export type Params = Record<string, ParamValue>;
export type FloatParam = Static<typeof FloatParamSchema>;
export type IntParam = Static<typeof IntParamSchema>;
export type CategoricalParam = Static<typeof CategoricalParamSchema>;
export type ParamSpec = FloatParam | IntParam | CategoricalParam;
export type SearchSpace = Record<string, ParamSpec>;

/**
 * Names a parameter (or environment variable) cannot have: they are members of every plain
 * object, so `params[name]` and `name in params` would read or set the built-in instead.
 */
export function reservedName(name: string): boolean {
  return name === '__proto__' || name in Object.prototype;
}

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
  const clamp = (y: number) => Math.min(p.max, Math.max(p.min, y));
  // NaN from a sampler's maths must still give a legal value, not null on the wire.
  let x = Number.isNaN(v) ? (p.min + p.max) / 2 : clamp(v);
  if (step) {
    const k = Math.round((x - p.min) / step);
    x = p.min + k * step;
    if (x > p.max) x = p.min + (k - 1) * step;
    // Trim float noise such as 0.30000000000000004 so values print and compare cleanly, but
    // only where that noise is far below the step (a step of 1e-15 must keep every digit).
    const trimmed = Number(x.toPrecision(12));
    if (Math.abs(trimmed - x) < step * 1e-6) x = trimmed;
  }
  return clamp(p.type === 'int' ? Math.round(x) : x);
}

/**
 * Maps u in [0, 1] to a value. Int parameters get the half-step widening that makes every
 * integer equally likely under a uniform u (Optuna does the same).
 */
export function fromUnit(p: ParamSpec, u: number): ParamValue {
  const t = Number.isNaN(u) ? 0.5 : Math.min(1, Math.max(0, u));
  if (p.type === 'categorical') return p.values[Math.min(p.values.length - 1, Math.floor(t * p.values.length))]!;
  const [lo, hi] = numericRange(p);
  // hi - lo overflows for ranges near the float limits: then interpolate without it.
  const x = Number.isFinite(hi - lo) ? lo + t * (hi - lo) : lo * (1 - t) + hi * t;
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
  const u = Number.isFinite(hi - lo) ? (x - lo) / (hi - lo) : (x / 2 - lo / 2) / (hi / 2 - lo / 2);
  return hi === lo || Number.isNaN(u) ? 0.5 : Math.min(1, Math.max(0, u));
}

/** The internal (log if asked) interval a numeric parameter is searched on, widened by half a step for discrete ones. */
export function numericRange(p: FloatParam | IntParam): [number, number] {
  const step = p.type === 'int' ? (p.step ?? 1) : p.step;
  if (p.log) {
    const half = p.type === 'int' && !p.step ? 0.5 : 0;
    return [Math.log(Math.max(p.min - half, p.min * 0.5)), Math.log(p.max + half)];
  }
  const half = step ? step / 2 : 0;
  // Near the float limits the widening would overflow: the end cells are then a little narrower.
  const lo = p.min - half;
  const hi = p.max + half;
  return [Number.isFinite(lo) ? lo : p.min, Number.isFinite(hi) ? hi : p.max];
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
  const n = p.type === 'categorical' ? p.values.length : Number.isFinite(cardinality(p)) ? cardinality(p) : points;
  return Array.from({ length: n }, (_, i) => gridValue(p, points, i));
}

/** The i-th value of `gridValues(p, points)`, on its own: the grid sampler never lists an axis. */
export function gridValue(p: ParamSpec, points: number, i: number): ParamValue {
  if (p.type === 'categorical') return p.values[i]!;
  if (Number.isFinite(cardinality(p))) return snap(p, p.min + i * (p.type === 'int' ? (p.step ?? 1) : p.step!));
  if (points === 1) return snap(p, p.log ? Math.exp((Math.log(p.min) + Math.log(p.max)) / 2) : p.min / 2 + p.max / 2);
  const t = i / (points - 1);
  const x = p.log ? Math.exp(Math.log(p.min) + t * (Math.log(p.max) - Math.log(p.min))) : p.min + t * (p.max - p.min);
  // Trim float noise (10.000000000000002) so grid values print and compare as written.
  return snap(p, Number(x.toPrecision(12)));
}
