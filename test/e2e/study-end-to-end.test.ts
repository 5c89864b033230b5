/**
 * The whole path on real parts: HTTP submit -> coordinator -> BullMQ on a real redis-server ->
 * two worker agents -> trial child processes -> metrics over gRPC on loopback -> study COMPLETED.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startTestStack, type TestStack } from '../helpers/stack.js';
import { trialWithSeries } from '../helpers/series.js';

describe('a study end to end', () => {
  let stack: TestStack;
  beforeAll(async () => { stack = await startTestStack('e2e', { workers: 2, slots: 2 }); });
  afterAll(async () => stack?.close());

  it('runs every trial on two workers and records the best one', async () => {
    const created = await stack.api('POST', '/api/v1/studies', {
      name: 'e2e-grid',
      objective: { metric: 'score', direction: 'maximize' },
      searchSpace: { x: { type: 'int', min: 0, max: 5 }, y: { type: 'categorical', values: [0, 1] } },
      algorithm: { name: 'grid' },
      parallelism: 4,
      maxTrials: 100,
      trial: { command: [process.execPath, fixture('quadratic.mjs'), '--x', '${params.x}', '--y', '${params.y}'] },
    });
    expect(created.status).toBe(201);
    const done = await stack.waitForStudy(created.body.id);

    // The grid has 6 x 2 = 12 points; the study ends when it is exhausted.
    expect(done.state).toBe('COMPLETED');
    expect(done.reason).toMatch(/exhausted after 12 trials/);
    expect(done.counts.completed).toBe(12);
    expect(done.best.params).toEqual({ x: 3, y: 1 });
    expect(done.best.value).toBe(0);

    const trials = await stack.api('GET', `/api/v1/studies/${created.body.id}/trials`);
    expect(trials.body.trials).toHaveLength(12);
    expect(new Set(trials.body.trials.map((t: any) => t.workerId))).toEqual(new Set(['w0', 'w1']));
    // Every trial's value is the last reported score of its own parameters.
    for (const t of trials.body.trials) expect(t.value).toBe(0 - (t.params.x - 3) ** 2 - (t.params.y - 1) ** 2 + 0);

    const best = { body: await trialWithSeries(stack.api, done.best.trialId) };
    expect(best.body.metrics.score.map((p: any) => p.step)).toEqual([1, 2, 3]);
    expect(best.body.metrics.score.map((p: any) => p.value)).toEqual([-2, -1, 0]);
    // The program saw its parameters in TUNEHIVE_PARAMS too.
    expect(best.body.metrics.params_seen[0].value).toBe(1);
    expect(best.body.hardware.cpuCount).toBeGreaterThan(0);
  });
});
