/** Trials that fail in every way a program can; the worker survives each one and goes on. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startTestStack, type TestStack } from '../helpers/stack.js';
import { trialSeries } from '../helpers/series.js';

const study = (command: string[], over: Record<string, unknown> = {}) => ({
  name: 'failures', objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'float', min: 0, max: 6 } },
  maxTrials: 1, maxFailedTrials: 0, trial: { command, ...over },
});

describe('trial failures', () => {
  let stack: TestStack;
  beforeAll(async () => { stack = await startTestStack('failures', { workers: 1, slots: 2 }); });
  afterAll(async () => stack?.close());

  const runOne = async (spec: unknown) => {
    const { body } = await stack.api('POST', '/api/v1/studies', spec);
    const done = await stack.waitForStudy(body.id);
    const trial = (await stack.api('GET', `/api/v1/trials/${body.id}.0`)).body;
    return { done, trial };
  };

  it('a missing binary fails the trial with the reason', async () => {
    const { done, trial } = await runOne(study(['/no/such/program', '${params.x}']));
    expect(done.state).toBe('FAILED');
    expect(trial.state).toBe('FAILED');
    expect(trial.reason).toMatch(/cannot start "\/no\/such\/program".*ENOENT/);
  });

  it('a non-zero exit fails the trial and keeps the last lines of stderr', async () => {
    const { trial } = await runOne(study([process.execPath, '-e', 'console.error("line one"); console.error("CUDA out of memory"); process.exit(3)']));
    expect(trial.state).toBe('FAILED');
    expect(trial.exitCode).toBe(3);
    expect(trial.reason).toBe('exited with code 3: CUDA out of memory');
    expect(trial.stderrTail).toBe('line one\nCUDA out of memory');
  });

  it('a program killed by a signal fails the trial', async () => {
    const { trial } = await runOne(study([process.execPath, '-e', 'process.kill(process.pid, "SIGSEGV")']));
    expect(trial.state).toBe('FAILED');
    expect(trial.reason).toMatch(/killed by SIGSEGV/);
  });

  it('a program past its timeout is stopped and fails the trial', async () => {
    const { trial } = await runOne(study([process.execPath, fixture('sleeper.mjs'), '--ms', '60000'], { timeoutSeconds: 1 }));
    expect(trial.state).toBe('FAILED');
    expect(trial.reason).toBe('timed out after 1 s (trial.timeoutSeconds)');
    expect(trial.lastObjective.value).toBe(1);
  });

  it('a program that exits 0 without reporting the objective fails the trial', async () => {
    const { trial } = await runOne(study([process.execPath, '-e', 'console.log("accuracy=0.5")']));
    expect(trial.state).toBe('FAILED');
    expect(trial.reason).toMatch(/never reported the objective metric/);
  });

  it('parameter values are never interpreted by a shell', async () => {
    const { trial } = await runOne({
      ...study([process.execPath, '-e', 'const a = process.argv[1]; console.log(`score=${a === "$(touch /tmp/pwned);${x}" ? 1 : 0}`)', '${params.cmd}']),
      searchSpace: { cmd: { type: 'categorical', values: ['$(touch /tmp/pwned);${x}'] } },
    });
    expect(trial.state).toBe('COMPLETED');
    expect(trial.value).toBe(1);
  });

  it('metrics may have any name, even one an object inherits', async () => {
    const { trial } = await runOne(study([process.execPath, '-e', 'console.log("constructor=1 __proto__=2 score=3")']));
    expect(trial.state).toBe('COMPLETED');
    expect(trial.metrics.constructor.last.value).toBe(1);
    expect(((await trialSeries(stack.api, trial.id)) as any).constructor[0].value).toBe(1);
    expect(trial.value).toBe(3);
  });

  it('the worker is still taking trials after all that', async () => {
    const { trial } = await runOne(study([process.execPath, fixture('quadratic.mjs'), '--x', '${params.x}']));
    expect(trial.state).toBe('COMPLETED');
    expect(stack.agents[0]!.status).toBe('RUNNING');
  });
});
