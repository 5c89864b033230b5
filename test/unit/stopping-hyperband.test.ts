import { describe, expect, it } from 'vitest';
import type { TrialState } from '../../shared/trial.js';
import { hyperbandShares } from '../../coordinator/stopping/brackets.js';
import { hyperbandRule } from '../../coordinator/stopping/hyperband.js';
import type { NextWork, StoppingRule, StoppingTrialView } from '../../coordinator/stopping/rule.js';

function trial(number: number, state: TrialState, curve: Array<[number, number]>): StoppingTrialView {
  return Object.freeze({ number, state, intermediate: Object.freeze(curve.map(([step, value]) => Object.freeze({ step, value }))) });
}
// r = 1, η = 3, R = 27: base rungs 1, 3, 9, so brackets start at 1, 3, 9 and (no rung) 27.
const hyperband = (settings: Record<string, unknown> = {}): StoppingRule => hyperbandRule.create({ maxResource: 27, ...settings });
const work = (rule: StoppingRule, trials: StoppingTrialView[], nextTrialNumber = 1000): NextWork =>
  rule.nextWork!({ trials, nextTrialNumber, canStartNew: true });
const newWork = (rule: StoppingRule, n: number) => work(rule, [], n) as Extract<NextWork, { kind: 'new' }>;
/** The first `count` trial numbers the rule deals to `bracket`, read through its public nextWork. */
function numbersIn(rule: StoppingRule, bracket: number, count: number): number[] {
  const out: number[] = [];
  for (let n = 0; out.length < count; n++) if (newWork(rule, n).bracket === bracket) out.push(n);
  return out;
}

describe('hyperband brackets', () => {
  it('has one bracket per base rung plus one without rungs, starting trials at r·η^b', () => {
    const rule = hyperband({ bracketAssignment: 'roundRobin' });
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((n) => newWork(rule, n).budget)).toEqual([1, 3, 9, 27, 1, 3, 9, 27]);
    expect([0, 1, 2, 3].map((n) => newWork(rule, n).bracket)).toEqual([0, 1, 2, 3]);
  });

  it('deals trials in Hyperband proportions η^s/(s+1), interleaved from the start', () => {
    const shares = hyperbandShares(4, 3, 3);
    [6.75, 3, 1.5, 1].forEach((w, b) => expect(shares[b]).toBeCloseTo(w / 12.25, 12));
    const rule = hyperband();
    const counts = [0, 0, 0, 0];
    const N = 20_000;
    for (let n = 0; n < N; n++) counts[newWork(rule, n).bracket]!++;
    counts.forEach((c, b) => expect(Math.abs(c / N - shares[b]!)).toBeLessThan(0.005));
    expect(new Set([...Array(10).keys()].map((n) => newWork(rule, n).bracket))).toEqual(new Set([0, 1, 2, 3]));
    expect(newWork(rule, 12345)).toEqual(newWork(hyperband(), 12345));
  });

  it('uses only the most aggressive brackets when fewer are asked for', () => {
    const rule = hyperband({ brackets: 2 });
    const budgets = new Set([...Array(50).keys()].map((n) => newWork(rule, n).budget));
    expect(budgets).toEqual(new Set([1, 3]));
  });
});

