/** The ask/tell API against a real Redis: clients that evaluate trials themselves. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { trialWithSeries } from '../helpers/series.js';

const spec = (over: Record<string, unknown> = {}) => ({
  name: 'ask-tell',
  objective: { metric: 'loss', direction: 'minimize' },
  searchSpace: { x: { type: 'float', min: -5, max: 5 }, k: { type: 'categorical', values: ['a', 'b'] } },
  algorithm: { name: 'random', seed: 1 },
  maxTrials: 10,
  ...over,
});

describe('ask/tell', () => {
  let stack: TestStack;
  beforeAll(async () => { stack = await startTestStack('asktell', { workers: 0 }); });
  afterAll(async () => stack?.close());

  it('runs a whole study through asks and tells, in rounds of parallel asks', async () => {
    const { body: study } = await stack.api('POST', '/api/v1/studies', spec());
    const seen = new Set<string>();
    for (let round = 0; round < 2; round++) {
      const asked = [];
      for (let i = 0; i < 5; i++) {
        const r = await stack.api('POST', `/api/v1/studies/${study.id}/trials/ask`);
        expect(r.status).toBe(201);
        asked.push(r.body);
      }
      const s = (await stack.api('GET', `/api/v1/studies/${study.id}`)).body;
      expect(s.counts.running).toBe(5);
      for (const t of asked) {
        seen.add(t.id);
        const told = await stack.api('POST', `/api/v1/studies/${study.id}/trials/${t.id}/tell`, { value: (t.params.x - 1) ** 2 });
        expect(told.body.state).toBe('COMPLETED');
      }
    }
    expect(seen.size).toBe(10);
    const done = await stack.waitForStudy(study.id, 10_000);
    expect(done.state).toBe('COMPLETED');
    expect(done.counts.completed).toBe(10);
    const trials = (await stack.api('GET', `/api/v1/studies/${study.id}/trials`)).body.trials;
    const bestValue = Math.min(...trials.map((t: any) => t.value));
    expect(done.best.value).toBe(bestValue);
    // All 10 asks are used: one more is refused clearly.
    const more = await stack.api('POST', `/api/v1/studies/${study.id}/trials/ask`);
    expect(more.status).toBe(409);
  });

  it('records intermediate reports and failures, and refuses a second tell', async () => {
    const { body: study } = await stack.api('POST', '/api/v1/studies', spec({ maxTrials: 3 }));
    const t = (await stack.api('POST', `/api/v1/studies/${study.id}/trials/ask`)).body;
    for (const step of [1, 2, 3]) {
      const r = await stack.api('POST', `/api/v1/studies/${study.id}/trials/${t.number}/tell`, { step, value: 10 - step });
      expect(r.body).toEqual({ state: 'RUNNING', decision: 'continue' });
    }
    await stack.api('POST', `/api/v1/studies/${study.id}/trials/${t.id}/tell`, { value: 6.5 });
    const trial = await trialWithSeries(stack.api, t.id);
    expect(trial.metrics.loss.map((p: any) => [p.step, p.value])).toEqual([[1, 9], [2, 8], [3, 7], [4, 6.5]]);
    expect(trial.value).toBe(6.5);

    const again = await stack.api('POST', `/api/v1/studies/${study.id}/trials/${t.id}/tell`, { value: 1 });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('TH_ERR_TRIAL_NOT_PENDING');

    const f = (await stack.api('POST', `/api/v1/studies/${study.id}/trials/ask`)).body;
    const failed = await stack.api('POST', `/api/v1/studies/${study.id}/trials/${f.id}/tell`, { state: 'failed', reason: 'OOM' });
    expect(failed.body.state).toBe('FAILED');
    expect((await stack.api('GET', `/api/v1/trials/${f.id}`)).body.reason).toBe('OOM');
  });

  it('fails a trial whose client never tells, so the study can still finish', async () => {
    const { body: study } = await stack.api('POST', '/api/v1/studies', spec({ maxTrials: 2, askTimeoutSeconds: 0.5 }));
    const lost = (await stack.api('POST', `/api/v1/studies/${study.id}/trials/ask`)).body;
    const kept = (await stack.api('POST', `/api/v1/studies/${study.id}/trials/ask`)).body;
    // The client of `kept` keeps reporting; the one of `lost` is gone.
    for (let i = 1; i <= 6; i++) {
      await stack.api('POST', `/api/v1/studies/${study.id}/trials/${kept.id}/tell`, { step: i, value: 1 / i });
      await new Promise((r) => setTimeout(r, 250));
    }
    await stack.api('POST', `/api/v1/studies/${study.id}/trials/${kept.id}/tell`, { value: 0.1 });
    const done = await stack.waitForStudy(study.id, 10_000);
    expect(done).toMatchObject({ state: 'COMPLETED', counts: { completed: 1, failed: 1 } });
    const t = (await stack.api('GET', `/api/v1/trials/${lost.id}`)).body;
    expect(t).toMatchObject({ state: 'FAILED', reason: 'no tell within askTimeoutSeconds (0.5 s)' });
  });

  it('answers many concurrent asks (served in batches) with distinct trials up to maxTrials, and the rest with 409', async () => {
    for (const algorithm of ['random', 'tpe']) {
      const { body: study } = await stack.api('POST', '/api/v1/studies', spec({ maxTrials: 30, algorithm: { name: algorithm, seed: 3 } }));
      const answers = await Promise.all(Array.from({ length: 40 }, () => stack.api('POST', `/api/v1/studies/${study.id}/trials/ask`)));
      const asked = answers.filter((r) => r.status === 201).map((r) => r.body);
      expect(asked.map((t) => t.number).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
      expect(new Set(asked.map((t) => JSON.stringify(t.params))).size).toBe(30);
      const refused = answers.filter((r) => r.status !== 201);
      expect(refused.map((r) => [r.status, r.body.error.code])).toEqual(Array.from({ length: 10 }, () => [409, 'TH_ERR_SEARCH_EXHAUSTED']));
      expect((await stack.api('GET', `/api/v1/studies/${study.id}`)).body.counts.running).toBe(30);
      // Every asked trial is running with the parameters it was asked with.
      for (const t of asked.slice(0, 5)) expect((await stack.api('GET', `/api/v1/trials/${t.id}`)).body).toMatchObject({ state: 'RUNNING', params: t.params });
      await Promise.all(asked.map((t) => stack.api('POST', `/api/v1/studies/${study.id}/trials/${t.id}/tell`, { value: t.params.x ** 2 })));
      expect((await stack.waitForStudy(study.id, 10_000)).counts.completed).toBe(30);
    }
  });

  it('validates tells and refuses asks on worker studies', async () => {
    const { body: study } = await stack.api('POST', '/api/v1/studies', spec());
    const t = (await stack.api('POST', `/api/v1/studies/${study.id}/trials/ask`)).body;
    const bad = await stack.api('POST', `/api/v1/studies/${study.id}/trials/${t.id}/tell`, { value: 'high' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0].field).toBe('value');
    const badStep = await stack.api('POST', `/api/v1/studies/${study.id}/trials/${t.id}/tell`, { value: 1, step: -2 });
    expect(badStep.body.error.fields[0].field).toBe('step');
    expect((await stack.api('POST', `/api/v1/studies/${study.id}/trials/999/tell`, { value: 1 })).status).toBe(404);

    const { body: workerStudy } = await stack.api('POST', '/api/v1/studies', spec({ trial: { command: ['true'] }, parallelism: 1 }));
    await stack.api('POST', `/api/v1/studies/${workerStudy.id}/stop`);
    const ask = await stack.api('POST', `/api/v1/studies/${workerStudy.id}/trials/ask`);
    expect(ask.status).toBe(409);
    expect(ask.body.error.code).toBe('TH_ERR_STUDY_MODE');
  });
});
