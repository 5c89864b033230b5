import { describe, expect, it } from 'vitest';
import type { TrialState } from '../../shared/trial.js';
import { ashaRule } from '../../coordinator/stopping/asha.js';
import { baseRungs } from '../../coordinator/stopping/brackets.js';
import type { NextWork, StoppingRule, StoppingTrialView } from '../../coordinator/stopping/rule.js';

/** Frozen like the store's snapshots, so a rule that mutates its input throws. */
function trial(number: number, state: TrialState, curve: Array<[number, number]>): StoppingTrialView {
  return Object.freeze({ number, state, intermediate: Object.freeze(curve.map(([step, value]) => Object.freeze({ step, value }))) });
}
const asha = (settings: Record<string, unknown> = {}): StoppingRule => ashaRule.create({ maxResource: 9, ...settings });
const next = (rule: StoppingRule, trials: StoppingTrialView[], canStartNew = true): NextWork =>
  rule.nextWork!({ trials, nextTrialNumber: trials.length, canStartNew });

/** Plays the runner: asks nextWork until it starts a new trial, resuming each promoted trial. */
function promoteAll(rule: StoppingRule, trials: StoppingTrialView[], canStartNew = true): number[] {
  const promoted: number[] = [];
  for (let guard = 0; guard < 100; guard++) {
    const w = next(rule, trials, canStartNew);
    if (w.kind !== 'promote') return promoted;
    promoted.push(w.trialNumber);
    trials = trials.map((t) => (t.number === w.trialNumber ? trial(t.number, 'RUNNING', t.intermediate.map((p) => [p.step, p.value])) : t));
  }
  throw new Error('nextWork kept promoting');
}

// Losses of trials 0..8 at rung 0 (step 1); the best three are trials 4, 7 and 1.
const RUNG0 = [0.5, 0.3, 0.9, 0.6, 0.1, 0.8, 0.7, 0.2, 0.4];
const pausedAtRung0 = (losses = RUNG0) => losses.map((l, i) => trial(i, 'PAUSED', [[1, l]]));

describe('rung geometry', () => {
  it('puts rungs at minResource·η^k strictly below maxResource', () => {
    expect(baseRungs(1, 3, 9)).toEqual([1, 3]);
    expect(baseRungs(1, 3, 10)).toEqual([1, 3, 9]);
    expect(baseRungs(2, 2, 17)).toEqual([2, 4, 8, 16]);
    expect(baseRungs(5, 3, 6)).toEqual([5]);
  });
});

describe('asha, pause mode: decide', () => {
  const rule = asha();
  it('pauses a trial at the report that reaches a rung, and only there', () => {
    expect(rule.decide(trial(0, 'RUNNING', [[0, 0.9]]), [])).toEqual({ action: 'continue' });
    expect(rule.decide(trial(0, 'RUNNING', [[0, 0.9], [1, 0.8]]), [])).toMatchObject({ action: 'pause', rung: 0, resumeBudget: 3 });
    // Resumed from rung 0: steps between rungs continue, rung 1 pauses again with R as the next budget.
    expect(rule.decide(trial(0, 'RUNNING', [[1, 0.8], [2, 0.7]]), [])).toEqual({ action: 'continue' });
    expect(rule.decide(trial(0, 'RUNNING', [[1, 0.8], [2, 0.7], [3, 0.6]]), [])).toMatchObject({ action: 'pause', rung: 1, resumeBudget: 9 });
  });

  it('lets a trial promoted past the last rung run to maxResource', () => {
    expect(rule.decide(trial(0, 'RUNNING', [[1, 0.8], [3, 0.6], [6, 0.5], [9, 0.4]]), [])).toEqual({ action: 'continue' });
  });

  it('does not pause again when a resumed program re-reports the rung step', () => {
    expect(rule.decide(trial(0, 'RUNNING', [[1, 0.8], [1, 0.8]]), [])).toEqual({ action: 'continue' });
  });

  it('uses the first report past a rung when reports do not land on it, pausing at the highest rung skipped', () => {
    expect(rule.decide(trial(0, 'RUNNING', [[0.5, 0.9], [5, 0.7]]), [])).toMatchObject({ action: 'pause', rung: 1, resumeBudget: 9 });
  });
});

