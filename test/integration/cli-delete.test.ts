/** `tunehive delete ID` against a real coordinator, and the coordinator's --retention-days flag. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN_TOKEN } from '../helpers/env.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { runCli } from '../helpers/processes.js';

// stdin is not a terminal here: the command cannot ask, so it needs --yes.
const tunehive = (args: string[], env: Record<string, string> = {}) => runCli(args, { env });

describe('tunehive delete', () => {
  let stack: TestStack;
  let env: Record<string, string>;
  beforeAll(async () => {
    stack = await startTestStack('cli-delete', { workers: 0 });
    env = { TUNEHIVE_API: stack.coordinator.httpUrl, TUNEHIVE_TOKEN: TEST_ADMIN_TOKEN };
  });
  afterAll(async () => stack?.close());

  it('asks for --yes without a terminal, deletes with it, and says so when the study is gone', async () => {
    const created = await stack.api('POST', '/api/v1/studies', { name: 'cli-del', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 3 });
    const id = created.body.id as string;
    await stack.api('POST', `/api/v1/studies/${id}/trials/ask`);
    await stack.api('POST', `/api/v1/studies/${id}/trials/0/tell`, { value: 0.5 });
    await stack.api('POST', `/api/v1/studies/${id}/stop`);

    const unconfirmed = await tunehive(['delete', id], env);
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.stderr).toContain('add --yes');
    expect((await stack.api('GET', `/api/v1/studies/${id}`)).status).toBe(200);

    const r = await tunehive(['delete', id, '--yes'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`deleted study ${id} \\(STOPPED\\): 1 trials, \\d+ Redis keys`));
    expect((await stack.api('GET', `/api/v1/studies/${id}`)).status).toBe(404);

    const again = await tunehive(['delete', id, '--yes'], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`no study with id "${id}"`);
  });

  it('refuses a RUNNING study without --force', async () => {
    const created = await stack.api('POST', '/api/v1/studies', { name: 'cli-run', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 3 });
    const r = await tunehive(['delete', created.body.id, '--yes'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/RUNNING.*force/);
    const forced = await tunehive(['delete', created.body.id, '--yes', '--force'], env);
    expect(forced.code, forced.stderr).toBe(0);
  });

  it('rejects a bad --retention-days before starting anything', async () => {
    const r = await tunehive(['coordinator', '--retention-days', 'soon', '--redis', 'redis://127.0.0.1:1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--retention-days must be a number of days above 0');
  });
});
