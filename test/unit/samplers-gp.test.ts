import { describe, expect, it } from 'vitest';
import { gpSampler } from '../../coordinator/search/gp/sampler.js';
import { LogEI } from '../../coordinator/search/gp/acquisition.js';
import { hyperPrior, negLogPosterior, unpack } from '../../coordinator/search/gp/fit.js';
import { cholesky, inverseFromCholesky, solveLower, solveUpperT } from '../../coordinator/search/gp/linalg.js';
import { Posterior } from '../../coordinator/search/gp/posterior.js';
import { createRng } from '../../shared/rng.js';
import { erfc, logH, normCdf, normPdf, normQuantile } from '../../coordinator/search/gp/special.js';
import { samplerFactory, validateAlgorithm } from '../../coordinator/search/registry.js';
import { suggestNow, type SuggestRequest } from '../../coordinator/search/suggest.js';
import { contains, toUnit, type Params, type SearchSpace } from '../../shared/search-space.js';
import type { FrozenTrial } from '../../shared/trial.js';

const QUAD: SearchSpace = { x: { type: 'float', min: -5, max: 5 }, y: { type: 'float', min: -5, max: 5 } };
const quad = (p: Params) => ((p.x as number) - 1.5) ** 2 + ((p.y as number) + 2) ** 2;

function ask(space: SearchSpace, trials: FrozenTrial[], trialNumber: number, opts: { seed?: number; pending?: Params[]; settings?: Record<string, unknown> } = {}): Params {
  const req: SuggestRequest = { algorithm: { name: 'gp', settings: opts.settings ?? {} }, space, seed: opts.seed ?? 7, trialNumber, trials, pending: opts.pending ?? [] };
  return suggestNow(req)!;
}

/** Sequential ask/tell loop; returns the finished trials. */
function optimise(space: SearchSpace, f: (p: Params) => number, n: number, seed = 7, settings: Record<string, unknown> = {}): FrozenTrial[] {
  const trials: FrozenTrial[] = [];
  for (let t = 0; t < n; t++) {
    const params = ask(space, trials, t, { seed, settings });
    trials.push({ number: t, params, state: 'COMPLETED', loss: f(params) });
  }
  return trials;
}

const unitDist = (space: SearchSpace, a: Params, b: Params) =>
  Math.sqrt(Object.entries(space).reduce((s, [k, p]) => s + (toUnit(p, a[k]!) - toUnit(p, b[k]!)) ** 2, 0));

