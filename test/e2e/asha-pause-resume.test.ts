/**
 * ASHA on the real digits trainer: trials are paused at their rung, and the promoted ones are
 * resumed from their checkpoint with a bigger budget, continuing at the epoch they paused at.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { trialWithSeries } from '../helpers/series.js';
import { waitFor } from '../helpers/env.js';

describe('ASHA with pause and resume', () => {
  let stack: TestStack;
  beforeAll(async () => { stack = await startTestStack('asha', { workers: 1, slots: 3 }); });
  afterAll(async () => stack?.close());

  it('pauses trials at rungs and resumes the promoted ones from their checkpoints', async () => {
    const created = await stack.api('POST', '/api/v1/studies', {
      name: 'asha', objective: { metric: 'accuracy', direction: 'maximize' },
      searchSpace: { lr: { type: 'float', min: 0.0005, max: 0.3, log: true } }, algorithm: { name: 'random', seed: 5 },
      parallelism: 3, maxTrials: 9,
      earlyStopping: { rule: 'asha', settings: { reductionFactor: 3, minResource: 1, maxResource: 9 } },
      trial: { command: [process.execPath, '--import', 'tsx', path.resolve('examples/digits/train.ts'), '--lr', '${params.lr}', '--hidden', '16', '--epochs', '9', '--batch-size', '64', '--l2', '1e-4'] },
    });
    expect(created.status).toBe(201);
    const done = await stack.waitForStudy(created.body.id, 120_000);
    expect(done.state).toBe('COMPLETED');
    // The study's wind-down (paused trials never promoted end PRUNED) runs just after it ends.
    await waitFor(async () => (await stack.api('GET', `/api/v1/studies/${created.body.id}`)).body.counts.paused === 0, 30_000, 'the wind-down to prune the paused trials');

    const trials = (await stack.api('GET', `/api/v1/studies/${created.body.id}/trials`)).body.trials as any[];
    expect(trials).toHaveLength(9);
    const full = await Promise.all(trials.map((t) => trialWithSeries(stack.api, t.id)));
    const promoted = full.filter((t) => t.attempt >= 2);
    expect(promoted.length).toBeGreaterThanOrEqual(3);
    for (const t of promoted) {
      // Each later attempt resumed at the epoch the previous one paused at, never from zero.
      for (const r of t.metrics.resumed_from) {
        const prev = t.metrics.epoch.filter((p: any) => p.attempt === r.attempt - 1).map((p: any) => p.step);
        const mine = t.metrics.epoch.filter((p: any) => p.attempt === r.attempt).map((p: any) => p.step);
        expect(r.value).toBe(Math.max(...prev));
        expect(mine[0]).toBe(r.value + 1);
      }
    }
    // Someone went all the way to maxResource, and the best trial is one of them.
    const finished = full.filter((t) => t.state === 'COMPLETED');
    expect(finished.length).toBeGreaterThanOrEqual(1);
    for (const t of finished) expect(Math.max(...t.metrics.epoch.map((p: any) => p.step)), JSON.stringify({ a: t.attempt, r: t.reason, b: t.budget, e: t.metrics.epoch.map((p: any) => [p.attempt, p.step]), rf: t.metrics.resumed_from })).toBe(9);
    expect(finished.map((t) => t.id)).toContain(done.best.trialId);
    // Trials never promoted end PRUNED with their rung value kept; epochs trained stay far below 9 x 9.
    expect(full.filter((t) => t.state === "PRUNED").length + finished.length, JSON.stringify(full.map((t) => [t.state, t.attempt, t.reason, t.lastReason]))).toBe(9);
    const epochs = full.reduce((n, t) => n + t.metrics.epoch.length, 0);
    expect(epochs).toBeLessThan(40);
  });
});
