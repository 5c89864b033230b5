/** tpe: optimisation, parameter kinds, determinism, settings, the constant liar, pruned and failed trials. */
import { describe, expect, it } from 'vitest';
import { suggestNow } from '../../coordinator/search/suggest.js';
import { tpeSampler } from '../../coordinator/search/tpe.js';
import { rankTrials, splitObservations } from '../../coordinator/search/tpe/observations.js';
import { encodeSpace } from '../../coordinator/search/tpe/space.js';
import type { Params, SearchSpace } from '../../shared/search-space.js';
import type { FrozenTrial } from '../../shared/trial.js';

/** A sequential study: ask, evaluate, tell. */
function optimise(space: SearchSpace, f: (p: Params) => number, n: number, seed: number, settings: Record<string, unknown> = {}): FrozenTrial[] {
  const trials: FrozenTrial[] = [];
  for (let i = 0; i < n; i++) {
    const params = suggestNow({ algorithm: { name: 'tpe', settings }, space, seed, trialNumber: i, trials, pending: [] })!;
    trials.push({ number: i, params, state: 'COMPLETED', loss: f(params) });
  }
  return trials;
}

const best = (trials: FrozenTrial[]) => Math.min(...trials.map((t) => t.loss!));

const bowl: SearchSpace = { x: { type: 'float', min: -5, max: 5 }, y: { type: 'float', min: -5, max: 5 } };
const bowlF = (p: Params) => ((p.x as number) - 1.3) ** 2 + ((p.y as number) + 2.1) ** 2;

