/**
 * An agent's secrets never reach a trial: a real agent started by the CLI, with a Redis URL
 * carrying a password and the tokens in its environment, runs a trial program that searches its
 * own environment and its parent's command line. Neither holds a secret, and neither does the
 * agent's /proc/PID/cmdline. (Its parent's /proc/PID/environ does: same user; see --run-as.)
 */
import { readFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startTestStack, type TestStack } from '../helpers/stack.js';
import { redisUrl, TEST_JOIN_TOKEN, waitFor } from '../helpers/env.js';
import { exited, killAll, spawnWorker } from '../helpers/processes.js';
import type { ChildProcess } from 'node:child_process';
import { keys } from '../../shared/redis-keys.js';

const SECRETS = {
  // The real join token of the test coordinator: the agent must join with it, and hide it.
  TUNEHIVE_JOIN_TOKEN: TEST_JOIN_TOKEN,
  TUNEHIVE_TOKEN: 'thk_00112233445566bb_tokentokentokentokentokentokentokentokentok',
  TUNEHIVE_ADMIN_TOKEN: 'admin-secret-7c1d9e2f',
  MY_DB_PASSWORD: 'db-password-4b8a6c0e',
};

describe('secrets stay with the agent', () => {
  let stack: TestStack;
  let worker: ChildProcess;
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'tunehive-sniff-')), 'dump.json');
  const password = new URL(redisUrl()).password;

  beforeAll(async () => {
    expect(password.length).toBeGreaterThan(10);
    stack = await startTestStack('secrets', { workers: 0 });
    worker = spawnWorker({ redisUrl: redisUrl(), prefix: stack.prefix, coordinator: stack.coordinator.grpcAddress, id: 'sniffed', env: SECRETS });
  });
  afterAll(async () => {
    await killAll(worker ? [worker] : []);
    await stack?.close();
  });

  it('attack "the Redis URL is in the agent\'s /proc/$PPID/cmdline": the agent\'s argv holds no password or token, and a trial finds none in its env or its parent\'s argv', async () => {
    const created = await stack.api('POST', '/api/v1/studies', {
      name: 'sniff', objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'int', min: 0, max: 1 } }, maxTrials: 1,
      trial: { command: [process.execPath, fixture('secret-sniffer.mjs'), '--out', out] },
    });
    expect(created.status).toBe(201);
    expect((await stack.waitForStudy(created.body.id)).state).toBe('COMPLETED');

    const agentCmdline = readFileSync(`/proc/${worker.pid}/cmdline`, 'latin1');
    expect(agentCmdline).toContain('worker');
    const dump = JSON.parse(readFileSync(out, 'utf8'));
    expect(dump.ppid).toBe(worker.pid);
    expect(dump.parentCmdline).toBe(agentCmdline.replaceAll('\0', ' '));
    const secrets = [password, redisUrl(), ...Object.values(SECRETS)];
    for (const [where, text] of [['agent cmdline', agentCmdline], ['trial env', JSON.stringify(dump.env)], ['parent cmdline', dump.parentCmdline]] as const) {
      for (const s of secrets) expect(text.includes(s), `${where} contains ${s.slice(0, 12)}…`).toBe(false);
    }
    // The one credential a trial is given is its own MLflow run token (thr_: its run only, issue 12), none of the agent's.
    expect(Object.keys(dump.env).filter((k) => /REDIS|TOKEN|PASSWORD/.test(k))).toEqual(['MLFLOW_TRACKING_TOKEN']);
    expect(dump.env.MLFLOW_TRACKING_TOKEN).toMatch(/^thr_[0-9a-f]{16}_/);
    // The trial's own variables are there.
    expect(dump.env.TUNEHIVE_TRIAL_ID).toBe(`${created.body.id}.0`);
  });

  it('attack "a trial rewrote another study to FAILED and read its secret env from Redis": the trial finds no credential, and Redis refuses it without one', async () => {
    const victim = await stack.api('POST', '/api/v1/studies', {
      name: 'victim', objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'int', min: 0, max: 1 } }, maxTrials: 1,
      trial: { command: [process.execPath, fixture('quadratic.mjs'), '--x', '${params.x}'], env: { VICTIM_SECRET: 'victim-secret-5e1f' } },
    });
    const victimKey = keys.study(stack.prefix, victim.body.id);
    const attackerOut = path.join(path.dirname(out), 'attack.json');
    const { hostname, port } = new URL(redisUrl());
    const attacker = await stack.api('POST', '/api/v1/studies', {
      name: 'attacker', objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'int', min: 0, max: 1 } }, maxTrials: 1,
      trial: { command: [process.execPath, fixture('redis-attacker.mjs'), '--redis-host', hostname, '--redis-port', port, '--victim-key', victimKey, '--out', attackerOut] },
    });
    expect((await stack.waitForStudy(attacker.body.id)).state).toBe('COMPLETED');
    const report = JSON.parse(readFileSync(attackerOut, 'utf8'));
    expect(report.found).toEqual([]);
    expect(report.replies.none).toMatch(/^-NOAUTH/);
    expect(JSON.stringify(report)).not.toContain('victim-secret-5e1f');
    const v = (await stack.waitForStudy(victim.body.id));
    expect(v.state).toBe('COMPLETED');
    expect(await stack.coordinator.store.redis.hget(victimKey, 'state')).toBe('COMPLETED');
  });

  it('`tunehive worker --redis URL` refuses a URL with a password, naming where to put it', async () => {
    const child = spawn(process.execPath, [path.resolve('bin/tunehive.mjs'), 'worker', '--redis', 'redis://u:pw-in-argv@127.0.0.1:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => { stderr += String(d); });
    await exited(child);
    expect(child.exitCode).toBe(1);
    expect(stderr).toMatch(/--redis: this URL carries a password.*REDIS_URL.*--redis-url-file/s);
  });

  it('`--redis-url-file` reads the URL from a file', async () => {
    const file = path.join(path.dirname(out), 'redis.url');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, `${redisUrl()}\n`, { mode: 0o600 });
    const w = spawnWorker({ redisUrl: 'redis://127.0.0.1:1', prefix: stack.prefix, coordinator: stack.coordinator.grpcAddress, id: 'from-file', extra: ['--redis-url-file', file] });
    try {
      const redis = stack.coordinator.store.redis;
      await waitFor(async () => (await redis.sismember(`${stack.prefix}:workers`, 'from-file')) === 1, 20_000, 'the worker to register');
      expect(readFileSync(`/proc/${w.pid}/cmdline`, 'latin1')).not.toContain(password);
    } finally {
      await killAll([w]);
    }
  });
});
