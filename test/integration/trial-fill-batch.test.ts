/**
 * The fill's fast path against the real store and queue: a study's free slots get their trials
 * in one batch (each trial created once, numbered in order, its job added and recorded), a
 * re-add is a no-op, and the project is scored in queuedProjects at most once a second.
 */
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrialQueue } from '../../coordinator/queue/trial-queue.js';
import { StudyRunner } from '../../coordinator/runner/study-runner.js';
import { TrialCommands } from '../../coordinator/runner/trial-commands.js';
import { InlineSuggestionService, type SuggestionService } from '../../coordinator/search/suggest.js';
import { RedisStudyStore } from '../../coordinator/store/study-store.js';
import { validateStudy } from '../../coordinator/study-validation.js';
import { keys } from '../../shared/redis-keys.js';
import { queuePrefix, trialQueueName } from '../../shared/trial-job.js';
import { quietLog, redisUrl, uniquePrefix } from '../helpers/env.js';

let redis: Redis;
beforeAll(() => { redis = new Redis(redisUrl(), { maxRetriesPerRequest: null }); });
afterAll(() => redis.disconnect());

describe('filling a study in batches', () => {
  it('creates one trial per free slot at once, each with its job, numbered in order and suggested with the earlier ones pending', async () => {
    const prefix = uniquePrefix('fill-batch');
    const store = new RedisStudyStore(redis, prefix);
    const queue = new TrialQueue(redis, prefix);
    // What each suggestion was given as pending, by trial number.
    const seen: Array<[number, number]> = [];
    const inline = new InlineSuggestionService();
    const suggestions: SuggestionService = { close: () => inline.close(), suggest: (req) => { seen.push([req.trialNumber, req.pending.length]); return inline.suggest(req); } };
    const runner = new StudyRunner({ store, queue, suggestions, commands: new TrialCommands(), log: quietLog(), coordinatorId: 'r' });
    const jobs = new Queue(trialQueueName('default', 0), { connection: redis, prefix: queuePrefix(prefix) });
    try {
      // A grid of 5 points: 5 distinct trials only if every suggestion saw the earlier ones pending.
      const study = await store.createStudy(validateStudy({
        name: 'batch', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'int', min: 0, max: 4 } },
        algorithm: { name: 'grid' }, parallelism: 8, maxTrials: 20, trial: { command: ['true'] },
      }));
      await store.acquireLease(study.id, 'r', 10_000);
      runner.kick(study.id);
      await runner.idle();
      const after = await store.getStudy(study.id);
      expect([after?.created, after?.counts.queued]).toEqual([5, 5]);
      const trials = await store.getTrials(study.id, [0, 1, 2, 3, 4]);
      expect(new Set(trials.map((t) => t.params.x)).size).toBe(5);
      expect(seen.slice(0, 5)).toEqual([[0, 0], [1, 1], [2, 2], [3, 3], [4, 4]]);
      expect(trials.map((t) => t.jobId)).toEqual(trials.map((t) => `${t.id}-r0`));
      expect((await jobs.getJobCounts('waiting')).waiting).toBe(5);
      expect((await jobs.getJob(`${trials[2]!.id}-r0`))?.data).toMatchObject({ trialId: trials[2]!.id, number: 2, params: trials[2]!.params });
      // A re-add of the same jobs (a restart's reconcile) adds nothing.
      await queue.enqueueMany(trials.map((t) => ({ job: runner.jobFor(study, t.number, t.params), attempt: 0 })));
      expect((await jobs.getJobCounts('waiting')).waiting).toBe(5);
    } finally {
      await runner.close();
      await jobs.close();
      await queue.close();
    }
  });

  it('scores a project in queuedProjects at most once a second per replica', async () => {
    const prefix = uniquePrefix('fill-announce');
    const queue = new TrialQueue(redis, prefix);
    try {
      const job = (n: number) => ({ job: { studyId: 's1', trialId: `s1.${n}`, number: n, params: {}, gpus: 0, project: 'p1' }, attempt: 0 });
      await queue.enqueueMany([job(0), job(1)]);
      const first = await redis.zscore(keys.queuedProjects(prefix), 'p1');
      expect(first).not.toBeNull();
      await queue.enqueue(job(2).job, 0);
      expect(await redis.zscore(keys.queuedProjects(prefix), 'p1')).toBe(first);
      await new Promise((r) => setTimeout(r, 1100));
      await queue.enqueue(job(3).job, 0);
      expect(Number(await redis.zscore(keys.queuedProjects(prefix), 'p1'))).toBeGreaterThan(Number(first));
    } finally {
      await queue.close();
    }
  });
});
