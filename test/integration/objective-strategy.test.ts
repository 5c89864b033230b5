/**
 * objective.strategy (Katib's metricStrategies): which of a trial's objective reports is its
 * result, decided in appendMetrics-3.lua across batches and attempts: the latest (Tunehive's
 * default), the lowest or the highest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/env.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';

describe('objective strategy', () => {
  let stack: TestStack;
  beforeAll(async () => { stack = await startTestStack('objstrategy', { workers: 0, coordinator: { reconcileIntervalMs: 600_000 } }); });
  afterAll(async () => stack?.close());

  it.each([
    ['latest', undefined, 0.6],
    ['min', 'min', 0.2],
    ['max', 'max', 0.9],
  ] as const)('%s', async (_, strategy, want) => {
    const { status, body } = await stack.api('POST', '/api/v1/studies', {
      name: `s-${_}`, objective: { metric: 'val-loss', direction: 'minimize', ...(strategy ? { strategy } : {}) }, searchSpace: { x: { type: 'float', min: 0, max: 1 } },
      maxTrials: 1, trial: { command: ['unused'] },
    });
    expect(status).toBe(201);
    const id = body.id as string;
    const store = stack.coordinator.store;
    await waitFor(async () => (await store.getStudy(id))?.counts.queued === 1 || undefined, 5000, 'a queued trial');
    expect((await store.startAttempt(id, 0, 'w', 0, '', 3)).attempt).toBe(1);
    const pt = (step: number, value: number) => ({ name: 'val-loss', step, value, timeMs: Date.now() });
    const s = (await store.getStudy(id))!.spec.objective.strategy;
    await store.appendMetrics(id, 0, 1, 1, 'val-loss', [pt(1, 0.5), pt(2, 0.2), { ...pt(2, 7), name: 'other' }], 1000, undefined, s);
    await store.appendMetrics(id, 0, 1, 2, 'val-loss', [pt(3, 0.9), pt(4, 0.6)], 1000, undefined, s);
    expect((await store.finishTrial(id, 0, 1, 'COMPLETED', { direction: 'minimize', reason: '', maxRetries: 3 })).state).toBe('COMPLETED');
    expect((await store.getTrial(id, 0))!.value).toBe(want);
  });
});
