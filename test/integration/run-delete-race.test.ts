/**
 * Deleting a direct run while a client still logs to it (real Redis, the real store): whatever
 * the interleaving, no key of the run is left behind, a metric series first logged in the
 * instant before the deletion included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { connectRedis } from '../../shared/redis.js';
import { RedisStudyStore } from '../../coordinator/store/study-store.js';
import { RedisRunStore } from '../../coordinator/runs/redis-run-store.js';
import { redisUrl, uniquePrefix } from '../helpers/env.js';

let redis: Redis;
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
