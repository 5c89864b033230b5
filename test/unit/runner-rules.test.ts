import { describe, expect, it } from 'vitest';
import { nextStep } from '../../coordinator/runner/study-runner.js';
import { validateStudy } from '../../coordinator/study-validation.js';

const spec = (over: Record<string, unknown> = {}) => validateStudy({
  name: 's', objective: { metric: 'acc', direction: 'maximize', goal: 0.9 }, searchSpace: { x: { type: 'float', min: 0, max: 1 } },
  parallelism: 4, maxTrials: 10, maxFailedTrials: 2, trial: { command: ['t'] }, ...over,
});
const counts = (c: Partial<Record<string, number>>) => ({ queued: 0, running: 0, completed: 0, failed: 0, pruned: 0, paused: 0, cancelled: 0, ...c });

describe('what a study does next', () => {
  it('launches up to parallelism, never past maxTrials', () => {
    expect(nextStep({ spec: spec(), counts: counts({ running: 1 }), created: 1 }, false)).toEqual({ launch: 3, canStartNew: true });
    expect(nextStep({ spec: spec(), counts: counts({ completed: 8 }), created: 8 }, false)).toEqual({ launch: 2, canStartNew: true });
    expect(nextStep({ spec: spec(), counts: counts({ completed: 9, running: 1 }), created: 10 }, false)).toEqual({ launch: 0, canStartNew: false });
  });
  it('keeps slots for promotions of paused trials once no new trial may start', () => {
    expect(nextStep({ spec: spec(), counts: counts({ completed: 2, running: 1, paused: 5 }), created: 10 }, false)).toEqual({ launch: 3, canStartNew: false });
  });
  it('completes at maxTrials once nothing is in flight', () => {
    expect(nextStep({ spec: spec(), counts: counts({ completed: 10 }), created: 10, best: { number: 1, value: 0.5 } }, false)).toEqual({ end: 'COMPLETED', reason: 'maxTrials (10) reached' });
  });
  it('fails past maxFailedTrials, and when no trial completed at all', () => {
    expect(nextStep({ spec: spec(), counts: counts({ failed: 3 }), created: 3 }, false)).toMatchObject({ end: 'FAILED' });
    expect(nextStep({ spec: spec({ maxFailedTrials: 10 }), counts: counts({ failed: 10 }), created: 10 }, false)).toEqual({ end: 'FAILED', reason: 'no trial completed (10 failed, 0 pruned)' });
  });
  it('completes when the goal is met, in the objective direction', () => {
    expect(nextStep({ spec: spec(), counts: counts({ completed: 1, running: 3 }), created: 4, best: { number: 0, value: 0.95 } }, false)).toMatchObject({ end: 'COMPLETED' });
    expect(nextStep({ spec: spec(), counts: counts({ completed: 1, running: 3 }), created: 4, best: { number: 0, value: 0.85 } }, false)).toEqual({ launch: 1, canStartNew: true });
  });
  it('completes an exhausted search space once its trials are done', () => {
    expect(nextStep({ spec: spec(), counts: counts({ completed: 4 }), created: 4, best: { number: 0, value: 0.5 } }, true)).toEqual({ end: 'COMPLETED', reason: 'search space exhausted after 4 trials' });
  });
});
