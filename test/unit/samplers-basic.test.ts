/** random and grid: determinism by seed, bounds, log scale, steps, categories, exhaustion. */
import { describe, expect, it } from 'vitest';
import { suggestNow, type SuggestRequest } from '../../coordinator/search/suggest.js';
import type { SearchSpace } from '../../shared/search-space.js';

const space: SearchSpace = {
  lr: { type: 'float', min: 1e-5, max: 1, log: true },
  units: { type: 'int', min: 16, max: 256, step: 16 },
  drop: { type: 'float', min: 0, max: 0.5 },
  opt: { type: 'categorical', values: ['sgd', 'adam', true, 3] },
};

const sequence = (name: string, seed: number, n: number, settings: Record<string, unknown> = {}) => {
  const out = [];
  for (let i = 0; i < n; i++) {
    const req: SuggestRequest = { algorithm: { name, settings }, space, seed, trialNumber: i, trials: [], pending: [] };
    out.push(suggestNow(req));
  }
  return out;
};

describe('random sampler', () => {
  it('gives the same sequence for the same seed and a different one for another seed', () => {
    expect(sequence('random', 11, 20)).toEqual(sequence('random', 11, 20));
    expect(sequence('random', 11, 20)).not.toEqual(sequence('random', 12, 20));
  });

  it('respects bounds, steps, categories and the log scale', () => {
    const xs = sequence('random', 5, 2000);
    let lowDecades = 0;
    for (const p of xs) {
      expect(p!.lr).toBeGreaterThanOrEqual(1e-5);
      expect(p!.lr).toBeLessThanOrEqual(1);
      expect((p!.units as number) % 16).toBe(0);
      expect(p!.units).toBeGreaterThanOrEqual(16);
      expect(p!.units).toBeLessThanOrEqual(256);
      expect(['sgd', 'adam', true, 3]).toContain(p!.opt);
      if ((p!.lr as number) < 1e-3) lowDecades++;
    }
    // Log-uniform: 2 of 5 decades lie below 1e-3, so ~40% of draws (uniform would give ~0.1%).
    expect(lowDecades / xs.length).toBeGreaterThan(0.35);
    expect(lowDecades / xs.length).toBeLessThan(0.45);
    // Every int step value and every category turns up.
    expect(new Set(xs.map((p) => p!.units)).size).toBe(16);
    expect(new Set(xs.map((p) => p!.opt)).size).toBe(4);
  });
});

describe('grid sampler', () => {
  const small: SearchSpace = { a: { type: 'int', min: 1, max: 3 }, b: { type: 'categorical', values: ['x', 'y'] }, c: { type: 'float', min: 0, max: 1 } };
  const grid = (settings: Record<string, unknown>) => {
    const out = [];
    for (let i = 0; ; i++) {
      const p = suggestNow({ algorithm: { name: 'grid', settings }, space: small, seed: 1, trialNumber: i, trials: [], pending: [] });
      if (p === null) break;
      out.push(p);
    }
    return out;
  };

  it('visits every point of the grid once, then reports exhaustion', () => {
    const pts = grid({ pointsPerFloat: 3 });
    expect(pts).toHaveLength(3 * 2 * 3);
    expect(new Set(pts.map((p) => JSON.stringify(p))).size).toBe(18);
    expect(new Set(pts.map((p) => p.c))).toEqual(new Set([0, 0.5, 1]));
  });

  it('shuffles the same grid deterministically when asked', () => {
    const plain = grid({ pointsPerFloat: 3 });
    const shuffled = grid({ pointsPerFloat: 3, shuffle: true });
    expect(shuffled).not.toEqual(plain);
    expect(new Set(shuffled.map((p) => JSON.stringify(p)))).toEqual(new Set(plain.map((p) => JSON.stringify(p))));
    expect(grid({ pointsPerFloat: 3, shuffle: true })).toEqual(shuffled);
  });
});
