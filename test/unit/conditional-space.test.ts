/**
 * Conditional search spaces: the validation of `when` (each refusal with its field path), the
 * one module that says which parameters a trial has (nested conditions included), the check of
 * told params, and the conditional grid's index arithmetic against a brute-force enumeration.
 */
import { describe, expect, it } from 'vitest';
import { TunehiveError } from '../../shared/errors.js';
import { validateStudy } from '../../coordinator/study-validation.js';
import { activeNames, activeParams, conditionOrder, paramsProblems } from '../../shared/conditional-space.js';
import { cardinality, gridValue, type Params, type SearchSpace } from '../../shared/search-space.js';
import { gridIndex, gridSampler, gridSize } from '../../coordinator/search/grid.js';
import { createRng } from '../../shared/rng.js';
import type { FrozenTrial } from '../../shared/trial.js';
import { parseStudySpec } from '../../shared/study-spec.js';
import { checkToldParams } from '../../coordinator/ask-tell.js';

/** The motivating space, with a nested branch (booster -> rate_drop) and a list condition. */
const SPACE = {
  model_type: { type: 'categorical', values: ['random_forest', 'gradient_boosting', 'svm'] },
  n_estimators: { type: 'int', min: 50, max: 300 },
  max_depth: { type: 'int', min: 3, max: 15, when: { model_type: ['random_forest', 'gradient_boosting'] } },
  min_samples_split: { type: 'int', min: 2, max: 20, when: { model_type: 'random_forest' } },
  learning_rate: { type: 'float', min: 0.01, max: 0.3, log: true, when: { model_type: 'gradient_boosting' } },
  booster: { type: 'categorical', values: ['gbtree', 'dart'], when: { model_type: 'gradient_boosting' } },
  rate_drop: { type: 'float', min: 0, max: 0.5, when: { booster: 'dart', model_type: 'gradient_boosting' } },
} as const satisfies SearchSpace;

const good = () => ({
  name: 'cond',
  objective: { metric: 'accuracy', direction: 'maximize' },
  searchSpace: structuredClone(SPACE) as any,
  algorithm: { name: 'tpe', seed: 3 },
  maxTrials: 10,
  trial: { command: ['python3', 'train.py', '--lr=${params.learning_rate}'] },
});

function fieldsOf(mutate: (s: any) => void): Array<{ field: string; reason: string }> {
  const spec: any = good();
  mutate(spec);
  try {
    validateStudy(spec);
  } catch (err) {
    expect(err).toBeInstanceOf(TunehiveError);
    expect((err as TunehiveError).status).toBe(400);
    return (err as TunehiveError).fields;
  }
  throw new Error('expected the spec to be rejected');
}

