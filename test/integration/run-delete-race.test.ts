/**
 * Deleting a direct run while a client still logs to it (real Redis, the real store): whatever
 * the interleaving, no key of the run is left behind, a metric series first logged in the
 * instant before the deletion included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../shared/redis.js';
import { RedisStudyStore } from '../../coordinator/store/study-store.js';
import { RedisRunStore } from '../../coordinator/runs/redis-run-store.js';
import { redisUrl, uniquePrefix } from '../helpers/env.js';
import { parseStudySpec } from '../../shared/study-spec.js';
import { keys } from '../../shared/redis-keys.js';

let redis: RedisClient;
let runs: RedisRunStore;
const prefix = uniquePrefix('run-delete-race');

beforeAll(async () => {
  redis = connectRedis(redisUrl(), 'run-delete-race');
  runs = new RedisRunStore(new RedisStudyStore(redis, prefix));
});
afterAll(async () => { await redis.quit(); });

async function keysNaming(id: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  for (let i = 0; i < 10_000; i++) {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    out.push(...batch.filter((k) => k.includes(id.slice(id.indexOf('.') + 1))));
    cursor = next;
    if (cursor === '0') break;
  }
  return out;
}

describe('deleting a direct run under concurrent writes', () => {
  it('leaves no metric series of a name first logged just before the deletion', async () => {
    const e = await runs.createExperiment({ project: 'default', name: 'race', createdBy: 'ann' });
    for (let round = 0; round < 20; round++) {
      const run = await runs.createRun({ experimentId: e.id, createdBy: 'ann' });
      await runs.logMetrics(run.id, [{ name: 'old', value: 1, step: 0, timeMs: 1 }]);
      // The write starts first: its script runs after the deletion has read the run's fields, before the deletion's script.
      const results = await Promise.allSettled([runs.logMetrics(run.id, [{ name: `new${round}`, value: 1, step: 0, timeMs: 1 }]), runs.deleteRun(run.id)]);
      expect(results[1].status).toBe('fulfilled');
      expect(await keysNaming(run.id), `round ${round}`).toEqual([]);
    }
  });

  it('leaves no provenance record written while the run was being deleted', async () => {
    const e = await runs.createExperiment({ project: 'default', name: 'race-prov', createdBy: 'ann' });
    const prov = { attempt: 0, capturedAt: 1, code: { source: 'none' as const }, data: { source: 'none' as const, files: [], dvc: [] }, command: ['true'], env: {}, seed: 1 };
    for (let round = 0; round < 20; round++) {
      const run = await runs.createRun({ experimentId: e.id, createdBy: 'ann' });
      // Both orders: the deletion first, then the record first.
      const calls = round % 2 === 0 ? [runs.deleteRun(run.id), runs.setProvenance(run.id, prov)] : [runs.setProvenance(run.id, prov), runs.deleteRun(run.id)];
      await Promise.allSettled(calls);
      expect(await keysNaming(run.id), `round ${round}`).toEqual([]);
    }
  });
});

describe('indexing a trial run while its study is deleted', () => {
  it('re-creates no run document or index key once the trial is gone (the write is guarded by the trial hash)', async () => {
    const r = parseStudySpec({ name: 'gone', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { lr: { type: 'float', min: 0, max: 1 } }, maxTrials: 5, trial: { command: ['true'] } });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const studies = new RedisStudyStore(redis, prefix);
    const local = new RedisRunStore(studies);
    const study = await studies.createStudy(r.spec);
    expect(await studies.createTrial(study.id, 0, { lr: 0.5 }, 5)).toBe(1);
    // Indexed once (its creation): the store now holds the study's spec in memory, as a running coordinator does.
    await local.indexTrial(study.id, 0);
    // The deletion lands between the indexer's read of the trial and its write: the interleaving
    // that left keys behind under load (study-lifecycle's forced delete of a running study).
    const original = redis.hmget.bind(redis) as (...a: unknown[]) => Promise<unknown>;
    (redis as unknown as { hmget: unknown }).hmget = async (...a: unknown[]) => {
      const got = await original(...a);
      if (a[0] === keys.trial(prefix, study.id, 0)) {
        const all = await studies.trialDataKeys(study.id, 0);
        await redis.del(...all, ...studies.studyDataKeys(study.id), ...(await local.experimentDataKeys(study.id)));
      }
      return got;
    };
    try {
      await local.indexTrial(study.id, 0);
    } finally {
      (redis as unknown as { hmget: unknown }).hmget = original;
    }
    const left: string[] = [];
    let cursor = '0';
    for (let i = 0; i < 10_000; i++) {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:{${study.id}}:*`, 'COUNT', 1000);
      left.push(...batch);
      cursor = next;
      if (cursor === '0') break;
    }
    expect(left, 'keys of the deleted study').toEqual([]);
  });
});