describe('gp sampler', () => {
  it('is registered as a heavy sampler', () => {
    expect(samplerFactory('gp')).toBe(gpSampler);
    expect(gpSampler.heavy).toBe(true);
    expect(validateAlgorithm('gp', {}, QUAD)).toEqual([]);
  });

  it('finds the optimum region of a 2-D quadratic within 30 trials', () => {
    // Uniform random search reaches a loss around 1 here with 30 points; the model should be far closer.
    for (const seed of [1, 2]) {
      const trials = optimise(QUAD, quad, 30, seed);
      const best = Math.min(...trials.map((t) => t.loss!));
      expect(best).toBeLessThan(0.05);
    }
  });

  it('respects bounds, log scales, steps and categories', () => {
    const space: SearchSpace = {
      lr: { type: 'float', min: 1e-4, max: 1, log: true },
      units: { type: 'int', min: 2, max: 20, step: 2 },
      width: { type: 'int', min: 1, max: 1000, log: true },
      frac: { type: 'float', min: 0, max: 2, step: 0.25 },
      act: { type: 'categorical', values: ['relu', 'tanh', 'gelu'] },
      flag: { type: 'categorical', values: [true, false] },
    };
    // Optimum at the corner of every range, so the acquisition optimiser pushes against the bounds.
    const f = (p: Params) => -Math.log(p.lr as number) + (p.units as number) + Math.log(p.width as number) + (p.frac as number) + (p.act === 'gelu' ? 0 : 1) + (p.flag ? 0 : 1);
    const trials = optimise(space, f, 16, 3, { nStartupTrials: 6 });
    for (const t of trials) {
      for (const [k, spec] of Object.entries(space)) expect(contains(spec, t.params[k]!), `${k}=${String(t.params[k])}`).toBe(true);
      expect(((t.params.units as number) - 2) % 2).toBe(0);
      expect(Number.isInteger(t.params.width)).toBe(true);
      expect(Math.abs((t.params.frac as number) / 0.25 - Math.round((t.params.frac as number) / 0.25))).toBeLessThan(1e-9);
    }
    // Past the start-up design the model heads for the corner: the best is clearly better than the first trials'.
    const best = trials.reduce((a, b) => (a.loss! < b.loss! ? a : b));
    expect(best.number).toBeGreaterThanOrEqual(6);
    expect(best.params.act).toBe('gelu');
  });

  it('is reproducible by seed', () => {
    const trials = optimise(QUAD, quad, 12, 5);
    expect(ask(QUAD, trials, 12, { seed: 5 })).toEqual(ask(QUAD, trials, 12, { seed: 5 }));
    expect(ask(QUAD, trials, 12, { seed: 5 })).not.toEqual(ask(QUAD, trials, 12, { seed: 6 }));
    expect(optimise(QUAD, quad, 12, 5)).toEqual(trials);
  });

  it('spreads the initial design (Latin hypercube over finished and pending trials)', () => {
    const pending: Params[] = [];
    for (let t = 0; t < 10; t++) pending.push(ask(QUAD, [], t, { pending: [...pending] }));
    for (const k of ['x', 'y']) {
      const strata = new Set(pending.map((p) => Math.floor(toUnit(QUAD[k]!, p[k]!) * 10)));
      expect(strata.size).toBe(10);
    }
  });

  it('spreads a batch of 8 pending asks instead of repeating the acquisition maximum', () => {
    // The first model-based round, as with 8 workers after the start-up design.
    const trials = optimise(QUAD, quad, 10, 11);
    const batch = (withPending: boolean) => {
      const asked: Params[] = [];
      for (let k = 0; k < 8; k++) asked.push(ask(QUAD, trials, 10 + k, { seed: 11, pending: withPending ? [...asked] : [] }));
      return asked;
    };
    const pairs = (ps: Params[]) => ps.flatMap((a, i) => ps.slice(i + 1).map((b) => unitDist(QUAD, a, b)));
    const spread = pairs(batch(true));
    const piled = pairs(batch(false));
    // Without pending trials every ask lands on the same acquisition maximum (the RNG differs per
    // trial, the model does not); with them, on 8 distinct points over a region.
    expect(Math.max(...piled)).toBeLessThan(1e-3);
    expect(Math.min(...spread)).toBeGreaterThan(2e-3);
    expect(Math.max(...spread)).toBeGreaterThan(0.05);
  });

  it('ignores failed trials and losses it cannot use, and keeps working past maxHistory', () => {
    const trials = optimise(QUAD, quad, 12, 4);
    const noisy: FrozenTrial[] = [
      ...trials,
      { number: 12, params: { x: 0, y: 0 }, state: 'FAILED' },
      { number: 13, params: { x: 1, y: 1 }, state: 'PRUNED' },
      { number: 14, params: { x: 2, y: 2 }, state: 'PRUNED', loss: 0.5 },
      { number: 15, params: { x: 3, y: 3 }, state: 'COMPLETED', loss: Number.POSITIVE_INFINITY },
      { number: 16, params: { x: 4, y: 4 }, state: 'COMPLETED', loss: Number.NaN },
      { number: 17, params: { x: 'nope', y: 4 }, state: 'COMPLETED', loss: 0 },
    ];
    const p = ask(QUAD, noisy, 18);
    expect(contains(QUAD.x!, p.x!) && contains(QUAD.y!, p.y!)).toBe(true);
    // Only failed trials: still the start-up design, no model.
    const failed: FrozenTrial[] = Array.from({ length: 12 }, (_, i) => ({ number: i, params: { x: i - 5, y: 0 }, state: 'FAILED' }));
    expect(contains(QUAD.x!, ask(QUAD, failed, 12).x!)).toBe(true);
    // More trials than maxHistory: the model is fitted on the capped set.
    const many = optimise(QUAD, quad, 12, 9).concat(Array.from({ length: 40 }, (_, i) => {
      const params = { x: -5 + (i % 10), y: -5 + Math.floor(i / 10) * 2.5 };
      return { number: 12 + i, params, state: 'COMPLETED' as const, loss: quad(params) };
    }));
    const capped = ask(QUAD, many, 52, { settings: { maxHistory: 20 } });
    expect(quad(capped)).toBeLessThan(2);
  });

  it('rejects invalid and unknown settings with field errors', () => {
    expect(gpSampler.validate({ nStartupTrials: 5, maxHistory: 300 }, QUAD)).toEqual([]);
    const errors = gpSampler.validate({ nStartupTrials: 0, maxHistory: 'many', acquisition: 'ucb' }, QUAD);
    expect(errors.map((e) => e.field).sort()).toEqual(['algorithm.settings.acquisition', 'algorithm.settings.maxHistory', 'algorithm.settings.nStartupTrials']);
    expect(gpSampler.validate({ nStartupTrials: 2.5 }, QUAD)[0]!.reason).toMatch(/integer/);
    expect(validateAlgorithm('gp', { maxHistory: 5 }, QUAD)).toHaveLength(1);
  });
});

