/**
 * Every sampler of the registry through one suite (as Optuna's tests/samplers_tests): valid
 * parameters for every kind of space, the same suggestion for the same seed and inputs,
 * different ones across trial numbers, pending trials and pruned/failed history handled, inputs
 * never mutated (they are deep-frozen), bad settings refused at validation. A sampler may skip
 * only what it documents as unsupported, and its validation must refuse that.
 */
import { describe, expect, it } from 'vitest';
import { SAMPLERS, validateAlgorithm } from '../../coordinator/search/registry.js';
import type { SamplerContext, SamplerFactory } from '../../coordinator/search/sampler.js';
import { suggestNow } from '../../coordinator/search/suggest.js';
import { createRng, deriveSeed } from '../../shared/rng.js';
import { activeNames, activeParams, conditionOrder, isConditional } from '../../shared/conditional-space.js';
import { cardinality, contains, fromUnit, type ParamSpec, type Params, type SearchSpace } from '../../shared/search-space.js';
import type { FrozenTrial } from '../../shared/trial.js';
import { deepFreeze, knownSettings } from './freeze.js';

const SPACES: Record<string, SearchSpace> = {
  float: { x: { type: 'float', min: -5, max: 5 } },
  int: { n: { type: 'int', min: 1, max: 10 } },
  'log float': { lr: { type: 'float', min: 1e-5, max: 1e-1, log: true } },
  'log int': { units: { type: 'int', min: 16, max: 1024, log: true } },
  'stepped float': { drop: { type: 'float', min: 0, max: 0.5, step: 0.05 } },
  'stepped int': { k: { type: 'int', min: 0, max: 20, step: 4 } },
  categorical: { opt: { type: 'categorical', values: ['sgd', 'adam', 3, true] } },
  mixed: {
    x: { type: 'float', min: -5, max: 5 }, n: { type: 'int', min: 1, max: 10 }, lr: { type: 'float', min: 1e-5, max: 1e-1, log: true },
    drop: { type: 'float', min: 0, max: 0.5, step: 0.05 }, opt: { type: 'categorical', values: ['sgd', 'adam', 3, true] },
  },
  // Conditional: a branch choice with its own parameters per branch, a list condition, a nested
  // branch (kernel -> degree) and a parameter with two parents.
  conditional: {
    model_type: { type: 'categorical', values: ['rf', 'gb', 'svm'] },
    n_estimators: { type: 'int', min: 50, max: 300, step: 50 },
    max_depth: { type: 'int', min: 3, max: 6, when: { model_type: ['rf', 'gb'] } },
    lr: { type: 'float', min: 0.01, max: 0.3, log: true, when: { model_type: 'gb' } },
    kernel: { type: 'categorical', values: ['rbf', 'poly'], when: { model_type: 'svm' } },
    degree: { type: 'int', min: 2, max: 4, when: { kernel: 'poly', model_type: 'svm' } },
  },
  'numeric mixed': {
    x: { type: 'float', min: -5, max: 5 }, n: { type: 'int', min: 1, max: 10 }, lr: { type: 'float', min: 1e-5, max: 1e-1, log: true },
    units: { type: 'int', min: 16, max: 1024, log: true }, k: { type: 'int', min: 0, max: 20, step: 4 },
  },
};

/** What each sampler documents it does not do; its validation must refuse such a space. */
const UNSUPPORTED: Record<string, (space: SearchSpace) => boolean> = {
  cmaes: (space) => Object.values(space).some((p) => p.type === 'categorical' || p.when !== undefined),
};

/** Valid combinations of a conditional space, counted by listing them (independent of the grid's arithmetic). */
function combinations(space: SearchSpace, points: number): number {
  const order = conditionOrder(space);
  const go = (i: number, params: Params): number => {
    if (i === order.length) return 1;
    const name = order[i]!;
    if (!activeNames(space, params).has(name)) return go(i + 1, params);
    const p = space[name]!;
    const n = Number.isFinite(cardinality(p)) ? cardinality(p) : points;
    let total = 0;
    for (let k = 0; k < n; k++) total += go(i + 1, { ...params, [name]: fromUnit(p, (k + 0.5) / n) });
    return total;
  };
  return go(0, {});
}
/** Samplers that run out of points (answer null once exhausted), and after how many trials. */
const EXHAUSTS: Record<string, (space: SearchSpace) => number> = {
  // Every value of discrete parameters, pointsPerFloat (default 5) of plain floats.
  grid: (space) => (isConditional(space) ? combinations(space, 5) : Object.values(space).reduce((n, p) => n * (Number.isFinite(cardinality(p)) ? cardinality(p) : 5), 1)),
};

const supports = (f: SamplerFactory, space: SearchSpace) => !UNSUPPORTED[f.name]?.(space);

