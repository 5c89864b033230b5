/**
 * Median stopping (Vizier; Katib's "medianstop"): at the trial's latest report, step S, prune it
 * when its value so far is strictly worse than the median of the running averages of the
 * COMPLETED trials' losses up to S.
 *
 * - The trial's value is its best loss so far (`trialValue: "best"`, Vizier and Katib) or the
 *   mean of its losses so far (`"runningAverage"`, fairer to noisy curves).
 * - A completed peer counts when it has at least one report at a step <= S; its running average
 *   is the mean of those reports. Peers that stopped before S count with all their reports, as
 *   in Vizier. Only COMPLETED peers count: pruned curves would drag the median down and prune less.
 * - Nothing is pruned until `minTrialsRequired` peers count (Katib `min_trials_required`,
 *   default 3) and the trial has made `startStep` reports (Katib `start_step`, default 4:
 *   like Katib, a number of reports, not a step value).
 */
import { SettingsReader } from '../search/settings.js';
import { asLoss, fmt, lossesUpTo, mean, median } from './curve.js';
import { SETTINGS_PREFIX, type Decision, type StoppingRuleFactory } from './rule.js';

const TRIAL_VALUES = ['best', 'runningAverage'] as const;
/** Katib's snake_case names are accepted so a Katib experiment's settings can be pasted as-is. */
const KATIB_ALIASES = { minTrialsRequired: 'min_trials_required', startStep: 'start_step' } as const;

function read(settings: Record<string, unknown>) {
  const r = new SettingsReader(settings, SETTINGS_PREFIX);
  /** The name the user wrote, so errors point at it. */
  const key = (name: keyof typeof KATIB_ALIASES): string => {
    const alias = KATIB_ALIASES[name];
    if (settings[alias] === undefined) return name;
    if (settings[name] === undefined) return alias;
    r.errors.push({ field: `${SETTINGS_PREFIX}.${alias}`, reason: `is the Katib name of ${name}; give only one of them` });
    return name;
  };
  const minTrialsRequired = r.number(key('minTrialsRequired'), 3, { min: 1, int: true });
  const startStep = r.number(key('startStep'), 4, { min: 1, int: true });
  const trialValue = r.oneOf('trialValue', 'best', TRIAL_VALUES);
  return { r, minTrialsRequired, startStep, trialValue };
}

export interface MedianConfig { minTrialsRequired: number; startStep: number; trialValue: (typeof TRIAL_VALUES)[number] }

/**
 * The decision at a report, from the trial's own value so far and the median `m` of the
 * `peers` completed trials' running averages at that report's step (the one formula both the
 * reference `decide` and the indexed decider use).
 */
export function medianDecision(cfg: MedianConfig, value: number, step: number, peers: number, m: number): Decision {
  if (peers < cfg.minTrialsRequired || !(value > m)) return { action: 'continue' };
  const what = cfg.trialValue === 'best' ? 'best loss' : 'running average loss';
  return { action: 'prune', reason: `${what} ${fmt(value)} at step ${step} is worse than the median ${fmt(m)} of ${peers} completed trials' running averages up to that step` };
}

export const medianRule: StoppingRuleFactory = {
  name: 'median',
  description: 'Prunes a trial whose best loss so far is worse than the median of completed trials\' running averages at the same step (Vizier / Katib medianstop).',
  validate(settings) {
    const { r } = read(settings);
    return r.onlyKnown(['minTrialsRequired', 'startStep', 'trialValue', ...Object.values(KATIB_ALIASES)]);
  },
  create(settings) {
    const { minTrialsRequired, startStep, trialValue } = read(settings);
    const cfg: MedianConfig = { minTrialsRequired, startStep, trialValue };
    return {
      needsPeers: 'completedAverages',
      median: cfg,
      decide(trial, peers) {
        const curve = trial.intermediate;
        const last = curve.at(-1);
        if (!last || curve.length < startStep) return { action: 'continue' };
        const step = last.step;
        const averages: number[] = [];
        for (const p of peers) {
          if (p.number === trial.number || p.state !== 'COMPLETED') continue;
          const losses = lossesUpTo(p.intermediate, step);
          if (losses.length > 0) averages.push(mean(losses));
        }
        if (averages.length < minTrialsRequired) return { action: 'continue' };
        const own = curve.map((p) => asLoss(p.value));
        const value = trialValue === 'best' ? own.reduce((a, b) => Math.min(a, b), Infinity) : mean(own);
        return medianDecision(cfg, value, step, averages.length, median(averages));
      },
    };
  },
};
