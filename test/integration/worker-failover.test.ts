/**
 * Worker death on real processes: a worker killed with SIGKILL mid-trial, and one told to shut
 * down with SIGTERM. Either way another worker takes the trial as its next attempt and resumes
 * from the last checkpoint instead of starting over.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisUrl, waitFor } from '../helpers/env.js';
import { exited, killAll, slowTrainer, spawnWorker } from '../helpers/processes.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { trialWithSeries } from '../helpers/series.js';

describe('worker failover', () => {
  let stack: TestStack;
  const children: ChildProcess[] = [];
  beforeAll(async () => { stack = await startTestStack('failover', { workers: 0 }); });
  // Each test starts its own workers: none may take the next test's trial.
  afterEach(async () => killAll(children.splice(0)));
  afterAll(async () => stack?.close());

  const worker = (id: string) => {
    const c = spawnWorker({ redisUrl: redisUrl(), prefix: stack.prefix, coordinator: stack.coordinator.grpcAddress, id });
    children.push(c);
    return c;
  };

  const submit = async () => {
    const r = await stack.api('POST', '/api/v1/studies', {
      name: 'failover', objective: { metric: 'accuracy', direction: 'maximize' }, searchSpace: { lr: { type: 'float', min: 0.04, max: 0.06 } },
      maxTrials: 1, maxRetries: 2, trial: slowTrainer(8),
    });
    expect(r.status).toBe(201);
    return r.body.id as string;
  };

  /** Waits until trial 0 has a checkpoint at `step` or later, and returns that step. */
  const checkpointAt = (id: string, step: number) => waitFor(async () => {
    const t = (await stack.api('GET', `/api/v1/trials/${id}.0`)).body;
    return t.checkpoint && t.checkpoint.step >= step ? (t.checkpoint.step as number) : undefined;
  }, 30_000, `a checkpoint at step ${step}`);

  const epochsByAttempt = async (id: string) => {
    const t = await trialWithSeries(stack.api, `${id}.0`);
    const by = new Map<number, number[]>();
    for (const p of t.metrics.epoch) by.set(p.attempt, [...(by.get(p.attempt) ?? []), p.step]);
    return { trial: t, by };
  };

  it('a worker killed with SIGKILL mid-trial: the trial resumes on another worker from its checkpoint', async () => {
    const id = await submit();
    const a = worker('killed');
    await checkpointAt(id, 3);
    a.kill('SIGKILL');
    await exited(a);
    const killedAt = Date.now();
    worker('rescuer');

    const done = await stack.waitForStudy(id, 60_000);
    expect(done.state).toBe('COMPLETED');
    const { trial, by } = await epochsByAttempt(id);
    expect(trial.attempt).toBe(2);
    expect(trial.workerId).toBe('rescuer');
    const resumedFrom = trial.metrics.resumed_from[0];
    expect(resumedFrom.attempt).toBe(2);
    expect(resumedFrom.value).toBeGreaterThanOrEqual(3);
    // Attempt 2 trained only the epochs after its checkpoint: no work from scratch.
    expect(by.get(2)![0]).toBe(resumedFrom.value + 1);
    expect(by.get(2)!.at(-1)).toBe(8);
    // Every epoch was reported, and none twice by the same attempt.
    expect(new Set([...by.values()].flat())).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8]));
    for (const steps of by.values()) expect(new Set(steps).size).toBe(steps.length);
    // The lock is 2 s here, so the dead worker's trial was picked up well within seconds.
    expect(Date.parse(trial.startedAt) - killedAt).toBeLessThan(15_000);
  });

  it('a worker told to shut down (SIGTERM) checkpoints, hands the trial back, and it resumes elsewhere', async () => {
    const id = await submit();
    const a = worker('draining');
    await checkpointAt(id, 2);
    a.kill('SIGTERM');
    await exited(a);
    expect(a.exitCode).toBe(0);
    const handedBack = (await stack.api('GET', `/api/v1/trials/${id}.0`)).body;
    expect(handedBack.state).toBe('QUEUED');
    expect(handedBack.lastReason).toBe('worker shut down');
    worker('next');

    const done = await stack.waitForStudy(id, 60_000);
    expect(done.state).toBe('COMPLETED');
    const { trial, by } = await epochsByAttempt(id);
    expect(trial.attempt).toBe(2);
    expect(trial.metrics.resumed_from[0].value).toBeGreaterThanOrEqual(2);
    expect(by.get(2)![0]).toBe(trial.metrics.resumed_from[0].value + 1);
  });
});