describe('hyperband, pause mode', () => {
  const rule = hyperband();
  const [b1] = numbersIn(rule, 1, 1);
  const [b3] = numbersIn(rule, 3, 1);

  it('pauses a trial at its own bracket\'s rungs only', () => {
    expect(rule.decide(trial(b1!, 'RUNNING', [[1, 0.5]]), [])).toEqual({ action: 'continue' });
    expect(rule.decide(trial(b1!, 'RUNNING', [[1, 0.5], [3, 0.4]]), [])).toMatchObject({ action: 'pause', rung: 0, resumeBudget: 9 });
    expect(rule.decide(trial(b1!, 'RUNNING', [[3, 0.4], [9, 0.3]]), [])).toMatchObject({ action: 'pause', rung: 1, resumeBudget: 27 });
  });

  it('never stops a trial of the bracket without rungs', () => {
    for (const step of [1, 3, 9, 27]) expect(rule.decide(trial(b3!, 'RUNNING', [[step, 0.9]]), [])).toEqual({ action: 'continue' });
  });

  it('promotes the best third within a bracket', () => {
    const nums = numbersIn(rule, 1, 6);
    const losses = [0.6, 0.2, 0.5, 0.1, 0.4, 0.3];
    const trials = nums.map((n, i) => trial(n, 'PAUSED', [[3, losses[i]!]]));
    expect(work(rule, trials)).toEqual({ kind: 'promote', trialNumber: nums[3], budget: 9, bracket: 1, fromRung: 0 });
    const after = trials.map((t) => (t.number === nums[3] ? trial(t.number, 'RUNNING', [[3, 0.1]]) : t));
    expect(work(rule, after)).toMatchObject({ kind: 'promote', trialNumber: nums[1] });
    const done = after.map((t) => (t.number === nums[1] ? trial(t.number, 'RUNNING', [[3, 0.2]]) : t));
    expect(work(rule, done).kind).toBe('new');
  });

  it('promotes from the largest rung budget first, then from the lower bracket', () => {
    const waitingAt9 = (bracket: number, curve: (l: number) => Array<[number, number]>) =>
      numbersIn(rule, bracket, 3).map((n, i) => trial(n, 'PAUSED', curve(0.1 * (i + 1))));
    const b0 = waitingAt9(0, (l) => [[1, l], [3, l], [9, l]]);
    const b1At9 = waitingAt9(1, (l) => [[3, l], [9, l]]);
    const b1At3 = numbersIn(rule, 1, 6).slice(3).map((n) => trial(n, 'PAUSED', [[3, 0.01]]));
    // Bracket 1's rung 3 has six trials (quota 2) with three fresh ones on top, but rung 9 ranks first.
    expect(work(rule, [...b1At3, ...b1At9, ...b0])).toMatchObject({ kind: 'promote', trialNumber: b0[0]!.number, budget: 27, bracket: 0, fromRung: 2 });
    expect(work(rule, [...b1At3, ...b1At9])).toMatchObject({ kind: 'promote', trialNumber: b1At9[0]!.number, budget: 27, bracket: 1, fromRung: 1 });
    // Alone, the three tied trials at rung 3 promote one, the lowest-numbered.
    expect(work(rule, b1At3)).toEqual({ kind: 'promote', trialNumber: b1At3[0]!.number, budget: 9, bracket: 1, fromRung: 0 });
  });
});

describe('hyperband, prune mode', () => {
  it('judges a trial against its own bracket at its own rungs', () => {
    const rule = hyperband({ mode: 'prune' });
    const nums = numbersIn(rule, 1, 6);
    const peers = nums.slice(0, 5).map((n, i) => trial(n, 'COMPLETED', [[1, 9], [3, 0.1 * (i + 1)], [9, 0.1], [27, 0.1]]));
    // Six at step 3: quota 2. Bracket-0 trials with better values at step 3 must not count.
    const others = numbersIn(rule, 0, 5).map((n) => trial(n, 'COMPLETED', [[1, 0.01], [3, 0.01]]));
    expect(rule.decide(trial(nums[5]!, 'RUNNING', [[1, 9], [3, 0.15]]), [...peers, ...others])).toEqual({ action: 'continue' });
    expect(rule.decide(trial(nums[5]!, 'RUNNING', [[1, 9], [3, 0.25]]), [...peers, ...others]).action).toBe('prune');
    expect(rule.decide(trial(nums[5]!, 'RUNNING', [[1, 9]]), [...peers, ...others])).toEqual({ action: 'continue' });
    expect(work(rule, peers, nums[5]!)).toEqual({ kind: 'new', budget: 27, bracket: 1 });
  });
});

describe('hyperband settings', () => {
  const fields = (s: Record<string, unknown>) => hyperbandRule.validate(s).map((e) => e.field);
  it('accepts valid settings', () => {
    expect(fields({ maxResource: 27 })).toEqual([]);
    expect(fields({ maxResource: 27, brackets: 4, bracketAssignment: 'roundRobin', mode: 'prune', reductionFactor: 3, minResource: 1 })).toEqual([]);
  });
  it('reports each bad setting with its path', () => {
    expect(fields({ maxResource: 27, brackets: 5 })).toEqual(['earlyStopping.settings.brackets']);
    expect(fields({ maxResource: 27, brackets: 0 })).toEqual(['earlyStopping.settings.brackets']);
    expect(fields({ maxResource: 27, bracketAssignment: 'random' })).toEqual(['earlyStopping.settings.bracketAssignment']);
    expect(fields({ minResource: 1 })).toEqual(['earlyStopping.settings.maxResource']);
    expect(fields({ maxResource: 27, grace: 1 })).toEqual(['earlyStopping.settings.grace']);
  });
});