describe('conditional spec validation', () => {
  it('accepts the motivating space and keeps every condition in the stored spec', () => {
    const spec = validateStudy(good());
    expect(spec.searchSpace.rate_drop!.when).toEqual({ booster: 'dart', model_type: 'gradient_boosting' });
    expect(spec.searchSpace.max_depth!.when).toEqual({ model_type: ['random_forest', 'gradient_boosting'] });
    expect(spec.searchSpace.n_estimators!.when).toBeUndefined();
  });

  const cases: Array<[string, (s: any) => void, string, RegExp]> = [
    ['unknown parent', (s) => (s.searchSpace.max_depth.when = { model: 'random_forest' }), 'searchSpace.max_depth.when.model', /"model", which is not in searchSpace/],
    ['numeric parent', (s) => (s.searchSpace.learning_rate.when = { n_estimators: 100 }), 'searchSpace.learning_rate.when.n_estimators', /is an int: only categorical parameters can be parents/],
    ['float parent', (s) => (s.searchSpace.max_depth.when = { learning_rate: 0.1 }), 'searchSpace.max_depth.when.learning_rate', /is a float/],
    ['value the parent cannot take', (s) => (s.searchSpace.learning_rate.when = { model_type: 'xgboost' }), 'searchSpace.learning_rate.when.model_type', /"xgboost" is not a value of "model_type"/],
    ['one value of a list the parent cannot take', (s) => (s.searchSpace.max_depth.when = { model_type: ['random_forest', 'lgbm'] }), 'searchSpace.max_depth.when.model_type[1]', /"lgbm" is not a value/],
    ['a value of the wrong type (1 is not "1")', (s) => { s.searchSpace.k = { type: 'categorical', values: ['1', '2'] }; s.searchSpace.max_depth.when = { k: 1 }; }, 'searchSpace.max_depth.when.k', /1 is not a value of "k"/],
    ['self-reference', (s) => (s.searchSpace.booster.when = { booster: 'dart' }), 'searchSpace.booster.when.booster', /cannot depend on itself/],
    ['cycle of two', (s) => { s.searchSpace.model_type.when = { booster: 'gbtree' }; }, 'searchSpace.model_type.when', /cycle: model_type -> booster -> model_type/],
    ['every parameter conditional', (s) => { s.searchSpace = { a: { type: 'categorical', values: [1, 2], when: { b: 1 } }, b: { type: 'categorical', values: [1, 2], when: { a: 1 } } }; s.trial.command = ['t']; }, 'searchSpace', /at least one must be unconditional/],
    ['empty list', (s) => (s.searchSpace.max_depth.when = { model_type: [] }), 'searchSpace.max_depth.when.model_type', /non-empty/],
    ['empty when', (s) => (s.searchSpace.max_depth.when = {}), 'searchSpace.max_depth.when', /1 to 100 categorical parameters/],
    ['repeated value', (s) => (s.searchSpace.max_depth.when = { model_type: ['svm', 'svm'] }), 'searchSpace.max_depth.when.model_type', /must not repeat/],
    ['not an object', (s) => (s.searchSpace.max_depth.when = 'model_type'), 'searchSpace.max_depth.when', /must be an object/],
    ['a condition that contradicts its parent\'s', (s) => (s.searchSpace.rate_drop.when = { booster: 'dart', model_type: 'svm' }), 'searchSpace.rate_drop.when', /can never hold: no values of its parents make "rate_drop" active/],
    ['cmaes on a conditional space', (s) => { s.algorithm = { name: 'cmaes' }; }, 'algorithm.name', /cmaes cannot search a conditional space; use tpe or gp/],
  ];

  it.each(cases)('refuses %s, naming the field', (_, mutate, field, reason) => {
    const fields = fieldsOf(mutate);
    const hit = fields.find((f) => f.field === field);
    expect(hit, JSON.stringify(fields)).toBeDefined();
    expect(hit!.reason).toMatch(reason);
  });

  it('reports a cycle of three once, and its members are not called unknown', () => {
    const fields = fieldsOf((s) => {
      s.searchSpace = {
        root: { type: 'int', min: 0, max: 1 },
        a: { type: 'categorical', values: [1, 2], when: { c: 1 } },
        b: { type: 'categorical', values: [1, 2], when: { a: 1 } },
        c: { type: 'categorical', values: [1, 2], when: { b: 2 } },
      };
      s.trial.command = ['t'];
    });
    expect(fields).toEqual([{ field: 'searchSpace.a.when', reason: expect.stringMatching(/cycle: a -> c -> b -> a/) }]);
  });

  it('does not call a parent with its own schema error unknown', () => {
    const fields = fieldsOf((s) => (s.searchSpace.model_type.values = []));
    expect(fields.map((f) => f.field)).toEqual(['searchSpace.model_type.values']);
  });

  it('a list of 10,000 wrong values is one error, not 10,000', () => {
    const fields = fieldsOf((s) => (s.searchSpace.max_depth.when = { model_type: Array.from({ length: 10_000 }, (_, i) => `m${i}`) }));
    expect(fields).toEqual([{ field: 'searchSpace.max_depth.when.model_type[0]', reason: expect.stringMatching(/"m0" is not a value of "model_type" \(and 9999 more/) }]);
  });

  it('reports every problem at once', () => {
    const r = parseStudySpec({ ...good(), searchSpace: { ...SPACE, max_depth: { ...SPACE.max_depth, when: { nope: 1 } }, learning_rate: { ...SPACE.learning_rate, when: { n_estimators: 1 } } } });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors.map((e) => e.field).sort()).toEqual(['searchSpace.learning_rate.when.n_estimators', 'searchSpace.max_depth.when.nope']);
  });
});