describe('gp numerics', () => {
  it('log h(z) matches the direct formula where that is accurate, and stays finite far in the tail', () => {
    for (const z of [3, 1, 0, -0.5, -1, -2, -5, -10]) {
      const direct = Math.log(normPdf(z) + z * normCdf(z));
      expect(logH(z).value).toBeCloseTo(direct, 6);
      const e = 1e-5;
      expect(logH(z).dz).toBeCloseTo((logH(z + e).value - logH(z - e).value) / (2 * e), 4);
    }
    expect(logH(-1e4).value).toBeCloseTo(-0.5e8 - 0.5 * Math.log(2 * Math.PI) - 2 * Math.log(1e4), 0);
    expect(Number.isFinite(logH(-1e12).value)).toBe(true);
    expect(erfc(1)).toBeCloseTo(0.157299207050285, 14);
    expect(normQuantile(0.975)).toBeCloseTo(1.959963984540054, 9);
  });

  it('solves with the Cholesky factor and inverts', () => {
    const A = Float64Array.from([4, 2, 0.6, 2, 5, 1, 0.6, 1, 3]);
    const { L } = cholesky(A, 3)!;
    const b = [1, 2, 3];
    const x = solveUpperT(L, 3, solveLower(L, 3, b, new Float64Array(3)), new Float64Array(3));
    for (let i = 0; i < 3; i++) expect(A[i * 3]! * x[0]! + A[i * 3 + 1]! * x[1]! + A[i * 3 + 2]! * x[2]!).toBeCloseTo(b[i]!, 12);
    const inv = inverseFromCholesky(L, 3);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += A[i * 3 + k]! * inv[k * 3 + j]!;
      expect(s).toBeCloseTo(i === j ? 1 : 0, 12);
    }
    // A singular matrix (duplicated rows) is factorised with jitter rather than failing.
    expect(cholesky(Float64Array.from([1, 1, 1, 1]), 2)!.jitter).toBeGreaterThan(0);
  });

  it('has analytic gradients of the marginal likelihood and of log EI that match finite differences', () => {
    const rng = createRng(3);
    const n = 15, D = 3;
    const isCat = Uint8Array.from([0, 1, 0]);
    const X = new Float64Array(n * D);
    for (let i = 0; i < n; i++) { X[i * D] = rng.next(); X[i * D + 1] = rng.int(3); X[i * D + 2] = rng.next(); }
    const y = Float64Array.from({ length: n }, (_, i) => Math.sin(5 * X[i * D]!) + 0.3 * X[i * D + 1]! + 0.1 * rng.normal());
    const data = { X, n, D, isCat, y };
    const pr = hyperPrior(D, isCat);
    const psi = Float64Array.from([-1, 0.2, -0.5, 0.3, -3]);
    const g = new Float64Array(D + 2);
    negLogPosterior(data, pr, psi, g);
    const e = 1e-6;
    for (let p = 0; p < D + 2; p++) {
      const a = Float64Array.from(psi); a[p] = a[p]! + e;
      const b = Float64Array.from(psi); b[p] = b[p]! - e;
      expect(g[p]).toBeCloseTo((negLogPosterior(data, pr, a, null) - negLogPosterior(data, pr, b, null)) / (2 * e), 4);
    }
    const acq = new LogEI(new Posterior(X, n, D, isCat, y, { ...unpack(psi, D), mean: 0.1 }), Math.min(...y));
    const x = Float64Array.from([0.33, 1, 0.77]);
    const gx = new Float64Array(D);
    expect(acq.valueGrad(x, gx)).toBeCloseTo(acq.value(x), 12);
    for (const d of [0, 2]) {
      const a = Float64Array.from(x); a[d] = a[d]! + e;
      const b = Float64Array.from(x); b[d] = b[d]! - e;
      expect(gx[d]! / ((acq.value(a) - acq.value(b)) / (2 * e))).toBeCloseTo(1, 4);
    }
  });
});
