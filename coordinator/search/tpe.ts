/**
 * Tree-structured Parzen Estimator (Bergstra et al. 2011; defaults after Optuna). The finished
 * trials are ranked and split into a good group and a bad one; a Parzen estimator is fitted to
 * each, candidates are drawn from the good one, and the candidate with the highest ratio
 * good-density / bad-density (which orders candidates as expected improvement does) wins.
 * Stateless: everything is rebuilt from the history on each call.
 */
import { sampleUniform } from './random.js';
import type { SamplerContext, SamplerFactory } from './sampler.js';
import { observationWeights, encodePending, rankTrials, splitObservations, type Observation } from './tpe/observations.js';
import { ParzenEstimator } from './tpe/parzen.js';
import { goodCount, readTpeSettings, TPE_SETTING_NAMES, type TpeSettings } from './tpe/settings.js';
import { decodePoint, encodeSpace, snapUnit, type Dim } from './tpe/space.js';

function estimator(dims: readonly Dim[], active: readonly number[], obs: readonly Observation[], s: TpeSettings): ParzenEstimator {
  return new ParzenEstimator(dims, active, obs, observationWeights(obs), s);
}

/**
 * Draws candidates from `good` over the active dimensions (plus `local` ones from the kernel of
 * the best trial, `incumbent`, narrowed) and writes the best by log l - log g into `out`.
 */
function chooseCandidate(ctx: SamplerContext, dims: readonly Dim[], active: readonly number[], good: ParzenEstimator, bad: ParzenEstimator, s: TpeSettings, incumbents: readonly number[], out: Float64Array): void {
  const cand = new Float64Array(dims.length);
  let best = -Infinity;
  const n = s.nEICandidates + (incumbents.length > 0 ? s.localCandidates : 0);
  for (let i = 0; i < n; i++) {
    if (i < s.nEICandidates) good.sample(ctx.rng, cand);
    else good.sampleKernel(ctx.rng, cand, incumbents[(i - s.nEICandidates) % incumbents.length]!, s.localScale);
    for (const d of active) cand[d] = snapUnit(dims[d]!, cand[d]!);
    const score = good.logPdf(cand) - bad.logPdf(cand);
    if (score > best || i === 0) {
      best = score;
      for (const d of active) out[d] = cand[d]!;
    }
  }
}

export function suggestTpe(ctx: SamplerContext, dims: readonly Dim[], s: TpeSettings) {
  const ranked = rankTrials(dims, ctx.trials);
  if (ranked.length < s.nStartupTrials || ranked.length === 0) return sampleUniform(ctx.space, ctx.rng);
  const liars = s.constantLiar ? encodePending(dims, ctx.pending, ctx.trials.at(-1)?.number ?? 0, s.liarWeight) : [];
  const eliteDims = s.categoryElites ? dims.flatMap((d, i) => (d.kind === 'cat' ? [i] : [])) : [];
  const { below, above } = splitObservations(ranked, liars, goodCount(s, ranked.length + liars.length), eliteDims);
  const incumbents = [below.indexOf(ranked[0]!)];
  const x = new Float64Array(dims.length);
  const groups = s.multivariate ? [dims.map((_, d) => d)] : dims.map((_, d) => [d]);
  for (const active of groups) {
    // Parallel suggestions (trials pending) keep the plain floor so that a batch spreads out
    // instead of piling onto the incumbent; a lone suggestion may focus.
    const good = estimator(dims, active, below, { ...s, focus: liars.length > 0 ? Number(process.env.PF ?? 1) : s.focus });
    chooseCandidate(ctx, dims, active, good, estimator(dims, active, above, { ...s, focus: 1 }), s, incumbents, x);
  }
  return decodePoint(dims, x);
}

export const tpeSampler: SamplerFactory = {
  name: 'tpe',
  description: 'Tree-structured Parzen Estimator (multivariate, constant liar for parallel workers; Optuna-like defaults).',
  heavy: true,
  validate(settings) {
    const { reader } = readTpeSettings(settings);
    return reader.onlyKnown(TPE_SETTING_NAMES);
  },
  create(settings, space) {
    const { s } = readTpeSettings(settings);
    const dims = encodeSpace(space);
    return { suggest: (ctx) => suggestTpe(ctx, dims, s) };
  },
};
