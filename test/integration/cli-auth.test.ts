/** `tunehive login`, `tunehive token ...`, and how every client command finds its token. */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN_TOKEN } from '../helpers/env.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { runCli } from '../helpers/processes.js';

// Without the test's own TUNEHIVE_TOKEN: each test says which token the CLI has.
const tunehive = (args: string[], env: Record<string, string>, stdin?: string) =>
  runCli(args, { env: { TUNEHIVE_TOKEN: undefined, ...env }, ...(stdin !== undefined ? { stdin } : {}), ...(env.CWD ? { cwd: env.CWD } : {}) });

describe('CLI authentication', () => {
  let stack: TestStack;
  let env: Record<string, string>;
  const config = mkdtempSync(path.join(os.tmpdir(), 'tunehive-xdg-'));
  beforeAll(async () => {
    stack = await startTestStack('cli-auth', { workers: 0 });
    env = { TUNEHIVE_API: stack.coordinator.httpUrl, XDG_CONFIG_HOME: config, CWD: os.tmpdir() };
  });
  afterAll(async () => stack?.close());

  it('says how to fix a missing or refused token', async () => {
    const none = await tunehive(['status', 'abcdabcdab'], env);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no token was given');
    expect(none.stderr).toContain('tunehive login');
    expect(none.stderr).toContain('TUNEHIVE_TOKEN');
    const bad = await tunehive(['status', 'abcdabcdab'], { ...env, TUNEHIVE_TOKEN: 'not-a-valid-token-0000' });
    expect(bad.stderr).toContain('the token from TUNEHIVE_TOKEN was refused');
    expect(bad.stderr).not.toMatch(/at .*\.ts:\d+/);
  });

  it('logs in (from stdin or --token), stores the token with mode 0600, and uses it after', async () => {
    const login = await tunehive(['login'], env, `${TEST_ADMIN_TOKEN}\n`);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toContain('logged in to');
    expect(login.stderr).toContain('as admin (role admin');
    const file = path.join(config, 'tunehive', 'credentials');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8')).tokens[stack.coordinator.httpUrl]).toBe(TEST_ADMIN_TOKEN);
    // A wrong token is not stored.
    const wrong = await tunehive(['login', '--token', 'nope-nope-nope-nope'], env);
    expect(wrong.code).toBe(1);
    expect(JSON.parse(readFileSync(file, 'utf8')).tokens[stack.coordinator.httpUrl]).toBe(TEST_ADMIN_TOKEN);

    const spec = path.join(config, 'study.json');
    writeFileSync(spec, JSON.stringify({ name: 'cli-auth', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 2 }));
    const submitted = await tunehive(['submit', spec], env);
    expect(submitted.code, submitted.stderr).toBe(0);
    // Order: --token beats TUNEHIVE_TOKEN beats the stored login.
    const flagWins = await tunehive(['status', submitted.stdout.trim(), '--token', 'bad-bad-bad-bad-bad'], { ...env, TUNEHIVE_TOKEN: TEST_ADMIN_TOKEN });
    expect(flagWins.stderr).toContain('the token from --token was refused');
    const envWins = await tunehive(['status', submitted.stdout.trim()], { ...env, TUNEHIVE_TOKEN: 'bad-bad-bad-bad-bad' });
    expect(envWins.stderr).toContain('the token from TUNEHIVE_TOKEN was refused');
    expect((await tunehive(['status', submitted.stdout.trim()], env)).code).toBe(0);
  });

  it('creates, lists and revokes tokens', async () => {
    const admin = { ...env, TUNEHIVE_TOKEN: TEST_ADMIN_TOKEN };
    const created = await tunehive(['token', 'create', '--owner', 'ci', '--role', 'viewer', '--description', 'ci bot', '--ttl', '2h'], admin);
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^thk_[0-9a-f]{16}_/);
    expect(created.stderr).toContain('shown only now');
    const list = await tunehive(['token', 'list', '--owner', 'ci'], admin);
    expect(list.stdout).toContain('ci bot');
    expect(list.stdout).not.toContain(token.split('_').slice(2).join('_'));
    const join = await tunehive(['token', 'create', '--kind', 'worker-join', '--projects', 'default'], admin);
    expect(join.stdout.trim()).toMatch(/^thj_/);
    const revoke = await tunehive(['token', 'revoke', token], admin);
    expect(revoke.code, revoke.stderr).toBe(0);
    const after = await tunehive(['status', 'abcdabcdab'], { ...env, TUNEHIVE_TOKEN: token });
    expect(after.stderr).toContain('was refused');
    const refused = await tunehive(['token', 'create', '--role', 'admin'], { ...env, TUNEHIVE_TOKEN: join.stdout.trim() });
    expect(refused.code).toBe(1);
  });
});
