/** Grid search by index arithmetic: the same points as the enumerated grid, on axes too big to list. */
import { describe, expect, it } from 'vitest';
import { gridAxis } from '../../coordinator/search/grid.js';
import { suggestNow } from '../../coordinator/search/suggest.js';
import { gridValues, type ParamSpec, type SearchSpace } from '../../shared/search-space.js';

const ask = (space: SearchSpace, trialNumber: number, o: { settings?: Record<string, unknown>; trials?: any[]; pending?: any[] } = {}) =>
  suggestNow({ algorithm: { name: 'grid', settings: o.settings ?? {} }, space, seed: 1, trialNumber, trials: o.trials ?? [], pending: o.pending ?? [] });

describe('grid by index arithmetic', () => {
  it('gives each axis exactly the values the enumerated grid has', () => {
    const specs: ParamSpec[] = [
      { type: 'int', min: -3, max: 7 }, { type: 'int', min: 2, max: 40, step: 3 }, { type: 'float', min: 0, max: 1, step: 0.1 },
      { type: 'float', min: 1e-4, max: 1, log: true }, { type: 'float', min: -2, max: 5 }, { type: 'categorical', values: ['a', 1, true] },
    ];
    for (const p of specs) {
      for (const points of [1, 2, 5, 7]) {
        const list = gridValues(p, points);
        const axis = gridAxis('x', p, points);
        expect(axis.size).toBe(list.length);
        expect(Array.from({ length: axis.size }, (_, i) => axis.at(i))).toEqual(list);
      }
    }
  });

  it('suggests on an axis far too big to list (the old sampler built the whole list per ask)', () => {
    // 2^32 + 1 values: an array of them cannot even be allocated (RangeError on the old code).
    const space: SearchSpace = { x: { type: 'int', min: 0, max: 2 ** 32 }, c: { type: 'categorical', values: ['u', 'v'] } };
    expect(ask(space, 0)).toEqual({ x: 0, c: 'u' });
    expect(ask(space, 3)).toEqual({ x: 1, c: 'v' });
    expect(ask(space, 2 ** 33 + 1)).toEqual({ x: 2 ** 32, c: 'v' });
    expect(ask(space, 2 ** 33 + 2)).toBeNull();
    const shuffled = ask(space, 12345, { settings: { shuffle: true } });
    expect(shuffled).toEqual(ask(space, 12345, { settings: { shuffle: true } }));
  });

  it('skips points other trials already hold, in index order', () => {
    const space: SearchSpace = { x: { type: 'int', min: 0, max: 4 } };
    // Trial 1 would take x=1, but a finished trial holds it and a pending one holds x=2.
    expect(ask(space, 1, { trials: [{ number: 0, params: { x: 1 }, state: 'COMPLETED', loss: 0 }], pending: [{ x: 2 }] })).toEqual({ x: 3 });
    // Every remaining point taken: exhausted, not a repeat.
    expect(ask(space, 3, { pending: [{ x: 3 }, { x: 4 }] })).toBeNull();
    // Points off the grid hold nothing.
    expect(ask(space, 1, { pending: [{ x: 1.5 }, { y: 1 }] })).toEqual({ x: 1 });
  });

  it('skips in the shuffled order too: the next index of the walk, not the next value', () => {
    const space: SearchSpace = { x: { type: 'int', min: 0, max: 999 }, c: { type: 'categorical', values: ['a', 'b', 'c'] } };
    const settings = { shuffle: true };
    const second = ask(space, 2, { settings })!;
    expect(ask(space, 2, { settings, pending: [second] })).toEqual(ask(space, 3, { settings }));
    // Far past the first window of candidates (64): all of them taken by hand.
    const taken = Array.from({ length: 100 }, (_, k) => ask(space, 10 + k, { settings })!);
    expect(ask(space, 10, { settings, pending: taken })).toEqual(ask(space, 110, { settings }));
  });
});
