/** TPE's settings: defaults, ranges, and the validation that turns every bad value into a FieldError. */
import { SettingsReader } from '../settings.js';
import type { ParzenOptions } from './parzen.js';

export interface TpeSettings extends ParzenOptions {
  /** Random trials before the model is used (Optuna: n_startup_trials). */
  nStartupTrials: number;
  /** Candidates drawn from the good model per suggestion (Optuna: n_ei_candidates). */
  nEICandidates: number;
  /** Fraction of the ranked trials that form the good group... */
  gamma: number;
  /** ...capped at this many trials (Optuna caps at 25 too). */
  maxGood: number;
  /** One joint kernel per trial (true) or one independent model per parameter (Optuna's default, false). */
  multivariate: boolean;
  /** Count pending trials as bad observations so that parallel workers spread out. */
  constantLiar: boolean;
  /** Extra candidates drawn close to the best trial (its good-group kernel, narrowed by localScale). */
  localCandidates: number;
  localScale: number;
  /** Keep the best trial of every category value in the good group (see splitObservations). */
  categoryElites: boolean;
  /** Weight of each pending trial's kernel in the bad group, relative to a finished trial's. */
  liarWeight: number;
  /**
   * The history TPE sees (tpe.ts, "Bounded history"): the best `historyBest` ranked trials and
   * the `historyRecent` last finished ones.
   */
  historyBest: number;
  historyRecent: number;
}

export const TPE_SETTING_NAMES = [
  'nStartupTrials', 'nEICandidates', 'gamma', 'maxGood', 'priorWeight', 'magicClip', 'endpoints', 'bandwidth',
  'bandwidthFactor', 'focus', 'multivariate', 'constantLiar', 'liarWeight', 'localCandidates', 'localScale', 'categoryElites',
  'historyBest', 'historyRecent',
] as const;

export function readTpeSettings(settings: Record<string, unknown>): { reader: SettingsReader; s: TpeSettings } {
  const r = new SettingsReader(settings);
  const s: TpeSettings = {
    nStartupTrials: r.number('nStartupTrials', 10, { min: 0, max: 100_000, int: true }),
    nEICandidates: r.number('nEICandidates', 24, { min: 1, max: 10_000, int: true }),
    gamma: r.number('gamma', 0.12, { min: 0, max: 1, exclusiveMin: true }),
    maxGood: r.number('maxGood', 25, { min: 1, max: 100_000, int: true }),
    priorWeight: r.number('priorWeight', 1, { min: 0, exclusiveMin: true, max: 1000 }),
    magicClip: r.boolean('magicClip', true),
    endpoints: r.boolean('endpoints', false),
    bandwidth: r.oneOf('bandwidth', 'neighbor', ['scott', 'neighbor'] as const),
    bandwidthFactor: r.number('bandwidthFactor', 1, { min: 0, max: 10, exclusiveMin: true }),
    focus: r.number('focus', 4, { min: 1, max: 100 }),
    multivariate: r.boolean('multivariate', true),
    constantLiar: r.boolean('constantLiar', true),
    liarWeight: r.number('liarWeight', 0.5, { min: 0, max: 1, exclusiveMin: true }),
    localCandidates: r.number('localCandidates', 8, { min: 0, max: 10_000, int: true }),
    localScale: r.number('localScale', 0.5, { min: 0, max: 10, exclusiveMin: true }),
    categoryElites: r.boolean('categoryElites', true),
    historyBest: r.number('historyBest', 200, { min: 1, max: 100_000, int: true }),
    historyRecent: r.number('historyRecent', 1000, { min: 1, max: 100_000, int: true }),
  };
  // The sampler sees at most historyBest + historyRecent trials and ranks its good group among
  // them: a start-up longer than that window would keep it sampling at random for ever, and a
  // good group larger than the best kept would differ from the one a full history gives.
  if (s.nStartupTrials > s.historyBest + s.historyRecent) {
    r.errors.push({ field: 'algorithm.settings.nStartupTrials', reason: `must be at most historyBest + historyRecent (${s.historyBest + s.historyRecent}): the sampler sees no more trials than that (got ${s.nStartupTrials})` });
  }
  if (s.maxGood > s.historyBest) {
    r.errors.push({ field: 'algorithm.settings.maxGood', reason: `must be at most historyBest (${s.historyBest}): the good trials are ranked among the best kept (got ${s.maxGood})` });
  }
  return { reader: r, s };
}

/** How many ranked trials are "good": ceil(gamma * n), at least 1, at most maxGood. */
export function goodCount(s: TpeSettings, n: number): number {
  return Math.max(1, Math.min(s.maxGood, Math.ceil(s.gamma * n)));
}
