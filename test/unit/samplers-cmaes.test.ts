/** cmaes: convergence, bounds and ints, determinism, stateless generations, restarts, settings. */
import { describe, expect, it } from 'vitest';
import { cmaesSampler, replay } from '../../coordinator/search/cmaes.js';
import { defaultPopsize } from '../../coordinator/search/cmaes/strategy.js';
import { suggestNow } from '../../coordinator/search/suggest.js';
import { createRng } from '../../shared/rng.js';
import type { Params, SearchSpace } from '../../shared/search-space.js';
import type { FrozenTrial } from '../../shared/trial.js';

function optimise(space: SearchSpace, f: (p: Params) => number, n: number, seed: number, settings: Record<string, unknown> = {}): FrozenTrial[] {
  const trials: FrozenTrial[] = [];
  for (let i = 0; i < n; i++) {
    const params = suggestNow({ algorithm: { name: 'cmaes', settings }, space, seed, trialNumber: i, trials, pending: [] })!;
    trials.push({ number: i, params, state: 'COMPLETED', loss: f(params) });
  }
  return trials;
}

const best = (trials: FrozenTrial[]) => Math.min(...trials.map((t) => t.loss!));
const space3: SearchSpace = { a: { type: 'float', min: -5, max: 5 }, b: { type: 'float', min: -5, max: 5 }, c: { type: 'float', min: 0, max: 10 } };
const sphere = (p: Params) => ((p.a as number) - 1) ** 2 + ((p.b as number) + 2) ** 2 + ((p.c as number) - 7) ** 2;

