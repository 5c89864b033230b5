/**
 * Trial programs that log with MLflow (issue 12): real workers run a real child process
 * (test/fixtures/mlflow-logger.mjs) that reports only through MLflow's REST API
 * (https://mlflow.org/docs/latest/rest-api.html: GetRun, UpdateRun, LogParam, SetTag, LogBatch)
 * with the MLFLOW_* variables its worker gave it. Its f1 is the study's objective and feeds the
 * median rule, which prunes the worse trials through the ordinary command path.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { call } from '../helpers/auth.js';
import { expectMlflowError, mlflow } from '../helpers/mlflow.js';
import { waitFor } from '../helpers/env.js';

describe('a trial program logging through MLflow', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('mlflow-trial', { workers: 1, slots: 1 });
  });
  afterAll(async () => stack?.close());

  it('drives the objective and a median-rule prune; its token is its run\'s only and dies with the attempt', async () => {
    const base = stack.coordinator.httpUrl;
    const created = await stack.api('POST', '/api/v1/studies', {
      name: 'mlflow-logged', objective: { metric: 'f1', direction: 'maximize' },
      searchSpace: { x: { type: 'int', min: 0, max: 2 } }, algorithm: { name: 'grid' }, parallelism: 1, maxTrials: 3,
      earlyStopping: { rule: 'median', settings: { minTrialsRequired: 1, startStep: 2 } },
      trial: { command: [process.execPath, path.resolve('test/fixtures/mlflow-logger.mjs'), '--x', '${params.x}', '--steps', '25', '--sleep-ms', '120', '--stdout'] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const studyId = created.body.id;
    const done = await stack.waitForStudy(studyId, 90_000);
    expect(done.state).toBe('COMPLETED');
    const trials = (await stack.api('GET', `/api/v1/studies/${studyId}/trials`)).body.trials as any[];
    expect(trials).toHaveLength(3);
    const byX = new Map(trials.map((t) => [t.params.x, t]));
    // The best program ran to its end; its objective is the last f1 it logged through MLflow.
    const best = byX.get(0);
    expect(best.state, JSON.stringify(best)).toBe('COMPLETED');
    expect(best.value).toBeCloseTo(0.9, 6);
    // A worse one was pruned by the median rule while it was still logging.
    const pruned = trials.filter((t) => t.state === 'PRUNED');
    expect(pruned.length, JSON.stringify(trials.map((t) => [t.params.x, t.state]))).toBeGreaterThanOrEqual(1);
    const m = mlflow(base);
    for (const t of pruned) {
      const h = await m.get('metrics/get-history', { run_id: t.id, metric_key: 'f1' });
      expect(h.body.metrics.length).toBeGreaterThan(0);
      expect(h.body.metrics.length).toBeLessThan(25);
      expect((await m.get('runs/get', { run_id: t.id })).body.run.info.status).toBe('KILLED');
    }
    // What the program logged through MLflow is on its run, beside what its stdout gave.
    const run = (await m.get('runs/get', { run_id: best.id })).body.run;
    expect(run.data.tags).toContainEqual({ key: 'logged.by', value: 'mlflow-rest' });
    expect(run.data.tags).toContainEqual({ key: 'tunehive.study_id', value: studyId });
    expect(run.data.metrics.map((x: any) => x.key).sort()).toEqual(['auc', 'f1', 'lines']);
    // The worker's own batches (stdout) kept their numbering beside the MLflow points: none was taken for a replay and dropped.
    expect((await m.get('metrics/get-history', { run_id: best.id, metric_key: 'lines' })).body.metrics.map((x: any) => x.value)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(run.info.status).toBe('FINISHED');
    expect((await m.get('metrics/get-history', { run_id: best.id, metric_key: 'f1' })).body.metrics).toHaveLength(25);
    const search = await m.post('runs/search', { experiment_ids: [studyId], filter: 'metrics.f1 > 0.85', order_by: ['metrics.f1 DESC'] });
    expect(search.body.runs.map((r: any) => r.info.run_id)).toEqual([best.id]);

    // Each program logged with its attempt's run token (above); the attempts' ends deleted them: none is left.
    expect((await stack.coordinator.creds.list({ kind: 'run' })).filter((c) => c.runId?.startsWith(`${studyId}.`))).toEqual([]);
  }, 120_000);

  it('refuses a run token once its attempt has ended, and on every non-MLflow route', async () => {
    const created = await stack.api('POST', '/api/v1/studies', {
      name: 'token-life', objective: { metric: 'f1', direction: 'maximize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 1,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const studyId = created.body.id;
    const trial = (await stack.api('POST', `/api/v1/studies/${studyId}/trials/ask`)).body;
    // A token for attempt 1 of a trial whose current attempt is another: what a lost worker's program holds.
    const { RunTokens } = await import('../../coordinator/mlflow/run-tokens.js');
    const tokens = new RunTokens(stack.coordinator.creds, base());
    const stale = await tokens.mint({ studyId, number: trial.number, attempt: 7, project: 'default', timeoutSeconds: 60 });
    const m = mlflow(base(), stale.token);
    expectMlflowError(await m.post('runs/log-metric', { run_id: trial.id, key: 'f1', value: 1, timestamp: Date.now() }), 403, 'PERMISSION_DENIED');
    const current = await tokens.mint({ studyId, number: trial.number, attempt: (await call(base(), 'GET', `/api/v1/trials/${trial.id}`)).body.attempt, project: 'default', timeoutSeconds: 60 });
    const ok = await mlflow(base(), current.token).post('runs/log-metric', { run_id: trial.id, key: 'f1', value: 0.5, timestamp: Date.now(), step: 1 });
    expect(ok.status, ok.text).toBe(200);
    const other = await call(base(), 'GET', `/api/v1/trials/${trial.id}`, { token: current.token });
    expect(other.status).toBe(403);
    // The attempt ends: the token is refused at once, on any replica (the routes check the attempt).
    const told = await call(base(), 'POST', `/api/v1/studies/${studyId}/trials/${trial.number}/tell`, { body: { value: 0.5 } });
    expect(told.status, told.text).toBeLessThan(300);
    expectMlflowError(await mlflow(base(), current.token).post('runs/set-tag', { run_id: trial.id, key: 'late', value: 'x' }), 403, 'PERMISSION_DENIED');
    // Reads too, the experiment's included: an ended attempt's program learns nothing more.
    expectMlflowError(await mlflow(base(), current.token).get('experiments/get', { experiment_id: studyId }), 403, 'PERMISSION_DENIED');
    expectMlflowError(await mlflow(base(), current.token).get('experiments/get-by-name', { experiment_name: 'token-life' }), 403, 'PERMISSION_DENIED');
    // Revoked: unknown to the coordinator (within the verifier's cache time on other replicas).
    expect(await tokens.revoke(current.id)).toBe(true);
    await waitFor(async () => (await mlflow(base(), current.token).get('runs/get', { run_id: trial.id })).status === 401 || undefined, 10_000, 'the revoked token to be refused');
    expectMlflowError(await mlflow(base(), current.token).get('runs/get', { run_id: trial.id }), 401, 'UNAUTHENTICATED');
  });

  const base = () => stack.coordinator.httpUrl;
});
