/**
 * CMA-ES over the numeric parameters (ints rounded onto their grid), stateless: generations are
 * fixed blocks of trial numbers (generation g of a run with population lambda is the next lambda
 * numbers after the previous generation), and every call replays the updates of the finished
 * generations from the trial history. A trial whose generation is still open is the next member
 * of it, drawn from the current distribution with the trial's own RNG, so pending trials simply
 * fill the generation. Optional IPOP restarts double the population each time the run
 * converges, which keeps a long study searching instead of repeating one point.
 *
 * Categorical parameters are rejected at validation: CMA-ES has no meaningful covariance for
 * them; use tpe for mixed spaces. So are conditional spaces (their parents are categorical, and
 * a dimension that exists in some trials only has no place in one covariance matrix).
 */
import { isConditional } from '../../shared/conditional-space.js';
import { fromUnit, isNumeric, toUnit, type Params, type SearchSpace } from '../../shared/search-space.js';
import type { FrozenTrial } from '../../shared/trial.js';
import { CmaState, defaultPopsize, strategyParams, type StrategyParams } from './cmaes/strategy.js';
import { compareRankKeys, rankKey, type RankKey } from './ranking.js';
import type { SamplerContext, SamplerFactory } from './sampler.js';
import { SettingsReader } from './settings.js';

interface CmaSettings {
  popsize: number | undefined;
  sigma0: number;
  restart: 'none' | 'ipop';
  incPopsize: number;
}

function read(settings: Record<string, unknown>) {
  const r = new SettingsReader(settings);
  const s: CmaSettings = {
    popsize: settings.popsize === undefined ? undefined : r.number('popsize', 0, { min: 2, max: 10_000, int: true }),
    sigma0: r.number('sigma0', 1 / 6, { min: 0, max: 1, exclusiveMin: true }),
    restart: r.oneOf('restart', 'ipop', ['none', 'ipop'] as const),
    incPopsize: r.number('incPopsize', 2, { min: 1, max: 10, exclusiveMin: true }),
  };
  return { r, s };
}

interface Member { x: Float64Array; key: RankKey }

function members(trials: readonly FrozenTrial[], names: readonly string[], space: SearchSpace): Map<number, Member> {
  const out = new Map<number, Member>();
  for (const t of trials) {
    const key = rankKey(t);
    if (!key || names.some((k) => t.params[k] === undefined)) continue;
    out.set(t.number, { key, x: Float64Array.from(names, (k) => toUnit(space[k]!, t.params[k]!)) });
  }
  return out;
}

/** The distribution that trial `target` is drawn from, after replaying every generation before it. */
export function replay(ctx: SamplerContext, names: readonly string[], s: CmaSettings): CmaState {
  const n = names.length;
  const finished = members(ctx.trials, names, ctx.space);
  const paramsCache = new Map<number, StrategyParams>();
  const params = (lambda: number): StrategyParams => {
    let p = paramsCache.get(lambda);
    if (!p) paramsCache.set(lambda, (p = strategyParams(n, lambda)));
    return p;
  };
  let lambda = s.popsize ?? defaultPopsize(n);
  let state = new CmaState(n, s.sigma0);
  let start = 0;
  while (ctx.trialNumber >= start + lambda) {
    const gen: Member[] = [];
    for (let t = start; t < start + lambda; t++) {
      const m = finished.get(t);
      if (m) gen.push(m);
    }
    start += lambda;
    // A generation with fewer than two results cannot rank anything; its draws are simply lost.
    if (gen.length < 2) continue;
    gen.sort((a, b) => compareRankKeys(a.key, b.key));
    const p = gen.length === lambda ? params(lambda) : params(gen.length);
    const best = gen[0]!.key;
    state.tell(gen.map((m) => m.x), best[0] === 0 ? best[1] : Infinity, p);
    if (s.restart === 'ipop' && state.shouldStop(params(lambda))) {
      lambda = Math.round(lambda * s.incPopsize);
      state = new CmaState(n, s.sigma0);
    }
  }
  return state;
}

export const cmaesSampler: SamplerFactory = {
  name: 'cmaes',
  description: 'CMA-ES on numeric parameters (ints rounded), with IPOP restarts; no categorical parameters.',
  heavy: true,
  validate(settings, space) {
    const { r } = read(settings);
    const errors = r.onlyKnown(['popsize', 'sigma0', 'restart', 'incPopsize']);
    const categorical = Object.entries(space).filter(([, p]) => !isNumeric(p)).map(([k]) => k);
    // One covariance over a fixed set of coordinates has no meaning when coordinates come and go.
    if (isConditional(space)) errors.push({ field: 'algorithm.name', reason: 'cmaes cannot search a conditional space; use tpe or gp' });
    else if (categorical.length > 0) {
      errors.push({ field: 'algorithm.name', reason: `cmaes needs numeric parameters only; categorical: ${categorical.join(', ')} (use tpe for mixed spaces)` });
    }
    if (Object.keys(space).length === 0) errors.push({ field: 'searchSpace', reason: 'cmaes needs at least one parameter' });
    return errors;
  },
  create(settings, space) {
    const { s } = read(settings);
    const names = Object.keys(space).filter((k) => isNumeric(space[k]!));
    return {
      suggest(ctx) {
        const x = replay(ctx, names, s).sample(ctx.rng);
        const params: Params = {};
        names.forEach((k, i) => (params[k] = fromUnit(space[k]!, x[i]!)));
        return params;
      },
    };
  },
};
