/**
 * Metric storage and reading (items 10 and 12): each point is stored once, in the series of
 * its metric; a trial's GET carries counts and last values only; series are served a page at a
 * time or down-sampled (min/max buckets) over the whole series.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../shared/redis-keys.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/env.js';

describe('metric series', () => {
  let stack: TestStack;
  let id: string;
  let t0: number;
  const N = 25_000;
  // A smooth curve with one spike up and one dip down: the shape a down-sample must keep.
  const valueAt = (i: number) => (i === 12_345 ? 1000 : i === 20_000 ? -1000 : Math.sin(i / 1000));

  beforeAll(async () => {
    stack = await startTestStack('series', { workers: 0, coordinator: { reconcileIntervalMs: 600_000 } });
    const { body } = await stack.api('POST', '/api/v1/studies', {
      name: 'series', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } },
      maxTrials: 1, trial: { command: ['unused'] },
    });
    id = body.id;
    const store = stack.coordinator.store;
    await waitFor(async () => (await store.getStudy(id))?.counts.queued === 1 || undefined, 5000, 'a queued trial');
    expect((await store.startAttempt(id, 0, 'w', 0, '', 3)).attempt).toBe(1);
    t0 = Date.now();
    for (let seq = 1, i = 0; i < N; seq++, i += 5000) {
      const points = [];
      for (let k = i; k < i + 5000; k++) points.push({ name: 'loss', step: k, value: valueAt(k), timeMs: t0 + k }, { name: 'lr', step: k, value: 0.1, timeMs: t0 + k });
      expect((await store.appendMetrics(id, 0, 1, seq, 'loss', points, 100_000)).status).toBe(1);
    }
  });
  afterAll(async () => stack?.close());

  it('GET of a trial carries per-metric counts and last values, never the series', async () => {
    const { status, body } = await stack.api('GET', `/api/v1/trials/${id}.0`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ points: 2 * N, pointsDropped: 0, lastObjective: { value: valueAt(N - 1), step: N - 1 } });
    expect(body.metrics).toEqual({
      loss: { count: N, last: { index: N - 1, step: N - 1, value: valueAt(N - 1), attempt: 1, time: expect.any(String) } },
      lr: { count: N, last: { index: N - 1, step: N - 1, value: 0.1, attempt: 1, time: expect.any(String) } },
    });
    expect(JSON.stringify(body).length).toBeLessThan(5000);
  });

  it('lists the metric names with their counts', async () => {
    const { body } = await stack.api('GET', `/api/v1/trials/${id}.0/metrics`);
    expect(body).toEqual({ trialId: `${id}.0`, points: 2 * N, pointsDropped: 0, metrics: [{ name: 'loss', count: N }, { name: 'lr', count: N }] });
  });

  it('pages through a series with the next cursor, each point once and in order', async () => {
    const steps: number[] = [];
    let after: number | null = 0;
    let pages = 0;
    while (after !== null && pages < 100) {
      const { status, body } = await stack.api('GET', `/api/v1/trials/${id}.0/metrics/loss?after=${after}&limit=7000`);
      expect(status).toBe(200);
      expect(body.count).toBe(N);
      expect(body.points.length).toBeLessThanOrEqual(7000);
      steps.push(...body.points.map((p: any) => p.step));
      after = body.next;
      pages++;
    }
    expect(pages).toBe(4);
    expect(steps).toEqual(Array.from({ length: N }, (_, i) => i));
    const first = (await stack.api('GET', `/api/v1/trials/${id}.0/metrics/loss?limit=2`)).body;
    expect(first).toMatchObject({ name: 'loss', downsampled: null, next: 2, points: [{ index: 0, step: 0, value: 0, attempt: 1 }, { index: 1, step: 1 }] });
    // Times are stored relative to the trial's creation and come back exact.
    expect(first.points.map((p: any) => p.time)).toEqual([new Date(t0).toISOString(), new Date(t0 + 1).toISOString()]);
    expect((await stack.api('GET', `/api/v1/trials/${id}.0/metrics/loss?after=${N}`)).body).toMatchObject({ points: [], next: null });
  });

  it('down-samples a whole series to at most maxPoints, keeping its spikes (min/max buckets)', async () => {
    const { status, body } = await stack.api('GET', `/api/v1/trials/${id}.0/metrics/loss?maxPoints=200`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ count: N, downsampled: 'min-max', next: null });
    expect(body.points.length).toBeLessThanOrEqual(200);
    expect(body.points.length).toBeGreaterThan(150);
    const values = body.points.map((p: any) => p.value);
    expect(Math.max(...values)).toBe(1000);
    expect(Math.min(...values)).toBe(-1000);
    const idx = body.points.map((p: any) => p.index);
    expect(idx).toEqual([...idx].sort((a, b) => a - b));
    expect(idx[0]).toBe(0);
    // A flat series keeps one point per bucket.
    const lr = (await stack.api('GET', `/api/v1/trials/${id}.0/metrics/lr?maxPoints=10000`)).body;
    expect(lr).toMatchObject({ downsampled: 'min-max', count: N });
    expect(lr.points).toHaveLength(5000);
  });

  it('bad requests name the field', async () => {
    const bad = await stack.api('GET', `/api/v1/trials/${id}.0/metrics/loss?maxPoints=1`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0].field).toMatch(/maxPoints/);
    const both = await stack.api('GET', `/api/v1/trials/${id}.0/metrics/loss?maxPoints=10&limit=5`);
    expect(both.status).toBe(400);
    expect(both.body.error.fields).toEqual([{ field: 'query.maxPoints', reason: 'cannot be combined with after or limit' }]);
    const missing = await stack.api('GET', `/api/v1/trials/${id}.0/metrics/nope`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'TH_ERR_METRIC_NOT_FOUND', fields: [{ field: 'params.name' }] });
    expect((await stack.api('GET', `/api/v1/trials/${id}.9/metrics`)).status).toBe(404);
  });

  it('stores each point once: one series per metric, nothing else but the counts and the run document (item 10)', async () => {
    const redis = stack.coordinator.store.redis;
    const found = (await redis.keys(`${stack.prefix}:{${id}}:trial:0*`)).sort();
    expect(found).toEqual([keys.trial(stack.prefix, id, 0), keys.metricCounts(stack.prefix, id, 0),
      keys.metricSeries(stack.prefix, id, 0, 'loss'), keys.metricSeries(stack.prefix, id, 0, 'lr'),
      // The run's search document (latest values, tags): what search reads, not a second copy of the series.
      keys.trialRun(stack.prefix, id, 0)].sort());
    // The objective is not stored a second time: its series is what stopping rules read.
    expect(await redis.llen(keys.metricSeries(stack.prefix, id, 0, 'loss'))).toBe(N);
    const objective = await stack.coordinator.store.readObjective(id, 0, N - 2);
    expect(objective).toEqual([{ step: N - 2, value: valueAt(N - 2) }, { step: N - 1, value: valueAt(N - 1) }]);
    // Study deletion finds every key of the trial.
    const listed = await stack.coordinator.store.trialDataKeys(id, 0);
    for (const k of found) expect(listed).toContain(k);
  });
});
