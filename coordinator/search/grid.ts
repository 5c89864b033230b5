/**
 * Grid search: the Cartesian product of every parameter's values (all values of ints, stepped
 * floats and categories; `pointsPerFloat` evenly spaced values of a plain float). Trial number
 * n takes grid point n, optionally in a seeded shuffled order, so the sequence needs no state
 * and survives restarts. The study ends when the grid is exhausted.
 */
import { cardinality, gridValues, type ParamValue, type Params, type SearchSpace } from '../../shared/search-space.js';
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
  return Object.values(space).reduce((n, p) => n * (Number.isFinite(cardinality(p)) ? cardinality(p) : pointsPerFloat), 1);
}

/** Grid point `index` in mixed-radix order (the last parameter varies fastest). */
export function gridPoint(axes: Array<[string, ParamValue[]]>, index: number): Params {
  const params: Params = {};
  let rest = index;
  for (let i = axes.length - 1; i >= 0; i--) {
    const [name, values] = axes[i]!;
    params[name] = values[rest % values.length]!;
    rest = Math.floor(rest / values.length);
  }
  return params;
}

/** A bijection on [0, size) from a seed (an affine map modulo size with a coprime multiplier). */
function permute(index: number, size: number, seed: number): number {
  if (size <= 1) return index;
  const rng = createRng(seed);
  let a = 1 + rng.int(size - 1);
  while (gcd(a, size) !== 1) a = (a % (size - 1)) + 1;
  const b = rng.int(size);
  return Number((BigInt(a) * BigInt(index) + BigInt(b)) % BigInt(size));
}
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

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
    const axes = Object.entries(space).map(([name, p]) => [name, gridValues(p, pointsPerFloat)] as [string, ParamValue[]]);
    const size = gridSize(space, pointsPerFloat);
    // The shuffle seed is fixed per space so that it does not depend on the trial's RNG.
    const shuffleSeed = size * 7919 + axes.length;
    return {
      suggest: ({ trialNumber }) => {
        if (trialNumber >= size) return null;
        return gridPoint(axes, shuffle ? permute(trialNumber, size, shuffleSeed) : trialNumber);
      },
    };
  },
};
