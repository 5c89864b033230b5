/**
 * The indexed decider (coordinator/stopping/decider.ts, O(log n) per decision from Redis
 * indexes) decides exactly what the rules' reference code decides from every curve (StudyCurves
 * + rule.decide / rule.nextWork, the coordinator's path before the indexes), on random studies
 * played through the real store: random curves with ties, skipped and repeated steps, pauses,
 * promotions that resume a curve, prunes and completions, both directions.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StudyCurves } from '../../coordinator/runner/study-curves.js';
import { StoppingDecider } from '../../coordinator/stopping/decider.js';
import { createStoppingRule } from '../../coordinator/stopping/registry.js';
import type { Decision } from '../../coordinator/stopping/rule.js';
import { RedisStudyStore } from '../../coordinator/store/study-store.js';
import { validateStudy } from '../../coordinator/study-validation.js';
import { createRng, type Rng } from '../../shared/rng.js';
import { redisUrl, uniquePrefix } from '../helpers/env.js';

const RULES: Array<{ rule: string; settings: Record<string, unknown> }> = [
  { rule: 'median', settings: { minTrialsRequired: 3, startStep: 3 } },
  { rule: 'median', settings: { minTrialsRequired: 2, startStep: 2, trialValue: 'runningAverage' } },
  { rule: 'asha', settings: { reductionFactor: 3, minResource: 1, maxResource: 9 } },
  { rule: 'asha', settings: { reductionFactor: 2, minResource: 1, maxResource: 9, mode: 'prune' } },
  { rule: 'asha', settings: { reductionFactor: 2, minResource: 1, maxResource: 9, brackets: 2 } },
  { rule: 'hyperband', settings: { reductionFactor: 3, minResource: 1, maxResource: 9 } },
  { rule: 'hyperband', settings: { reductionFactor: 2, minResource: 1, maxResource: 9, mode: 'prune', bracketAssignment: 'roundRobin' } },
];

/** A curve's reports after `from`: mostly step by step, sometimes skipping or repeating a step; values rounded so ties happen. */
function moreReports(rng: Rng, quality: number, from: number, max: number): Array<{ step: number; value: number }> {
  const out: Array<{ step: number; value: number }> = [];
  let step = from;
  const n = 1 + rng.int(4);
  for (let i = 0; i < n && step < max; i++) {
    const r = rng.next();
    step = r < 0.1 ? step : r < 0.25 ? Math.min(max, step + 2 + rng.int(3)) : step + 1;
    if (step === 0) step = 1;
    out.push({ step, value: Math.round((quality + 1 / step + rng.next() * 0.3) * 10) / 10 });
  }
  return out;
}

interface Sim { quality: number; lastStep: number; attempt: number; budget: number }

