/**
 * Reconcile at scale (issue 9 item 14), against the real store, queue and runner: each study on
 * its own, interrupted wind-downs finished, caches of studies held elsewhere dropped, leases
 * renewed together, and promotions fenced by the lease.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TrialQueue } from '../../coordinator/queue/trial-queue.js';
import { StudyRunner } from '../../coordinator/runner/study-runner.js';
import { TrialCommands } from '../../coordinator/runner/trial-commands.js';
import { InlineSuggestionService } from '../../coordinator/search/suggest.js';
import { RedisStudyStore } from '../../coordinator/store/study-store.js';
import { validateStudy } from '../../coordinator/study-validation.js';
import { keys } from '../../shared/redis-keys.js';
import { quietLog, redisUrl, uniquePrefix } from '../helpers/env.js';

const spec = (over: Record<string, unknown> = {}) => validateStudy({
  name: 'rec', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } },
  parallelism: 2, maxTrials: 6, trial: { command: ['true'] }, ...over,
});
const ASHA = { earlyStopping: { rule: 'asha', settings: { reductionFactor: 3, minResource: 1, maxResource: 9 } } };

let redis: Redis;
let prefix: string;
let store: RedisStudyStore;
let queue: TrialQueue;
const runners: StudyRunner[] = [];
function runner(id = 'replica-a', commands = new TrialCommands()): StudyRunner {
  const r = new StudyRunner({ store, queue, suggestions: new InlineSuggestionService(), commands, log: quietLog(), coordinatorId: id });
  runners.push(r);
  return r;
}

beforeAll(() => {
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
});
afterEach(async () => {
  for (const r of runners.splice(0)) await r.close();
  await queue?.close();
});
afterAll(() => redis.disconnect());

const fresh = () => {
  prefix = uniquePrefix('reconcile');
  store = new RedisStudyStore(redis, prefix);
  queue = new TrialQueue(redis, prefix);
};

/** Trial `n` of the study, QUEUED; RUNNING after a start; PAUSED after a pause decision and its finish. */
async function trialIn(studyId: string, n: number, state: 'QUEUED' | 'RUNNING' | 'PAUSED'): Promise<void> {
  expect(await store.createTrial(studyId, n, { x: n / 10 }, 100)).toBe(1);
  if (state === 'QUEUED') return;
  expect((await store.startAttempt(studyId, n, 'w', 0, '', 3)).attempt).toBe(1);
  await store.setTrialJob(studyId, n, `job-${n}`);
  if (state === 'RUNNING') return;
  expect(await store.recordDecision(studyId, n, 1, 'PAUSED', 'rung 0')).toBe(true);
  expect((await store.finishTrial(studyId, n, 1, 'COMPLETED', { direction: 'minimize', reason: '', maxRetries: 3 })).state).toBe('PAUSED');
}