/** A random point of the space: active parameters only, as every trial holds them. */
function randomParams(space: SearchSpace, seed: number): Params {
  const rng = createRng(seed);
  return activeParams(space, Object.fromEntries(Object.entries(space).map(([k, p]) => [k, fromUnit(p, rng.next())])));
}

/** Histories past every model-based sampler's start-up phase (10 trials; 15 completed here), finished in every way. */
function histories(space: SearchSpace): Record<string, FrozenTrial[]> {
  const trial = (number: number, state: FrozenTrial['state']): FrozenTrial => {
    const loss = Math.sin(number * 1.7) * 3;
    const t: FrozenTrial = { number, params: randomParams(space, 1000 + number), state };
    if (state === 'COMPLETED') Object.assign(t, { loss, intermediate: [{ step: 1, value: loss + 1 }, { step: 2, value: loss }] });
    // Pruned trials with their last report, and one that was pruned before it reported.
    if (state === 'PRUNED' && number % 3 !== 0) Object.assign(t, { loss: loss + 2, intermediate: [{ step: 1, value: loss + 2 }] });
    return t;
  };
  const states: FrozenTrial['state'][] = ['COMPLETED', 'COMPLETED', 'PRUNED', 'COMPLETED', 'FAILED'];
  return {
    empty: [],
    'completed, pruned and failed': Array.from({ length: 24 }, (_, i) => trial(i, states[i % states.length]!)),
    'only failed': Array.from({ length: 12 }, (_, i) => trial(i, 'FAILED')),
    'only pruned': Array.from({ length: 12 }, (_, i) => trial(i, 'PRUNED')),
    'one completed': [trial(0, 'COMPLETED')],
  };
}

/** Exactly the active parameters (all of them in a space without conditions), each a legal value. */
function expectInside(space: SearchSpace, params: Params | null): void {
  expect(params).not.toBeNull();
  const active = activeNames(space, params!);
  expect(Object.keys(params!).sort()).toEqual([...active].sort());
  if (!isConditional(space)) expect(active.size).toBe(Object.keys(space).length);
  for (const [name, p] of Object.entries(space) as Array<[string, ParamSpec]>) {
    if (!active.has(name)) continue;
    const v = params![name]!;
    expect(contains(p, v), `${name}=${String(v)} is not a value of ${JSON.stringify(p)}`).toBe(true);
    if (p.type === 'categorical') continue;
    expect(typeof v).toBe('number');
    if (p.type === 'int') expect(Number.isInteger(v)).toBe(true);
    const step = p.type === 'int' ? (p.step ?? 1) : p.step;
    if (step) {
      const k = ((v as number) - p.min) / step;
      expect(Math.abs(k - Math.round(k)), `${name}=${v} is off the step ${step}`).toBeLessThan(1e-6);
    }
  }
}

const SEED = 42;
function context(space: SearchSpace, trials: FrozenTrial[], pending: Params[], trialNumber: number): SamplerContext {
  // Frozen like everything a sampler is given; the RNG is the only thing it may change.
  return { ...deepFreeze({ space, trials, pending }), rng: createRng(deriveSeed(SEED, trialNumber)), trialNumber, studySeed: SEED };
}

const samplers = [...SAMPLERS.values()];

