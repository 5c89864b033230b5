/**
 * An early-stopping decision costs the same number of Redis commands whatever the study's size
 * (the reference path read every unfinished trial: 2N + 11 commands per metric batch). Commands
 * are counted at the client, so the shared test Redis does not disturb the count.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StudyCurves } from '../../coordinator/runner/study-curves.js';
import { StoppingDecider } from '../../coordinator/stopping/decider.js';
import { createStoppingRule } from '../../coordinator/stopping/registry.js';
import { RedisStudyStore } from '../../coordinator/store/study-store.js';
import { validateStudy } from '../../coordinator/study-validation.js';
import { redisUrl, uniquePrefix } from '../helpers/env.js';

let redis: Redis;
let store: RedisStudyStore;
let sent = 0;
beforeAll(() => {
  redis = new Redis(redisUrl());
  const send = redis.sendCommand.bind(redis);
  (redis as unknown as { sendCommand: typeof send }).sendCommand = (...a: Parameters<typeof send>) => { sent++; return send(...a); };
  store = new RedisStudyStore(redis, uniquePrefix('stopcost'));
});
afterAll(() => redis.disconnect());

const counted = async (f: () => Promise<unknown>): Promise<number> => {
  const before = sent;
  await f();
  return sent - before;
};

/** A study with `peers` trials with full curves (a third COMPLETED, the rest RUNNING); the cost of deciding on one more trial's batch. */
async function costAt(peers: number, es: { rule: string; settings: Record<string, unknown> }) {
  const spec = validateStudy({
    name: 'cost', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } },
    parallelism: 4, maxTrials: peers + 10, earlyStopping: es, trial: { command: ['true'] },
  });
  const study = await store.createStudy(spec);
  const rule = createStoppingRule(spec.earlyStopping!);
  const decider = new StoppingDecider(store);
  const legacy = new StudyCurves(store);
  const addTrial = async (n: number, steps: number) => {
    expect(await store.createTrial(study.id, n, { x: n }, spec.maxTrials)).toBe(1);
    await store.startAttempt(study.id, n, 'w', 0, '', 3);
    await store.appendMetrics(study.id, n, 1, 1, 'loss', Array.from({ length: steps }, (_, i) => ({ name: 'loss', step: i + 1, value: ((n * 7919) % 101) / 100 + 1 / (i + 1), timeMs: Date.now() })), 1_000_000);
  };
  for (let n = 0; n < peers; n++) {
    await addTrial(n, 9);
    await decider.report(study, rule, n, false);
    if (n % 3 === 0) await store.finishTrial(study.id, n, 1, 'COMPLETED', { direction: 'minimize', reason: '', maxRetries: 3 });
  }
  // Warm both paths (the median index syncs the completed trials; the reference reads every curve once).
  await addTrial(peers, 4);
  await decider.report(study, rule, peers);
  await legacy.views(study.id, peers + 1, 'minimize');
  await addTrial(peers + 1, 4);
  const indexed = await counted(() => decider.report(study, rule, peers + 1));
  const reference = await counted(() => legacy.views(study.id, peers + 2, 'minimize'));
  return { indexed, reference };
}

describe('early-stopping decision cost', () => {
  for (const es of [
    { rule: 'asha', settings: { reductionFactor: 3, minResource: 1, maxResource: 9, mode: 'prune' } },
    { rule: 'asha', settings: { reductionFactor: 3, minResource: 1, maxResource: 9 } },
    { rule: 'median', settings: { minTrialsRequired: 3, startStep: 4 } },
  ]) {
    it(`does not grow with the number of trials: ${es.rule} ${String(es.settings.mode ?? '')}`, async () => {
      const small = await costAt(20, es);
      const large = await costAt(200, es);
      expect(large.indexed).toBe(small.indexed);
      expect(small.indexed).toBeLessThanOrEqual(10);
      // The reference reader re-reads every unfinished trial: the counter sees that growth.
      expect(large.reference).toBeGreaterThan(small.reference + 200);
    }, 60_000);
  }
});
