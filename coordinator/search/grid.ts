/**
 * Grid search: the Cartesian product of every parameter's values (all values of ints, stepped
 * floats and categories; `pointsPerFloat` evenly spaced values of a plain float). Trial number
 * n takes grid point n, optionally in a seeded shuffled order, so the sequence needs no state
 * and survives restarts. The study ends when the grid is exhausted.
 *
 * The grid is never enumerated: an axis is a rule that gives its i-th value, and point n is
 * found by mixed-radix arithmetic over the axes' sizes, so an ask costs O(axes + trials) even
 * on an axis of ten million values (enumerating it blocked the coordinator for seconds per ask).
 */
import { cardinality, snap, type ParamSpec, type ParamValue, type Params, type SearchSpace } from '../../shared/search-space.js';
import { createRng } from '../../shared/rng.js';
import type { SamplerFactory } from './sampler.js';
import { SettingsReader } from './settings.js';

const MAX_GRID_POINTS = 10_000_000;

function read(settings: Record<string, unknown>) {
  const r = new SettingsReader(settings);
  const pointsPerFloat = r.number('pointsPerFloat', 5, { min: 1, max: 1000, int: true });
  const shuffle = r.boolean('shuffle', false);
  return { r, pointsPerFloat, shuffle };
}

export function gridSize(space: SearchSpace, pointsPerFloat: number): number {
  return Object.values(space).reduce((n, p) => n * axisSize(p, pointsPerFloat), 1);
}

/** One axis of the grid: how many values it has and the i-th of them, without a list. */
export interface GridAxis { name: string; size: number; at(i: number): ParamValue }

const axisSize = (p: ParamSpec, points: number): number => (Number.isFinite(cardinality(p)) ? cardinality(p) : points);

/** The i-th value of `gridValues(p, points)` (shared/search-space.ts), computed on its own. */
export function gridAxis(name: string, p: ParamSpec, points: number): GridAxis {
  const size = axisSize(p, points);
  if (p.type === 'categorical') return { name, size, at: (i) => p.values[i]! };
  if (Number.isFinite(cardinality(p))) {
    const step = p.type === 'int' ? (p.step ?? 1) : p.step!;
    return { name, size, at: (i) => snap(p, p.min + i * step) };
  }
  if (points === 1) {
    const mid = snap(p, p.log ? Math.sqrt(p.min * p.max) : (p.min + p.max) / 2);
    return { name, size, at: () => mid };
  }
  return {
    name, size,
    at: (i) => {
      const t = i / (points - 1);
      const x = p.log ? Math.exp(Math.log(p.min) + t * (Math.log(p.max) - Math.log(p.min))) : p.min + t * (p.max - p.min);
      // Trim float noise (10.000000000000002) so grid values print and compare as written.
      return snap(p, Number(x.toPrecision(12)));
    },
  };
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

/** Params as a key that ignores property order, to recognise a point already taken. */
const pointKey = (axes: readonly GridAxis[], p: Params): string => JSON.stringify(axes.map((a) => p[a.name]));

export const gridSampler: SamplerFactory = {
  name: 'grid',
  description: 'Exhaustive grid over all values (pointsPerFloat values of plain floats); the study ends when the grid is done.',
  heavy: false,
  validate(settings, space) {
    const { r, pointsPerFloat } = read(settings);
    const errors = r.onlyKnown(['pointsPerFloat', 'shuffle']);
    const size = gridSize(space, pointsPerFloat);
    if (size > MAX_GRID_POINTS) errors.push({ field: 'algorithm.settings.pointsPerFloat', reason: `the grid would have ${size.toExponential(2)} points (more than ${MAX_GRID_POINTS}); use fewer points, steps, or another algorithm` });
    return errors;
  },
  create(settings, space) {
    const { pointsPerFloat, shuffle } = read(settings);
    const axes = Object.entries(space).map(([name, p]) => gridAxis(name, p, pointsPerFloat));
    const size = gridSize(space, pointsPerFloat);
    // The shuffle seed is fixed per space so that it does not depend on the trial's RNG.
    const order = shuffle ? permutation(size, size * 7919 + axes.length) : (i: number) => i;
    return {
      suggest: ({ trialNumber, trials, pending }) => {
        // Trial n takes index n; a point some other trial already holds (told or enqueued by
        // hand) is skipped in index order, so the walk is deterministic and ends within
        // (points taken) steps.
        const taken = new Set<string>();
        for (const t of trials) taken.add(pointKey(axes, t.params));
        for (const p of pending) taken.add(pointKey(axes, p));
        for (let index = trialNumber; index < size && index <= trialNumber + taken.size; index++) {
          const point = gridPoint(axes, order(index));
          if (!taken.has(pointKey(axes, point))) return point;
        }
        return null;
      },
    };
  },
};
