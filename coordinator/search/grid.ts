/**
 * Grid search: the Cartesian product of every parameter's values (all values of ints, stepped
 * floats and categories; `pointsPerFloat` evenly spaced values of a plain float). Trial number
 * n takes grid point n, optionally in a seeded shuffled order, so the sequence needs no state
 * and survives restarts. The study ends when the grid is exhausted.
 *
 * The grid is never enumerated: an axis is a rule that gives its i-th value, and point n is
 * found by mixed-radix arithmetic over the axes' sizes, so an ask costs O(axes + trials) even
 * on an axis of ten million values (enumerating it blocked the coordinator for seconds per ask).
 * A conditional space's grid holds only valid combinations (grid-conditional.ts), by the same
 * kind of index arithmetic.
 */
import { cardinality, gridValue, type ParamSpec, type ParamValue, type Params, type SearchSpace } from '../../shared/search-space.js';
import { isConditional } from '../../shared/conditional-space.js';
import { createRng } from '../../shared/rng.js';
import type { FrozenTrial } from '../../shared/trial.js';
import type { SamplerFactory } from './sampler.js';
import { ConditionalGrid, GridTooEntangled, type GridIndex } from './grid-conditional.js';
import { SettingsReader } from './settings.js';

const MAX_GRID_POINTS = 10_000_000;

function read(settings: Record<string, unknown>) {
  const r = new SettingsReader(settings);
  const pointsPerFloat = r.number('pointsPerFloat', 5, { min: 1, max: 1000, int: true });
  const shuffle = r.boolean('shuffle', false);
  return { r, pointsPerFloat, shuffle };
}

/** Number of grid points: the product of the axes, or for a conditional space the number of valid combinations. */
export function gridSize(space: SearchSpace, pointsPerFloat: number): number {
  if (isConditional(space)) return gridIndex(space, pointsPerFloat).size;
  return Object.values(space).reduce((n, p) => n * axisSize(p, pointsPerFloat), 1);
}

/** The grid of a space as an index: plain mixed radix, or the branch-counting grid of a conditional space. */
export function gridIndex(space: SearchSpace, pointsPerFloat: number): GridIndex {
  if (isConditional(space)) return new ConditionalGrid(space, (name) => gridAxis(name, space[name]!, pointsPerFloat));
  const axes = Object.entries(space).map(([name, p]) => gridAxis(name, p, pointsPerFloat));
  const size = axes.reduce((n, a) => n * a.size, 1);
  return { size, point: (index) => gridPoint(axes, index), position: (params) => gridPosition(axes, params) };
}

/** One axis of the grid: how many values it has, the i-th of them and the inverse, without a list. */
export interface GridAxis { name: string; size: number; at(i: number): ParamValue; indexOf(v: ParamValue | undefined): number }

const axisSize = (p: ParamSpec, points: number): number => (Number.isFinite(cardinality(p)) ? cardinality(p) : points);

/** One grid axis over `gridValue` (shared/search-space.ts), with its inverse. */
export function gridAxis(name: string, p: ParamSpec, points: number): GridAxis {
  const size = axisSize(p, points);
  const listed = (at: (i: number) => ParamValue): GridAxis => {
    // Few values (categories, pointsPerFloat <= 1000): the inverse is a lookup table.
    const index = new Map<ParamValue, number>();
    for (let i = size - 1; i >= 0; i--) index.set(at(i), i);
    return { name, size, at, indexOf: (v) => (v === undefined ? -1 : (index.get(v) ?? -1)) };
  };
  const at = (i: number) => gridValue(p, points, i);
  if (p.type !== 'categorical' && Number.isFinite(cardinality(p))) {
    const step = p.type === 'int' ? (p.step ?? 1) : p.step!;
    return {
      name, size, at,
      indexOf(v) {
        if (typeof v !== 'number') return -1;
        const i = Math.round((v - p.min) / step);
        if (i < 0 || i >= size) return -1;
        // Small ints are exactly min + i·step (snap's rounding to 12 digits changes nothing), and
        // this check is the hot loop of an ask; anything else compares with the axis value itself.
        if (p.type === 'int' && Math.abs(v) < 1e11 && Math.abs(p.min) < 1e11) return v === p.min + i * step ? i : -1;
        return at(i) === v ? i : -1;
      },
    };
  }
  return listed(at);
}

