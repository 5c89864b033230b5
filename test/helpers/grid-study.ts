/**
 * The end-to-end grid study (test/e2e/study-end-to-end.test.ts) as a function, so the same study
 * and the same assertions run on other Redis set-ups (test/integration/redis-cluster.test.ts).
 * The stack needs two agents, w0 and w1, with 2 slots each.
 */
import { expect } from 'vitest';
import { fixture, type TestStack } from './stack.js';
import { trialWithSeries } from './series.js';

/** Submits the 6 x 2 grid study, waits for it and checks every trial and the best one; returns the study id. */
export async function runGridStudy(stack: TestStack): Promise<string> {
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
  return created.body.id as string;
}
