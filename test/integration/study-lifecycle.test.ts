/**
 * The data lifecycle on real parts (coordinator, worker agent, trial processes, redis-server):
 * DELETE removes every key and job of a study, a RUNNING study needs ?force=true, and an ended
 * study's retention deletes it whole. "Nothing left" is checked with SCAN, not by asking the API.
 */
import type { RedisClient } from '../../shared/redis.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startTestStack, type TestStack } from '../helpers/stack.js';
import { quietLog, waitFor } from '../helpers/env.js';
import { RetentionSweeper } from '../../coordinator/lifecycle/retention-sweeper.js';
import { keys } from '../../shared/redis-keys.js';

/** Every key under the stack's prefix that names the study: its hash-tagged keys and its BullMQ jobs. */
async function keysOf(redis: RedisClient, prefix: string, studyId: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  for (let i = 0; i < 10_000; i++) {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*${studyId}*`, 'COUNT', 1000);
    out.push(...batch);
    cursor = next;
    if (cursor === '0') break;
  }
  return out.sort();
}

const spec = (o: { maxTrials: number; sleepMs?: number; steps?: number }) => ({
  name: 'lifecycle', objective: { metric: 'score', direction: 'maximize' },
  searchSpace: { x: { type: 'int', min: 0, max: 5 } }, algorithm: { name: 'random', seed: 1 }, parallelism: 2, maxTrials: o.maxTrials,
  trial: { command: [process.execPath, fixture('quadratic.mjs'), '--x', '${params.x}', '--sleep-ms', String(o.sleepMs ?? 0), '--steps', String(o.steps ?? 3)] },
});

describe('deleting a study', () => {
  let stack: TestStack;
  beforeAll(async () => { stack = await startTestStack('delete', { workers: 1, slots: 2 }); });
  afterAll(async () => stack?.close());

  it('removes every key and job of an ended study and answers what it deleted; twice is a 404', async () => {
    const created = await stack.api('POST', '/api/v1/studies', spec({ maxTrials: 4 }));
    const id = created.body.id as string;
    await stack.waitForStudy(id);
    const redis = stack.coordinator.store.redis;
    // The study ends on the last Finished; its worker completes the queue job a moment later.
    const before = await waitFor(async () => {
      const ks = await keysOf(redis, stack.prefix, id);
      return ks.some((k) => k.slice(stack.prefix.length).startsWith(':q:')) ? undefined : ks;
    }, 10_000, 'the last queue job to complete');
    // Measured: what an ended study keeps (the report quotes these figures).
    const perTrial = before.filter((k) => k.includes(':trial:')).length / 4;
    console.log(`keys after the study ended: ${before.length} (${perTrial} per trial): ${before.map((k) => k.slice(stack.prefix.length)).join(' ')}`);
    // The lease is released at the end of the wind-down; a renewal in flight at that moment may
    // take it once more, but only with its TTL (15 s): it goes by itself, never lingers.
    for (const k of before.filter((x) => x.endsWith(':lease'))) expect(await redis.pttl(k)).toBeGreaterThan(0);
    // What only a running attempt needs is gone with it; what the API shows stays.
    const trial0 = await redis.hgetall(before.find((k) => k.endsWith(':trial:0'))!);
    expect(trial0.heartbeatAt).toBeUndefined();
    expect(trial0.lastSeq).toBeUndefined();
    expect(trial0).toMatchObject({ state: 'COMPLETED', workerId: 'w0' });

    const del = await stack.api('DELETE', `/api/v1/studies/${id}`);
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ deleted: true, studyId: id, state: 'COMPLETED', trials: 4 });
    expect(del.body.keys).toBe(before.length);
    // Every job completed and went (removeOnComplete): none is there to remove.
    expect(del.body.jobs).toBe(0);

    expect(await keysOf(redis, stack.prefix, id)).toEqual([]);
    expect(await redis.zscore(`${stack.prefix}:studies`, id)).toBeNull();
    expect(await redis.zscore(`${stack.prefix}:studies:ended`, id)).toBeNull();
    expect((await stack.api('GET', `/api/v1/studies/${id}`)).status).toBe(404);
    expect((await stack.api('GET', '/api/v1/studies')).body.studies.map((s: any) => s.id)).not.toContain(id);

    const again = await stack.api('DELETE', `/api/v1/studies/${id}`);
    expect(again.status).toBe(404);
    expect(again.body.error.fields[0].field).toBe('params.id');
    const bad = await stack.api('DELETE', `/api/v1/studies/${id}?force=maybe`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0].field).toMatch(/force/);
    const unknown = await stack.api('DELETE', '/api/v1/studies/nosuchstudy0');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('TH_ERR_STUDY_NOT_FOUND');
  });

  it('refuses a RUNNING study unless ?force=true, which stops it first and removes its queued jobs', async () => {
    // Trials that run for a while, more of them than slots: some jobs wait in the queue.
    const created = await stack.api('POST', '/api/v1/studies', { ...spec({ maxTrials: 20, sleepMs: 300, steps: 20 }), parallelism: 5 });
    const id = created.body.id as string;
    const redis = stack.coordinator.store.redis;
    // Two running and the rest of the parallelism queued: the runner fills in steps, so both are waited for.
    await waitFor(async () => {
      const c = (await stack.api('GET', `/api/v1/studies/${id}`)).body.counts;
      return c.running >= 2 && c.running + c.queued === 5;
    }, 20_000, 'two running trials and five in all');

    const refused = await stack.api('DELETE', `/api/v1/studies/${id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'TH_ERR_STUDY_RUNNING', fields: [{ field: 'query.force' }] });
    expect((await stack.api('GET', `/api/v1/studies/${id}`)).body.state).toBe('RUNNING');

    const del = await stack.api('DELETE', `/api/v1/studies/${id}?force=true`);
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ deleted: true, state: 'RUNNING', trials: 5 });
    // Stopping put it in the runner's ending set: a deleted study leaves every index at once
    // (else each reconcile takes a lease on it again, recreating one of its keys).
    expect(await redis.sismember(keys.endingStudies(stack.prefix), id)).toBe(0);
    expect(await redis.sismember(keys.activeStudies(stack.prefix), id)).toBe(0);
    // The running programs are told to stop; their jobs complete and go, and nothing they send later is stored.
    await waitFor(async () => (await keysOf(redis, stack.prefix, id)).length === 0 || undefined, 30_000, 'no key of the deleted study');
    expect((await stack.api('GET', `/api/v1/studies/${id}`)).status).toBe(404);
  });
});