/** The mixed-radix position of a point (inverse of gridPoint), or -1 when it is not on the grid. */
export function gridPosition(axes: readonly GridAxis[], params: Params): number {
  let position = 0;
  for (const axis of axes) {
    const i = axis.indexOf(params[axis.name]);
    if (i === -1) return -1;
    position = position * axis.size + i;
  }
  return position;
}

/** Grid point `index` in mixed-radix order (the last parameter varies fastest). */
export function gridPoint(axes: readonly GridAxis[], index: number): Params {
  const params: Params = {};
  let rest = index;
  for (let i = axes.length - 1; i >= 0; i--) {
    const axis = axes[i]!;
    params[axis.name] = axis.at(rest % axis.size);
    rest = Math.floor(rest / axis.size);
  }
  return params;
}

/** A bijection on [0, size) from a seed (an affine map modulo size with a coprime multiplier). */
function permutation(size: number, seed: number): (index: number) => number {
  if (size <= 1) return (index) => index;
  const rng = createRng(seed);
  let a = 1 + rng.int(size - 1);
  while (gcd(a, size) !== 1) a = (a % (size - 1)) + 1;
  const b = rng.int(size);
  return (index) => Number((BigInt(a) * BigInt(index) + BigInt(b)) % BigInt(size));
}
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** Candidate walk indices examined per pass over the taken points. */
const WINDOW = 64;

/**
 * Trial n takes walk index n; a point some other trial already holds (told or enqueued by
 * hand) is skipped in index order, so the walk is deterministic. Taken points are matched
 * against a window of candidate positions (one pass over them, no set of every point), so an
 * ask stays O(trials · axes) with a small constant even with a million trials.
 */
function walk(grid: GridIndex, order: (i: number) => number, from: number, trials: readonly FrozenTrial[], pending: readonly Params[]): Params | null {
  const size = grid.size;
  const total = trials.length + pending.length;
  for (let start = from; start < size && start <= from + total; start += WINDOW) {
    const end = Math.min(size, start + WINDOW);
    const candidates = new Map<number, number>();
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = start; i < end; i++) {
      const position = order(i);
      candidates.set(position, i);
      lo = Math.min(lo, position);
      hi = Math.max(hi, position);
    }
    const hit = new Set<number>();
    const mark = (params: Params) => {
      const position = grid.position(params);
      if (position < lo || position > hi) return;
      const i = candidates.get(position);
      if (i !== undefined) hit.add(i);
    };
    for (const t of trials) mark(t.params);
    for (const params of pending) mark(params);
    for (let i = start; i < end; i++) if (!hit.has(i)) return grid.point(order(i));
  }
  return null;
}

export const gridSampler: SamplerFactory = {
  name: 'grid',
  description: 'Exhaustive grid over all values (pointsPerFloat values of plain floats; only valid combinations of a conditional space); the study ends when the grid is done.',
  heavy: false,
  validate(settings, space) {
    const { r, pointsPerFloat } = read(settings);
    const errors = r.onlyKnown(['pointsPerFloat', 'shuffle']);
    let size: number;
    try {
      size = gridSize(space, pointsPerFloat);
    } catch (err) {
      if (!(err instanceof GridTooEntangled)) throw err;
      errors.push({ field: 'searchSpace', reason: `${err.message}: the grid cannot index it; use another algorithm (tpe, random)` });
      return errors;
    }
    if (size > MAX_GRID_POINTS) errors.push({ field: 'algorithm.settings.pointsPerFloat', reason: `the grid would have ${size.toExponential(2)} points (more than ${MAX_GRID_POINTS}); use fewer points, steps, or another algorithm` });
    return errors;
  },
  create(settings, space) {
    const { pointsPerFloat, shuffle } = read(settings);
    const grid = gridIndex(space, pointsPerFloat);
    const size = grid.size;
    // The shuffle seed is fixed per space so that it does not depend on the trial's RNG.
    const order = shuffle ? permutation(size, size * 7919 + Object.keys(space).length) : (i: number) => i;
    return {
      suggest: ({ trialNumber, trials, pending }) => walk(grid, order, trialNumber, trials, pending),
    };
  },
};
