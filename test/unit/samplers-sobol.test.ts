/** sobol: the sequence itself, its stratification after scrambling, determinism, bounds, settings. */
import { describe, expect, it } from 'vitest';
import { SobolSequence, sobolSampler } from '../../coordinator/search/sobol.js';
import { suggestNow } from '../../coordinator/search/suggest.js';
import type { Params, SearchSpace } from '../../shared/search-space.js';

const HALF_CELL = 0.5 / 2 ** 32;

const run = (space: SearchSpace, n: number, settings: Record<string, unknown> = {}, seed = 1): Params[] =>
  Array.from({ length: n }, (_, i) => suggestNow({ algorithm: { name: 'sobol', settings }, space, seed, trialNumber: i, trials: [], pending: [] })!);

describe('Sobol sequence', () => {
  it('matches the published unscrambled points (Gray-code order, Joe-Kuo directions)', () => {
    const seq = new SobolSequence(3, null);
    const pts = [0, 1, 2, 3, 4].map((i) => seq.point(i).map((x) => x - HALF_CELL));
    expect(pts).toEqual([
      [0, 0, 0],
      [0.5, 0.5, 0.5],
      [0.75, 0.25, 0.25],
      [0.25, 0.75, 0.75],
      [0.375, 0.375, 0.625],
    ]);
  });

  it('keeps the net property after scrambling: 64 points stratify every axis and the first two jointly', () => {
    for (const seed of [1, 2, 3]) {
      const seq = new SobolSequence(12, seed);
      const pts = Array.from({ length: 64 }, (_, i) => seq.point(i));
      for (let d = 0; d < 12; d++) {
        const cells = new Set(pts.map((p) => Math.floor(p[d]! * 64)));
        expect(cells.size).toBe(64);
      }
      const joint = new Set(pts.map((p) => `${Math.floor(p[0]! * 8)},${Math.floor(p[1]! * 8)}`));
      expect(joint.size).toBe(64);
    }
  });

  it('is scrambled differently by different seeds, and identically by the same one', () => {
    expect(new SobolSequence(4, 7).point(5)).toEqual(new SobolSequence(4, 7).point(5));
    expect(new SobolSequence(4, 7).point(5)).not.toEqual(new SobolSequence(4, 8).point(5));
  });
});

describe('sobol sampler', () => {
  const space: SearchSpace = {
    lr: { type: 'float', min: 1e-5, max: 1, log: true },
    units: { type: 'int', min: 16, max: 256, step: 16 },
    opt: { type: 'categorical', values: ['sgd', 'adam', 'rmsprop'] },
  };

  it('is a pure function of the trial number and the scramble seed', () => {
    expect(run(space, 16, { seed: 3 })).toEqual(run(space, 16, { seed: 3 }));
    expect(run(space, 16, { seed: 3 })).not.toEqual(run(space, 16, { seed: 4 }));
    const one = suggestNow({ algorithm: { name: 'sobol', settings: { seed: 3 } }, space, seed: 99, trialNumber: 9, trials: [], pending: [{ lr: 0.1, units: 16, opt: 'sgd' }] });
    expect(one).toEqual(run(space, 10, { seed: 3 })[9]);
  });

  it('respects bounds, steps, categories and the log scale, and covers categories evenly', () => {
    const xs = run(space, 96, { seed: 5 });
    const perCategory = new Map<unknown, number>();
    let belowMilli = 0;
    for (const p of xs) {
      expect(p.lr).toBeGreaterThanOrEqual(1e-5);
      expect(p.lr).toBeLessThanOrEqual(1);
      expect((p.units as number) % 16).toBe(0);
      expect(p.units).toBeGreaterThanOrEqual(16);
      expect(p.units).toBeLessThanOrEqual(256);
      perCategory.set(p.opt, (perCategory.get(p.opt) ?? 0) + 1);
      if ((p.lr as number) < 1e-3) belowMilli++;
    }
    // Low discrepancy: 96 points put (almost) exactly a third in each category...
    for (const c of ['sgd', 'adam', 'rmsprop']) expect(Math.abs(perCategory.get(c)! - 32)).toBeLessThanOrEqual(2);
    // ...and 2/5 of them below 1e-3 on the log scale.
    expect(Math.abs(belowMilli - 96 * 0.4)).toBeLessThanOrEqual(2);
  });

  it('covers a quadratic bowl well enough to land near its minimum', () => {
    const bowl: SearchSpace = { x: { type: 'float', min: -5, max: 5 }, y: { type: 'float', min: -5, max: 5 } };
    const f = (p: Params) => ((p.x as number) - 1.3) ** 2 + ((p.y as number) + 2.1) ** 2;
    const best = Math.min(...run(bowl, 256, { seed: 2 }).map(f));
    // 256 well-spread points leave no gap wider than ~0.7 per axis.
    expect(best).toBeLessThan(0.1);
  });

  it('can run unscrambled', () => {
    const xs = run({ x: { type: 'float', min: 0, max: 1 } }, 3, { scramble: false });
    expect(xs.map((p) => Number(p.x) - HALF_CELL)).toEqual([0, 0.5, 0.75]);
  });

  it('reports invalid settings and too many parameters as field errors', () => {
    expect(sobolSampler.validate({ scramble: 'yes' }, space)).toEqual([expect.objectContaining({ field: 'algorithm.settings.scramble' })]);
    expect(sobolSampler.validate({ seed: -1 }, space)).toEqual([expect.objectContaining({ field: 'algorithm.settings.seed' })]);
    expect(sobolSampler.validate({ skip: 3 }, space)).toEqual([expect.objectContaining({ field: 'algorithm.settings.skip' })]);
    expect(sobolSampler.validate({}, space)).toEqual([]);
    const wide: SearchSpace = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`p${i}`, { type: 'float' as const, min: 0, max: 1 }]));
    const errors = sobolSampler.validate({}, wide);
    expect(errors).toEqual([expect.objectContaining({ field: 'searchSpace' })]);
    expect(errors[0]!.reason).toMatch(/at most 100 parameters/);
  });
});