describe('reconcile', () => {
  it('handles each study on its own: one corrupt study record does not keep the 19 others from being leased and filled', async () => {
    fresh();
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await store.createStudy(spec())).id);
    // Corrupt the study reconcile meets first, so the old all-or-nothing pass stopped at once.
    const first = (await store.activeStudyIds())[0]!;
    await redis.hset(keys.study(prefix, first), 'spec', '{not json');
    const r = runner();
    await r.reconcile();
    await r.idle();
    const healthy = ids.filter((id) => id !== first);
    const owners = await Promise.all(healthy.map((id) => redis.get(keys.lease(prefix, id))));
    expect(owners).toEqual(healthy.map(() => 'replica-a'));
    for (const id of healthy) expect((await store.getStudy(id))!.created).toBe(2);
  });

  it('finishes the wind-down of a study that ended without it: queued cancelled, running stopped, paused pruned, then out of the indexes', async () => {
    fresh();
    const study = await store.createStudy(spec(ASHA));
    await trialIn(study.id, 0, 'QUEUED');
    await trialIn(study.id, 1, 'RUNNING');
    await trialIn(study.id, 2, 'PAUSED');
    await store.endStudy(study.id, 'COMPLETED', 'maxTrials (6) reached'); // ...and the process died here
    const commands = new TrialCommands();
    const stops: string[] = [];
    commands.register(`${study.id}.1`, (action) => stops.push(action));
    const r = runner('replica-a', commands);
    await r.reconcile();
    const states = (await store.getTrials(study.id, [0, 1, 2])).map((t) => t.state);
    expect(states).toEqual(['CANCELLED', 'RUNNING', 'PRUNED']);
    expect(stops).toEqual(['ACTION_STOP']);
    // Still tracked while a trial runs, so a lost worker there would still be recovered.
    expect(await store.endingStudyIds()).toContain(study.id);
    await store.finishTrial(study.id, 1, 1, 'CANCELLED', { direction: 'minimize', reason: 'stopped', maxRetries: 3 });
    await r.reconcile();
    expect(await store.endingStudyIds()).not.toContain(study.id);
    expect(await store.activeStudyIds()).not.toContain(study.id);
    expect((await store.getStudy(study.id))!.counts).toMatchObject({ queued: 0, running: 0, paused: 0, cancelled: 2, pruned: 1 });
  });

  it('finishes a study left COMPLETED in the active set (ended, not yet removed) instead of re-queueing its trials', async () => {
    fresh();
    const study = await store.createStudy(spec(ASHA));
    await trialIn(study.id, 0, 'QUEUED');
    await trialIn(study.id, 1, 'PAUSED');
    await redis.hset(keys.study(prefix, study.id), 'state', 'COMPLETED', 'reason', 'goal reached');
    const r = runner();
    await r.reconcile();
    expect((await store.getTrials(study.id, [0, 1])).map((t) => t.state)).toEqual(['CANCELLED', 'PRUNED']);
    expect(await store.activeStudyIds()).not.toContain(study.id);
    expect(await queue.isLive(0, `${study.id}.0-r0`)).toBe(false);
  });

  it('drops the caches of a study once another replica holds it', async () => {
    fresh();
    const study = await store.createStudy(spec(ASHA));
    const r = runner();
    await r.reconcile();
    await r.idle();
    expect(r.cachedStudyIds()).toContain(study.id);
    // Another replica took the study over (this one's lease lapsed).
    await redis.set(keys.lease(prefix, study.id), 'replica-b', 'PX', 60_000);
    await r.reconcile();
    expect(r.cachedStudyIds()).not.toContain(study.id);
  });

  it('takes and renews many leases in one pipeline, answering per study', async () => {
    fresh();
    const ids = ['s1aaa', 's2aaa', 's3aaa'];
    await redis.set(keys.lease(prefix, 's2aaa'), 'replica-b', 'PX', 60_000);
    expect(await store.acquireLeases(ids, 'replica-a', 10_000)).toEqual([true, false, true]);
    expect(await store.acquireLeases(ids, 'replica-a', 10_000)).toEqual([true, false, true]);
    expect(await redis.pttl(keys.lease(prefix, 's1aaa'))).toBeGreaterThan(5_000);
  });

  it('promotes a paused trial only for the lease holder (the lease is the fencing token)', async () => {
    fresh();
    const study = await store.createStudy(spec(ASHA));
    await trialIn(study.id, 0, 'PAUSED');
    expect(await store.acquireLease(study.id, 'replica-a', 10_000)).toBe(true);
    expect(await store.resumeTrial(study.id, 0, 3, 'replica-b')).toBe('not-lease-holder');
    expect((await store.getTrial(study.id, 0))!.state).toBe('PAUSED');
    expect(await store.resumeTrial(study.id, 0, 3, 'replica-a')).toBe('resumed');
    expect((await store.getTrial(study.id, 0))!).toMatchObject({ state: 'QUEUED', budget: 3 });
  });
});
