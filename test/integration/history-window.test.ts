/**
 * A sampler's history window (SamplerFactory.historyWindow): the runner's HistoryCache keeps and
 * hands out only the best-ranked and most recent finished trials, the same set a full read of the
 * history would give, updated as trials finish; `tpe` asks of a long study see only that window.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../shared/redis.js';
import { keys } from '../../shared/redis-keys.js';
import type { FrozenTrial } from '../../shared/trial.js';
import { RedisStudyStore } from '../../coordinator/store/study-store.js';
import { HistoryCache } from '../../coordinator/runner/history-cache.js';
import { StudyRunner } from '../../coordinator/runner/study-runner.js';
import { compareRankKeys, rankKey } from '../../coordinator/search/ranking.js';
import { suggestNow, type SuggestRequest, type SuggestionService } from '../../coordinator/search/suggest.js';
import { tpeSampler } from '../../coordinator/search/tpe.js';
import { createBigStudy } from '../../bench/fixtures/big-study.js';
import { quietLog, redisUrl, uniquePrefix } from '../helpers/env.js';

let redis: RedisClient;
let store: RedisStudyStore;
beforeAll(() => {
  redis = connectRedis(redisUrl(), 'history-window-test');
  store = new RedisStudyStore(redis, uniquePrefix('hwin'));
});
afterAll(async () => { await redis?.quit(); });

/** The window computed from the whole history at once: what the incremental cache must equal. */
async function expected(studyId: string, best: number, recent: number): Promise<number[]> {
  const all: FrozenTrial[] = (await store.readHistory(studyId, 0)).map((h) => {
    const t: FrozenTrial = { number: h.n, params: h.p, state: h.s as FrozenTrial['state'] };
    if (h.s === 'COMPLETED' && h.v !== undefined) t.loss = h.v;
    if (h.s === 'PRUNED' && h.v !== undefined) t.intermediate = [{ step: h.t ?? 0, value: h.v }];
    return t;
  });
  const ranked = all.flatMap((t) => { const k = rankKey(t); return k ? [{ k, t }] : []; })
    .sort((a, b) => compareRankKeys(a.k, b.k) || a.t.number - b.t.number).slice(0, best).map((r) => r.t.number);
  return [...new Set([...ranked, ...all.slice(-recent).map((t) => t.number)])].sort((a, b) => a - b);
}

describe('history window', () => {
  it('keeps the best and the most recent trials only, equal to a full read, as trials finish', async () => {
    const { studyId } = await createBigStudy(store, { trials: 4000, curvePoints: 5, live: 0, batch: 2000 });
    const cache = new HistoryCache(store);
    const w = { best: 50, recent: 300 };
    const first = await cache.trials(studyId, 'minimize', w);
    expect(first.map((t) => t.number)).toEqual(await expected(studyId, 50, 300));
    expect(first.length).toBeLessThanOrEqual(350);
    expect(cache.held(studyId)).toBeLessThanOrEqual(50 + 2 * 300);
    // Nothing new: the same array, not a copy.
    expect(await cache.trials(studyId, 'minimize', w)).toBe(first);
    const firstNumbers = first.map((t) => t.number);
    // New trials finish (one far better than any, others worse): read incrementally, same as a full read.
    const hist = keys.history(store.prefix, studyId);
    await redis.rpush(hist, '{"n":4000,"s":"COMPLETED","p":{"x":0.3},"v":-5,"t":1}', '{"n":4001,"s":"FAILED","p":{"x":0.1}}',
      ...Array.from({ length: 500 }, (_, i) => `{"n":${4002 + i},"s":"PRUNED","p":{"x":0.2},"v":9,"t":1}`));
    const next = await cache.trials(studyId, 'minimize', w);
    expect(next).not.toBe(first);
    expect(next.map((t) => t.number)).toEqual(await expected(studyId, 50, 300));
    expect(next.find((t) => t.number === 4000)?.loss).toBe(-5);
    expect(first.map((t) => t.number)).toEqual(firstNumbers); // the first answer was not mutated
    expect(firstNumbers).not.toContain(4000);
    expect(cache.held(studyId)).toBeLessThanOrEqual(50 + 2 * 300);
    // Without a window: every finished trial, as before.
    const full = new HistoryCache(store);
    expect((await full.trials(studyId, 'minimize')).length).toBe((await store.readHistory(studyId, 0)).length);
  });

  it('a tpe ask of a long study hands the sampler only its window, and suggests from it', async () => {
    const { studyId } = await createBigStudy(store, { trials: 3000, curvePoints: 5, live: 2, batch: 1500 });
    // The fixture's study samples at random: make it a tpe study with a small window.
    const study = (await store.getStudy(studyId))!;
    const spec = { ...study.spec, algorithm: { name: 'tpe', seed: 3, settings: { historyBest: 40, historyRecent: 200 } } };
    expect(tpeSampler.validate(spec.algorithm.settings, spec.searchSpace)).toEqual([]);
    await redis.hset(keys.study(store.prefix, studyId), 'spec', JSON.stringify(spec));
    // A store caches a study's spec at its first read (specs never change in production): read the new one afresh.
    const fresh = new RedisStudyStore(redis, store.prefix);
    const asked: SuggestRequest[] = [];
    const recording: SuggestionService = { suggest: async (req) => { asked.push(req); return suggestNow(req); }, close: async () => {} };
    const runner = new StudyRunner({ store: fresh, suggestions: recording, log: quietLog(), coordinatorId: 'test',
      queue: undefined as never, commands: undefined as never });
    const params = await runner.suggest((await fresh.getStudy(studyId))!);
    expect(params).toEqual({ x: expect.any(Number), y: expect.any(Number), lr: expect.any(Number), u: expect.any(Number), opt: expect.any(String) });
    expect(asked[0]!.trials.map((t) => t.number)).toEqual(await expected(studyId, 40, 200));
    expect(asked[0]!.trials.length).toBeLessThanOrEqual(240);
    expect(asked[0]!.pending).toHaveLength(1); // the one live RUNNING trial
    await runner.close();
  });
});
