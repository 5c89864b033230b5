/**
 * A program the operating system refuses to start (E2BIG on a 200 kB argument) through a real
 * coordinator and worker agent: the trial ends FAILED on its first attempt with the reason.
 * Before, `spawn` threw out of the runtime, the job failed as if its worker had been lost, and
 * every retry was burnt the same way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';

describe('spawn errors end the trial on its first attempt', () => {
  let stack: TestStack;
  beforeAll(async () => { stack = await startTestStack('spawn-errors', { workers: 1, slots: 1 }); });
  afterAll(async () => stack?.close());

  it('a 200 kB argument (E2BIG) fails the trial with the reason, attempt 1, and the worker goes on', async () => {
    const { status, body } = await stack.api('POST', '/api/v1/studies', {
      name: 'e2big', objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } },
      maxTrials: 2, parallelism: 1, maxFailedTrials: 1, maxRetries: 3,
      trial: { command: [process.execPath, '-e', 'console.log("score=1")', 'x'.repeat(200_000), '${params.x}'] },
    });
    expect(status).toBe(201);
    const done = await stack.waitForStudy(body.id, 30_000);
    expect(done.state).toBe('FAILED');
    const trial = (await stack.api('GET', `/api/v1/trials/${body.id}.0`)).body;
    expect(trial.state).toBe('FAILED');
    expect(trial.attempt).toBe(1);
    expect(trial.reason).toMatch(/^cannot start ".*": argument 3 is 200001 bytes; Linux takes at most 131072 bytes per argument or variable \(E2BIG\)$/);
    expect(stack.agents[0]!.status).toBe('RUNNING');
  });
});
