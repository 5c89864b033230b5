/** The tunehive command against a real coordinator: what a person sees, errors included. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN_TOKEN } from '../helpers/env.js';
import { fixture, startTestStack, type TestStack } from '../helpers/stack.js';
import { runCli } from '../helpers/processes.js';

const tunehive = (args: string[], env: Record<string, string> = {}) => runCli(args, { env });

describe('tunehive CLI', () => {
  let stack: TestStack;
  let env: Record<string, string>;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-cli-'));
  beforeAll(async () => {
    stack = await startTestStack('cli', { workers: 1, slots: 2 });
    env = { TUNEHIVE_API: stack.coordinator.httpUrl, TUNEHIVE_TOKEN: TEST_ADMIN_TOKEN };
  });
  afterAll(async () => stack?.close());

  it('submits a YAML study, follows it, and lists its trials', async () => {
    const file = path.join(dir, 'study.yaml');
    writeFileSync(file, [
      'name: cli-study',
      'objective: {metric: score, direction: maximize}',
      'searchSpace:',
      '  x: {type: int, min: 2, max: 4}',
      'algorithm: {name: grid}',
      'parallelism: 2',
      'maxTrials: 10',
      'trial:',
      `  command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(fixture('quadratic.mjs'))}, --x, "\${params.x}"]`,
    ].join('\n'));
    const submitted = await tunehive(['submit', file], env);
    expect(submitted.code, submitted.stderr).toBe(0);
    const id = submitted.stdout.trim();
    expect(id).toMatch(/^[a-z0-9]{10}$/);

    const status = await tunehive(['status', id, '--watch'], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/COMPLETED \(search space exhausted after 3 trials\)/);
    expect(status.stdout).toMatch(new RegExp(`best: trial ${id}\\.1 score=0 +x=3`));

    const trials = await tunehive(['trials', id], env);
    expect(trials.stdout.split('\n')[0]).toMatch(/^#\s+state\s+value\s+attempt\s+worker\s+params/);
    expect(trials.stdout).toMatch(/COMPLETED\s+-1\s+1\s+w0\s+x=2/);
  }, 120_000);

  it('explains an invalid spec field by field, without a stack trace', async () => {
    const file = path.join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ name: 'bad', objective: { metric: 'm', direction: 'down' }, searchSpace: { lr: { type: 'float', min: 0, max: 1, log: true } }, maxTrials: 0 }));
    const r = await tunehive(['submit', file], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('tunehive: the study spec is invalid:');
    expect(r.stderr).toContain('  - objective.direction: must be "minimize" or "maximize" (got "down")');
    expect(r.stderr).toContain('  - searchSpace.lr.min: must be > 0 on a log scale (got 0)');
    expect(r.stderr).toContain('  - maxTrials: must be an integer from 1');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);

  it('says what to do when a file, a study, a flag or the API is wrong', async () => {
    // Independent commands, run side by side: each pays the CLI's start-up once.
    const [missing, unknown, down, badFlag, badGpus, cmd] = await Promise.all([
      tunehive(['submit', path.join(dir, 'nope.yaml')], env),
      tunehive(['status', 'zzzzzzzzzz'], env),
      tunehive(['status', 'abc'], { TUNEHIVE_API: 'http://127.0.0.1:1' }),
      tunehive(['worker', '--slots', 'many'], env),
      tunehive(['worker', '--gpus', 'lots'], env),
      tunehive(['frobnicate'], env),
    ]);
    expect(missing.stderr).toMatch(/cannot read .*nope\.yaml: no such file/);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no study with id "zzzzzzzzzz"/);
    expect(down.stderr).toMatch(/cannot reach the Tunehive API at http:\/\/127\.0\.0\.1:1.*\n.*tunehive dev/);
    expect(badFlag.stderr).toMatch(/--slots must be an integer from 1 to 1024 \(got "many"\)/);
    expect(badGpus.stderr).toMatch(/--gpus must be auto, none/);
    expect(cmd.stderr).toMatch(/unknown command "frobnicate"/);
  }, 120_000);
});
