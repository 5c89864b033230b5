/**
 * `gp`: Gaussian-process Bayesian optimisation. Each suggestion, statelessly:
 *  1. until `nStartupTrials` trials are finished or pending, a point of an incremental Latin
 *     hypercube (design.ts);
 *  2. otherwise: encode the finished trials into the unit cube, warp and standardise their
 *     losses (warp.ts), fit Matérn-5/2 ARD hyperparameters by MAP (fit.ts), condition on the
 *     pending trials as "kriging believers" (their posterior mean taken as observed, which
 *     removes their uncertainty so parallel asks spread out instead of piling on one spot), and
 *     return the maximiser of log expected improvement (acquisition.ts).
 *
 * Which trials the model sees:
 *  - COMPLETED with a finite loss: as they are; a +Infinity loss (diverged) counts as the worst
 *    finite loss seen; NaN losses are left out.
 *  - PRUNED with a loss (its last intermediate value): treated as bad, i.e. max(loss, median of
 *    the completed losses): the pruner stopped it because it trailed the others, and its
 *    intermediate value is an optimistic stand-in for a final loss it never reached.
 *    PRUNED without a loss: left out of the model.
 *  - FAILED: left out of the model (a crash says nothing about the objective).
 *  - History cap: beyond `maxHistory` observations the model keeps the best half of the cap
 *    (by loss) and fills the rest with the most recent trials, so the incumbent's region stays
 *    modelled while the cost stays bounded. Hyperparameters are fitted on at most FIT_POINTS of
 *    those (the best half of them plus an even spread of the rest): the marginal likelihood
 *    costs O(n^3) per step, the posterior only O(n^3) once.
 *
 * Settings: `nStartupTrials` (default 10) and `maxHistory` (default 300: at 300 points a
 * suggestion costs about 0.1-0.2 s of one core, and the acquisition's O(n^2) per candidate
 * would triple that at 500; a study of thousands of trials keeps its best 150 and latest 150).
 */
import type { Params } from '../../../shared/search-space.js';
import type { FrozenTrial } from '../../../shared/trial.js';
import type { SamplerContext, SamplerFactory } from '../sampler.js';
import { SettingsReader } from '../settings.js';
import { LogEI, maximizeAcquisition } from './acquisition.js';
import { designPoint } from './design.js';
import { SpaceEncoding } from './encode.js';
import { fitHyper, type GpData } from './fit.js';
import { Posterior } from './posterior.js';
import { warpLosses } from './warp.js';

const KNOWN_SETTINGS = ['nStartupTrials', 'maxHistory'] as const;
export const DEFAULT_MAX_HISTORY = 300;
const FIT_POINTS = 128;
const ACQ_SEEDS = 5;
const MAX_PENDING = 64;
/**
 * Improvement that counts, in standardised units. With plain EI, re-sampling the incumbent is
 * worth about sqrt(noise) * 0.4, and once the model is sharp (noise near its floor, short length
 * scales after a long exploitation run) that beats every unexplored region: the search then
 * spends its budget on near-duplicates of one local optimum (while tuning, mixed_a ended in the
 * wrong optimizer category in about a third of the runs without it). Asking for a small margin ends that without costing the
 * final precision much, because the units shrink as the good half of the losses converges.
 */
const EI_MARGIN = 0.01;

interface GpConfig { nStartupTrials: number; maxHistory: number }

function read(settings: Record<string, unknown>) {
  const r = new SettingsReader(settings);
  const nStartupTrials = r.number('nStartupTrials', 10, { min: 1, max: 10_000, int: true });
  const maxHistory = r.number('maxHistory', DEFAULT_MAX_HISTORY, { min: 20, max: 100_000, int: true });
  return { r, cfg: { nStartupTrials, maxHistory } satisfies GpConfig };
}

export const gpSampler: SamplerFactory = {
  name: 'gp',
  description: 'Gaussian-process Bayesian optimisation: Matérn-5/2 ARD kernel fitted by MAP, log expected improvement, Latin-hypercube start, kriging-believer batches.',
  heavy: true,
  validate(settings) {
    const { r } = read(settings);
    return r.onlyKnown(KNOWN_SETTINGS);
  },
  create(settings, space) {
    const { cfg } = read(settings);
    const enc = new SpaceEncoding(space);
    return { suggest: (ctx) => suggestGp(ctx, enc, cfg) };
  },
};

interface Observation { x: Float64Array; loss: number; number: number }

