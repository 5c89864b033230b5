/**
 * The StudyStore contract (coordinator/store/study-store-contract.ts) through one suite that
 * every implementation runs (today Redis, on one server and on a 3-master Redis Cluster; a
 * harness per implementation below). It pins what the rest of the coordinator relies on:
 * transitions are atomic and apply once however often or concurrently they are repeated, stale
 * attempts change nothing, metric batches are stored once and in order, and reads reflect every
 * applied transition.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalRedisCluster } from '../../cli/local-redis.js';
import { connectRedis, type RedisClient } from '../../shared/redis.js';
import { parseStudySpec, type StudySpec } from '../../shared/study-spec.js';
import { RedisStudyStore } from '../../coordinator/store/study-store.js';
import type { StudyStore } from '../../coordinator/store/study-store-contract.js';
import { redisUrl, uniquePrefix } from '../helpers/env.js';

interface Harness { name: string; make(): StudyStore }
const clients: RedisClient[] = [];
// The same store on a 3-master Redis Cluster: every script, pipeline and MULTI of the contract
// must keep to one slot or go through the helpers that split them (shared/redis.ts).
const clusterDir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-store-cluster-'));
const cluster = await startLocalRedisCluster({ dataDir: clusterDir, masters: 3 });
const HARNESSES: Harness[] = [
  {
    name: 'redis',
    make() {
      const redis = connectRedis(redisUrl(), 'store-conformance');
      clients.push(redis);
      return new RedisStudyStore(redis, uniquePrefix('store'));
    },
  },
  {
    name: 'redis cluster',
    make() {
      const redis = connectRedis(cluster.url, 'store-conformance-cluster');
      clients.push(redis);
      return new RedisStudyStore(redis, uniquePrefix('store'));
    },
  },
];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit()));
  await cluster.stop();
  rmSync(clusterDir, { recursive: true, force: true });
});

function spec(over: Record<string, unknown> = {}): StudySpec {
  const r = parseStudySpec({
    name: 'contract', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } },
    maxTrials: 10, parallelism: 2, maxRetries: 1, trial: { command: ['true'] }, ...over,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec;
}
const pts = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ name: 'loss', step: from + i, value: 1 / (from + i + 1), timeMs: Date.now() }));
const done = (store: StudyStore, s: string, n: number, attempt: number, outcome: 'COMPLETED' | 'FAILED' | 'RETRY' = 'COMPLETED') =>
  store.finishTrial(s, n, attempt, outcome, { direction: 'minimize', reason: outcome === 'COMPLETED' ? '' : 'x', maxRetries: 1 });

describe.each(HARNESSES)('StudyStore contract: $name', (h) => {
  const store = h.make();

  it('studies: created RUNNING, listed newest first, ended exactly once, unknown ids are undefined', async () => {
    const a = await store.createStudy(spec({ name: 'a' }), 1000);
    const b = await store.createStudy(spec({ name: 'b' }), 2000);
    expect(a.state).toBe('RUNNING');
    expect((await store.getStudy(a.id))?.spec.name).toBe('a');
    expect(await store.getStudy('nosuchstudy')).toBeUndefined();
    const page = await store.listStudies(0, 10);
    expect(page.studies.map((s) => s.id).slice(0, 2)).toEqual([b.id, a.id]);
    expect(await store.activeStudyIds()).toEqual(expect.arrayContaining([a.id, b.id]));
    const ends = await Promise.all(Array.from({ length: 5 }, () => store.endStudy(a.id, 'STOPPED', 'test')));
    expect(ends.filter(Boolean)).toHaveLength(1);
    expect((await store.getStudy(a.id))?.state).toBe('STOPPED');
    expect(await store.activeStudyIds()).not.toContain(a.id);
  });

  it('createTrial: numbers in order, a clash and maxTrials are refused, nothing after the study ended', async () => {
    const s = await store.createStudy(spec({ maxTrials: 2 }));
    expect(await store.createTrial(s.id, 0, { x: 0.1 }, 2)).toBe(1);
    expect(await store.createTrial(s.id, 0, { x: 0.2 }, 2)).toBe(-1);
    expect(await store.createTrial(s.id, 1, { x: 0.3 }, 2)).toBe(1);
    expect(await store.createTrial(s.id, 2, { x: 0.4 }, 2)).toBe(-2);
    expect((await store.getTrial(s.id, 0))?.params).toEqual({ x: 0.1 });
    expect(await store.pendingNumbers(s.id)).toEqual([0, 1]);
    const t = await store.createStudy(spec());
    await store.endStudy(t.id, 'STOPPED', 'test');
    expect(await store.createTrial(t.id, 0, { x: 0.5 }, 10)).toBe(0);
  });

  it('createTrials: several numbers at once, each answered as createTrial would; jobs recorded together', async () => {
    const s = await store.createStudy(spec({ maxTrials: 3 }));
    expect(await store.createTrials(s.id, 0, [{ params: { x: 0.1 } }, { params: { x: 0.2 }, budget: 4 }], 3)).toEqual([1, 1]);
    // Number 1 is taken (a stale driver); 2 fits; 3 is past maxTrials.
    expect(await store.createTrials(s.id, 1, [{ params: { x: 0.9 } }], 3)).toEqual([-1]);
    expect(await store.createTrials(s.id, 2, [{ params: { x: 0.3 } }, { params: { x: 0.4 } }], 3)).toEqual([1, -2]);
    expect((await store.getTrials(s.id, [0, 1, 2])).map((t) => [t.params.x, t.budget])).toEqual([[0.1, undefined], [0.2, 4], [0.3, undefined]]);
    const study = await store.getStudy(s.id);
    expect([study?.created, study?.counts.queued]).toEqual([3, 3]);
    await store.setTrialJobs(s.id, [{ number: 0, jobId: 'j0' }, { number: 2, jobId: 'j2' }]);
    expect(await store.trialJobIds(s.id, [0, 1, 2])).toEqual(['j0', undefined, 'j2']);
    const ended = await store.createStudy(spec());
    await store.endStudy(ended.id, 'STOPPED', 'test');
    expect(await store.createTrials(ended.id, 0, [{ params: { x: 0.5 } }], 10)).toEqual([0]);
  });

  it('createTrials: once another creator took a number, the rest of the batch is a clash (its parameters assumed its own earlier trials)', async () => {
    const s = await store.createStudy(spec({ maxTrials: 10 }));
    // Another replica created trial 0 before this batch for 0..2 ran.
    expect(await store.createTrial(s.id, 0, { x: 0.5 }, 10)).toBe(1);
    expect(await store.createTrials(s.id, 0, [{ params: { x: 0.1 } }, { params: { x: 0.2 } }, { params: { x: 0.3 } }], 10)).toEqual([-1, -1, -1]);
    // A batch's own run is whole; a single creation in between ends it.
    expect(await store.createTrials(s.id, 1, [{ params: { x: 0.1 } }, { params: { x: 0.2 } }], 10)).toEqual([1, 1]);
    expect(await store.createTrial(s.id, 3, { x: 0.9 }, 10)).toBe(1);
    expect((await store.getTrials(s.id, [0, 1, 2, 3])).map((t) => t.params.x)).toEqual([0.5, 0.1, 0.2, 0.9]);
  });

  it('getStudy: the spec may be cached, everything else is read fresh; studySpec', async () => {
    const s = await store.createStudy(spec({ name: 'cached' }));
    expect((await store.getStudy(s.id))?.counts.queued).toBe(0);
    await store.createTrial(s.id, 0, { x: 0.5 }, 10);
    await store.endStudy(s.id, 'STOPPED', 'why');
    const again = await store.getStudy(s.id);
    expect([again?.spec.name, again?.state, again?.reason, again?.created, again?.counts.cancelled ?? 0, again?.counts.queued]).toEqual(['cached', 'STOPPED', 'why', 1, 0, 1]);
    expect((await store.studySpec(s.id))?.name).toBe('cached');
    expect(await store.studySpec('nosuchstudy')).toBeUndefined();
  });

  it('startAttempt: one attempt per delivery, a re-join keeps it, a lost attempt counts, retries run out', async () => {
    const s = await store.createStudy(spec({ maxRetries: 1 }));
    await store.createTrial(s.id, 0, { x: 0.5 }, 10);
    const secret = { issued: 'attempt-one-secret' };
    const first = await Promise.all(Array.from({ length: 4 }, () => store.startAttempt(s.id, 0, 'w1', 0, '', 1, Date.now(), 'd1', secret)));
    expect(first.map((r) => r.attempt)).toEqual([1, 1, 1, 1]);
    // A granted attempt comes with the trial as it is now.
    expect(first[0]!.trial).toMatchObject({ number: 0, state: 'RUNNING', attempt: 1, params: { x: 0.5 }, workerId: 'w1' });
    // A re-join keeps the attempt only for its worker, presenting its secret.
    const rejoin = { issued: 'ignored', presented: 'attempt-one-secret' };
    expect((await store.startAttempt(s.id, 0, 'w1', 1, '', 1, Date.now(), '', rejoin)).attempt).toBe(1);
    expect(await store.startAttempt(s.id, 0, 'w1', 1, '', 1, Date.now(), '', { issued: 'x', presented: 'wrong' })).toMatchObject({ attempt: 0, forbidden: true });
    expect(await store.startAttempt(s.id, 0, 'intruder', 1, '', 1, Date.now(), '', rejoin)).toMatchObject({ attempt: 0, forbidden: true });
    expect(await store.attemptOwnedBy(s.id, 0, 1, 'w1', 'attempt-one-secret')).toBe(true);
    expect(await store.attemptOwnedBy(s.id, 0, 1, 'w1', 'wrong')).toBe(false);
    // A new delivery of a RUNNING trial means its worker was lost: attempt 2, the last one allowed.
    expect((await store.startAttempt(s.id, 0, 'w2', 0, '', 1, Date.now(), 'd2')).attempt).toBe(2);
    const third = await store.startAttempt(s.id, 0, 'w3', 0, '', 1, Date.now(), 'd3');
    expect(third.attempt).toBe(0);
    expect(third.exhausted).toBe(2);
    expect((await store.getTrial(s.id, 0))?.attempt).toBe(2);
  });

  it('appendMetrics: stored once and in order; replays, gaps and stale attempts change nothing; the cap counts drops', async () => {
    const s = await store.createStudy(spec());
    await store.createTrial(s.id, 0, { x: 0.5 }, 10);
    await store.startAttempt(s.id, 0, 'w', 0, '', 1, Date.now(), 'd');
    expect((await store.appendMetrics(s.id, 0, 1, 1, 'loss', pts(0, 3), 5)).status).toBe(1);
    expect((await store.appendMetrics(s.id, 0, 1, 1, 'loss', pts(0, 3), 5)).status).toBe(0);
    expect((await store.appendMetrics(s.id, 0, 1, 3, 'loss', pts(5, 1), 5)).status).toBe(-2);
    expect((await store.appendMetrics(s.id, 0, 7, 2, 'loss', pts(3, 1), 5)).status).toBe(-1);
    const capped = await store.appendMetrics(s.id, 0, 1, 2, 'loss', pts(3, 4), 5);
    expect(capped).toEqual({ status: 1, dropped: 2 });
    expect((await store.readObjective(s.id, 0, 0)).map((p) => p.step)).toEqual([0, 1, 2, 3, 4]);
    expect((await store.metricCounts(s.id, 0)).get('loss')).toBe(5);
    const t = await store.getTrial(s.id, 0);
    expect([t?.points, t?.pointsDropped]).toEqual([5, 2]);
  });

  it('finishTrial: applied exactly once under concurrency; counts, best and history follow once', async () => {
    const s = await store.createStudy(spec());
    for (const [n, v] of [[0, 0.5], [1, 0.2]] as const) {
      await store.createTrial(s.id, n, { x: v }, 10);
      await store.startAttempt(s.id, n, 'w', 0, '', 1, Date.now(), `d${n}`);
      await store.appendMetrics(s.id, n, 1, 1, 'loss', [{ name: 'loss', step: 1, value: v, timeMs: Date.now() }], 100);
      const results = await Promise.all(Array.from({ length: 6 }, () => done(store, s.id, n, 1)));
      expect(results.filter((r) => r.applied)).toHaveLength(1);
    }
    const study = await store.getStudy(s.id);
    expect(study?.counts.completed).toBe(2);
    expect(study?.counts.running).toBe(0);
    expect(study?.best).toEqual({ number: 1, value: 0.2 });
    expect((await store.readHistory(s.id, 0)).map((e) => e.n)).toEqual([0, 1]);
    expect(await store.pendingNumbers(s.id)).toEqual([]);
    // A Finished from an attempt that is not current changes nothing.
    expect((await done(store, s.id, 0, 5, 'FAILED')).applied).toBe(false);
    expect((await store.getTrial(s.id, 0))?.state).toBe('COMPLETED');
  });

  it('a RETRY within maxRetries re-queues the trial; decisions: the first one stands', async () => {
    const s = await store.createStudy(spec({ maxRetries: 2 }));
    await store.createTrial(s.id, 0, { x: 0.5 }, 10);
    await store.startAttempt(s.id, 0, 'w', 0, '', 2, Date.now(), 'd');
    expect(await store.recordDecision(s.id, 0, 1, 'PRUNED', 'first')).toBe(true);
    expect(await store.recordDecision(s.id, 0, 1, 'PAUSED', 'second')).toBe(false);
    expect((await store.getTrial(s.id, 0))?.stopDecision).toEqual({ state: 'PRUNED', reason: 'first' });
    await store.createTrial(s.id, 1, { x: 0.6 }, 10);
    await store.startAttempt(s.id, 1, 'w', 0, '', 2, Date.now(), 'e');
    expect((await done(store, s.id, 1, 1, 'RETRY')).state).toBe('QUEUED');
    expect((await store.getTrial(s.id, 1))?.state).toBe('QUEUED');
  });

  it('endWaitingTrial ends only a QUEUED or PAUSED trial, once', async () => {
    const s = await store.createStudy(spec());
    await store.createTrial(s.id, 0, { x: 0.5 }, 10);
    const r = await Promise.all([1, 2, 3].map(() => store.endWaitingTrial(s.id, 0, 'CANCELLED', 'test')));
    expect(r.filter(Boolean)).toHaveLength(1);
    expect((await store.getStudy(s.id))?.counts.cancelled).toBe(1);
    await store.createTrial(s.id, 1, { x: 0.5 }, 10);
    await store.startAttempt(s.id, 1, 'w', 0, '', 1, Date.now(), 'd');
    expect(await store.endWaitingTrial(s.id, 1, 'CANCELLED', 'test')).toBe(false);
  });

  it('checkpoints commit only from the current attempt and never go back a step', async () => {
    const s = await store.createStudy(spec());
    await store.createTrial(s.id, 0, { x: 0.5 }, 10);
    await store.startAttempt(s.id, 0, 'w', 0, '', 1, Date.now(), 'd');
    expect((await store.commitCheckpoint(s.id, 0, 1, 'c5', 5, 2)).accepted).toBe(true);
    expect((await store.commitCheckpoint(s.id, 0, 1, 'c3', 3, 2)).accepted).toBe(false);
    expect((await store.commitCheckpoint(s.id, 0, 9, 'c9', 9, 2)).accepted).toBe(false);
    expect((await store.getTrial(s.id, 0))?.checkpoint).toEqual({ id: 'c5', step: 5 });
  });

  it('leases are exclusive until released; heartbeats answer for the current attempt only', async () => {
    const s = await store.createStudy(spec());
    const got = await Promise.all(['r1', 'r2', 'r3'].map((o) => store.acquireLease(s.id, o, 10_000)));
    expect(got.filter(Boolean)).toHaveLength(1);
    const holder = ['r1', 'r2', 'r3'][got.indexOf(true)]!;
    expect(await store.acquireLease(s.id, holder, 10_000)).toBe(true);
    await store.releaseLease(s.id, holder);
    expect(await store.acquireLease(s.id, 'r4', 10_000)).toBe(true);
    await store.createTrial(s.id, 0, { x: 0.5 }, 10);
    await store.startAttempt(s.id, 0, 'w', 0, '', 1, Date.now(), 'd');
    expect(await store.heartbeat(s.id, 0, 1)).toEqual({ current: true, studyState: 'RUNNING' });
    expect(await store.heartbeat(s.id, 0, 2)).toEqual({ current: false });
  });

  it('promotions are fenced by the lease; an ended study stays "ending" until its wind-down is done', async () => {
    const s = await store.createStudy(spec());
    await store.createTrial(s.id, 0, { x: 0.5 }, 10);
    await store.startAttempt(s.id, 0, 'w', 0, '', 1, Date.now(), 'd');
    expect(await store.recordDecision(s.id, 0, 1, 'PAUSED', 'rung 1')).toBe(true);
    expect((await store.finishTrial(s.id, 0, 1, 'COMPLETED', { direction: 'minimize', reason: '', maxRetries: 1 })).state).toBe('PAUSED');
    expect(await store.pausedNumbers(s.id)).toEqual([0]);
    expect(await store.acquireLeases([s.id], 'driver', 10_000)).toEqual([true]);
    expect(await store.resumeTrial(s.id, 0, 9, 'intruder')).toBe('not-lease-holder');
    expect(await store.resumeTrial(s.id, 0, 9, 'driver')).toBe('resumed');
    expect(await store.resumeTrial(s.id, 0, 9, 'driver')).toBe('not-paused');
    expect((await store.getTrial(s.id, 0))?.budget).toBe(9);
    await store.endStudy(s.id, 'STOPPED', 'test');
    expect(await store.endingStudyIds()).toContain(s.id);
    await store.windDownDone(s.id);
    expect(await store.endingStudyIds()).not.toContain(s.id);
  });

  it('deleting: every key of a trial and a study is listed, and after unlinking them the study is gone', async () => {
    const s = await store.createStudy(spec());
    await store.createTrial(s.id, 0, { x: 0.5 }, 10);
    await store.startAttempt(s.id, 0, 'w', 0, '', 1, Date.now(), 'd');
    await store.appendMetrics(s.id, 0, 1, 1, 'loss', [...pts(0, 2), { name: 'acc', step: 0, value: 0.9, timeMs: Date.now() }], 100);
    const trialKeys = await store.trialDataKeys(s.id, 0);
    expect(await store.unlinkKeys([...trialKeys, ...store.studyDataKeys(s.id)])).toBeGreaterThanOrEqual(4);
    await store.unindexStudy(s.id);
    expect(await store.getStudy(s.id)).toBeUndefined();
    expect(await store.getTrial(s.id, 0)).toBeUndefined();
    expect(await store.metricCounts(s.id, 0)).toEqual(new Map());
  });

  it('a report indexed after its study was deleted leaves no index behind', async () => {
    const s = await store.createStudy(spec());
    await store.createTrial(s.id, 0, { x: 0.5 }, 10);
    // A stream's batch was stored and its reports read just before the study was deleted...
    await store.unlinkKeys([...(await store.trialDataKeys(s.id, 0)), ...store.studyDataKeys(s.id)]);
    await store.unindexStudy(s.id);
    // ...and the index write lands after: it must not bring back keys nothing will ever delete.
    const r = await store.indexReports(s.id, 0, '', '1:0:1:1', [{ member: '0:0:0000:0', lo: '[0:0:', hi: '(0:0;' }]);
    expect(r).toBeUndefined();
    expect(await store.stopField(s.id, 'c:0')).toBeUndefined();
    expect((await store.promotionCandidates(s.id, [{ lo: '[0:0:', hi: '(0:0;', below: '(0:0:' }], 8))[0]!.size).toBe(0);
  });
});
