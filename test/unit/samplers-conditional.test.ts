/**
 * How the model-based samplers treat a conditional space: TPE's group decomposition (Optuna's
 * group=True) and what it learns per branch, GP's imputation of inactive dimensions.
 */
import { describe, expect, it } from 'vitest';
import { SpaceEncoding, INACTIVE_NUM } from '../../coordinator/search/gp/encode.js';
import { suggestNow } from '../../coordinator/search/suggest.js';
import { decomposeGroups } from '../../coordinator/search/tpe/groups.js';
import { createRng } from '../../shared/rng.js';
import type { Params, SearchSpace } from '../../shared/search-space.js';
import type { FrozenTrial } from '../../shared/trial.js';

const SPACE: SearchSpace = {
  model_type: { type: 'categorical', values: ['random_forest', 'gradient_boosting'] },
  n_estimators: { type: 'int', min: 50, max: 300 },
  max_depth: { type: 'int', min: 3, max: 15, when: { model_type: 'random_forest' } },
  learning_rate: { type: 'float', min: 0.01, max: 0.3, log: true, when: { model_type: 'gradient_boosting' } },
};

/** Gradient boosting is better, best at learning_rate 0.05; a random forest is worse at any depth. */
const loss = (p: Params): number => p.model_type === 'gradient_boosting'
  ? Math.abs(Math.log10(Number(p.learning_rate) / 0.05)) + Number(p.n_estimators) / 3000
  : 1 + Math.abs(Number(p.max_depth) - 9) / 10;

function history(n: number): FrozenTrial[] {
  const rng = createRng(11);
  return Array.from({ length: n }, (_, i) => {
    const gb = i % 2 === 0;
    const params: Params = gb
      ? { model_type: 'gradient_boosting', n_estimators: 50 + rng.int(251), learning_rate: 0.01 * 30 ** rng.next() }
      : { model_type: 'random_forest', n_estimators: 50 + rng.int(251), max_depth: 3 + rng.int(13) };
    return { number: i, params, state: 'COMPLETED', loss: loss(params) };
  });
}

describe('TPE on a conditional space', () => {
  it('decomposes parameters into the groups that co-occur in the trials, as Optuna does', () => {
    expect(decomposeGroups([[0, 1, 2], [0, 1, 3], [0, 1, 2]])).toEqual([[0, 1], [2], [3]]);
    expect(decomposeGroups([[0, 1, 2, 3]])).toEqual([[0, 1, 2, 3]]);
    // A nested branch splits its parent's group again.
    expect(decomposeGroups([[0, 1], [0, 2, 3], [0, 2, 3, 4]])).toEqual([[0], [1], [2, 3], [4]]);
    expect(decomposeGroups([])).toEqual([]);
  });

  it('models each branch on its own trials: learning_rate converges on the gradient-boosting optimum', () => {
    const trials = history(40);
    const picks = Array.from({ length: 12 }, (_, k) => suggestNow({ algorithm: { name: 'tpe', settings: {} }, space: SPACE, seed: 5, trialNumber: 40 + k, trials, pending: [] })!);
    const gb = picks.filter((p) => p.model_type === 'gradient_boosting');
    // The good group is all gradient boosting: the branch is chosen nearly always, and its
    // learning_rate comes from the kernels of its own good trials (random would spread over 1.5 decades).
    expect(gb.length).toBeGreaterThanOrEqual(10);
    for (const p of gb) expect(Object.keys(p).sort()).toEqual(['learning_rate', 'model_type', 'n_estimators']);
    const near = gb.filter((p) => Math.abs(Math.log10(Number(p.learning_rate) / 0.05)) < 0.25);
    expect(near.length).toBeGreaterThanOrEqual(Math.ceil(gb.length * 0.75));
  });

  it('univariate (multivariate: false): one model per parameter over the trials that have it', () => {
    const trials = history(30);
    for (let k = 0; k < 6; k++) {
      const p = suggestNow({ algorithm: { name: 'tpe', settings: { multivariate: false } }, space: SPACE, seed: k, trialNumber: 30, trials, pending: [trials[0]!.params, trials[1]!.params] })!;
      const expected = p.model_type === 'gradient_boosting' ? ['learning_rate', 'model_type', 'n_estimators'] : ['max_depth', 'model_type', 'n_estimators'];
      expect(Object.keys(p).sort()).toEqual(expected);
    }
  });

  it('draws a parameter no finished trial has yet (a branch never tried) uniformly', () => {
    const onlyGb = history(30).filter((t) => t.params.model_type === 'gradient_boosting').map((t, i) => ({ ...t, number: i }));
    // The category prior still gives random forest some mass: over many asks it is chosen, and
    // then max_depth (in no group yet) is drawn and legal.
    let forests = 0;
    for (let k = 0; k < 40; k++) {
      const p = suggestNow({ algorithm: { name: 'tpe', settings: {} }, space: SPACE, seed: k, trialNumber: onlyGb.length, trials: onlyGb, pending: [] })!;
      if (p.model_type !== 'random_forest') continue;
      forests++;
      expect(Object.keys(p).sort()).toEqual(['max_depth', 'model_type', 'n_estimators']);
      expect(Number.isInteger(p.max_depth) && Number(p.max_depth) >= 3 && Number(p.max_depth) <= 15).toBe(true);
    }
    expect(forests).toBeGreaterThan(0);
  });
});

describe('GP on a conditional space', () => {
  it('imputes inactive parameters outside their range and decodes active ones only', () => {
    const enc = new SpaceEncoding(SPACE);
    const x = enc.encode({ model_type: 'random_forest', n_estimators: 100, max_depth: 9 })!;
    const d = (name: string) => enc.dims.findIndex((dim) => dim.name === name);
    expect(x[d('learning_rate')]).toBe(INACTIVE_NUM);
    expect(x[d('max_depth')]).toBeGreaterThan(0);
    expect(enc.decode(x)).toEqual({ model_type: 'random_forest', n_estimators: 100, max_depth: 9 });
    // An active parameter missing from a trial's params leaves the trial out of the model.
    expect(enc.encode({ model_type: 'random_forest', n_estimators: 100 })).toBeNull();
    // snap switches dimensions to their imputed value when a category turns their branch off.
    const y = Float64Array.from(x);
    y[d('model_type')] = 1;
    enc.snap(y);
    expect(y[d('max_depth')]).toBe(INACTIVE_NUM);
    expect(y[d('learning_rate')]).toBeGreaterThanOrEqual(0);
  });

  it('suggests the better branch after a history and keeps to its active parameters', () => {
    const trials = history(30);
    const picks = Array.from({ length: 4 }, (_, k) => suggestNow({ algorithm: { name: 'gp', settings: {} }, space: SPACE, seed: 5, trialNumber: 30 + k, trials, pending: [] })!);
    for (const p of picks) {
      const expected = p.model_type === 'gradient_boosting' ? ['learning_rate', 'model_type', 'n_estimators'] : ['max_depth', 'model_type', 'n_estimators'];
      expect(Object.keys(p).sort()).toEqual(expected);
    }
    expect(picks.filter((p) => p.model_type === 'gradient_boosting').length).toBeGreaterThanOrEqual(3);
  });
});
