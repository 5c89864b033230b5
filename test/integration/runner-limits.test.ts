/** The study runner's limits, on real workers and real trial processes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startTestStack, type TestStack } from '../helpers/stack.js';

const base = (over: Record<string, unknown>) => ({
  name: 'limits',
  objective: { metric: 'score', direction: 'maximize' },
  searchSpace: { x: { type: 'float', min: 0, max: 6 } },
  algorithm: { name: 'random', seed: 7 },
  parallelism: 3,
  maxTrials: 9,
  trial: { command: [process.execPath, fixture('quadratic.mjs'), '--x', '${params.x}', '--steps', '1'] },
  ...over,
});

describe('study runner limits', () => {
  let stack: TestStack;
  beforeAll(async () => { stack = await startTestStack('limits', { workers: 1, slots: 3 }); });
  afterAll(async () => stack?.close());

  it('stops at maxTrials exactly, with at most `parallelism` trials in flight', async () => {
    const { body } = await stack.api('POST', '/api/v1/studies', base({}));
    const done = await stack.waitForStudy(body.id);
    expect(done.state).toBe('COMPLETED');
    expect(done.reason).toBe('maxTrials (9) reached');
    expect(done.created).toBe(9);
    expect(done.counts.completed).toBe(9);
    const trials = (await stack.api('GET', `/api/v1/studies/${body.id}/trials`)).body.trials as any[];
    // No moment had more than 3 trials running: check the overlap of [startedAt, finishedAt].
    const events = trials.flatMap((t) => [[Date.parse(t.startedAt), 1], [Date.parse(t.finishedAt), -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let running = 0;
    let peak = 0;
    for (const [, d] of events) peak = Math.max(peak, (running += d));
    expect(peak).toBeLessThanOrEqual(3);
  });

  it('fails the study once more than maxFailedTrials trials failed, keeping each failure reason', async () => {
    const { body } = await stack.api('POST', '/api/v1/studies', base({
      maxTrials: 30, maxFailedTrials: 2, parallelism: 1,
      trial: { command: [process.execPath, fixture('quadratic.mjs'), '--x', '${params.x}', '--fail-above', '-1'] },
    }));
    const done = await stack.waitForStudy(body.id);
    expect(done.state).toBe('FAILED');
    expect(done.reason).toBe('3 trials failed, more than maxFailedTrials (2)');
    expect(done.counts.failed).toBe(3);
    const trials = (await stack.api('GET', `/api/v1/studies/${body.id}/trials`)).body.trials as any[];
    expect(trials[0].state).toBe('FAILED');
    expect(trials[0].reason).toMatch(/exited with code 1: x=.* is too large/);
    expect(trials[0].stderrTail).toMatch(/too large for this test program/);
  });

  it('completes as soon as the goal is reached', async () => {
    // Grid over x = 0..6 in order: x=3 reaches score 0 >= goal -0.5 at the 4th trial.
    const { body } = await stack.api('POST', '/api/v1/studies', base({
      algorithm: { name: 'grid' }, searchSpace: { x: { type: 'int', min: 0, max: 6 } }, parallelism: 1, maxTrials: 7,
      objective: { metric: 'score', direction: 'maximize', goal: -0.5 },
    }));
    const done = await stack.waitForStudy(body.id);
    expect(done.state).toBe('COMPLETED');
    expect(done.reason).toMatch(/^goal reached: score 0 >= -0.5 \(trial 3\)$/);
    expect(done.created).toBe(4);
    expect(done.best.params).toEqual({ x: 3 });
  });
});