describe('tpe sampler', () => {
  it('finds the minimum region of a quadratic far better than its random start-up does', () => {
    for (const seed of [1, 2, 3]) {
      const trials = optimise(bowl, bowlF, 60, seed);
      // Random search with 60 points typically ends near 0.3; TPE should be well inside 0.05.
      expect(best(trials)).toBeLessThan(0.05);
      // And it keeps sampling there (typically 9-12 of the last 20): random search would put ~3% of points within distance 1.
      expect(trials.slice(-20).filter((t) => t.loss! < 1).length).toBeGreaterThanOrEqual(6);
    }
  });

  it('respects log scale, int steps and categories, and learns the best category', () => {
    const space: SearchSpace = {
      lr: { type: 'float', min: 1e-5, max: 1, log: true },
      units: { type: 'int', min: 2, max: 20, step: 2 },
      act: { type: 'categorical', values: ['relu', 'tanh', 'gelu'] },
    };
    const f = (p: Params) => (Math.log10(p.lr as number) + 3) ** 2 + ((p.units as number) - 8) ** 2 / 10 + (p.act === 'tanh' ? 0 : 2);
    const trials = optimise(space, f, 60, 4);
    for (const t of trials) {
      expect(t.params.lr).toBeGreaterThanOrEqual(1e-5);
      expect(t.params.lr).toBeLessThanOrEqual(1);
      expect(Number.isInteger(t.params.units)).toBe(true);
      expect((t.params.units as number) % 2).toBe(0);
      expect(['relu', 'tanh', 'gelu']).toContain(t.params.act);
    }
    // A third of the draws would be tanh at random.
    expect(trials.slice(-20).filter((t) => t.params.act === 'tanh').length).toBeGreaterThanOrEqual(10);
    // On the log scale: the optimum lr = 1e-3 is found to within a factor of ~2.
    const top = trials.reduce((a, b) => (a.loss! < b.loss! ? a : b));
    expect(Math.abs(Math.log10(top.params.lr as number) + 3)).toBeLessThan(0.35);
  });

  it('gives the same sequence for the same seed and a different one for another seed', () => {
    const a = optimise(bowl, bowlF, 20, 7).map((t) => t.params);
    expect(optimise(bowl, bowlF, 20, 7).map((t) => t.params)).toEqual(a);
    expect(optimise(bowl, bowlF, 20, 8).map((t) => t.params)).not.toEqual(a);
  });

  it('steers away from pending trials with the constant liar, and ignores them without it', () => {
    const trials = optimise(bowl, bowlF, 20, 9);
    const ask = (pending: Params[], settings: Record<string, unknown> = {}) =>
      suggestNow({ algorithm: { name: 'tpe', settings }, space: bowl, seed: 9, trialNumber: 20, trials, pending })!;
    const alone = ask([]);
    // Pretend a worker is already evaluating exactly that point.
    expect(ask([alone])).not.toEqual(alone);
    expect(ask([alone], { constantLiar: false })).toEqual(ask([], { constantLiar: false }));
    // Several workers on the same point push the next suggestion further away from it.
    const dist = (p: Params) => Math.hypot((p.x as number) - (alone.x as number), (p.y as number) - (alone.y as number));
    const far = [1, 2, 3, 4, 5].map((s) => dist(suggestNow({ algorithm: { name: 'tpe', settings: {} }, space: bowl, seed: s, trialNumber: 20, trials, pending: [alone, alone, alone] })!));
    expect(far.every((d) => d > 0)).toBe(true);
  });

  it('ranks pruned trials below completed ones (later-pruned first), ignores failed ones', () => {
    const dims = encodeSpace({ x: { type: 'float', min: 0, max: 1 } });
    const trials: FrozenTrial[] = [
      { number: 0, params: { x: 0.1 }, state: 'PRUNED', intermediate: [{ step: 1, value: 0.5 }] },
      { number: 1, params: { x: 0.2 }, state: 'COMPLETED', loss: 3 },
      { number: 2, params: { x: 0.3 }, state: 'FAILED' },
      { number: 3, params: { x: 0.4 }, state: 'PRUNED', intermediate: [{ step: 1, value: 0.1 }, { step: 5, value: 0.9 }] },
      { number: 4, params: { x: 0.5 }, state: 'COMPLETED', loss: 1 },
      { number: 5, params: { x: 0.6 }, state: 'PRUNED' },
      { number: 6, params: { x: 0.7 }, state: 'PRUNED', intermediate: [{ step: 1, value: 0.2 }] },
    ];
    const order = rankTrials(dims, trials).map((o) => o.age);
    expect(order).toEqual([4, 1, 3, 6, 0, 5]);
    const { below, above } = splitObservations(rankTrials(dims, trials), [], 3);
    expect(below.map((o) => o.age)).toEqual([1, 3, 4]);
    expect(above.map((o) => o.age)).toEqual([0, 5, 6]);
  });

  it('uses pruned trials as information: they are not sampled around as if they were good', () => {
    // Ten trials pruned early near x = 0.9 and ten completed ones spread out: the suggestions stay off 0.9.
    const line: SearchSpace = { x: { type: 'float', min: 0, max: 1 } };
    const trials: FrozenTrial[] = [];
    for (let i = 0; i < 10; i++) trials.push({ number: i, params: { x: 0.88 + i * 0.004 }, state: 'PRUNED', intermediate: [{ step: 1, value: 0 }] });
    for (let i = 0; i < 10; i++) trials.push({ number: 10 + i, params: { x: 0.05 + i * 0.07 }, state: 'COMPLETED', loss: Math.abs(0.05 + i * 0.07 - 0.3) + 1 });
    const xs = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => suggestNow({ algorithm: { name: 'tpe', settings: {} }, space: line, seed, trialNumber: 20, trials, pending: [] })!.x as number);
    expect(xs.filter((x) => x > 0.8).length).toBeLessThanOrEqual(1);
  });

  it('samples at random during start-up and supports univariate mode', () => {
    const trials = optimise(bowl, bowlF, 40, 3, { multivariate: false, nStartupTrials: 5 });
    expect(best(trials)).toBeLessThan(0.5);
  });

  it('reports every invalid setting as a field error', () => {
    const errs = tpeSampler.validate({ gamma: 2, bandwidth: 'wide', nEICandidates: 0, multivariate: 'yes', liarWeight: 0, typo: 1 }, bowl);
    expect(errs.map((e) => e.field).sort()).toEqual([
      'algorithm.settings.bandwidth', 'algorithm.settings.gamma', 'algorithm.settings.liarWeight',
      'algorithm.settings.multivariate', 'algorithm.settings.nEICandidates', 'algorithm.settings.typo',
    ]);
    expect(tpeSampler.validate({ gamma: 0.25, nStartupTrials: 5, constantLiar: false }, bowl)).toEqual([]);
  });

  it('refuses a start-up or a good group that the history window could never hold', () => {
    const errs = tpeSampler.validate({ nStartupTrials: 2000, historyBest: 10, historyRecent: 100 }, bowl);
    expect(errs.map((e) => e.field).sort()).toEqual(['algorithm.settings.maxGood', 'algorithm.settings.nStartupTrials']);
    expect(errs.find((e) => e.field.endsWith('nStartupTrials'))!.reason).toMatch(/at most historyBest \+ historyRecent \(110\)/);
    expect(tpeSampler.validate({ nStartupTrials: 110, historyBest: 25, historyRecent: 85 }, bowl)).toEqual([]);
  });
});
