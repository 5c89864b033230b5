/**
 * Every early-stopping rule of the registry through one suite: pure (the same inputs give the
 * same decision, from one instance or a fresh one), inputs never mutated (deep-frozen), no
 * pruning on too little data, no decision on a trial without intermediate values, the trial
 * itself among its peers changes nothing, settings validated field by field. Multi-fidelity
 * rules' `nextWork` meets the same bar.
 */
import { describe, expect, it } from 'vitest';
import { STOPPING_RULES, validateEarlyStopping } from '../../coordinator/stopping/registry.js';
import type { StoppingRuleFactory, StoppingTrialView, WorkContext } from '../../coordinator/stopping/rule.js';
import type { TrialState } from '../../shared/trial.js';
import { deepFreeze, knownSettings } from './freeze.js';

/** Settings each rule runs the suite with (every rule must have an entry). */
const SETTINGS: Record<string, Record<string, unknown>> = {
  median: {},
  asha: { maxResource: 27, minResource: 1, reductionFactor: 3 },
  hyperband: { maxResource: 27, minResource: 1, reductionFactor: 3 },
};
/** The same rules in their other modes, so both code paths meet the contract. */
const VARIANTS: Array<[string, string, Record<string, unknown>]> = [
  ...Object.entries(SETTINGS).map(([rule, s]) => [rule, rule, s] as [string, string, Record<string, unknown>]),
  ['asha (prune mode)', 'asha', { ...SETTINGS.asha, mode: 'prune' }],
  ['hyperband (prune mode, round robin)', 'hyperband', { ...SETTINGS.hyperband, mode: 'prune', bracketAssignment: 'roundRobin' }],
  ['median (running average, 1 peer)', 'median', { trialValue: 'runningAverage', minTrialsRequired: 1, startStep: 1 }],
];

const curve = (n: number, level: number, steps = 1) => Array.from({ length: n }, (_, i) => ({ step: (i + 1) * steps, value: level + 10 / (i + 1) }));
const view = (number: number, state: TrialState, intermediate: Array<{ step: number; value: number }>): StoppingTrialView => ({ number, state, intermediate });

/** A study in progress: good and bad completed trials, running, paused and pruned ones, one diverged (NaN). */
function study(): StoppingTrialView[] {
  const out: StoppingTrialView[] = [];
  for (let i = 0; i < 30; i++) {
    const level = (i * 7) % 11;
    const state: TrialState = i % 6 === 0 ? 'RUNNING' : i % 6 === 1 ? 'PAUSED' : i % 6 === 2 ? 'PRUNED' : 'COMPLETED';
    const n = state === 'COMPLETED' ? 27 : state === 'PAUSED' ? [1, 3, 9][i % 3]! : 1 + (i % 12);
    out.push(view(i, state, curve(n, level)));
  }
  out.push(view(30, 'FAILED', [{ step: 1, value: Number.NaN }, { step: 3, value: Number.NaN }]));
  out.push(view(31, 'QUEUED', []));
  return out;
}

/** The trial being judged: the worst of the lot, at each report in turn (rungs 1, 3, 9 included). */
const candidate = (reports: number) => view(40, 'RUNNING', curve(reports, 20));

const factories = [...STOPPING_RULES.values()];
const factory = (name: string): StoppingRuleFactory => STOPPING_RULES.get(name)!;

describe.each(VARIANTS)('stopping rule %s', (_, name, settings) => {
  const make = () => factory(name).create(deepFreeze(settings));

  it('its settings are valid', () => {
    expect(factory(name).validate(deepFreeze(settings))).toEqual([]);
  });

  it('is pure: the same inputs give the same decision, from one instance or a fresh one, and nothing is mutated', () => {
    const peers = deepFreeze(study());
    const shared = make();
    const decisions = [];
    for (let n = 1; n <= 12; n++) {
      const trial = deepFreeze(candidate(n));
      const d = shared.decide(trial, peers);
      decisions.push(d);
      expect(make().decide(trial, peers), `report ${n}`).toEqual(d);
    }
    // Asked again, in reverse order: no state was kept from the calls before.
    for (let n = 12; n >= 1; n--) expect(shared.decide(deepFreeze(candidate(n)), peers)).toEqual(decisions[n - 1]);
    // The judged trial is the worst: somewhere along its curve a rule that can act does.
    expect(decisions.some((d) => d.action !== 'continue')).toBe(true);
    for (const d of decisions) if (d.action !== 'continue') expect(d.reason.length).toBeGreaterThan(10);
  });

  it('the trial itself among its peers changes nothing', () => {
    const peers = study();
    for (let n = 1; n <= 12; n++) {
      const trial = candidate(n);
      expect(make().decide(deepFreeze(trial), deepFreeze([...peers, trial]))).toEqual(make().decide(deepFreeze(trial), deepFreeze(peers)));
    }
  });

  it('never decides on a trial with no intermediate values', () => {
    for (const state of ['RUNNING', 'QUEUED'] as const) {
      expect(make().decide(deepFreeze(view(40, state, [])), deepFreeze(study()))).toEqual({ action: 'continue' });
    }
  });

  it('never prunes on too little data: alone in its study, or with only unfinished peers without reports', () => {
    const lonely = [[], [view(31, 'QUEUED', []), view(32, 'RUNNING', [])]];
    for (const peers of lonely) {
      for (let n = 1; n <= 27; n++) expect(make().decide(deepFreeze(candidate(n)), deepFreeze(peers)).action, `report ${n}`).not.toBe('prune');
    }
  });

  it('nextWork (multi-fidelity rules) is pure, leaves its inputs alone and starts the first trial', () => {
    const rule = make();
    if (!rule.nextWork) return;
    const ctx: WorkContext = deepFreeze({ trials: study(), nextTrialNumber: 32, canStartNew: true });
    const w = rule.nextWork(ctx);
    expect(make().nextWork!(ctx)).toEqual(w);
    expect(rule.nextWork(ctx)).toEqual(w);
    expect(['new', 'promote', 'none']).toContain(w.kind);
    expect(rule.nextWork(deepFreeze({ trials: [], nextTrialNumber: 0, canStartNew: true }))).toMatchObject({ kind: 'new', budget: expect.any(Number) });
    expect(rule.nextWork(deepFreeze({ trials: [], nextTrialNumber: 0, canStartNew: false }))).toEqual({ kind: 'none' });
  });
});

describe.each(factories.map((f) => [f.name, f] as const))('stopping rule %s: settings validation', (name, f) => {
  it('refuses unknown settings and bad values, naming the field', () => {
    expect(f.description.length).toBeGreaterThan(20);
    const unknown = validateEarlyStopping(deepFreeze({ rule: name, settings: { ...SETTINGS[name], noSuchSetting: 1 } }));
    expect(unknown).toContainEqual({ field: 'earlyStopping.settings.noSuchSetting', reason: expect.stringContaining('unknown setting') });
    const known = knownSettings(unknown);
    expect(known.length).toBeGreaterThan(0);
    for (const key of known) {
      for (const bad of [{}, 'many', Number.NaN, -1]) {
        const errors = f.validate(deepFreeze({ ...SETTINGS[name], [key]: bad }));
        expect(errors.map((e) => e.field), `${name}.${key} = ${JSON.stringify(bad)}`).toContain(`earlyStopping.settings.${key}`);
        for (const e of errors) expect(e.reason.length).toBeGreaterThan(5);
      }
    }
  });
});

it('the suite covers every registered rule', () => {
  expect(Object.keys(SETTINGS).sort()).toEqual(factories.map((f) => f.name).sort());
});
