/**
 * Stored data has an owner: a study (ask/tell, with a trial run logged through MLflow with its run
 * token, a direct run in the study's experiment, artifacts on both, provenance) and a plain MLflow
 * experiment (runs with params, tags, metrics, artifacts, provenance) are deleted through the API,
 * then every key under the test prefix is read back (SCAN, every member and value): nothing may
 * still name them, and the artifact store holds no object of theirs. Real coordinator, real Redis,
 * the filesystem artifact store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../shared/redis.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { call, ensureProject } from '../helpers/auth.js';
import { mlflow } from '../helpers/mlflow.js';
import { RunTokens } from '../../coordinator/mlflow/run-tokens.js';
import http from 'node:http';
import { TEST_ADMIN_TOKEN, waitFor } from '../helpers/env.js';
import { keys } from '../../shared/redis-keys.js';

const provenance = { attempt: 1, capturedAt: 1, code: { source: 'none' as const }, data: { source: 'none' as const, files: [], dvc: [] }, command: ['true'], env: {}, seed: 1 };

/** Every key under the prefix, with whatever of it (name, members, values) mentions `id`. Audit and credential records are owned elsewhere (retention, TTL): listed apart. */
async function mentions(redis: RedisClient, prefix: string, id: string): Promise<{ owned: string[]; audit: string[]; creds: string[] }> {
  const out = { owned: [] as string[], audit: [] as string[], creds: [] as string[] };
  let cursor = '0';
  for (let i = 0; i < 10_000; i++) {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    for (const k of batch) {
      const type = await redis.type(k);
      let text = k;
      if (type === 'hash') text += JSON.stringify(await redis.hgetall(k));
      else if (type === 'zset') text += JSON.stringify(await redis.zrange(k, '0', '-1'));
      else if (type === 'set') text += JSON.stringify(await redis.smembers(k));
      else if (type === 'list') text += JSON.stringify(await redis.lrange(k, 0, -1));
      else if (type === 'string') text += await redis.get(k);
      else if (type === 'stream') text += JSON.stringify(await redis.xrange(k, '-', '+'));
      if (!text.includes(id)) continue;
      if (/:audit/.test(k)) out.audit.push(k);
      else if (/:cred/.test(k)) out.creds.push(k);
      else out.owned.push(k);
    }
    cursor = next;
    if (cursor === '0') break;
  }
  return out;
}

async function objects(stack: TestStack, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of stack.coordinator.artifacts.store.list(prefix)) out.push(o.key);
  return out;
}