describe('asha, pause mode: nextWork', () => {
  const rule = asha();

  it('starts a new trial at the first rung budget when nobody is promotable', () => {
    expect(next(rule, [])).toEqual({ kind: 'new', budget: 1, bracket: 0 });
    expect(next(rule, pausedAtRung0().slice(0, 2))).toEqual({ kind: 'new', budget: 1, bracket: 0 });
  });

  it('with 9 trials at rung 0 and η = 3 promotes exactly the best 3, best first, to the next rung budget', () => {
    expect(next(rule, pausedAtRung0())).toEqual({ kind: 'promote', trialNumber: 4, budget: 3, bracket: 0, fromRung: 0 });
    expect(promoteAll(rule, pausedAtRung0())).toEqual([4, 7, 1]);
  });

  it('with 8 trials promotes floor(8/3) = 2', () => {
    expect(promoteAll(rule, pausedAtRung0().slice(0, 8))).toEqual([4, 7]);
  });

  it('promotes a late trial that beats the top third, and not one that does not', () => {
    const after = pausedAtRung0().map((t) => ([1, 4, 7].includes(t.number) ? trial(t.number, 'RUNNING', [[1, RUNG0[t.number]!]]) : t));
    expect(next(rule, after).kind).toBe('new');
    expect(next(rule, [...after, trial(9, 'PAUSED', [[1, 0.05]])])).toMatchObject({ kind: 'promote', trialNumber: 9 });
    expect(next(rule, [...after, trial(9, 'PAUSED', [[1, 0.35]])]).kind).toBe('new');
  });

  it('promotes a trial paused earlier once enough worse trials reach its rung', () => {
    const after = pausedAtRung0().map((t) => ([1, 4, 7].includes(t.number) ? trial(t.number, 'RUNNING', [[1, RUNG0[t.number]!]]) : t));
    const twoMore = [...after, trial(9, 'PAUSED', [[1, 0.95]]), trial(10, 'PAUSED', [[1, 0.96]])];
    expect(next(rule, twoMore).kind).toBe('new'); // 11 at the rung: quota still 3
    // 12 at the rung: quota 4, and trial 8 (0.4, fourth best) has been waiting.
    expect(next(rule, [...twoMore, trial(11, 'PAUSED', [[1, 0.97]])])).toMatchObject({ kind: 'promote', trialNumber: 8, budget: 3 });
  });

  it('counts promoted, running, completed and failed trials in the ranking, and never promotes them again', () => {
    const states: TrialState[] = ['COMPLETED', 'FAILED', 'RUNNING'];
    const trials = pausedAtRung0().map((t) => (t.number === 4 || t.number === 7 || t.number === 1 ? trial(t.number, states.pop()!, [[1, RUNG0[t.number]!]]) : t));
    expect(next(rule, trials).kind).toBe('new');
  });

  it('promotes from the highest rung first', () => {
    const trials = [
      ...pausedAtRung0(),
      // Three trials at rung 1 (step 3): trial 12 is the best there and waits to go to R.
      trial(10, 'PAUSED', [[1, 0.01], [3, 0.3]]),
      trial(11, 'PAUSED', [[1, 0.02], [3, 0.2]]),
      trial(12, 'PAUSED', [[1, 0.03], [3, 0.1]]),
    ];
    expect(next(rule, trials)).toEqual({ kind: 'promote', trialNumber: 12, budget: 9, bracket: 0, fromRung: 1 });
  });

  it('ignores paused trials whose highest rung is above the rung being ranked', () => {
    // Trial 0 is best at rung 0 but already waits at rung 1, alone there: nothing to promote.
    const trials = [trial(0, 'PAUSED', [[1, 0.1], [3, 0.1]]), trial(1, 'PAUSED', [[1, 0.5]]), trial(2, 'PAUSED', [[1, 0.6]])];
    expect(next(rule, trials).kind).toBe('new');
  });

  it('drains when no new trial may start: each rung best moves up, then nothing', () => {
    const trials = [trial(0, 'PAUSED', [[1, 0.2], [3, 0.4]]), trial(1, 'PAUSED', [[1, 0.1], [3, 0.3]]), trial(2, 'PAUSED', [[1, 0.5]])];
    // Open study: 2 at rung 1 and 3 at rung 0 give quota 0 and 1; trial 1 is at rung 1 already.
    expect(next(rule, trials).kind).toBe('new');
    expect(promoteAll(rule, trials, false)).toEqual([1]);
    expect(next(rule, trials.map((t) => (t.number === 1 ? trial(1, 'RUNNING', [[1, 0.1], [3, 0.3]]) : t)), false)).toEqual({ kind: 'none' });
  });

  it('ranks a NaN loss last', () => {
    const trials = pausedAtRung0([NaN, 0.3, 0.9]);
    expect(next(rule, trials)).toMatchObject({ kind: 'promote', trialNumber: 1 });
  });

  it('is a pure function of the snapshots', () => {
    const trials = pausedAtRung0();
    expect(next(rule, trials)).toEqual(next(asha(), trials));
  });
});

