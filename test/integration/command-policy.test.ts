/**
 * The command policy on a real worker: a program outside --allow-command and a spec setting
 * LD_PRELOAD end FAILED at once, with a reason that names the rule (no retry on another
 * attempt), while an allowed program runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startTestStack, type TestStack } from '../helpers/stack.js';
import { CommandPolicy } from '../../worker/policy/command-policy.js';

const study = (name: string, trial: Record<string, unknown>) => ({
  name, objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'int', min: 0, max: 5 } },
  maxTrials: 1, maxFailedTrials: 0, maxRetries: 3, trial,
});

describe('command policy', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('policy', { workers: 1, agent: { policy: new CommandPolicy({ allowCommands: [process.execPath] }) } });
  });
  afterAll(async () => stack?.close());

  const trialOf = async (spec: unknown) => {
    const created = await stack.api('POST', '/api/v1/studies', spec);
    expect(created.status).toBe(201);
    const done = await stack.waitForStudy(created.body.id);
    return { done, trial: (await stack.api('GET', `/api/v1/trials/${created.body.id}.0`)).body };
  };

  it('an allowed program runs', async () => {
    const { done } = await trialOf(study('allowed', { command: [process.execPath, fixture('quadratic.mjs'), '--x', '${params.x}'] }));
    expect(done.state).toBe('COMPLETED');
  });

  it('a program outside --allow-command ends FAILED naming the rule, on its first attempt', async () => {
    const { trial } = await trialOf(study('sh', { command: ['/bin/sh', '-c', 'id'] }));
    expect(trial.state).toBe('FAILED');
    expect(trial.reason).toMatch(/refused by the worker's command policy: the program "\/bin\/sh" matches no --allow-command pattern/);
    expect(trial.attempt ?? trial.attempts?.length).toBe(1);
  });

  it('a spec setting LD_PRELOAD ends FAILED naming the default deny list', async () => {
    const { trial } = await trialOf(study('preload', { command: [process.execPath, fixture('quadratic.mjs'), '--x', '${params.x}'], env: { LD_PRELOAD: '/tmp/evil.so' } }));
    expect(trial.state).toBe('FAILED');
    expect(trial.reason).toMatch(/environment variable "LD_PRELOAD", denied by the default deny list/);
  });
});
