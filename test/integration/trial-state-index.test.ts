/**
 * The per-state trial index (keys.trialStates): listings filtered by state return full pages at
 * any depth and a cursor walk returns each matching trial exactly once; every transition keeps
 * the index equal to the trial hashes; studies from before it are backfilled (bounded per call,
 * listings scan meanwhile); deleting a study deletes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { connectRedis } from '../../shared/redis.js';
import { keys, TRIAL_STATE_RANKS, TRIAL_STATE_SPAN } from '../../shared/redis-keys.js';
import { parseStudySpec, type StudySpec } from '../../shared/study-spec.js';
import { TRIAL_STATES, type TrialState } from '../../shared/trial.js';
import { RedisStudyStore } from '../../coordinator/store/study-store.js';
import { createBigStudy } from '../../bench/fixtures/big-study.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { redisUrl, waitFor } from '../helpers/env.js';

let stack: TestStack;
let redis: Redis;
let store: RedisStudyStore;

beforeAll(async () => {
  stack = await startTestStack('state-index', { workers: 0 });
  redis = connectRedis(redisUrl(), 'state-index-test');
  store = new RedisStudyStore(redis, stack.prefix);
});
afterAll(async () => {
  await stack?.close();
  await redis?.quit();
});

function spec(over: Record<string, unknown> = {}): StudySpec {
  const r = parseStudySpec({
    name: 'ix', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } },
    maxTrials: 20, parallelism: 2, maxRetries: 1, trial: { command: ['true'] }, ...over,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec;
}

/** The index decoded: number -> state. */
async function indexed(studyId: string): Promise<Map<number, string>> {
  const flat = await redis.zrange(keys.trialStates(stack.prefix, studyId), '0', '-1', 'WITHSCORES');
  const out = new Map<number, string>();
  for (let i = 0; i < flat.length; i += 2) {
    const score = Number(flat[i + 1]);
    expect(score % TRIAL_STATE_SPAN).toBe(Number(flat[i]));
    out.set(Number(flat[i]), TRIAL_STATE_RANKS[Math.floor(score / TRIAL_STATE_SPAN) - 1]!);
  }
  return out;
}

/** The trial hashes' own states: what the index must equal. */
async function truth(studyId: string, created: number): Promise<Map<number, string>> {
  const numbers = Array.from({ length: created }, (_, i) => i);
  const states = await store.trialStates(studyId, numbers);
  return new Map(numbers.flatMap((n) => (states[n] ? [[n, states[n]!] as const] : [])));
}

/** Walks a state's listing by cursor: every page, and every trial number seen. */
async function walk(studyId: string, state: string, limit: number): Promise<{ pages: number[][]; totals: number[] }> {
  const pages: number[][] = [];
  const totals: number[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 1000; i++) {
    const r = await stack.api('GET', `/api/v1/studies/${studyId}/trials?state=${state}&limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`);
    expect(r.status).toBe(200);
    expect(r.body.trials.every((t: { state: string }) => t.state === state)).toBe(true);
    pages.push(r.body.trials.map((t: { number: number }) => t.number));
    totals.push(r.body.total);
    cursor = r.body.next;
    if (cursor === null) return { pages, totals };
  }
  throw new Error('walk did not end');
}