describe.each(samplers.map((f) => [f.name, f] as const))('sampler %s', (name, factory) => {
  const supported = Object.entries(SPACES).filter(([, s]) => supports(factory, s));

  it('has a description and accepts every space it does not document as unsupported, with default settings', () => {
    expect(factory.description.length).toBeGreaterThan(20);
    for (const [label, space] of Object.entries(SPACES)) {
      const errors = factory.validate(deepFreeze({}), deepFreeze(space));
      if (supports(factory, space)) expect(errors, label).toEqual([]);
      else expect(errors.length, `${name} must refuse the ${label} space it does not support`).toBeGreaterThan(0);
      for (const e of errors) expect(e.field).toMatch(/^(algorithm\.|searchSpace)/);
    }
  });

  it.each(supported)('%s space: params inside the space, same for the same inputs, inputs untouched, any history', (_, space) => {
    // One instance across every call: a sampler keeps no state between suggestions.
    const shared = factory.create(deepFreeze({}), deepFreeze(space));
    for (const [label, trials] of Object.entries(histories(space))) {
      const number = trials.length;
      const pending = [randomParams(space, 7), randomParams(space, 8)];
      const exhaustsAt = EXHAUSTS[name]?.(space) ?? Infinity;
      const first = shared.suggest(context(space, trials, pending, number));
      if (number >= exhaustsAt) {
        expect(first, label).toBeNull();
        continue;
      }
      expectInside(space, first);
      const again = factory.create(deepFreeze({}), deepFreeze(space)).suggest(context(space, trials, pending, number));
      expect(again, `${label}: a fresh ${name} sampler with the same seed and inputs`).toEqual(first);
    }
  });

  it.each(supported)('%s space: different suggestions across trial numbers', (_, space) => {
    const n = Math.min(8, EXHAUSTS[name]?.(space) ?? Infinity, Object.values(space).reduce((a, p) => a * Math.min(cardinality(p), 1e6), 1));
    const sampler = factory.create({}, space);
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const params = sampler.suggest(context(space, [], [], i));
      expectInside(space, params);
      seen.add(JSON.stringify(params));
    }
    // At least half distinct: a sampler ignoring the trial's RNG or number gives one point.
    expect(seen.size).toBeGreaterThanOrEqual(Math.max(2, Math.ceil(n / 2)));
  });

  it('with pending trials: still a valid suggestion, also when every other point is pending', () => {
    const space = SPACES.int!;
    const all = Array.from({ length: 10 }, (_, i) => ({ n: i + 1 }));
    // A sampler that runs out of points (grid) skips what is taken: with no history, the one
    // point that is not pending is what it must answer.
    const exhausts = EXHAUSTS[name] !== undefined;
    const trials = exhausts ? [] : histories(space)['completed, pruned and failed']!.slice(0, 5);
    const params = factory.create({}, space).suggest(context(space, trials, all.slice(1), exhausts ? 0 : 5));
    expectInside(space, params);
    if (exhausts) expect(params).toEqual({ n: 1 });
  });

  it('through the registry (suggestNow): deterministic by seed and trial number', () => {
    const space = supports(factory, SPACES.mixed!) ? SPACES.mixed! : SPACES['numeric mixed']!;
    const req = (seed: number, trialNumber: number) => deepFreeze({ algorithm: { name, settings: {} }, space, seed, trialNumber, trials: [], pending: [] });
    const a = suggestNow(req(1, 1));
    expectInside(space, a);
    expect(suggestNow(req(1, 1))).toEqual(a);
    // Another study seed moves every seeded sampler (the grid's order does not depend on it).
    if (name !== 'grid') expect(suggestNow(req(2, 1))).not.toEqual(a);
  });

  it('conditional space: a whole run holds exactly the active parameters, reaches every branch and replays from the seed', () => {
    const space = SPACES.conditional!;
    if (!supports(factory, space)) {
      expect(factory.validate({}, space)).toContainEqual({ field: 'algorithm.name', reason: 'cmaes cannot search a conditional space; use tpe or gp' });
      return;
    }
    // Past the model-based samplers' start-up (10), with a loss that depends on the branch.
    const run = () => {
      const trials: FrozenTrial[] = [];
      for (let i = 0; i < 24; i++) {
        const req = deepFreeze({ algorithm: { name, settings: {} }, space, seed: 7, trialNumber: i, trials: [...trials], pending: [] });
        const params = suggestNow(req);
        if (params === null) break;
        expectInside(space, params);
        const loss = ({ rf: 1, gb: 0, svm: 2 }[params.model_type as string] ?? 9) + Number(params.n_estimators) / 300 + (params.lr === undefined ? 0 : Math.abs(Math.log10(Number(params.lr) / 0.05)));
        trials.push({ number: i, params, state: i % 7 === 6 ? 'FAILED' : 'COMPLETED', ...(i % 7 === 6 ? {} : { loss }) });
      }
      return trials.map((t) => t.params);
    };
    const first = run();
    expect(first.length).toBe(24);
    // Grid walks its first branch first; every other sampler explores all three within 24 trials.
    if (name !== 'grid') expect(new Set(first.map((p) => p.model_type))).toEqual(new Set(['rf', 'gb', 'svm']));
    expect(first.some((p) => p.degree !== undefined)).toBe(name !== 'grid');
    expect(run()).toEqual(first);
  });

  it('refuses bad settings at validation, naming the field', () => {
    const space = SPACES['numeric mixed']!;
    const unknown = validateAlgorithm(name, deepFreeze({ noSuchSetting: 1 }), deepFreeze(space));
    expect(unknown).toContainEqual({ field: 'algorithm.settings.noSuchSetting', reason: expect.stringContaining('unknown setting') });
    // Every setting it knows refuses a value of no sensible type.
    for (const key of knownSettings(unknown)) {
      for (const bad of [{}, 'many', Number.NaN, -1e300]) {
        const errors = factory.validate(deepFreeze({ [key]: bad }), deepFreeze(space));
        if (bad === -1e300 && errors.length === 0) continue; // a setting without a lower bound may take it
        expect(errors.map((e) => e.field), `${name}.${key} = ${JSON.stringify(bad)}`).toContain(`algorithm.settings.${key}`);
      }
    }
  });
});

it('the suite covers every registered sampler', () => {
  expect(samplers.map((f) => f.name).sort()).toEqual(['cmaes', 'gp', 'grid', 'random', 'sobol', 'tpe']);
  for (const n of [...Object.keys(UNSUPPORTED), ...Object.keys(EXHAUSTS)]) expect(SAMPLERS.has(n)).toBe(true);
});
