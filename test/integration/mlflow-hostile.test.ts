/**
 * A hostile MLflow client against the real coordinator and Redis: the per-run caps of
 * RUN_LIMITS hold across calls and under concurrent calls, params are write-once under a race,
 * and unknown runs are 404 everywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { call, ensureProject, userToken } from '../helpers/auth.js';
import { expectMlflowError, mlflow } from '../helpers/mlflow.js';
import { RUN_LIMITS } from '../../shared/run-model.js';
import { keys } from '../../shared/redis-keys.js';

describe('MLflow runs under a hostile client', () => {
  let stack: TestStack;
  let m: ReturnType<typeof mlflow>;
  let expId: string;
  const newRun = async () => (await m.post('runs/create', { experiment_id: expId })).body.run.info.run_id as string;

  beforeAll(async () => {
    stack = await startTestStack('mlflow-hostile', { workers: 0 });
    m = mlflow(stack.coordinator.httpUrl);
    await ensureProject(stack.coordinator.httpUrl, 'default');
    expId = (await m.post('experiments/create', { name: 'hostile' })).body.experiment_id;
  });
  afterAll(async () => stack?.close());

  it(`holds a run to ${RUN_LIMITS.paramsPerRun} params across many calls`, async () => {
    const run = await newRun();
    for (let b = 0; b < RUN_LIMITS.paramsPerRun / 100; b++) {
      const r = await m.post('runs/log-batch', { run_id: run, params: Array.from({ length: 100 }, (_, i) => ({ key: `p${b * 100 + i}`, value: 'v' })) });
      expect(r.status, r.text).toBe(200);
    }
    const over = await m.post('runs/log-parameter', { run_id: run, key: 'one-more', value: 'v' });
    expectMlflowError(over, 400, 'INVALID_PARAMETER_VALUE');
    expect(over.body.message).toContain(String(RUN_LIMITS.paramsPerRun));
    // Re-logging a param it has is still fine at the cap.
    expect((await m.post('runs/log-parameter', { run_id: run, key: 'p0', value: 'v' })).status).toBe(200);
    const got = (await m.get('runs/get', { run_id: run })).body.run.data.params;
    expect(got).toHaveLength(RUN_LIMITS.paramsPerRun);
  });

  it(`holds a run to ${RUN_LIMITS.tagsPerRun} tags under concurrent batches`, async () => {
    const run = await newRun();
    const have = (await m.get('runs/get', { run_id: run })).body.run.data.tags.length;
    expect(have).toBeLessThan(RUN_LIMITS.tagsPerRun - 100);
    // Eight batches of 100 that each fit alone, racing for room for one of them.
    const each = 100;
    const replies = await Promise.all(Array.from({ length: 8 }, (_, b) => m.post('runs/log-batch', { run_id: run, tags: Array.from({ length: each }, (_, i) => ({ key: `t${b}.${i}`, value: 'v' })) })));
    const ok = replies.filter((r) => r.status === 200).length;
    for (const r of replies) if (r.status !== 200) expectMlflowError(r, 400, 'INVALID_PARAMETER_VALUE');
    expect(ok).toBe(1);
    const tags = (await m.get('runs/get', { run_id: run })).body.run.data.tags.length;
    expect(tags).toBe(have + ok * each);
  });

  it(`holds a run to ${RUN_LIMITS.tagsPerRun} tags when the store gets the calls at the same instant`, async () => {
    const run = await newRun();
    const store = stack.coordinator.runs;
    const results = await Promise.allSettled(Array.from({ length: 4 }, (_, b) => store.setTags(run, Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`s${b}.${i}`, 'v'])))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const stored = (await stack.coordinator.store.redis.hkeys(keys.directRun(stack.prefix, expId, run.slice(expId.length + 1)))).filter((f) => f.startsWith('t:'));
    expect(stored.length).toBeLessThanOrEqual(RUN_LIMITS.tagsPerRun);
  });

  it('two concurrent log-parameter calls with different values: exactly one wins, the other is told', async () => {
    for (let round = 0; round < 5; round++) {
      const run = await newRun();
      const replies = await Promise.all(['a', 'b', 'c', 'd'].map((v) => m.post('runs/log-parameter', { run_id: run, key: 'lr', value: v })));
      const winners = replies.filter((r) => r.status === 200);
      expect(winners).toHaveLength(1);
      for (const r of replies) if (r.status !== 200) expectMlflowError(r, 400, 'INVALID_PARAMETER_VALUE');
      const params = (await m.get('runs/get', { run_id: run })).body.run.data.params;
      expect(params).toHaveLength(1);
      const loser = replies.find((r) => r.status !== 200)!;
      expect(loser.body.message).toContain(JSON.stringify(params[0].value));
    }
  });

  it('the provenance of a run that does not exist is a 404, like the run', async () => {
    const base = stack.coordinator.httpUrl;
    for (const id of [`${expId}.r000000000000`, `${expId}.999`]) {
      const r = await call(base, 'GET', `/api/v1/runs/${id}/provenance`);
      expect(r.status, r.text).toBe(404);
      expect(r.text).toContain('TH_ERR_RUN_NOT_FOUND');
      expect((await call(base, 'GET', `/api/v1/runs/${id}`)).status).toBe(404);
    }
  });

  it('a viewer naming experiment 0 before it exists finds nothing and makes nothing (a write needs an editor)', async () => {
    const base = stack.coordinator.httpUrl;
    await ensureProject(base, 'viewers-only');
    const viewer = mlflow(base, (await userToken(base, 'vic', { 'viewers-only': 'viewer' }, { tokenProject: 'viewers-only' })).token);
    expectMlflowError(await viewer.get('experiments/get', { experiment_id: '0' }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expect((await stack.coordinator.runs.listExperiments(['viewers-only'], { offset: 0, limit: 10 })).experiments).toEqual([]);
    // An editor's first use makes it, and the viewer then reads it.
    const editor = mlflow(base, (await userToken(base, 'eve', { 'viewers-only': 'editor' }, { tokenProject: 'viewers-only' })).token);
    const made = await editor.get('experiments/get', { experiment_id: '0' });
    expect(made.status, made.text).toBe(200);
    expect((await viewer.get('experiments/get', { experiment_id: '0' })).body.experiment.experiment_id).toBe(made.body.experiment.experiment_id);
  });

  it(`holds an experiment to ${RUN_LIMITS.tagsPerRun} tags across many set-experiment-tag calls`, async () => {
    const e = (await m.post('experiments/create', { name: 'tag-cap' })).body.experiment_id;
    const have = (await m.get('experiments/get', { experiment_id: e })).body.experiment.tags.length;
    const replies = await Promise.all(Array.from({ length: RUN_LIMITS.tagsPerRun + 20 }, (_, i) => m.post('experiments/set-experiment-tag', { experiment_id: e, key: `k${i}`, value: 'v' })));
    expect(replies.filter((r) => r.status === 200).length).toBe(RUN_LIMITS.tagsPerRun);
    for (const r of replies) if (r.status !== 200) expectMlflowError(r, 400, 'INVALID_PARAMETER_VALUE');
    // Changing or deleting one is still fine at the cap, and frees room.
    expect((await m.post('experiments/set-experiment-tag', { experiment_id: e, key: 'k0', value: 'w' })).status).toBe(200);
    expect((await m.post('experiments/delete-experiment-tag', { experiment_id: e, key: 'k0' })).status).toBe(200);
    expect((await m.post('experiments/set-experiment-tag', { experiment_id: e, key: 'fresh', value: 'v' })).status).toBe(200);
    expect((await m.get('experiments/get', { experiment_id: e })).body.experiment.tags.length).toBe(have + RUN_LIMITS.tagsPerRun);
  });
});