describe('cmaes sampler', () => {
  it('converges on a quadratic', () => {
    for (const seed of [1, 2]) {
      // 30 generations of 7; the `cmaes` Python library reaches ~1e-4 here at this budget.
      const trials = optimise(space3, sphere, 210, seed);
      expect(best(trials)).toBeLessThan(1e-3);
      // The last generation is concentrated around the optimum, not scattered over the box (typical distance there: 4).
      expect(trials.slice(-7).every((t) => t.loss! < 0.05)).toBe(true);
    }
  });

  it('keeps values in bounds, rounds ints onto their grid and searches log parameters on the log scale', () => {
    const space: SearchSpace = {
      lr: { type: 'float', min: 1e-5, max: 1, log: true },
      units: { type: 'int', min: 8, max: 128, step: 8 },
      x: { type: 'float', min: -1, max: 1 },
    };
    const f = (p: Params) => (Math.log10(p.lr as number) + 3) ** 2 + ((p.units as number) - 64) ** 2 / 1000 + (p.x as number) ** 2;
    const trials = optimise(space, f, 120, 3);
    for (const t of trials) {
      expect(t.params.lr).toBeGreaterThanOrEqual(1e-5);
      expect(t.params.lr).toBeLessThanOrEqual(1);
      expect((t.params.units as number) % 8).toBe(0);
      expect(t.params.units).toBeGreaterThanOrEqual(8);
      expect(t.params.units).toBeLessThanOrEqual(128);
      expect(Math.abs(t.params.x as number)).toBeLessThanOrEqual(1);
    }
    const top = trials.reduce((a, b) => (a.loss! < b.loss! ? a : b));
    expect(Math.abs(Math.log10(top.params.lr as number) + 3)).toBeLessThan(0.1);
    expect(Math.abs((top.params.units as number) - 64)).toBeLessThanOrEqual(8);
  });

  it('gives the same sequence for the same seed and a different one for another seed', () => {
    const a = optimise(space3, sphere, 30, 5).map((t) => t.params);
    expect(optimise(space3, sphere, 30, 5).map((t) => t.params)).toEqual(a);
    expect(optimise(space3, sphere, 30, 6).map((t) => t.params)).not.toEqual(a);
  });

  it('reconstructs generations from trial numbers: pending trials fill the open generation', () => {
    const lambda = defaultPopsize(3);
    const trials = optimise(space3, sphere, lambda, 8);
    const ask = (trialNumber: number, pending: Params[]) => suggestNow({ algorithm: { name: 'cmaes', settings: {} }, space: space3, seed: 8, trialNumber, trials, pending });
    // A member of the next generation does not depend on which other members are still running.
    expect(ask(lambda + 2, [])).toEqual(ask(lambda + 2, [{ a: 0, b: 0, c: 0 }, { a: 1, b: 1, c: 1 }]));
    // Its distribution has moved from the initial centre towards the better half of generation 0.
    const state = replay({ space: space3, trials, pending: [], rng: createRng(1), trialNumber: lambda }, ['a', 'b', 'c'], { popsize: undefined, sigma0: 1 / 6, restart: 'ipop', incPopsize: 2 });
    const centre = Array.from(state.mean);
    expect(centre).not.toEqual([0.5, 0.5, 0.5]);
    const sorted = [...trials].sort((x, y) => x.loss! - y.loss!);
    const goodA = sorted.slice(0, lambda >> 1).map((t) => ((t.params.a as number) + 5) / 10);
    expect(Math.min(...goodA) - 1e-9).toBeLessThanOrEqual(centre[0]!);
    expect(Math.max(...goodA) + 1e-9).toBeGreaterThanOrEqual(centre[0]!);
  });

  it('ignores failed trials and ranks pruned ones below completed ones', () => {
    const lambda = defaultPopsize(3);
    const trials = optimise(space3, sphere, lambda, 9);
    const cfg = { popsize: undefined, sigma0: 1 / 6, restart: 'none' as const, incPopsize: 2 };
    const ctx = (ts: FrozenTrial[]) => ({ space: space3, trials: ts, pending: [], rng: createRng(1), trialNumber: lambda });
    const worst = trials.reduce((a, b) => (a.loss! > b.loss! ? a : b));
    const withFailure = trials.map((t) => (t === worst ? { ...t, state: 'FAILED' as const, loss: undefined } : t));
    const withoutIt = trials.filter((t) => t !== worst);
    expect(Array.from(replay(ctx(withFailure), ['a', 'b', 'c'], cfg).mean)).toEqual(Array.from(replay(ctx(withoutIt), ['a', 'b', 'c'], cfg).mean));
    // Pruning the best trial demotes it: the mean no longer follows it as closely.
    const top = trials.reduce((a, b) => (a.loss! < b.loss! ? a : b));
    const pruned = trials.map((t) => (t === top ? { ...t, state: 'PRUNED' as const, loss: undefined, intermediate: [{ step: 1, value: 0 }] } : t));
    expect(Array.from(replay(ctx(pruned), ['a', 'b', 'c'], cfg).mean)).not.toEqual(Array.from(replay(ctx(trials), ['a', 'b', 'c'], cfg).mean));
  });

  it('restarts with a larger population once converged (IPOP) instead of repeating one point', () => {
    const line: SearchSpace = { x: { type: 'int', min: 0, max: 4 } };
    const trials = optimise(line, (p) => Math.abs((p.x as number) - 2), 200, 4);
    const late = new Set(trials.slice(-60).map((t) => t.params.x));
    expect(late.size).toBeGreaterThan(1);
    expect(best(trials)).toBe(0);
  });

  it('rejects categorical parameters and invalid settings with field errors', () => {
    const mixed: SearchSpace = { ...space3, opt: { type: 'categorical', values: ['sgd', 'adam'] } };
    const errs = cmaesSampler.validate({}, mixed);
    expect(errs).toEqual([expect.objectContaining({ field: 'algorithm.name' })]);
    expect(errs[0]!.reason).toMatch(/numeric parameters.*opt/);
    const bad = cmaesSampler.validate({ popsize: 1, sigma0: 0, restart: 'bipop', incPopsize: 'x', typo: true }, space3);
    expect(bad.map((e) => e.field).sort()).toEqual([
      'algorithm.settings.incPopsize', 'algorithm.settings.popsize', 'algorithm.settings.restart', 'algorithm.settings.sigma0', 'algorithm.settings.typo',
    ]);
    expect(cmaesSampler.validate({ popsize: 12, restart: 'none' }, space3)).toEqual([]);
  });
});
