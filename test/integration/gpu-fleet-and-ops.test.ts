/**
 * GPU slots end to end with a worker that declares 2 fake GPUs (no GPU here: `--gpus 2` is
 * not probed), plus the operations endpoints scraped for real.
 */
import { authHeaders } from '../helpers/env.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startTestStack, type TestStack } from '../helpers/stack.js';
import { trialWithSeries } from '../helpers/series.js';

describe('GPU fleet (fake GPUs) and operations endpoints', () => {
  let stack: TestStack;
  beforeAll(async () => { stack = await startTestStack('gpu', { workers: 1, slots: 1, agent: { gpus: { kind: 'count', count: 2 } } }); });
  afterAll(async () => stack?.close());

  const study = (gpus: number, over: Record<string, unknown> = {}) => ({
    name: 'gpus', objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } },
    parallelism: 4, maxTrials: 4, trial: { command: [process.execPath, fixture('gpu-report.mjs'), '--ms', '600'], gpus }, ...over,
  });

  it('registers the worker with its GPUs', async () => {
    const r = await stack.api('GET', '/api/v1/workers');
    expect(r.body.workers).toHaveLength(1);
    expect(r.body.workers[0].info).toMatchObject({ gpus: 2, slots: 1, runtime: 'process' });
    expect(r.body.workers[0].info.hardware.gpus).toHaveLength(2);
  });

  it('rejects at submit time a trial that no worker can fit', async () => {
    const r = await stack.api('POST', '/api/v1/studies', study(4));
    expect(r.status).toBe(400);
    expect(r.body.error.fields).toEqual([{ field: 'trial.gpus', reason: 'no worker has 4 GPUs (the largest of the 1 registered has 2)' }]);
  });

  it('gives each 1-GPU trial its own device, never one device to two trials', async () => {
    const { body } = await stack.api('POST', '/api/v1/studies', study(1));
    const done = await stack.waitForStudy(body.id);
    expect(done.counts.completed).toBe(4);
    const trials = await Promise.all((await stack.api('GET', `/api/v1/studies/${body.id}/trials`)).body.trials.map((t: any) => trialWithSeries(stack.api, t.id)));
    const spans = trials.map((t: any) => ({ device: t.metrics.first_device[0].value, n: t.metrics.n_devices[0].value, start: t.metrics.started_ms[0].value, end: t.metrics.ended_ms[0].value }));
    for (const s of spans) expect(s.n).toBe(1);
    // Two trials overlapping in time never hold the same device.
    for (const a of spans) for (const b of spans) if (a !== b && a.start < b.end && b.start < a.end) expect(a.device).not.toBe(b.device);
    expect(new Set(spans.map((s) => s.device))).toEqual(new Set([0, 1]));
    // Provenance: the attempt records the machine and its GPUs.
    expect(trials[0].hardware.gpus).toHaveLength(2);
  });

  it('runs CPU-only and 2-GPU trials on the same worker', async () => {
    const both = await Promise.all([stack.api('POST', '/api/v1/studies', study(0, { maxTrials: 2 })), stack.api('POST', '/api/v1/studies', study(2, { maxTrials: 2 }))]);
    for (const { body } of both) expect((await stack.waitForStudy(body.id)).counts.completed).toBe(2);
    const two = await trialWithSeries(stack.api, `${both[1].body.id}.0`);
    expect(two.metrics.n_devices[0].value).toBe(2);
    const zero = await trialWithSeries(stack.api, `${both[0].body.id}.0`);
    expect(zero.metrics.n_devices[0].value).toBe(0);
  });

  it('serves health, readiness and Prometheus metrics', async () => {
    const base = stack.coordinator.httpUrl;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: 'ready' });
    const text = await (await fetch(`${base}/metrics`, { headers: authHeaders() })).text();
    const value = (line: RegExp) => Number(text.split('\n').find((l) => line.test(l))?.split(' ').at(-1));
    expect(value(/^tunehive_metric_points_ingested_total /)).toBeGreaterThan(0);
    expect(value(/^tunehive_workers_connected /)).toBe(1);
    expect(value(/^tunehive_gpus\{state="total"\}/)).toBe(2);
    expect(value(/^tunehive_suggestion_seconds_count\{algorithm="random"\}/)).toBeGreaterThanOrEqual(8);
    expect(text).toMatch(/^tunehive_queue_depth\{gpus="1"\} 0$/m);
    expect(text).toMatch(/^tunehive_studies\{state="ended"\} \d+$/m);
  });
});