describe('trial state index', () => {
  it('a sparse state comes back in full pages, and a cursor walk returns each matching trial exactly once', async () => {
    const { studyId } = await createBigStudy(store, { trials: 3000, curvePoints: 5, live: 6, batch: 1000 });
    const all = await truth(studyId, 3000);
    expect(await indexed(studyId)).toEqual(all);
    for (const state of ['FAILED', 'PAUSED', 'COMPLETED', 'QUEUED'] as const) {
      const want = [...all].filter(([, s]) => s === state).map(([n]) => n);
      const { pages, totals } = await walk(studyId, state, 50);
      const seen = pages.flat();
      expect(seen).toEqual(want); // ascending, each once, none missing
      // Every page but the last is full (an empty state answers one empty page).
      for (const p of pages.slice(0, -1)) expect(p).toHaveLength(50);
      expect(pages.at(-1)!.length).toBe(want.length === 0 ? 0 : want.length - 50 * (pages.length - 1));
      expect(new Set(totals)).toEqual(new Set([want.length]));
    }
    // Offset paging of a state reads the same pages.
    const failed = [...all].filter(([, s]) => s === 'FAILED').map(([n]) => n);
    const second = await stack.api('GET', `/api/v1/studies/${studyId}/trials?state=FAILED&limit=50&offset=50`);
    expect(second.body.trials.map((t: { number: number }) => t.number)).toEqual(failed.slice(50, 100));
    expect(second.body.offset).toBe(50);
    const byCursor = await stack.api('GET', `/api/v1/studies/${studyId}/trials?state=FAILED&limit=50&cursor=${failed[49]}`);
    expect(byCursor.body).toMatchObject({ offset: 50, total: failed.length });
    // Without a state, a cursor goes on by number.
    const plain = await stack.api('GET', `/api/v1/studies/${studyId}/trials?limit=10&cursor=2994`);
    expect(plain.body.trials.map((t: { number: number }) => t.number)).toEqual([2995, 2996, 2997, 2998, 2999]);
    expect(plain.body.next).toBeNull();
  });

  it('refuses a bad cursor, a cursor with an offset, and a bad state, naming the field', async () => {
    const s = await store.createStudy(spec());
    for (const q of ['cursor=abc', 'cursor=-1', 'cursor=1234567890', 'cursor=']) {
      const r = await stack.api('GET', `/api/v1/studies/${s.id}/trials?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.error.fields[0]).toMatchObject({ field: 'query.cursor', reason: expect.stringMatching(/next/) });
    }
    const both = await stack.api('GET', `/api/v1/studies/${s.id}/trials?cursor=3&offset=4`);
    expect(both.status).toBe(400);
    expect(both.body.error.fields[0]).toEqual({ field: 'query.cursor', reason: 'cannot be combined with offset' });
    const state = await stack.api('GET', `/api/v1/studies/${s.id}/trials?state=DONE`);
    expect(state.status).toBe(400);
    expect(state.body.error.fields[0].field).toBe('query.state');
  });

  it('stays equal to the trial hashes through every transition', async () => {
    const s = await store.createStudy(spec());
    const check = async (created: number, expected: Record<number, TrialState>) => {
      const ix = await indexed(s.id);
      expect(ix).toEqual(await truth(s.id, created));
      expect(Object.fromEntries(ix)).toEqual(expected);
    };
    const fin = (n: number, attempt: number, outcome: 'COMPLETED' | 'FAILED' | 'PRUNED' | 'PAUSED' | 'RETRY' | 'CANCELLED') =>
      store.finishTrial(s.id, n, attempt, outcome, { direction: 'minimize', reason: 'test', maxRetries: 1 });
    for (let n = 0; n < 6; n++) expect(await store.createTrial(s.id, n, { x: n / 10 }, 20)).toBe(1);
    await check(6, { 0: 'QUEUED', 1: 'QUEUED', 2: 'QUEUED', 3: 'QUEUED', 4: 'QUEUED', 5: 'QUEUED' });
    for (let n = 0; n < 5; n++) expect((await store.startAttempt(s.id, n, 'w', 0, '', 1)).attempt).toBe(1);
    await check(6, { 0: 'RUNNING', 1: 'RUNNING', 2: 'RUNNING', 3: 'RUNNING', 4: 'RUNNING', 5: 'QUEUED' });
    // 0 completes (it reported), 1 is pruned, 2 pauses, 3 is lost once (retry) and then fails for good.
    await store.appendMetrics(s.id, 0, 1, 1, 'loss', [{ name: 'loss', step: 1, value: 0.5, timeMs: Date.now() }], 100);
    expect((await fin(0, 1, 'COMPLETED')).state).toBe('COMPLETED');
    expect((await fin(1, 1, 'PRUNED')).state).toBe('PRUNED');
    expect((await fin(2, 1, 'PAUSED')).state).toBe('PAUSED');
    expect((await fin(3, 1, 'RETRY')).state).toBe('QUEUED');
    await check(6, { 0: 'COMPLETED', 1: 'PRUNED', 2: 'PAUSED', 3: 'QUEUED', 4: 'RUNNING', 5: 'QUEUED' });
    expect((await store.startAttempt(s.id, 3, 'w', 0, '', 1)).attempt).toBe(2);
    expect((await fin(3, 2, 'RETRY')).state).toBe('FAILED');
    // The paused trial is promoted (by the lease holder), runs again and completes.
    expect(await store.acquireLease(s.id, 'me', 10_000)).toBe(true);
    expect(await store.resumeTrial(s.id, 2, 10, 'me')).toBe('resumed');
    await check(6, { 0: 'COMPLETED', 1: 'PRUNED', 2: 'QUEUED', 3: 'FAILED', 4: 'RUNNING', 5: 'QUEUED' });
    expect((await store.startAttempt(s.id, 2, 'w', 0, '', 1)).attempt).toBe(2);
    await check(6, { 0: 'COMPLETED', 1: 'PRUNED', 2: 'RUNNING', 3: 'FAILED', 4: 'RUNNING', 5: 'QUEUED' });
    // A waiting trial is cancelled; once the study ended, a late delivery is cancelled at its start.
    expect(await store.createTrial(s.id, 6, { x: 0.6 }, 20)).toBe(1);
    expect(await store.endWaitingTrial(s.id, 5, 'CANCELLED', 'test')).toBe(true);
    expect((await fin(2, 2, 'PAUSED')).state).toBe('PAUSED');
    expect(await store.endWaitingTrial(s.id, 2, 'PRUNED', 'test')).toBe(true);
    await store.endStudy(s.id, 'STOPPED', 'test');
    expect((await store.startAttempt(s.id, 6, 'w', 0, '', 1)).attempt).toBe(0);
    expect((await fin(4, 1, 'RETRY')).state).toBe('CANCELLED');
    await check(7, { 0: 'COMPLETED', 1: 'PRUNED', 2: 'PRUNED', 3: 'FAILED', 4: 'CANCELLED', 5: 'CANCELLED', 6: 'CANCELLED' });
    // Counts agree with the study's counters.
    const counts = (await store.getStudy(s.id))!.counts;
    for (const state of TRIAL_STATES) {
      expect((await store.trialNumbersInState(s.id, state, {}, 100)).total, state).toBe(counts[state.toLowerCase() as keyof typeof counts]);
    }
  });

  it('backfills a study from before the index, a bounded part per call; listings scan until it is complete', async () => {
    const { studyId } = await createBigStudy(store, { trials: 2500, curvePoints: 5, live: 4, batch: 1000 });
    const all = await truth(studyId, 2500);
    // As a study from before the index: no index, no marker.
    await redis.del(keys.trialStates(stack.prefix, studyId));
    await redis.hdel(keys.study(stack.prefix, studyId), 'ixStates');
    // A transition meanwhile indexes its own trial (one of the live RUNNING ones pauses).
    const running = [...all].find(([, st]) => st === 'RUNNING')![0];
    await redis.hset(keys.trial(stack.prefix, studyId, running), 'objValue', 1);
    expect((await store.finishTrial(studyId, running, 1, 'PAUSED', { direction: 'minimize', reason: 'test', maxRetries: 0 })).state).toBe('PAUSED');
    all.set(running, 'PAUSED');
    expect(await indexed(studyId)).toEqual(new Map([[running, 'PAUSED']]));
    // Before the index is complete the listing scans numbers: only matching trials, and a cursor that goes on.
    const failed = [...all].filter(([, st]) => st === 'FAILED').map(([n]) => n);
    expect(await store.backfillStateIndex(studyId, 1000, 500)).toBe(false);
    expect((await redis.hget(keys.study(stack.prefix, studyId), 'ixStates'))).toBe('1000');
    // Bounded: the listing does at most one budget (10,000 trials) of backfill: here all that is left.
    const { pages } = await walk(studyId, 'FAILED', 20);
    expect(pages.flat()).toEqual(failed);
    expect(await redis.hget(keys.study(stack.prefix, studyId), 'ixStates')).toBe('done');
    expect(await indexed(studyId)).toEqual(all);
    expect(await store.backfillStateIndex(studyId)).toBe(true);
  });

  it('a listing of a partly indexed study falls back to a scan that still returns each match once', async () => {
    const { studyId } = await createBigStudy(store, { trials: 1500, curvePoints: 5, live: 2, batch: 1500 });
    const all = await truth(studyId, 1500);
    await redis.del(keys.trialStates(stack.prefix, studyId));
    await redis.hdel(keys.study(stack.prefix, studyId), 'ixStates');
    const { trialPage } = await import('../../coordinator/api/trial-listing.js');
    const study = (await store.getStudy(studyId))!;
    // A store whose backfill is never done: the scan path alone.
    const scanning = Object.assign(Object.create(store) as RedisStudyStore, { backfillStateIndex: async () => false });
    const seen: number[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 100; i++) {
      const p = await trialPage(scanning, study, { limit: 10, state: 'FAILED', ...(cursor !== undefined ? { cursor } : {}) });
      seen.push(...p.trials.map((t) => t.number));
      expect(p.trials.every((t) => t.state === 'FAILED')).toBe(true);
      if (p.next === null) break;
      cursor = p.next;
    }
    expect(seen).toEqual([...all].filter(([, st]) => st === 'FAILED').map(([n]) => n));
  });

  it('deleting a study deletes its state index', async () => {
    const { studyId } = await createBigStudy(store, { trials: 30, curvePoints: 5, live: 0, ended: true });
    expect(await redis.exists(keys.trialStates(stack.prefix, studyId))).toBe(1);
    const del = await stack.api('DELETE', `/api/v1/studies/${studyId}`);
    expect(del.status).toBe(200);
    await waitFor(async () => (await redis.exists(keys.study(stack.prefix, studyId))) === 0, 10_000, 'study deleted');
    expect(await redis.exists(keys.trialStates(stack.prefix, studyId))).toBe(0);
  });
});