describe('retention', () => {
  let stack: TestStack;
  // One day of retention, and no timed pass: the test runs passes itself with a clock of its own.
  beforeAll(async () => { stack = await startTestStack('retention', { workers: 1, slots: 2, coordinator: { retentionDays: 1, sweepIntervalMs: 3_600_000 } }); });
  afterAll(async () => stack?.close());

  it('deletes an ended study whole once its retention has passed, and not before', async () => {
    const created = await stack.api('POST', '/api/v1/studies', spec({ maxTrials: 4 }));
    const id = created.body.id as string;
    const done = await stack.waitForStudy(id);
    const redis = stack.coordinator.store.redis;
    await stack.coordinator.janitor.idle();
    expect((await keysOf(redis, stack.prefix, id)).length).toBeGreaterThan(0);
    const endedAt = Date.parse(done.finishedAt);

    const early = await stack.coordinator.sweeper.pass(endedAt + 0.5 * 86_400_000);
    expect(early?.deleted).toEqual([]);
    expect((await stack.api('GET', `/api/v1/studies/${id}`)).status).toBe(200);

    const late = await stack.coordinator.sweeper.pass(endedAt + 1.01 * 86_400_000);
    expect(late?.deleted).toEqual([id]);
    expect(await keysOf(redis, stack.prefix, id)).toEqual([]);
    // No job of the study in any trial queue, in any state.
    const jobs = await redis.keys(`${stack.prefix}:q:*`);
    expect(jobs.filter((k) => k.includes(id))).toEqual([]);
    expect((await stack.api('GET', `/api/v1/studies/${id}`)).status).toBe(404);
  });

  it('runs on one replica at a time', async () => {
    const { store, deleter, janitor } = stack.coordinator;
    expect(await store.acquireSweepLock('another-replica', 10_000)).toBe(true);
    const sweeper = new RetentionSweeper({ store, deleter, janitor, log: quietLog(), owner: 'me', retentionMs: 1 });
    expect(await sweeper.pass(Date.now() + 86_400_000)).toBeUndefined();
    await store.releaseSweepLock('another-replica');
    expect(await sweeper.pass(Date.now())).toBeDefined();
  });

  it('also finds studies that ended before the ended-studies index existed', async () => {
    const created = await stack.api('POST', '/api/v1/studies', spec({ maxTrials: 2 }));
    const id = created.body.id as string;
    const done = await stack.waitForStudy(id);
    const { store, deleter, janitor } = stack.coordinator;
    await store.redis.zrem(`${stack.prefix}:studies:ended`, id);
    const sweeper = new RetentionSweeper({ store, deleter, janitor, log: quietLog(), owner: 'test-sweeper', retentionMs: 86_400_000 });
    const r = await sweeper.pass(Date.parse(done.finishedAt) + 2 * 86_400_000);
    expect(r?.deleted).toContain(id);
    expect(await keysOf(store.redis, stack.prefix, id)).toEqual([]);
  });
});