describe('deleting a study or an experiment leaves nothing of it', () => {
  let stack: TestStack;
  let base: string;
  beforeAll(async () => {
    stack = await startTestStack('run-data-del', { workers: 0 });
    base = stack.coordinator.httpUrl;
    await ensureProject(base, 'default');
  });
  afterAll(async () => stack?.close());

  const upload = (token: string | undefined, exp: string, run: string, file: string, bytes: string) =>
    fetch(`${base}/api/2.0/mlflow-artifacts/artifacts/${exp}/${run}/artifacts/${file}`, {
      method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${token ?? TEST_ADMIN_TOKEN}` },
    });

  it('a study with a MLflow-logged trial run, a direct run, artifacts and provenance', async () => {
    const study = await call(base, 'POST', '/api/v1/studies', {
      body: { name: 'to-delete', objective: { metric: 'f1', direction: 'maximize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 3, tags: { team: 'a' } },
    });
    expect(study.status, study.text).toBe(201);
    const sid = study.body.id as string;
    const trial = (await call(base, 'POST', `/api/v1/studies/${sid}/trials/ask`)).body;
    const attempt = (await call(base, 'GET', `/api/v1/trials/${trial.id}`)).body.attempt;
    const tok = await new RunTokens(stack.coordinator.creds, base).mint({ studyId: sid, number: trial.number, attempt, project: 'default', timeoutSeconds: 60 });
    const t = mlflow(base, tok.token);
    const batch = await t.post('runs/log-batch', { run_id: trial.id, metrics: [{ key: 'f1', value: 0.5, timestamp: Date.now(), step: 1 }, { key: 'aux', value: 1, timestamp: Date.now(), step: 1 }], tags: [{ key: 'logged', value: 'yes' }] });
    expect(batch.status, batch.text).toBe(200);
    expect((await upload(tok.token, sid, trial.id, 'model/w.bin', 'trial-bytes')).status).toBe(200);
    await stack.coordinator.runs.setProvenance(trial.id, provenance);

    const m = mlflow(base);
    const direct = await m.post('runs/create', { experiment_id: sid, run_name: 'side', tags: [{ key: 'k', value: 'v' }] });
    expect(direct.status, direct.text).toBe(200);
    const did = direct.body.run.info.run_id as string;
    expect((await m.post('runs/log-batch', { run_id: did, params: [{ key: 'lr', value: '0.1' }], metrics: [{ key: 'loss', value: 2, timestamp: Date.now(), step: 0 }] })).status).toBe(200);
    expect((await upload(undefined, sid, did, 'd.txt', 'direct-bytes')).status).toBe(200);
    await stack.coordinator.runs.setProvenance(did, { ...provenance, attempt: 0 });
    expect((await objects(stack, `runs/${sid}/`)).length).toBe(2);

    // The check sees the study's data before it goes (a check that cannot fail proves nothing).
    expect((await mentions(stack.coordinator.store.redis, stack.prefix, sid)).owned.length).toBeGreaterThan(10);
    const del = await call(base, 'DELETE', `/api/v1/studies/${sid}?force=true`);
    expect(del.status, del.text).toBe(200);
    const left = await mentions(stack.coordinator.store.redis, stack.prefix, sid);
    expect(left.owned).toEqual([]);
    expect(await objects(stack, `runs/${sid}/`)).toEqual([]);
    // The trial's run token goes with its trial: no credential may outlive the study it logs to.
    for (const k of left.creds) {
      const ttl = await stack.coordinator.store.redis.pttl(k);
      expect(ttl === -2 || ttl > 0, `${k} has no owner (pttl ${ttl})`).toBe(true);
    }
    expect((await t.get('runs/get', { run_id: trial.id })).status).toBeGreaterThanOrEqual(400);
  });

  it('a plain MLflow experiment with runs, params, tags, metrics, artifacts and provenance', async () => {
    const m = mlflow(base);
    const eid = (await m.post('experiments/create', { name: 'plain-to-delete', tags: [{ key: 'team', value: 'b' }] })).body.experiment_id as string;
    expect(typeof eid).toBe('string');
    for (let i = 0; i < 2; i++) {
      const rid = (await m.post('runs/create', { experiment_id: eid, tags: [{ key: 'i', value: String(i) }] })).body.run.info.run_id as string;
      const b = await m.post('runs/log-batch', { run_id: rid, params: [{ key: 'p', value: String(i) }], metrics: [{ key: 'acc', value: i, timestamp: Date.now(), step: 0 }, { key: 'acc', value: i + 1, timestamp: Date.now(), step: 1 }], tags: [{ key: 'x', value: 'y' }] });
      expect(b.status, b.text).toBe(200);
      expect((await upload(undefined, eid, rid, `f${i}.txt`, 'bytes')).status).toBe(200);
      await stack.coordinator.runs.setProvenance(rid, { ...provenance, attempt: 0 });
    }
    expect((await m.post('experiments/set-experiment-tag', { experiment_id: eid, key: 'k2', value: 'v2' })).status).toBe(200);
    expect((await mentions(stack.coordinator.store.redis, stack.prefix, eid)).owned.length).toBeGreaterThan(10);
    const del = await call(base, 'DELETE', `/api/v1/experiments/${eid}`);
    expect(del.status, del.text).toBe(200);
    expect((await mentions(stack.coordinator.store.redis, stack.prefix, eid)).owned).toEqual([]);
    expect(await objects(stack, `runs/${eid}/`)).toEqual([]);
  });

  it('an upload still streaming when its run is deleted leaves no entry, byte count or object behind', async () => {
    const m = mlflow(base);
    const eid = (await m.post('experiments/create', { name: 'upload-while-deleted' })).body.experiment_id as string;
    const rid = (await m.post('runs/create', { experiment_id: eid })).body.run.info.run_id as string;
    const redis = stack.coordinator.store.redis;
    const projectBytes = async () => Number((await redis.get(keys.projectArtifactBytes(stack.prefix, 'default'))) ?? 0);
    const before = await projectBytes();
    const u = new URL(base);
    const size = 64 * 1024;
    let answer: { status: number; text: string } | undefined;
    const req = http.request({ host: u.hostname, port: u.port, method: 'PUT', path: `/api/v1/runs/${rid}/artifacts/slow.bin`, headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/octet-stream', 'content-length': size } }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => { answer = { status: res.statusCode!, text }; });
    });
    req.on('error', () => undefined);
    req.write(Buffer.alloc(size / 2, 1));
    // The upload has its reservation (the server is streaming it) when the run goes.
    await waitFor(async () => (await redis.zcard(keys.runArtifactPending(stack.prefix, eid, rid))) === 1 || undefined, 10_000, 'the upload to be reserved');
    expect((await call(base, 'DELETE', `/api/v1/runs/${rid}`)).status).toBe(200);
    req.end(Buffer.alloc(size / 2, 2));
    await waitFor(() => answer, 10_000, 'the upload to be answered');
    expect(answer!.status, answer!.text).toBe(404);
    expect((await mentions(redis, stack.prefix, rid.slice(eid.length + 1))).owned).toEqual([]);
    expect(await objects(stack, `runs/${eid}/${rid}`)).toEqual([]);
    expect(await projectBytes()).toBe(before);
    expect(Number((await redis.get(keys.experimentArtifactBytes(stack.prefix, eid))) ?? 0)).toBe(0);
  });
});
