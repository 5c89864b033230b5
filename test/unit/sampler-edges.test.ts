/**
 * Every registered sampler, on the edge specs that validation accepts, only ever suggests
 * values inside the space: finite numbers within bounds, on their step grid, integers for int
 * parameters (issue 9 item 16: `step: 5e-324` gave null, ranges of +-1.7e308 degenerate values,
 * ints above 2^53 values out of bounds). And the specs that cannot be sampled are refused.
 */
import { describe, expect, it } from 'vitest';
import { SAMPLERS } from '../../coordinator/search/registry.js';
import { suggestNow } from '../../coordinator/search/suggest.js';
import { validateStudy } from '../../coordinator/study-validation.js';
import { TunehiveError } from '../../shared/errors.js';
import { contains, type ParamSpec, type SearchSpace } from '../../shared/search-space.js';
import type { FrozenTrial } from '../../shared/trial.js';

const SAFE = Number.MAX_SAFE_INTEGER;

/** Edge spaces, each accepted by validation (checked below before sampling). */
const EDGE_SPACES: Record<string, SearchSpace> = {
  hugeFloat: { x: { type: 'float', min: -8e307, max: 8e307 }, y: { type: 'float', min: 1e308, max: 1.7e308 } },
  hugeSteppedFloat: { x: { type: 'float', min: 1e308, max: 1.7e308, step: 2e307 } },
  tinyStep: { x: { type: 'float', min: 0, max: 1, step: 2 ** -52 }, y: { type: 'float', min: -1e-300, max: 1e-300, step: 1e-310 } },
  subnormalRange: { x: { type: 'float', min: 0, max: 5e-323 } },
  safeIntLimits: { i: { type: 'int', min: -SAFE, max: SAFE }, j: { type: 'int', min: SAFE - 3, max: SAFE }, k: { type: 'int', min: -SAFE, max: SAFE, step: 2 ** 50 } },
  wideLog: { x: { type: 'float', min: 1e-300, max: 1e300, log: true }, i: { type: 'int', min: 1, max: SAFE, log: true } },
  mixed: { lr: { type: 'float', min: 1e-6, max: 1, log: true }, n: { type: 'int', min: 0, max: 3 }, c: { type: 'categorical', values: ['a', 0, true, 1e308] } },
};

/** The space as validation stores it, or undefined when this algorithm (only) refuses it. */
function accepted(space: SearchSpace, algorithm: string): SearchSpace | undefined {
  try {
    return validateStudy({ name: 'edge', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: space, maxTrials: 50, algorithm: { name: algorithm, seed: 7 } }).searchSpace;
  } catch (err) {
    // The space itself must be valid: only the algorithm's own limits may refuse it.
    expect((err as TunehiveError).fields.every((f) => f.field.startsWith('algorithm.')), JSON.stringify((err as TunehiveError).fields)).toBe(true);
    return undefined;
  }
}

function checkValue(name: string, p: ParamSpec, v: unknown): void {
  expect(v, `${name} = ${String(v)}`).not.toBeNull();
  if (p.type !== 'categorical') {
    expect(typeof v, `${name} = ${String(v)}`).toBe('number');
    expect(Number.isFinite(v as number), `${name} = ${String(v)}`).toBe(true);
    if (p.type === 'int') expect(Number.isSafeInteger(v as number), `${name} = ${String(v)}`).toBe(true);
  }
  expect(contains(p, v as never), `${name} = ${String(v)} in ${JSON.stringify(p)}`).toBe(true);
}

describe('every sampler on edge specs', () => {
  for (const algorithm of SAMPLERS.keys()) {
    for (const [label, raw] of Object.entries(EDGE_SPACES)) {
      it(`${algorithm} on ${label} suggests only values inside the space`, () => {
        const space = accepted(raw, algorithm);
        if (!space) return; // e.g. grid refuses a space it cannot enumerate: nothing to sample.
        const trials: FrozenTrial[] = [];
        // Enough trials that model-based samplers leave their random start-up phase.
        for (let i = 0; i < 24; i++) {
          const params = suggestNow({ algorithm: { name: algorithm, settings: {} }, space, seed: 7, trialNumber: i, trials, pending: [] });
          if (params === null) break; // exhausted (grid)
          for (const [name, p] of Object.entries(space)) checkValue(name, p, params[name]);
          const loss = Object.values(params).reduce<number>((s, v) => s + (typeof v === 'number' ? Math.tanh(v / 1e300) : 0), i % 3);
          trials.push({ number: i, params, state: 'COMPLETED', loss });
        }
      });
    }
  }
});

describe('specs that no sampler can draw from are refused, naming the field', () => {
  const fieldsOf = (space: unknown): string[] => {
    try {
      validateStudy({ name: 'edge', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: space, maxTrials: 5 });
    } catch (err) {
      expect(err).toBeInstanceOf(TunehiveError);
      return (err as TunehiveError).fields.map((f) => `${f.field}: ${f.reason}`);
    }
    return [];
  };
  it.each([
    ['a denormal step', { x: { type: 'float', min: 0, max: 1, step: 5e-324 } }, /^searchSpace\.x\.step: is too small for the range/],
    ['a range wider than the largest double', { x: { type: 'float', min: -1.7e308, max: 1.7e308 } }, /^searchSpace\.x\.max: max - min must be a finite number/],
    ['an int bound above 2^53', { x: { type: 'int', min: 0, max: 2 ** 60 } }, /^searchSpace\.x\.max: must be an integer from -9007199254740991 to 9007199254740991/],
    ['an int step above 2^53', { x: { type: 'int', min: 0, max: 10, step: 2 ** 60 } }, /^searchSpace\.x\.step: must be an integer from 1/],
    ['a parameter named toString', { toString: { type: 'int', min: 0, max: 3 } }, /^searchSpace\.toString: "toString" is a built-in name/],
    ['a parameter named constructor', { constructor: { type: 'int', min: 0, max: 3 } }, /^searchSpace\.constructor: "constructor" is a built-in name/],
    ['a parameter named __proto__', JSON.parse('{"__proto__": {"type": "int", "min": 0, "max": 3}}'), /^searchSpace\.__proto__: "__proto__" is a built-in name/],
  ])('%s', (_name, space, reason) => {
    const fields = fieldsOf(space);
    expect(fields.some((f) => reason.test(f)), fields.join('\n')).toBe(true);
  });
});
