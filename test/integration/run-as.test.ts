/**
 * `--run-as USER` on real processes: the trial runs under that uid, writes its checkpoint
 * folder and HOME, and cannot read the agent's 0600 credential file nor its parent's
 * /proc/PID/environ. Needs root to create the user (useradd) and to start programs as it.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startTestStack, type TestStack } from '../helpers/stack.js';
import { ProcessRuntime } from '../../worker/runtime/process-runtime.js';
import { lookupUser, RunAsError } from '../../worker/runtime/run-as.js';

const USER = 'tunehive-trial-test';
const isRoot = process.getuid?.() === 0;
const hasUseradd = (() => { try { execFileSync('useradd', ['--help'], { stdio: 'ignore' }); return true; } catch { return false; } })();
const skipReason = !isRoot ? 'not running as root: cannot create a user or start programs as another one' : !hasUseradd ? 'no useradd on this machine' : '';

function ensureUser(): void {
  try {
    execFileSync('id', ['-u', USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', USER], { stdio: 'ignore' });
  }
}

describe.skipIf(!!skipReason)(`--run-as${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let stack: TestStack;
  let credential: string;
  beforeAll(async () => {
    ensureUser();
    const agentDir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-agent-'));
    credential = path.join(agentDir, 'redis.url');
    writeFileSync(credential, 'redis://tunehive-worker:secret@127.0.0.1:6379\n', { mode: 0o600 });
    // As an operator would: the user may traverse the agent's folder (not list it, nor read its 0600 files).
    chmodSync(agentDir, 0o711);
    stack = await startTestStack('runas', { workers: 1, agent: { runtime: new ProcessRuntime('/', { runAs: lookupUser(USER) }), workDir: mkdtempSync(path.join(agentDir, 'work-')) } });
  });
  afterAll(async () => stack?.close());

  it('the trial runs as the user, writes its folders, and cannot read the agent\'s files or environment', async () => {
    const created = await stack.api('POST', '/api/v1/studies', {
      name: 'runas', objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'int', min: 0, max: 1 } }, maxTrials: 1,
      trial: { command: [process.execPath, fixture('run-as-probe.mjs'), '--cred', credential] },
    });
    expect((await stack.waitForStudy(created.body.id)).state).toBe('COMPLETED');
    const trial = (await stack.api('GET', `/api/v1/trials/${created.body.id}.0`)).body;
    const v = (name: string) => trial.metrics[name]?.last?.value;
    expect(v('uid')).toBe(lookupUser(USER).uid);
    expect(v('read_credential')).toBe(0);
    expect(v('read_parent_environ')).toBe(0);
    expect(v('wrote_checkpoint')).toBe(1);
    expect(v('wrote_home')).toBe(1);
  });

  it('a work dir under a folder the user cannot traverse is a start error that says which and how to fix it', async () => {
    const closed = mkdtempSync(path.join(os.tmpdir(), 'tunehive-closed-'));
    const checkpointDir = path.join(closed, 'work', 'trials', 'x.0', 'checkpoint');
    mkdirSync(checkpointDir, { recursive: true });
    const program = new ProcessRuntime('/', { runAs: lookupUser(USER) }).launch({ trialId: 'x.0', argv: [process.execPath, '-e', '0'], env: {}, checkpointDir, gpus: [] });
    expect((await program.exited).startError).toMatch(new RegExp(`cannot reach the trial folder: ${closed} is mode 0700; .*--work-dir`));
  });
});

describe('--run-as user lookup', () => {
  it('refuses unknown users, root and names that are not user names', () => {
    expect(() => lookupUser('no-such-user-tunehive')).toThrow(RunAsError);
    expect(() => lookupUser('no-such-user-tunehive')).toThrow(/no user "no-such-user-tunehive"/);
    expect(() => lookupUser('root')).toThrow(/unprivileged/);
    expect(() => lookupUser('a;rm -rf /')).toThrow(/not a user name/);
  });
});