describe('asha, prune mode', () => {
  const rule = asha({ mode: 'prune' });
  const peers = [0.1, 0.2, 0.3, 0.4, 0.5].map((l, i) => trial(i, 'COMPLETED', [[1, l], [3, l], [9, l]]));

  it('lets the first trial at a rung through', () => {
    expect(rule.decide(trial(0, 'RUNNING', [[1, 5]]), [])).toEqual({ action: 'continue' });
  });

  it('prunes at a rung unless the trial is in the top 1/η of those that reached it', () => {
    // Six at rung 0: only the best two go on.
    expect(rule.decide(trial(5, 'RUNNING', [[1, 0.15]]), peers)).toEqual({ action: 'continue' });
    const pruned = rule.decide(trial(5, 'RUNNING', [[1, 0.35]]), peers);
    expect(pruned.action).toBe('prune');
    expect(pruned).toMatchObject({ reason: expect.stringContaining('ranks 4 of 6') });
  });

  it('judges a rung only at the report that reaches it', () => {
    expect(rule.decide(trial(5, 'RUNNING', [[0, 0.1], [1, 0.15], [2, 9]]), peers)).toEqual({ action: 'continue' });
  });

  it('judges every rung a report skips', () => {
    // At step 3 the trial is second of six at rung 0 but fourth of six at rung 1.
    const late = [0.1, 0.2, 0.3, 0.4, 0.5].map((l, i) => trial(i, 'COMPLETED', [[1, 0.5 + l], [3, l]]));
    expect(rule.decide(trial(5, 'RUNNING', [[0, 1], [3, 0.35]]), late).action).toBe('prune');
    expect(rule.decide(trial(5, 'RUNNING', [[0, 1], [3, 0.15]]), late).action).toBe('continue');
  });

  it('prunes a NaN loss that has company at the rung', () => {
    expect(rule.decide(trial(5, 'RUNNING', [[1, NaN]]), peers).action).toBe('prune');
  });

  it('starts every trial with the full budget and never promotes', () => {
    expect(next(rule, peers)).toEqual({ kind: 'new', budget: 9, bracket: 0 });
    expect(next(rule, peers, false)).toEqual({ kind: 'none' });
  });
});

describe('asha, several brackets', () => {
  const rule = asha({ brackets: 2 });
  it('deals trials round-robin, bracket 1 starting at the second rung', () => {
    expect(next(rule, [])).toEqual({ kind: 'new', budget: 1, bracket: 0 });
    expect(rule.nextWork!({ trials: [], nextTrialNumber: 1, canStartNew: true })).toEqual({ kind: 'new', budget: 3, bracket: 1 });
    // A bracket-1 trial has no rung at step 1.
    expect(rule.decide(trial(1, 'RUNNING', [[1, 0.5]]), [])).toEqual({ action: 'continue' });
    expect(rule.decide(trial(1, 'RUNNING', [[1, 0.5], [3, 0.4]]), [])).toMatchObject({ action: 'pause', rung: 0, resumeBudget: 9 });
  });

  it('ranks trials only against their own bracket', () => {
    // Trials 0 and 2 are bracket 0's only ones at its rung 0 (step 1): quota 0. Odd trials are
    // in bracket 1, where step 1 is no rung, so they must not fill bracket 0's ranking.
    const trials = [trial(0, 'PAUSED', [[1, 0.1]]), trial(2, 'PAUSED', [[1, 0.2]]), ...[1, 3, 5].map((n) => trial(n, 'RUNNING', [[1, 0.9]]))];
    expect(next(rule, trials).kind).toBe('new');
    expect(next(rule, [...trials, trial(4, 'PAUSED', [[1, 0.3]])])).toMatchObject({ kind: 'promote', trialNumber: 0, budget: 3 });
  });
});

describe('asha settings', () => {
  const errors = (s: Record<string, unknown>) => ashaRule.validate(s);
  it('accepts valid settings and requires maxResource', () => {
    expect(errors({ maxResource: 81 })).toEqual([]);
    expect(errors({ maxResource: 81, reductionFactor: 2, minResource: 0.5, brackets: 3, mode: 'prune' })).toEqual([]);
    expect(errors({})).toEqual([{ field: 'earlyStopping.settings.maxResource', reason: expect.stringContaining('required') }]);
  });

  it('reports each bad setting with its path', () => {
    const fields = (s: Record<string, unknown>) => errors(s).map((e) => e.field);
    expect(fields({ maxResource: 9, reductionFactor: 1 })).toEqual(['earlyStopping.settings.reductionFactor']);
    expect(fields({ maxResource: 9, reductionFactor: 2.5 })).toEqual(['earlyStopping.settings.reductionFactor']);
    expect(fields({ maxResource: 9, minResource: 0 })).toEqual(['earlyStopping.settings.minResource']);
    expect(fields({ maxResource: 1, minResource: 1 })).toEqual(['earlyStopping.settings.maxResource']);
    expect(fields({ maxResource: '9' })).toEqual(['earlyStopping.settings.maxResource']);
    expect(fields({ maxResource: 9, mode: 'stop' })).toEqual(['earlyStopping.settings.mode']);
    expect(fields({ maxResource: 9, brackets: 4 })).toEqual(['earlyStopping.settings.brackets']); // rungs 1, 3: at most 3
    expect(fields({ maxResource: 9, eta: 3 })).toEqual(['earlyStopping.settings.eta']);
    expect(fields({ maxResource: 1e15, minResource: 1, reductionFactor: 2 })).toEqual(['earlyStopping.settings.minResource']);
    expect(fields({ reductionFactor: 0, mode: 1 })).toEqual(['earlyStopping.settings.reductionFactor', 'earlyStopping.settings.maxResource', 'earlyStopping.settings.mode']);
  });
});
