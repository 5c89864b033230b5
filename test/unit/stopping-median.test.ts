import { describe, expect, it } from 'vitest';
import type { TrialState } from '../../shared/trial.js';
import { medianRule } from '../../coordinator/stopping/median.js';
import type { StoppingTrialView } from '../../coordinator/stopping/rule.js';

function trial(number: number, state: TrialState, losses: number[], firstStep = 1): StoppingTrialView {
  return Object.freeze({ number, state, intermediate: Object.freeze(losses.map((value, i) => Object.freeze({ step: firstStep + i, value }))) });
}

// Three completed curves; their running averages at step 4 are 0.625, 0.5 and 0.75: median 0.625.
const completed = [
  trial(0, 'COMPLETED', [1.0, 0.6, 0.5, 0.4, 0.3, 0.2]),
  trial(1, 'COMPLETED', [0.8, 0.5, 0.4, 0.3, 0.2, 0.1]),
  trial(2, 'COMPLETED', [1.2, 0.7, 0.6, 0.5, 0.4, 0.3]),
];
const median = (settings: Record<string, unknown> = {}) => medianRule.create(settings);

describe('median rule', () => {
  it('prunes a clearly bad curve and keeps a good one', () => {
    const rule = median();
    const bad = rule.decide(trial(3, 'RUNNING', [1.5, 1.3, 1.2, 1.1]), completed);
    expect(bad).toMatchObject({ action: 'prune', reason: expect.stringContaining('median 0.625 of 3 completed trials') });
    expect(rule.decide(trial(3, 'RUNNING', [0.9, 0.6, 0.45, 0.35]), completed)).toEqual({ action: 'continue' });
  });

  it('prunes only when strictly worse than the median', () => {
    const rule = median();
    expect(rule.decide(trial(3, 'RUNNING', [0.9, 0.8, 0.7, 0.625]), completed)).toEqual({ action: 'continue' });
    expect(rule.decide(trial(3, 'RUNNING', [0.9, 0.8, 0.7, 0.626]), completed).action).toBe('prune');
  });

  it('compares against running averages up to the trial\'s latest step, not whole curves', () => {
    // At step 6 the averages are 0.5, 0.383 and 0.617: median 0.5. A best of 0.55 passes at step 4 but not at 6.
    const rule = median();
    expect(rule.decide(trial(3, 'RUNNING', [2, 2, 2, 0.55]), completed)).toEqual({ action: 'continue' });
    expect(rule.decide(trial(3, 'RUNNING', [2, 2, 2, 0.55, 0.55, 0.55]), completed).action).toBe('prune');
  });

  it('takes the median of an even number of peers as the mean of the middle two', () => {
    const four = [...completed, trial(9, 'COMPLETED', [0.1, 0.1, 0.1, 0.1])]; // averages 0.1, 0.5, 0.625, 0.75
    expect(median().decide(trial(3, 'RUNNING', [0.6, 0.6, 0.6, 0.5625]), four)).toEqual({ action: 'continue' });
    expect(median().decide(trial(3, 'RUNNING', [0.6, 0.6, 0.6, 0.57]), four).action).toBe('prune');
  });

  it('does nothing before minTrialsRequired completed peers', () => {
    const bad = trial(3, 'RUNNING', [1.5, 1.3, 1.2, 1.1]);
    expect(median().decide(bad, completed.slice(0, 2))).toEqual({ action: 'continue' });
    expect(median({ minTrialsRequired: 2 }).decide(bad, completed.slice(0, 2)).action).toBe('prune');
    expect(median({ minTrialsRequired: 4 }).decide(bad, completed)).toEqual({ action: 'continue' });
  });

  it('does nothing before startStep reports (4 by default, as in Katib)', () => {
    expect(median().decide(trial(3, 'RUNNING', [1.5, 1.3, 1.2]), completed)).toEqual({ action: 'continue' });
    expect(median({ startStep: 3 }).decide(trial(3, 'RUNNING', [1.5, 1.3, 1.2]), completed).action).toBe('prune');
    expect(median().decide(trial(3, 'RUNNING', []), completed)).toEqual({ action: 'continue' });
  });

  it('counts only completed peers with a report at or before the step', () => {
    const bad = trial(3, 'RUNNING', [1.5, 1.3, 1.2, 1.1]);
    const others = [
      completed[0]!, completed[1]!,
      trial(4, 'PRUNED', [0.1, 0.1, 0.1, 0.1]),
      trial(5, 'RUNNING', [0.1, 0.1, 0.1, 0.1]),
      trial(6, 'PAUSED', [0.1, 0.1, 0.1, 0.1]),
      trial(7, 'COMPLETED', [0.1, 0.1], 5), // first report after step 4
      trial(3, 'COMPLETED', [0.1, 0.1, 0.1, 0.1]), // the trial itself, listed by mistake
    ];
    expect(median().decide(bad, others)).toEqual({ action: 'continue' });
    // A peer that finished before the step counts with its whole curve, as in Vizier.
    expect(median().decide(bad, [...others, trial(8, 'COMPLETED', [0.2, 0.2])]).action).toBe('prune');
  });

  it('uses the running average instead of the best value when asked', () => {
    // Best 0.3 beats the median 0.625; the average 0.925 does not.
    const lucky = trial(3, 'RUNNING', [1.2, 1.1, 1.1, 0.3]);
    expect(median().decide(lucky, completed)).toEqual({ action: 'continue' });
    expect(median({ trialValue: 'runningAverage' }).decide(lucky, completed)).toMatchObject({ action: 'prune', reason: expect.stringContaining('running average loss 0.925') });
  });

  it('ranks a NaN (diverged) report as the worst loss', () => {
    expect(median().decide(trial(3, 'RUNNING', [NaN, NaN, NaN, NaN]), completed).action).toBe('prune');
    expect(median().decide(trial(3, 'RUNNING', [0.2, NaN, NaN, NaN]), completed)).toEqual({ action: 'continue' });
  });
});

describe('median settings', () => {
  it('accepts valid settings and Katib\'s names', () => {
    expect(medianRule.validate({})).toEqual([]);
    expect(medianRule.validate({ minTrialsRequired: 5, startStep: 1, trialValue: 'runningAverage' })).toEqual([]);
    expect(medianRule.validate({ min_trials_required: 5, start_step: 2 })).toEqual([]);
    const rule = medianRule.create({ min_trials_required: 2, start_step: 1 });
    expect(rule.decide(trial(3, 'RUNNING', [1.5]), completed.slice(0, 2)).action).toBe('prune');
  });

  it('reports each bad setting with its path', () => {
    const fields = (s: Record<string, unknown>) => medianRule.validate(s).map((e) => e.field);
    expect(fields({ minTrialsRequired: 0 })).toEqual(['earlyStopping.settings.minTrialsRequired']);
    expect(fields({ startStep: 1.5 })).toEqual(['earlyStopping.settings.startStep']);
    expect(fields({ min_trials_required: -1 })).toEqual(['earlyStopping.settings.min_trials_required']);
    expect(fields({ trialValue: 'worst' })).toEqual(['earlyStopping.settings.trialValue']);
    expect(fields({ minTrialsRequired: 3, min_trials_required: 3 })).toEqual(['earlyStopping.settings.min_trials_required']);
    expect(fields({ minTrials: 3 })).toEqual(['earlyStopping.settings.minTrials']);
  });
});