function suggestGp(ctx: SamplerContext, enc: SpaceEncoding, cfg: GpConfig): Params {
  const { rng } = ctx;
  if (enc.D === 0) return enc.decode([]);
  const pending = ctx.pending.flatMap((p) => enc.encode(p) ?? []);
  let obs = observations(ctx.trials, enc);
  // Hundreds of queued trials would make the fantasy posterior cubic in the queue; the last
  // MAX_PENDING (the most recently suggested) are the ones a new ask must stay away from.
  const believers = pending.length > MAX_PENDING ? pending.slice(-MAX_PENDING) : pending;

  if (obs.length + pending.length < cfg.nStartupTrials || obs.length < 2) {
    const existing = ctx.trials.flatMap((t) => enc.encode(t.params) ?? []).concat(pending);
    return enc.decode(designPoint(enc, existing, cfg.nStartupTrials, rng));
  }

  if (obs.length > cfg.maxHistory) obs = keepBestAndRecent(obs, cfg.maxHistory);
  const n = obs.length;
  const { D, isCat } = enc;
  const X = new Float64Array(n * D);
  obs.forEach((o, i) => X.set(o.x, i * D));
  const y = warpLosses(obs.map((o) => o.loss));

  const fitIdx = n > FIT_POINTS ? fitSubset(obs, FIT_POINTS) : null;
  const fitData: GpData = fitIdx
    ? { X: gatherRows(X, D, fitIdx), n: fitIdx.length, D, isCat, y: Float64Array.from(fitIdx, (i) => y[i]!) }
    : { X, n, D, isCat, y };
  const hyper = fitHyper(fitData, rng);

  let post = new Posterior(X, n, D, isCat, y, hyper);
  let best = Infinity;
  for (let i = 0; i < n; i++) best = Math.min(best, y[i]!);
  if (believers.length > 0) {
    const P = believers.length;
    const Xa = new Float64Array((n + P) * D);
    Xa.set(X);
    const ya = new Float64Array(n + P);
    ya.set(y);
    believers.forEach((p, k) => {
      Xa.set(p, (n + k) * D);
      ya[n + k] = post.predict(p).mean;
      best = Math.min(best, ya[n + k]!);
    });
    post = new Posterior(Xa, n + P, D, isCat, ya, hyper);
  }

  const seeds = obs.map((o, i) => ({ x: o.x, y: y[i]! })).sort((a, b) => a.y - b.y).slice(0, ACQ_SEEDS).map((s) => s.x);
  const x = maximizeAcquisition(new LogEI(post, best - EI_MARGIN), enc, seeds, rng);
  return enc.decode(x);
}

/** The finished trials the model learns from, with the losses it uses (see the module comment). */
function observations(trials: readonly FrozenTrial[], enc: SpaceEncoding): Observation[] {
  const completed: number[] = [];
  for (const t of trials) if (t.state === 'COMPLETED' && t.loss !== undefined && Number.isFinite(t.loss)) completed.push(t.loss);
  const sorted = completed.sort((a, b) => a - b);
  const median = sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]! : undefined;
  const worst = sorted.length ? sorted[sorted.length - 1]! : undefined;
  const out: Observation[] = [];
  for (const t of trials) {
    if (t.state === 'FAILED' || t.loss === undefined || Number.isNaN(t.loss) || t.loss === -Infinity) continue;
    let loss = t.loss;
    if (loss === Infinity) {
      if (worst === undefined) continue;
      loss = worst;
    }
    if (t.state === 'PRUNED' && median !== undefined) loss = Math.max(loss, median);
    const x = enc.encode(t.params);
    if (x) out.push({ x, loss, number: t.number });
  }
  return out;
}

function keepBestAndRecent(obs: Observation[], cap: number): Observation[] {
  const byLoss = obs.map((_, i) => i).sort((a, b) => obs[a]!.loss - obs[b]!.loss || obs[a]!.number - obs[b]!.number);
  const keep = new Set(byLoss.slice(0, Math.ceil(cap / 2)));
  const byRecency = obs.map((_, i) => i).sort((a, b) => obs[b]!.number - obs[a]!.number);
  for (const i of byRecency) {
    if (keep.size >= cap) break;
    keep.add(i);
  }
  return obs.filter((_, i) => keep.has(i));
}

/** Indices for the hyperparameter fit: the best half of `size`, then an even spread of the rest. */
function fitSubset(obs: Observation[], size: number): number[] {
  const byLoss = obs.map((_, i) => i).sort((a, b) => obs[a]!.loss - obs[b]!.loss);
  const nBest = Math.ceil(size / 2);
  const chosen = byLoss.slice(0, nBest);
  const rest = byLoss.slice(nBest).sort((a, b) => a - b);
  const m = size - nBest;
  for (let k = 0; k < m; k++) chosen.push(rest[Math.floor((k * rest.length) / m)]!);
  return chosen.sort((a, b) => a - b);
}

function gatherRows(X: Float64Array, D: number, rows: number[]): Float64Array {
  const out = new Float64Array(rows.length * D);
  rows.forEach((r, i) => out.set(X.subarray(r * D, (r + 1) * D), i * D));
  return out;
}