describe('activeParams', () => {
  const space = SPACE as SearchSpace;
  it('orders parents first and keeps declaration order otherwise', () => {
    // Each branch right after the choice that opens it (booster's rate_drop right after booster).
    expect(conditionOrder(space)).toEqual(['model_type', 'max_depth', 'min_samples_split', 'learning_rate', 'booster', 'rate_drop', 'n_estimators']);
    // A child declared before its parent still comes after it.
    const reversed: SearchSpace = { child: { type: 'int', min: 0, max: 1, when: { mid: 'x' } }, mid: { type: 'categorical', values: ['x', 'y'], when: { top: 1 } }, top: { type: 'categorical', values: [1, 2] }, z: { type: 'int', min: 0, max: 1 } };
    expect(conditionOrder(reversed)).toEqual(['top', 'mid', 'child', 'z']);
  });

  it('follows each branch, list conditions and several parents', () => {
    const all: Params = { model_type: 'random_forest', n_estimators: 100, max_depth: 5, min_samples_split: 4, learning_rate: 0.1, booster: 'dart', rate_drop: 0.2 };
    expect(activeParams(space, all)).toEqual({ model_type: 'random_forest', n_estimators: 100, max_depth: 5, min_samples_split: 4 });
    expect(activeParams(space, { ...all, model_type: 'gradient_boosting' })).toEqual({ model_type: 'gradient_boosting', n_estimators: 100, max_depth: 5, learning_rate: 0.1, booster: 'dart', rate_drop: 0.2 });
    expect(activeParams(space, { ...all, model_type: 'gradient_boosting', booster: 'gbtree' })).toEqual({ model_type: 'gradient_boosting', n_estimators: 100, max_depth: 5, learning_rate: 0.1, booster: 'gbtree' });
    expect(activeParams(space, { ...all, model_type: 'svm' })).toEqual({ model_type: 'svm', n_estimators: 100 });
  });

  it('nested: a child of an inactive parent is inactive whatever value the parent would have', () => {
    // booster says dart, but booster itself is inactive for a random forest, so rate_drop is too.
    const nested: SearchSpace = {
      a: { type: 'categorical', values: ['on', 'off'] },
      b: { type: 'categorical', values: ['deep', 'flat'], when: { a: 'on' } },
      c: { type: 'categorical', values: ['x', 'y'], when: { b: 'deep' } },
      d: { type: 'float', min: 0, max: 1, when: { c: 'x' } },
    };
    expect([...activeNames(nested, { a: 'on', b: 'deep', c: 'x' })]).toEqual(['a', 'b', 'c', 'd']);
    expect([...activeNames(nested, { a: 'on', b: 'flat', c: 'x' })]).toEqual(['a', 'b']);
    expect([...activeNames(nested, { a: 'off', b: 'deep', c: 'x' })]).toEqual(['a']);
    // An absent parent is not "any value": its children are inactive.
    expect([...activeNames(nested, { a: 'on' })]).toEqual(['a', 'b']);
  });

  it('a space without conditions: every parameter, in declaration order', () => {
    const flat: SearchSpace = { y: { type: 'int', min: 0, max: 1 }, x: { type: 'float', min: 0, max: 1 } };
    expect(conditionOrder(flat)).toEqual(['y', 'x']);
    expect(activeParams(flat, { x: 0.5, y: 1 })).toEqual({ y: 1, x: 0.5 });
  });

  it('checks told params: exactly the active set, legal values', () => {
    expect(paramsProblems(space, { model_type: 'svm', n_estimators: 60 }, 'params')).toEqual([]);
    expect(paramsProblems(space, { model_type: 'random_forest', n_estimators: 60, max_depth: 4, learning_rate: 0.1, extra: 1 }, 'params')).toEqual([
      { field: 'params.learning_rate', reason: expect.stringMatching(/inactive .*only when model_type is "gradient_boosting"/) },
      { field: 'params.extra', reason: 'is not a parameter of the search space' },
      { field: 'params.min_samples_split', reason: expect.stringMatching(/missing: it is active \(model_type is "random_forest"\)/) },
    ]);
    expect(paramsProblems(space, { model_type: 'svm', n_estimators: 30 }, 'params')).toEqual([{ field: 'params.n_estimators', reason: '30 is not a value of this parameter' }]);
  });

  it('a tell with params: 400 for a wrong set, 409 for values other than the asked ones', () => {
    const asked = { model_type: 'svm', n_estimators: 60 };
    expect(() => checkToldParams(space, 's.1', asked, { ...asked })).not.toThrow();
    const wrongSet = (() => { try { checkToldParams(space, 's.1', asked, { ...asked, max_depth: 3 }); } catch (e) { return e as TunehiveError; } })();
    expect(wrongSet?.status).toBe(400);
    expect(wrongSet?.fields).toEqual([{ field: 'params.max_depth', reason: expect.stringMatching(/inactive/) }]);
    const changed = (() => { try { checkToldParams(space, 's.1', asked, { ...asked, n_estimators: 61 }); } catch (e) { return e as TunehiveError; } })();
    expect(changed?.code).toBe('TH_ERR_RUN_PARAM_CHANGED');
    expect(changed?.fields).toEqual([{ field: 'params.n_estimators', reason: expect.stringMatching(/asked with n_estimators=60, told 61/) }]);
  });
});

