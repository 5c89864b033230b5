/**
 * Contract tests of the MLflow tracking REST API 2.0 as Tunehive serves it. Request and
 * response shapes and error codes follow MLflow's published reference,
 * https://mlflow.org/docs/latest/rest-api.html, and `mlflow/protos/service.proto`
 * (CreateExperiment, GetExperiment, GetExperimentByName, SearchExperiments, UpdateExperiment,
 * DeleteExperiment, RestoreExperiment, SetExperimentTag, DeleteExperimentTag, CreateRun, GetRun,
 * UpdateRun, DeleteRun, RestoreRun, SearchRuns, LogMetric, LogParam, SetTag, DeleteTag, LogBatch,
 * LogInputs, LogModel, GetMetricHistory); error codes and statuses from `mlflow/exceptions.py`
 * (RESOURCE_DOES_NOT_EXIST 404, INVALID_PARAMETER_VALUE 400, RESOURCE_ALREADY_EXISTS 400,
 * PERMISSION_DENIED 403, UNAUTHENTICATED 401, ENDPOINT_NOT_FOUND 404). Real coordinator, real Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { call, ensureProject, studyWithTrial, userToken } from '../helpers/auth.js';
import { expectMlflowError, mlflow } from '../helpers/mlflow.js';

describe('MLflow tracking REST API', () => {
  let stack: TestStack;
  let base: string;
  let m: ReturnType<typeof mlflow>;
  let expId: string;
  let runId: string;

  beforeAll(async () => {
    stack = await startTestStack('mlflow-tracking', { workers: 0 });
    base = stack.coordinator.httpUrl;
    m = mlflow(base);
    await ensureProject(base, 'default');
  });
  afterAll(async () => stack?.close());

  describe('experiments', () => {
    it('create -> {experiment_id}; get and get-by-name -> {experiment} with MLflow\'s fields', async () => {
      const c = await m.post('experiments/create', { name: 'fraud', artifact_location: 's3://ignored', tags: [{ key: 'team', value: 'risk' }] });
      expect(c.status, c.text).toBe(200);
      expect(Object.keys(c.body)).toEqual(['experiment_id']);
      expId = c.body.experiment_id;
      expect(typeof expId).toBe('string');
      const g = await m.get('experiments/get', { experiment_id: expId });
      expect(g.status).toBe(200);
      const e = g.body.experiment;
      expect(e).toMatchObject({ experiment_id: expId, name: 'fraud', lifecycle_stage: 'active', artifact_location: `mlflow-artifacts:/${expId}` });
      expect(typeof e.creation_time).toBe('number');
      expect(typeof e.last_update_time).toBe('number');
      expect(e.tags).toContainEqual({ key: 'team', value: 'risk' });
      expect(e.tags).toContainEqual({ key: 'tunehive.project', value: 'default' });
      const n = await m.get('experiments/get-by-name', { experiment_name: 'fraud' });
      expect(n.body.experiment.experiment_id).toBe(expId);
      // The UI's prefix serves the same handlers.
      const ajax = await m.get('experiments/get', { experiment_id: expId }, '/ajax-api/2.0/mlflow');
      expect(ajax.body).toEqual(g.body);
    });

    it('answers MLflow\'s error codes: missing name 404, duplicate 400, missing field 400, unknown route 404', async () => {
      expectMlflowError(await m.get('experiments/get-by-name', { experiment_name: 'no-such' }), 404, 'RESOURCE_DOES_NOT_EXIST');
      expectMlflowError(await m.get('experiments/get', { experiment_id: 'zzzzzzzzzz' }), 404, 'RESOURCE_DOES_NOT_EXIST');
      expectMlflowError(await m.post('experiments/create', { name: 'fraud' }), 400, 'RESOURCE_ALREADY_EXISTS');
      const missing = await m.post('experiments/create', {});
      expectMlflowError(missing, 400, 'INVALID_PARAMETER_VALUE');
      expect(missing.body.message).toContain("'name'");
      expectMlflowError(await m.get('experiments/get', {}), 400, 'INVALID_PARAMETER_VALUE');
      expectMlflowError(await m.post('experiments/no-such-rpc', {}), 404, 'ENDPOINT_NOT_FOUND');
      expectMlflowError(await m.post('experiments/create', { name: 'x', tags: 'not-a-list' }), 400, 'INVALID_PARAMETER_VALUE');
    });

    it('update renames; set/delete-experiment-tag; delete and restore are soft (view_type)', async () => {
      const other = (await m.post('experiments/create', { name: 'to-rename' })).body.experiment_id;
      expect((await m.post('experiments/update', { experiment_id: other, new_name: 'renamed' })).body).toEqual({});
      expect((await m.get('experiments/get', { experiment_id: other })).body.experiment.name).toBe('renamed');
      expectMlflowError(await m.post('experiments/update', { experiment_id: other, new_name: 'fraud' }), 400, 'RESOURCE_ALREADY_EXISTS');
      expect((await m.post('experiments/set-experiment-tag', { experiment_id: other, key: 'k', value: 'v' })).status).toBe(200);
      expect((await m.get('experiments/get', { experiment_id: other })).body.experiment.tags).toContainEqual({ key: 'k', value: 'v' });
      expect((await m.post('experiments/delete-experiment-tag', { experiment_id: other, key: 'k' })).status).toBe(200);
      expectMlflowError(await m.post('experiments/delete-experiment-tag', { experiment_id: other, key: 'k' }), 404, 'RESOURCE_DOES_NOT_EXIST');

      expect((await m.post('experiments/delete', { experiment_id: other })).body).toEqual({});
      expect((await m.get('experiments/get', { experiment_id: other })).body.experiment.lifecycle_stage).toBe('deleted');
      const active = await m.post('experiments/search', { max_results: 100 });
      expect(active.body.experiments.map((e: any) => e.experiment_id)).not.toContain(other);
      const deleted = await m.post('experiments/search', { view_type: 'DELETED_ONLY' });
      expect(deleted.body.experiments.map((e: any) => e.experiment_id)).toEqual([other]);
      expectMlflowError(await m.post('experiments/delete', { experiment_id: other }), 400, 'INVALID_PARAMETER_VALUE');
      expect((await m.post('experiments/restore', { experiment_id: other })).status).toBe(200);
      expect((await m.get('experiments/get', { experiment_id: other })).body.experiment.lifecycle_stage).toBe('active');
      expectMlflowError(await m.post('experiments/restore', { experiment_id: other }), 400, 'INVALID_PARAMETER_VALUE');
    });

    it('search: filter on name and tags, order_by, max_results with page_token; GET with query parameters', async () => {
      for (const n of ['s-a', 's-b', 's-c']) await m.post('experiments/create', { name: n, tags: [{ key: 'grp', value: 'search' }] });
      const f = await m.post('experiments/search', { filter: "name LIKE 's-%' AND tags.grp = 'search'", order_by: ['name DESC'], max_results: 2 });
      expect(f.status, f.text).toBe(200);
      expect(f.body.experiments.map((e: any) => e.name)).toEqual(['s-c', 's-b']);
      expect(typeof f.body.next_page_token).toBe('string');
      const p2 = await m.post('experiments/search', { filter: "name LIKE 's-%' AND tags.grp = 'search'", order_by: ['name DESC'], max_results: 2, page_token: f.body.next_page_token });
      expect(p2.body.experiments.map((e: any) => e.name)).toEqual(['s-a']);
      expect(p2.body.next_page_token).toBeUndefined();
      const g = await m.get('experiments/search', { filter: "name = 's-b'", max_results: 10 });
      expect(g.body.experiments.map((e: any) => e.name)).toEqual(['s-b']);
      expectMlflowError(await m.post('experiments/search', { filter: 'metrics.x > 1' }), 400, 'INVALID_PARAMETER_VALUE');
      expectMlflowError(await m.post('experiments/search', { page_token: 'garbage' }), 400, 'INVALID_PARAMETER_VALUE');
      expectMlflowError(await m.post('experiments/search', { max_results: 50_001 }), 400, 'INVALID_PARAMETER_VALUE');
    });
  });

  describe('runs', () => {
    it('create -> {run} with info, data and inputs; get returns the same run', async () => {
      const c = await m.post('runs/create', { experiment_id: expId, user_id: 'alice', run_name: 'first', start_time: 1716200000000, tags: [{ key: 'mlflow.source.name', value: 'train.py' }] });
      expect(c.status, c.text).toBe(200);
      const info = c.body.run.info;
      runId = info.run_id;
      expect(info).toMatchObject({ run_uuid: runId, run_name: 'first', experiment_id: expId, user_id: 'alice', status: 'RUNNING', start_time: 1716200000000, lifecycle_stage: 'active', artifact_uri: `mlflow-artifacts:/${expId}/${runId}/artifacts` });
      expect(info.end_time).toBeUndefined();
      expect(c.body.run.data.tags).toContainEqual({ key: 'mlflow.source.name', value: 'train.py' });
      expect(c.body.run.data.tags).toContainEqual({ key: 'mlflow.runName', value: 'first' });
      expect(c.body.run.inputs).toEqual({ dataset_inputs: [] });
      const g = await m.get('runs/get', { run_id: runId });
      expect(g.body.run.info).toEqual(info);
      expectMlflowError(await m.get('runs/get', { run_id: `${expId}.r000000000000` }), 404, 'RESOURCE_DOES_NOT_EXIST');
      expectMlflowError(await m.post('runs/create', { experiment_id: 'zzzzzzzzzz' }), 404, 'RESOURCE_DOES_NOT_EXIST');
    });

    it('log-metric, log-parameter (write-once), set-tag, delete-tag; get shows the latest metric value', async () => {
      for (const [step, value] of [[0, 0.9], [1, 0.5], [2, 0.3]] as const) {
        const r = await m.post('runs/log-metric', { run_id: runId, key: 'loss', value, timestamp: 1716200000000 + step, step });
        expect(r.status, r.text).toBe(200);
        expect(r.body).toEqual({});
      }
      expect((await m.post('runs/log-parameter', { run_id: runId, key: 'lr', value: '0.01' })).body).toEqual({});
      expect((await m.post('runs/log-parameter', { run_id: runId, key: 'lr', value: '0.01' })).status).toBe(200);
      const changed = await m.post('runs/log-parameter', { run_id: runId, key: 'lr', value: '0.02' });
      expectMlflowError(changed, 400, 'INVALID_PARAMETER_VALUE');
      expect(changed.body.message).toContain('0.01');
      expect((await m.post('runs/set-tag', { run_id: runId, key: 'stage', value: 'dev' })).body).toEqual({});
      // The deprecated run_uuid alone still names the run (older clients).
      expect((await m.post('runs/set-tag', { run_uuid: runId, key: 'old', value: 'client' })).status).toBe(200);
      expect((await m.post('runs/delete-tag', { run_id: runId, key: 'old' })).body).toEqual({});
      expectMlflowError(await m.post('runs/delete-tag', { run_id: runId, key: 'old' }), 404, 'RESOURCE_DOES_NOT_EXIST');
      const run = (await m.get('runs/get', { run_id: runId })).body.run;
      expect(run.data.metrics).toEqual([{ key: 'loss', value: 0.3, timestamp: 1716200000002, step: 2 }]);
      expect(run.data.params).toEqual([{ key: 'lr', value: '0.01' }]);
      expect(run.data.tags).toContainEqual({ key: 'stage', value: 'dev' });
      expect(run.data.tags.map((t: any) => t.key)).not.toContain('old');
      expectMlflowError(await m.post('runs/log-metric', { run_id: runId, key: 'loss', value: 1 }), 400, 'INVALID_PARAMETER_VALUE');
      expectMlflowError(await m.post('runs/log-metric', { run_id: 'nope', key: 'loss', value: 1, timestamp: 1 }), 404, 'RESOURCE_DOES_NOT_EXIST');
    });

    it('metrics/get-history: every point in order (int64 as numbers), paged with max_results/page_token', async () => {
      const h = await m.get('metrics/get-history', { run_id: runId, metric_key: 'loss' });
      expect(h.status, h.text).toBe(200);
      expect(h.body.metrics).toEqual([0.9, 0.5, 0.3].map((value, step) => ({ key: 'loss', value, timestamp: 1716200000000 + step, step })));
      expect(h.body.next_page_token).toBeUndefined();
      const p1 = await m.get('metrics/get-history', { run_id: runId, metric_key: 'loss', max_results: 2 });
      expect(p1.body.metrics.map((x: any) => x.step)).toEqual([0, 1]);
      const p2 = await m.get('metrics/get-history', { run_id: runId, metric_key: 'loss', max_results: 2, page_token: p1.body.next_page_token });
      expect(p2.body.metrics.map((x: any) => x.step)).toEqual([2]);
      expect((await m.get('metrics/get-history', { run_id: runId, metric_key: 'never-logged' })).body.metrics).toEqual([]);
    });

    it('log-batch: params, metrics and tags in one call; the documented limits are INVALID_PARAMETER_VALUE', async () => {
      const r = (await m.post('runs/create', { experiment_id: expId, run_name: 'batch' })).body.run.info.run_id;
      const ok = await m.post('runs/log-batch', {
        run_id: r,
        metrics: Array.from({ length: 100 }, (_, i) => ({ key: `m${i % 10}`, value: i, timestamp: 1716200000000 + i, step: Math.floor(i / 10) })),
        params: [{ key: 'optimizer', value: 'adam' }],
        tags: [{ key: 't', value: 'first' }, { key: 't', value: 'last' }, { key: 'mlflow.runName', value: 'batch-renamed' }],
      });
      expect(ok.status, ok.text).toBe(200);
      expect(ok.body).toEqual({});
      const run = (await m.get('runs/get', { run_id: r })).body.run;
      expect(run.data.metrics).toHaveLength(10);
      expect(run.data.metrics.find((x: any) => x.key === 'm3')).toEqual({ key: 'm3', value: 93, timestamp: 1716200000093, step: 9 });
      expect(run.data.tags).toContainEqual({ key: 't', value: 'last' });
      expect(run.info.run_name).toBe('batch-renamed');
      expect((await m.get('metrics/get-history', { run_id: r, metric_key: 'm0' })).body.metrics).toHaveLength(10);

      const metric = (i: number) => ({ key: 'x', value: i, timestamp: 1716200000000, step: i });
      const cases: Array<[unknown, string]> = [
        [{ run_id: r, metrics: Array.from({ length: 1001 }, (_, i) => metric(i)) }, 'at most 1000 metrics'],
        [{ run_id: r, params: Array.from({ length: 101 }, (_, i) => ({ key: `p${i}`, value: 'v' })) }, 'at most 100 params'],
        [{ run_id: r, tags: Array.from({ length: 101 }, (_, i) => ({ key: `t${i}`, value: 'v' })) }, 'at most 100 tags'],
        [{ run_id: r, metrics: Array.from({ length: 901 }, (_, i) => metric(i)), params: Array.from({ length: 50 }, (_, i) => ({ key: `p${i}`, value: 'v' })), tags: Array.from({ length: 50 }, (_, i) => ({ key: `t${i}`, value: 'v' })) }, 'in total'],
        [{ run_id: r, tags: [{ key: 'k'.repeat(251), value: 'v' }] }, 'length limit of 250'],
        [{ run_id: r, params: [{ key: 'optimizer', value: 'sgd' }] }, 'Changing param values is not allowed'],
      ];
      for (const [b, msg] of cases) {
        const res = await m.post('runs/log-batch', b);
        expectMlflowError(res, 400, 'INVALID_PARAMETER_VALUE');
        expect(res.body.message).toContain(msg);
      }
      // Over 1 MB: refused before it is parsed.
      const big = await m.post('runs/log-batch', { run_id: r, tags: [{ key: 'big', value: 'x'.repeat(1024 * 1024) }] });
      expectMlflowError(big, 400, 'INVALID_PARAMETER_VALUE');
    });

    it('update: status and end_time -> {run_info}; delete/restore are soft and run_view_type finds them', async () => {
      const r = (await m.post('runs/create', { experiment_id: expId, run_name: 'to-end' })).body.run.info.run_id;
      const u = await m.post('runs/update', { run_id: r, status: 'FINISHED', end_time: 1716200099000 });
      expect(u.status, u.text).toBe(200);
      expect(u.body.run_info).toMatchObject({ run_id: r, status: 'FINISHED', end_time: 1716200099000 });
      expectMlflowError(await m.post('runs/update', { run_id: r, status: 'DONE' }), 400, 'INVALID_PARAMETER_VALUE');
      expect((await m.post('runs/delete', { run_id: r })).body).toEqual({});
      expect((await m.get('runs/get', { run_id: r })).body.run.info.lifecycle_stage).toBe('deleted');
      const setOnDeleted = await m.post('runs/set-tag', { run_id: r, key: 'a', value: 'b' });
      expectMlflowError(setOnDeleted, 400, 'INVALID_PARAMETER_VALUE');
      expect(setOnDeleted.body.message).toContain("must be in the 'active' state");
      const ids = async (view?: string) => (await m.post('runs/search', { experiment_ids: [expId], ...(view ? { run_view_type: view } : {}) })).body.runs.map((x: any) => x.info.run_id);
      expect(await ids()).not.toContain(r);
      expect(await ids('DELETED_ONLY')).toEqual([r]);
      expect(await ids('ALL')).toContain(r);
      expect((await m.post('runs/restore', { run_id: r })).status).toBe(200);
      expect(await ids()).toContain(r);
    });

    it('log-inputs and log-model are stored and shown', async () => {
      const dataset = { name: 'breast-cancer', digest: 'abc123', source_type: 'local', source: '/data/bc.csv', schema: '{}' };
      expect((await m.post('runs/log-inputs', { run_id: runId, datasets: [{ tags: [{ key: 'mlflow.data.context', value: 'train' }], dataset }] })).body).toEqual({});
      const model = { artifact_path: 'model', flavors: { sklearn: {} }, run_id: runId };
      expect((await m.post('runs/log-model', { run_id: runId, model_json: JSON.stringify(model) })).body).toEqual({});
      const run = (await m.get('runs/get', { run_id: runId })).body.run;
      expect(run.inputs.dataset_inputs).toEqual([{ tags: [{ key: 'mlflow.data.context', value: 'train' }], dataset }]);
      const hist = run.data.tags.find((t: any) => t.key === 'mlflow.log-model.history');
      expect(JSON.parse(hist.value)).toEqual([model]);
      expect(run.data.tags.map((t: any) => t.key)).not.toContain('tunehive.mlflow.inputs');
      expectMlflowError(await m.post('runs/log-model', { run_id: runId, model_json: 'not json' }), 400, 'INVALID_PARAMETER_VALUE');
    });
  });

  describe('runs/search', () => {
    let sExp: string;
    const made: Record<string, string> = {};
    beforeAll(async () => {
      sExp = (await m.post('experiments/create', { name: 'search-runs' })).body.experiment_id;
      for (const [name, f1, opt] of [['a', 0.95, 'adam'], ['b', 0.85, 'sgd'], ['c', 0.92, 'adam'], ['d', 0.97, 'sgd']] as const) {
        const id = (await m.post('runs/create', { experiment_id: sExp, run_name: name })).body.run.info.run_id;
        await m.post('runs/log-batch', { run_id: id, metrics: [{ key: 'f1', value: f1, timestamp: 1716200000000, step: 0 }], params: [{ key: 'optimizer', value: opt }] });
        made[name] = id;
      }
    });

    it('filter, order_by, max_results and page_token', async () => {
      const q = { experiment_ids: [sExp], filter: 'metrics.f1 > 0.9', order_by: ['metrics.f1 DESC'], max_results: 2 };
      const p1 = await m.post('runs/search', q);
      expect(p1.status, p1.text).toBe(200);
      expect(p1.body.runs.map((r: any) => r.info.run_name)).toEqual(['d', 'a']);
      expect(p1.body.runs[0].data.metrics).toEqual([{ key: 'f1', value: 0.97, timestamp: 1716200000000, step: 0 }]);
      const p2 = await m.post('runs/search', { ...q, page_token: p1.body.next_page_token });
      expect(p2.body.runs.map((r: any) => r.info.run_name)).toEqual(['c']);
      expect(p2.body.next_page_token).toBeUndefined();
      const adam = await m.post('runs/search', { experiment_ids: [sExp], filter: "params.optimizer = 'adam' and attributes.status = 'RUNNING'", order_by: ['attributes.run_name ASC'] });
      expect(adam.body.runs.map((r: any) => r.info.run_name)).toEqual(['a', 'c']);
      const byTag = await m.post('runs/search', { experiment_ids: [sExp], filter: 'tags."mlflow.runName" = \'b\'' });
      expect(byTag.body.runs.map((r: any) => r.info.run_id)).toEqual([made.b]);
      // Default order: start_time DESC.
      const all = await m.post('runs/search', { experiment_ids: [sExp] });
      expect(all.body.runs.map((r: any) => r.info.run_name)).toEqual(['d', 'c', 'b', 'a']);
    });

    it('a page larger than the store\'s 1,000 is assembled from store pages', async () => {
      const big = (await m.post('experiments/create', { name: 'search-big' })).body.experiment_id;
      for (let i = 0; i < 1005; i++) await m.post('runs/create', { experiment_id: big, start_time: 1716200000000 + i });
      const r = await m.post('runs/search', { experiment_ids: [big], max_results: 1200 });
      expect(r.body.runs).toHaveLength(1005);
      expect(r.body.next_page_token).toBeUndefined();
      const starts = r.body.runs.map((x: any) => x.info.start_time);
      expect(starts).toEqual([...starts].sort((a: number, b: number) => b - a));
      const first = await m.post('runs/search', { experiment_ids: [big], max_results: 1001 });
      expect(first.body.runs).toHaveLength(1001);
      const rest = await m.post('runs/search', { experiment_ids: [big], max_results: 1001, page_token: first.body.next_page_token });
      expect(rest.body.runs).toHaveLength(4);
    }, 120_000);

    it('bad filters, order_by and tokens are INVALID_PARAMETER_VALUE naming the field', async () => {
      const bad = await m.post('runs/search', { experiment_ids: [sExp], filter: 'metrics.f1 >' });
      expectMlflowError(bad, 400, 'INVALID_PARAMETER_VALUE');
      expect(bad.body.message).toContain("'filter'");
      expectMlflowError(await m.post('runs/search', { experiment_ids: [sExp], order_by: ['metrics.f1 SIDEWAYS'] }), 400, 'INVALID_PARAMETER_VALUE');
      expectMlflowError(await m.post('runs/search', { experiment_ids: [sExp], page_token: 'bm9wZQ' }), 400, 'INVALID_PARAMETER_VALUE');
      expectMlflowError(await m.post('runs/search', { experiment_ids: [sExp], run_view_type: 'SOME' }), 400, 'INVALID_PARAMETER_VALUE');
    });
  });

  describe('a study as an experiment, its trials as runs', () => {
    it('shows the trial with its study and number tags, and keeps the trial\'s params and status', async () => {
      const { studyId, trialId } = await studyWithTrial(base, 'default');
      const e = (await m.get('experiments/get', { experiment_id: studyId })).body.experiment;
      expect(e.tags).toContainEqual({ key: 'tunehive.kind', value: 'study' });
      const run = (await m.get('runs/get', { run_id: trialId })).body.run;
      expect(run.info).toMatchObject({ run_id: trialId, experiment_id: studyId, status: 'RUNNING' });
      expect(run.data.tags).toContainEqual({ key: 'tunehive.study_id', value: studyId });
      expect(run.data.tags).toContainEqual({ key: 'tunehive.trial_number', value: trialId.split('.')[1] });
      expect(run.data.metrics).toContainEqual(expect.objectContaining({ key: 'loss', value: 0.5, step: 1 }));
      const x = run.data.params.find((p: any) => p.key === 'x').value;
      expect((await m.post('runs/log-parameter', { run_id: trialId, key: 'x', value: x })).status).toBe(200);
      expectMlflowError(await m.post('runs/log-parameter', { run_id: trialId, key: 'x', value: '2' }), 400, 'INVALID_PARAMETER_VALUE');
      expectMlflowError(await m.post('runs/log-parameter', { run_id: trialId, key: 'extra', value: '2' }), 400, 'INVALID_PARAMETER_VALUE');
      // MLflow's start_run()/end_run() set the status: accepted, the trial is untouched.
      const u = await m.post('runs/update', { run_id: trialId, status: 'FINISHED', end_time: Date.now() });
      expect(u.status, u.text).toBe(200);
      expect(u.body.run_info.status).toBe('RUNNING');
      expect((await call(base, 'GET', `/api/v1/trials/${trialId}`)).body.state).toBe('RUNNING');
      // A metric logged through MLflow is the trial's.
      expect((await m.post('runs/log-metric', { run_id: trialId, key: 'loss', value: 0.25, timestamp: Date.now(), step: 2 })).status).toBe(200);
      const series = await call(base, 'GET', `/api/v1/trials/${trialId}/metrics/loss`);
      expect(JSON.stringify(series.body)).toContain('0.25');
    });
  });

  describe('authentication and authorization', () => {
    it('Bearer and Basic with the token; no token or a bad one is UNAUTHENTICATED 401', async () => {
      const { token } = await userToken(base, 'mlu', { default: 'editor' });
      expect((await mlflow(base, token).get('experiments/get', { experiment_id: expId })).status).toBe(200);
      const basic = await call(base, 'GET', `/api/2.0/mlflow/experiments/get?experiment_id=${expId}`, { authorization: `Basic ${Buffer.from(`mlu:${token}`).toString('base64')}` });
      expect(basic.status, basic.text).toBe(200);
      const none = await mlflow(base, null).get('experiments/get', { experiment_id: expId });
      expectMlflowError(none, 401, 'UNAUTHENTICATED');
      expect(none.headers.get('www-authenticate')).toContain('Bearer');
      expectMlflowError(await mlflow(base, 'thk_0123456789abcdef_' + 'A'.repeat(43)).post('runs/search', {}), 401, 'UNAUTHENTICATED');
    });

    it('PERMISSION_DENIED for too small a role; another project\'s experiment is RESOURCE_DOES_NOT_EXIST and never listed', async () => {
      await ensureProject(base, 'other');
      const viewer = mlflow(base, (await userToken(base, 'mlv', { default: 'viewer' })).token);
      expect((await viewer.get('runs/get', { run_id: runId })).status).toBe(200);
      expectMlflowError(await viewer.post('runs/log-metric', { run_id: runId, key: 'loss', value: 1, timestamp: Date.now() }), 403, 'PERMISSION_DENIED');
      expectMlflowError(await viewer.post('experiments/create', { name: 'viewer-made' }), 403, 'PERMISSION_DENIED');
      const outsider = mlflow(base, (await userToken(base, 'mlo', { other: 'owner' })).token);
      expectMlflowError(await outsider.get('runs/get', { run_id: runId }), 404, 'RESOURCE_DOES_NOT_EXIST');
      expectMlflowError(await outsider.get('experiments/get', { experiment_id: expId }), 404, 'RESOURCE_DOES_NOT_EXIST');
      expectMlflowError(await outsider.get('experiments/get-by-name', { experiment_name: 'fraud' }), 404, 'RESOURCE_DOES_NOT_EXIST');
      expect((await outsider.post('runs/search', { experiment_ids: [expId] })).body.runs).toEqual([]);
      expect((await outsider.post('experiments/search', {})).body.experiments).toEqual([]);
      // Its own experiments go to its project: the token's when it is scoped, else a tunehive.project tag.
      const scoped = mlflow(base, (await userToken(base, 'mls', { other: 'editor' }, { tokenProject: 'other', tokenRole: 'editor' })).token);
      const mine = (await scoped.post('experiments/create', { name: 'fraud' })).body.experiment_id;
      expect((await scoped.get('experiments/get', { experiment_id: mine })).body.experiment.tags).toContainEqual({ key: 'tunehive.project', value: 'other' });
      const tagged = await outsider.post('experiments/create', { name: 'tagged', tags: [{ key: 'tunehive.project', value: 'other' }] });
      expect(tagged.status, tagged.text).toBe(200);
      expectMlflowError(await outsider.post('experiments/create', { name: 'nowhere' }), 404, 'RESOURCE_DOES_NOT_EXIST');
    });
  });
});
