/**
 * A second, independent client: the `mlflow` package on npm (v2.0.7, "MLflow api client for
 * Node.js", node_modules/mlflow/lib) drives experiments, runs, log-batch, metric history and
 * search against a real coordinator. It speaks MLflow's REST API as published
 * (https://mlflow.org/docs/latest/rest-api.html, service.proto): GET fields as query
 * parameters, run_uuid beside run_id, and 1.x's experiments/list.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { ensureProject } from '../helpers/auth.js';
import { TEST_ADMIN_TOKEN } from '../helpers/env.js';

type Client = any;
const MLflow = createRequire(import.meta.url)('mlflow') as new (o: { endpoint: string; headers?: Record<string, string> }) => Client;

/** The package throws Error(JSON.stringify({status, statusText, data})) wrapped once more in an Error. */
async function failure(p: Promise<unknown>): Promise<{ status: number; data: any }> {
  try {
    await p;
  } catch (err) {
    const text = String((err as Error).message).replace(/^Error: /, '');
    return JSON.parse(text);
  }
  throw new Error('expected the call to fail');
}

describe('the npm mlflow client against Tunehive', () => {
  let stack: TestStack;
  let client: Client;
  beforeAll(async () => {
    stack = await startTestStack('mlflow-npm', { workers: 0 });
    await ensureProject(stack.coordinator.httpUrl, 'default');
    client = new MLflow({ endpoint: stack.coordinator.httpUrl, headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    // The package prints every body it posts.
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await stack?.close();
  });

  it('experiments: create, get, list, update, delete, restore; errors carry MLflow codes', async () => {
    const { experiment_id: id } = await client.Experiments.create({ name: 'npm-exp' });
    expect(typeof id).toBe('string');
    const got = await client.Experiments.get({ experiment_id: id });
    expect(got.experiment).toMatchObject({ experiment_id: id, name: 'npm-exp', lifecycle_stage: 'active' });
    const listed = await client.Experiments.list({});
    expect(listed.experiments.map((e: any) => e.experiment_id)).toContain(id);
    await client.Experiments.update({ experiment_id: id, new_name: 'npm-exp-2' });
    expect((await client.Experiments.get({ experiment_id: id })).experiment.name).toBe('npm-exp-2');
    await client.Experiments.delete({ experiment_id: id });
    expect((await client.Experiments.list({ view_type: 'DELETED_ONLY' })).experiments.map((e: any) => e.experiment_id)).toEqual([id]);
    await client.Experiments.restore({ experiment_id: id });
    expect((await client.Experiments.get({ experiment_id: id })).experiment.lifecycle_stage).toBe('active');
    const dup = await failure(client.Experiments.create({ name: 'npm-exp-2' }));
    expect(dup).toMatchObject({ status: 400, data: { error_code: 'RESOURCE_ALREADY_EXISTS' } });
    const missing = await failure(client.Experiments.get({ experiment_id: 'nosuchexp0' }));
    expect(missing).toMatchObject({ status: 404, data: { error_code: 'RESOURCE_DOES_NOT_EXIST' } });
  });

  it('runs: create, log-metric, log-parameter, set-tag, log-batch, get, update, metric history, search', async () => {
    const { experiment_id: exp } = await client.Experiments.create({ name: 'npm-runs' });
    const ids: string[] = [];
    for (const [i, f1] of [0.81, 0.93, 0.88].entries()) {
      const { run } = await client.Runs.create({ experiment_id: exp, user_id: 'npm', start_time: 1716200000000 + i, tags: [{ key: 'mlflow.runName', value: `npm-${i}` }] });
      const id = run.info.run_id;
      ids.push(id);
      await client.Runs.logParameter({ run_id: id, key: 'lr', value: String(0.1 * (i + 1)) });
      await client.Runs.setTag({ run_id: id, key: 'client', value: 'npm' });
      await client.Runs.logMetric({ run_id: id, key: 'f1', value: f1 - 0.1, timestamp: 1716200000000, step: 0 });
      await client.Runs.logBatch({
        run_id: id,
        metrics: [{ key: 'f1', value: f1, timestamp: 1716200001000, step: 1 }, ...Array.from({ length: 99 }, (_, k) => ({ key: 'loss', value: 1 / (k + 1), timestamp: 1716200001000 + k, step: k }))],
        params: [{ key: 'optimizer', value: 'adam' }], tags: [{ key: 'batch', value: 'yes' }],
      });
    }
    const got = await client.Runs.get({ run_id: ids[1] });
    expect(got.run.info).toMatchObject({ run_id: ids[1], run_name: 'npm-1', experiment_id: exp, status: 'RUNNING', user_id: 'npm' });
    expect(got.run.data.metrics).toContainEqual({ key: 'f1', value: 0.93, timestamp: 1716200001000, step: 1 });
    expect(got.run.data.params).toEqual(expect.arrayContaining([{ key: 'lr', value: '0.2' }, { key: 'optimizer', value: 'adam' }]));
    expect(got.run.data.tags).toEqual(expect.arrayContaining([{ key: 'client', value: 'npm' }, { key: 'batch', value: 'yes' }]));
    const history = await client.Metrics.getHistory({ run_id: ids[1], metric_key: 'loss' });
    expect(history.metrics).toHaveLength(99);
    expect(history.metrics[98]).toEqual({ key: 'loss', value: 1 / 99, timestamp: 1716200001098, step: 98 });

    const found = await client.Runs.search({ experiment_ids: [exp], filter: 'metrics.f1 > 0.85', order_by: ['metrics.f1 DESC'], max_results: 5 });
    expect(found.runs.map((r: any) => r.info.run_id)).toEqual([ids[1], ids[2]]);
    const paged = await client.Runs.search({ experiment_ids: [exp], max_results: 2, order_by: ['attributes.start_time ASC'] });
    expect(paged.runs.map((r: any) => r.info.run_id)).toEqual([ids[0], ids[1]]);
    const rest = await client.Runs.search({ experiment_ids: [exp], max_results: 2, order_by: ['attributes.start_time ASC'], page_token: paged.next_page_token });
    expect(rest.runs.map((r: any) => r.info.run_id)).toEqual([ids[2]]);

    const ended = await client.Runs.update({ run_id: ids[0], status: 'FINISHED', end_time: 1716200099000 });
    expect(ended.run_info).toMatchObject({ status: 'FINISHED', end_time: 1716200099000 });
    await client.Runs.delete({ run_id: ids[0] });
    expect((await client.Runs.search({ experiment_ids: [exp] })).runs).toHaveLength(2);
    await client.Runs.restore({ run_id: ids[0] });
    expect((await client.Runs.search({ experiment_ids: [exp] })).runs).toHaveLength(3);

    const changed = await failure(client.Runs.logParameter({ run_id: ids[1], key: 'lr', value: '9' }));
    expect(changed).toMatchObject({ status: 400, data: { error_code: 'INVALID_PARAMETER_VALUE' } });
    const files = await client.Artifacts.list({ run_id: ids[1] });
    expect(files).toMatchObject({ root_uri: `mlflow-artifacts:/${exp}/${ids[1]}/artifacts`, files: [] });
  });
});