/** Every valid combination, listed (the oracle the index arithmetic is checked against). */
function enumerate(space: SearchSpace, points: number): Params[] {
  const order = conditionOrder(space);
  const out: Params[] = [];
  const go = (i: number, params: Params) => {
    if (i === order.length) return void out.push(activeParams(space, params));
    const name = order[i]!;
    if (!activeNames(space, params).has(name)) return go(i + 1, params);
    const p = space[name]!;
    const n = Number.isFinite(cardinality(p)) ? cardinality(p) : points;
    for (let k = 0; k < n; k++) go(i + 1, { ...params, [name]: gridValue(p, points, k) });
  };
  go(0, {});
  return out;
}

describe('conditional grid', () => {
  const small: SearchSpace = {
    model_type: { type: 'categorical', values: ['rf', 'gb', 'svm'] },
    n: { type: 'int', min: 1, max: 3 },
    depth: { type: 'int', min: 3, max: 5, when: { model_type: ['rf', 'gb'] } },
    lr: { type: 'float', min: 0.01, max: 0.1, log: true, when: { model_type: 'gb' } },
    booster: { type: 'categorical', values: ['tree', 'dart'], when: { model_type: 'gb' } },
    drop: { type: 'float', min: 0, max: 0.5, step: 0.25, when: { booster: 'dart' } },
    kernel: { type: 'categorical', values: ['rbf', 'poly'], when: { model_type: 'svm' } },
    degree: { type: 'int', min: 2, max: 3, when: { kernel: 'poly', model_type: 'svm' } },
  };

  it('holds every valid combination once, in index order, and position inverts point', () => {
    const oracle = enumerate(small, 2);
    // rf: 3 n x 3 depth; gb: 3 x 3 x 2 lr x (tree 1 + dart 3); svm: 3 x (rbf 1 + poly 2).
    expect(oracle).toHaveLength(9 + 72 + 9);
    expect(gridSize(small, 2)).toBe(oracle.length);
    const grid = gridIndex(small, 2);
    const seen = new Set<string>();
    for (let i = 0; i < grid.size; i++) {
      const p = grid.point(i);
      expect(Object.keys(p).sort()).toEqual([...activeNames(small, p)].sort());
      expect(grid.position(p)).toBe(i);
      seen.add(JSON.stringify(p, Object.keys(p).sort()));
    }
    expect(seen).toEqual(new Set(oracle.map((p) => JSON.stringify(p, Object.keys(p).sort()))));
  });

  it('puts points with an inactive parameter, or without an active one, off the grid', () => {
    const grid = gridIndex(small, 2);
    expect(grid.position({ model_type: 'svm', n: 1, kernel: 'rbf' })).toBeGreaterThanOrEqual(0);
    expect(grid.position({ model_type: 'svm', n: 1, kernel: 'rbf', depth: 3 })).toBe(-1);
    expect(grid.position({ model_type: 'svm', n: 1 })).toBe(-1);
    expect(grid.position({ model_type: 'svm', n: 1, kernel: 'rbf', unknown: 1 })).toBe(-1);
  });

  it('the grid sampler, shuffled too, walks every valid combination once and then ends', () => {
    for (const shuffle of [false, true]) {
      const sampler = gridSampler.create({ pointsPerFloat: 2, shuffle }, small);
      const trials: FrozenTrial[] = [];
      const seen = new Set<string>();
      for (let n = 0; n < 200; n++) {
        const params = sampler.suggest({ space: small, trials, pending: [], rng: createRng(n), trialNumber: n });
        if (params === null) break;
        seen.add(JSON.stringify(params, Object.keys(params).sort()));
        trials.push({ number: n, params, state: 'COMPLETED', loss: 0 });
      }
      expect(trials).toHaveLength(90);
      expect(seen.size).toBe(90);
      if (shuffle) expect(trials.slice(0, 9).every((t) => t.params.model_type === 'rf')).toBe(false);
    }
  });

  it('refuses (400), rather than hangs on, a grid whose counting would need exponentially many states', () => {
    // 30 binary parents; each child has two of them 15 apart, so no order keeps few parents open.
    const space: SearchSpace = {};
    for (let i = 0; i < 30; i++) space[`p${i}`] = { type: 'categorical', values: [0, 1] };
    for (let i = 0; i < 15; i++) space[`c${i}`] = { type: 'int', min: 0, max: 3, when: { [`p${i}`]: 1, [`p${i + 15}`]: 1 } };
    expect(gridSampler.validate({}, space)).toEqual([{ field: 'searchSpace', reason: expect.stringMatching(/cannot index it; use another algorithm/) }]);
    // Twenty independent branches are cheap: each parent's child comes right after it.
    const wide: SearchSpace = {};
    for (let i = 0; i < 20; i++) wide[`p${i}`] = { type: 'categorical', values: [0, 1] };
    for (let i = 0; i < 20; i++) wide[`c${i}`] = { type: 'int', min: 0, max: 1, when: { [`p${i}`]: 1 } };
    expect(conditionOrder(wide).slice(0, 4)).toEqual(['p0', 'c0', 'p1', 'c1']);
    expect(gridSize(wide, 5)).toBe(3 ** 20);
  });

  it('counts a large conditional grid without listing it', () => {
    // 3 branches of ~10^6 points each: counting and indexing are immediate.
    const big: SearchSpace = {
      m: { type: 'categorical', values: ['a', 'b', 'c'] },
      x: { type: 'int', min: 0, max: 999, when: { m: 'a' } },
      y: { type: 'int', min: 0, max: 999, when: { m: ['a', 'b'] } },
      z: { type: 'int', min: 0, max: 999_999, when: { m: 'c' } },
    };
    const grid = gridIndex(big, 5);
    expect(grid.size).toBe(1_000_000 + 1000 + 1_000_000);
    expect(grid.point(1_000_000)).toEqual({ m: 'b', y: 0 });
    expect(grid.point(grid.size - 1)).toEqual({ m: 'c', z: 999_999 });
    expect(grid.position({ m: 'a', x: 7, y: 3 })).toBe(7003);
  });
});