async function play(store: RedisStudyStore, seed: number, es: { rule: string; settings: Record<string, unknown> }, direction: 'minimize' | 'maximize') {
  const rng = createRng(seed);
  const maxTrials = 24;
  const spec = validateStudy({
    name: 'eq', objective: { metric: 'loss', direction }, searchSpace: { x: { type: 'float', min: 0, max: 1 } },
    parallelism: 4, maxTrials, maxRetries: 3, earlyStopping: es, trial: { command: ['true'] },
  });
  const study = await store.createStudy(spec);
  await store.acquireLease(study.id, 'me', 60_000);
  const rule = createStoppingRule(spec.earlyStopping!);
  const legacy = new StudyCurves(store);
  const decider = new StoppingDecider(store);
  const sims = new Map<number, Sim>();
  const compared = { decisions: 0, stops: 0, nextWork: 0, promotions: 0 };
  const start = async (n: number, budget: number) => {
    const s = sims.get(n)!;
    s.budget = budget;
    const r = await store.startAttempt(study.id, n, 'w', 0, '', 3);
    s.attempt = r.attempt;
    expect(r.attempt).toBeGreaterThan(0);
  };
  const legacyDecide = async (n: number, newReports: number): Promise<Decision> => {
    const s = (await store.getStudy(study.id))!;
    const views = await legacy.views(study.id, s.created, direction);
    const me = views.find((v) => v.number === n)!;
    for (let k = me.intermediate.length - newReports + 1; k <= me.intermediate.length; k++) {
      const d = rule.decide({ ...me, state: 'RUNNING', intermediate: me.intermediate.slice(0, k) }, views);
      if (d.action !== 'continue') return d;
    }
    return { action: 'continue' };
  };
  const fillOnce = async (): Promise<boolean> => {
    const s = (await store.getStudy(study.id))!;
    if (s.counts.queued + s.counts.running >= spec.parallelism) return false;
    const canStartNew = s.created < maxTrials;
    let budget = Infinity;
    if (rule.nextWork) {
      const views = await legacy.views(study.id, s.created, direction);
      const want = rule.nextWork({ trials: views, nextTrialNumber: s.created, canStartNew });
      const got = await decider.nextWork(study, rule, { nextTrialNumber: s.created, canStartNew });
      expect(got).toEqual(want);
      compared.nextWork++;
      if (want.kind === 'none') return false;
      if (want.kind === 'promote') {
        expect(await store.resumeTrial(study.id, want.trialNumber, want.budget, 'me')).toBe('resumed');
        await start(want.trialNumber, want.budget);
        compared.promotions++;
        return true;
      }
      budget = want.budget;
    }
    if (!canStartNew) return false;
    expect(await store.createTrial(study.id, s.created, { x: rng.next() }, maxTrials)).toBe(1);
    sims.set(s.created, { quality: rng.next(), lastStep: 0, attempt: 0, budget });
    await start(s.created, budget);
    return true;
  };

  for (let guard = 0; guard < 2000; guard++) {
    while (await fillOnce()) { /* fill every free slot */ }
    const running = (await store.pendingNumbers(study.id)).filter((n) => sims.get(n)!.attempt > 0);
    const live = (await store.getTrials(study.id, running)).filter((t) => t.state === 'RUNNING');
    if (live.length === 0) break;
    const t = live[rng.int(live.length)]!;
    const sim = sims.get(t.number)!;
    // Programs may overshoot their budget before they stop (a batch past the rung).
    const reports = moreReports(rng, sim.quality, sim.lastStep, Math.min(sim.budget + (rng.next() < 0.3 ? 3 : 0), 9));
    const finishAs = async (outcome: 'COMPLETED' | 'PRUNED' | 'PAUSED') => {
      const r = await store.finishTrial(study.id, t.number, sim.attempt, outcome, { direction, reason: '', maxRetries: 3 });
      expect(r.applied).toBe(true);
    };
    if (reports.length === 0) { await finishAs('COMPLETED'); continue; }
    const raw = reports.map((p) => ({ name: 'loss', step: p.step, value: direction === 'maximize' ? -p.value : p.value, timeMs: Date.now() }));
    expect(await store.appendMetrics(study.id, t.number, sim.attempt, 0, 'loss', raw, 1_000_000)).toMatchObject({ status: 1 });
    sim.lastStep = Math.max(sim.lastStep, ...reports.map((p) => p.step));
    const want = await legacyDecide(t.number, reports.length);
    const got = await decider.report(study, rule, t.number);
    compared.decisions++;
    const { member: _member, ...plain } = got as Decision & { member?: string };
    expect(plain, `trial ${t.number} after steps ${reports.map((p) => p.step).join(',')}`).toEqual(want);
    if (got.action !== 'continue') {
      compared.stops++;
      expect(await decider.record(study, t.number, sim.attempt, got)).toBe(true);
      // Sometimes the program reports once more before the command reaches it: indexed, not decided.
      const late = rng.next() < 0.4 ? moreReports(rng, sim.quality, sim.lastStep, 9) : [];
      if (late.length > 0) {
        const rows = late.map((p) => ({ name: 'loss', step: p.step, value: direction === 'maximize' ? -p.value : p.value, timeMs: Date.now() }));
        expect(await store.appendMetrics(study.id, t.number, sim.attempt, 0, 'loss', rows, 1_000_000)).toMatchObject({ status: 1 });
        sim.lastStep = Math.max(sim.lastStep, ...late.map((p) => p.step));
        expect(await decider.report(study, rule, t.number, false)).toEqual({ action: 'continue' });
      }
      await finishAs(got.action === 'prune' ? 'PRUNED' : 'PAUSED');
    } else if (sim.lastStep >= Math.min(sim.budget, 9) && rng.next() < 0.7) {
      await finishAs('COMPLETED');
    }
  }
  return compared;
}

describe('indexed early-stopping decisions equal the reference decisions', () => {
  let redis: Redis;
  let store: RedisStudyStore;
  beforeAll(() => {
    redis = new Redis(redisUrl());
    store = new RedisStudyStore(redis, uniquePrefix('stopeq'));
  });
  afterAll(() => redis.disconnect());

  for (const [i, es] of RULES.entries()) {
    it(`${es.rule} ${JSON.stringify(es.settings)}`, async () => {
      const total = { decisions: 0, stops: 0, nextWork: 0, promotions: 0 };
      for (let seed = 1; seed <= 6; seed++) {
        const c = await play(store, 1000 * i + seed, es, seed % 2 === 0 ? 'maximize' : 'minimize');
        for (const k of Object.keys(total) as Array<keyof typeof total>) total[k] += c[k];
      }
      // The comparison must have exercised the rule: decisions that stopped trials, and promotions in pause mode.
      expect(total.decisions).toBeGreaterThan(100);
      expect(total.stops).toBeGreaterThan(5);
      if (rule(es).halving?.mode === 'pause') expect(total.promotions).toBeGreaterThan(3);
    }, 60_000);
  }
});

const rule = (es: { rule: string; settings: Record<string, unknown> }) => createStoppingRule(es);
