import { describe, expect, it } from 'vitest';
import { cardinality, contains, fromUnit, gridValues, snap, toUnit, type ParamSpec } from '../../shared/search-space.js';

describe('search-space maths', () => {
  it('maps unit points to values and back for every kind', () => {
    const specs: ParamSpec[] = [
      { type: 'float', min: -2, max: 3 },
      { type: 'float', min: 1e-4, max: 10, log: true },
      { type: 'int', min: 1, max: 9 },
      { type: 'int', min: 16, max: 512, log: true },
      { type: 'categorical', values: ['a', 'b', 'c'] },
    ];
    for (const p of specs) {
      for (const u of [0, 0.13, 0.5, 0.77, 1]) {
        const v = fromUnit(p, u);
        expect(contains(p, v)).toBe(true);
        // Round trip: the value maps back to a unit point that maps to the same value.
        expect(fromUnit(p, toUnit(p, v))).toEqual(v);
      }
    }
  });

  it('gives every integer an equal share of the unit interval', () => {
    const p: ParamSpec = { type: 'int', min: 1, max: 4 };
    const counts = new Map<unknown, number>();
    for (let i = 0; i < 4000; i++) {
      const v = fromUnit(p, (i + 0.5) / 4000);
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    expect([...counts.values()]).toEqual([1000, 1000, 1000, 1000]);
  });

  it('snaps to steps and clamps', () => {
    expect(snap({ type: 'float', min: 0, max: 1, step: 0.1 }, 0.3400001)).toBe(0.3);
    expect(snap({ type: 'int', min: 0, max: 10, step: 3 }, 10)).toBe(9);
    expect(snap({ type: 'float', min: 0, max: 1 }, 7)).toBe(1);
    expect(cardinality({ type: 'int', min: 0, max: 10, step: 3 })).toBe(4);
    expect(gridValues({ type: 'float', min: 1, max: 100, log: true }, 3)).toEqual([1, 10, 100]);
  });
});
