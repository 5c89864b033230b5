/**
 * Redis ACL users on a real redis-server: a coordinator and a worker each logged in as the
 * deployment's users (shared/redis-acl.ts, the rules the local stack and `tunehive redis-acl`
 * ship) run a study to the end, and the worker's credential — what a trial program could steal
 * from its agent — cannot read or rewrite study data (NOPERM). The local stack never runs
 * redis-server without passwords, nor with a password in its argv.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startTestStack, type TestStack } from '../helpers/stack.js';
import { redisUrl, uniquePrefix } from '../helpers/env.js';
import { coordinatorAclRules, randomPassword, workerAclRules } from '../../shared/redis-acl.js';
import { keys } from '../../shared/redis-keys.js';
import { findRedisServer, freePort, startLocalRedis } from '../../cli/local-redis.js';
import { spawn, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { waitFor } from '../helpers/env.js';

const spec = {
  name: 'acl', objective: { metric: 'score', direction: 'maximize' },
  searchSpace: { x: { type: 'int', min: 0, max: 5 } }, algorithm: { name: 'random', seed: 1 }, parallelism: 2, maxTrials: 4,
  trial: { command: [process.execPath, fixture('quadratic.mjs'), '--x', '${params.x}'], env: { SECRET_TOKEN: 'do-not-leak' } },
};

/** Creates an ACL user on the test server (as its admin) and answers its URL. */
async function createUser(admin: Redis, name: string, rules: string[]): Promise<string> {
  const password = randomPassword();
  await admin.call('ACL', 'SETUSER', name, 'reset', 'on', `>${password}`, ...rules);
  const u = new URL(redisUrl());
  return `redis://${name}:${password}@${u.host}`;
}

describe('Redis ACL users', () => {
  const prefix = uniquePrefix('acl');
  const coordinatorName = `tunehive-coordinator-${prefix}`;
  const workerName = `tunehive-worker-${prefix}`;
  let admin: Redis;
  let worker: Redis;
  let stack: TestStack;
  let studyId: string;

  beforeAll(async () => {
    admin = new Redis(redisUrl());
    const coordinatorUrl = await createUser(admin, coordinatorName, coordinatorAclRules(prefix));
    const workerUrl = await createUser(admin, workerName, workerAclRules(prefix));
    worker = new Redis(workerUrl, { maxRetriesPerRequest: 1 });
    stack = await startTestStack('acl', { prefix, workers: 1, slots: 2, coordinator: { redisUrl: coordinatorUrl }, agent: { redisUrl: workerUrl } });
  });
  afterAll(async () => {
    await stack?.close();
    worker?.disconnect();
    await admin?.call('ACL', 'DELUSER', coordinatorName, workerName).catch(() => undefined);
    admin?.disconnect();
  });

  it('a coordinator and a worker with the restricted users run a study to the end', async () => {
    const created = await stack.api('POST', '/api/v1/studies', spec);
    expect(created.status).toBe(201);
    studyId = created.body.id;
    const done = await stack.waitForStudy(studyId);
    expect(done.state).toBe('COMPLETED');
    // The worker registered through its own user.
    expect(await admin.sismember(keys.workers(prefix), 'w0')).toBe(1);
  });

  it('attack "a trial rewrote another study to FAILED", with a stolen worker credential: the worker user cannot HGETALL a study, SET its state, read a trial or list keys (NOPERM)', async () => {
    const study = keys.study(prefix, studyId);
    await expect(worker.hgetall(study)).rejects.toThrow(/NOPERM/);
    await expect(worker.hset(study, 'state', 'FAILED')).rejects.toThrow(/NOPERM/);
    await expect(worker.set(study, 'x')).rejects.toThrow(/NOPERM/);
    await expect(worker.del(study)).rejects.toThrow(/NOPERM/);
    await expect(worker.hgetall(keys.trial(prefix, studyId, 0))).rejects.toThrow(/NOPERM/);
    await expect(worker.lrange(keys.history(prefix, studyId), 0, -1)).rejects.toThrow(/NOPERM/);
    await expect(worker.keys('*')).rejects.toThrow(/NOPERM/);
    await expect(worker.scan('0')).rejects.toThrow(/NOPERM/);
    await expect(worker.eval(`return redis.call('HGETALL', KEYS[1])`, 1, study)).rejects.toThrow(/NOPERM|permissions/);
    await expect(worker.eval(`return redis.call('HSET', KEYS[1], 'state', 'FAILED')`, 1, study)).rejects.toThrow(/NOPERM|permissions/);
    await expect(worker.flushall()).rejects.toThrow(/NOPERM/);
    await expect(worker.call('CONFIG', 'GET', '*')).rejects.toThrow(/NOPERM/);
    await expect(worker.publish(`${prefix}:kick`, studyId)).rejects.toThrow(/NOPERM/);
    // Another deployment's keys on the same server are out of reach too.
    await expect(worker.get('other:q:x')).rejects.toThrow(/NOPERM/);
    expect((await admin.hget(study, 'state'))).toBe('COMPLETED');
  });

  it('the worker user cannot read a study at all (the trial template comes over gRPC): its spec and env stay private', async () => {
    await expect(worker.hget(keys.study(prefix, studyId), 'spec')).rejects.toThrow(/NOPERM/);
  });

  it('the coordinator user is held to its prefix and to non-dangerous commands', async () => {
    const c = stack.coordinator.store.redis as Redis;
    await expect(c.get('other-prefix:x')).rejects.toThrow(/NOPERM/);
    await expect(c.flushall()).rejects.toThrow(/NOPERM/);
    await expect(c.keys(`${prefix}:*`)).rejects.toThrow(/NOPERM/);
  });
});

describe('the local stack\'s redis-server', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-acl-local-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses clients without a password, has the deployment users, and no password in its argv', async () => {
    const local = await startLocalRedis({ dataDir: dir, prefix: 'th' });
    try {
      const anonymous = new Redis({ port: local.port, host: '127.0.0.1', maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
      anonymous.on('error', () => undefined);
      await anonymous.connect().catch(() => undefined);
      await expect(anonymous.get('th:studies')).rejects.toThrow(/NOAUTH|closed|Connection/);
      anonymous.disconnect();
      const w = new Redis(local.users!.worker);
      await expect(w.hgetall('th:{abcd}:study')).rejects.toThrow(/NOPERM/);
      expect(await w.sadd('th:workers', 'x')).toBe(1);
      w.disconnect();
      const c = new Redis(local.users!.coordinator);
      expect(await c.hset('th:{abcd}:study', 'state', 'RUNNING')).toBe(1);
      c.disconnect();
      const cmdline = readFileSync(`/proc/${local.process.pid}/cmdline`, 'utf8');
      for (const url of [local.url, local.users!.coordinator, local.users!.worker]) expect(cmdline).not.toContain(new URL(url).password);
    } finally {
      await local.stop();
    }
  });
});

describe('`tunehive redis-acl` (the deployment\'s ACL file)', () => {
  it('writes users.acl with password hashes and the two URLs (0600); redis-server --aclfile takes it and enforces it', async () => {
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'tunehive-acl-deploy-')), 'secrets');
    const port = await freePort();
    const r = spawnSync(process.execPath, [path.resolve('bin/tunehive.mjs'), 'redis-acl', '--out-dir', dir, '--host', '127.0.0.1', '--port', String(port)], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const file = (n: string) => readFileSync(path.join(dir, n), 'utf8').trim();
    for (const n of ['coordinator-url', 'worker-url']) expect(statSync(path.join(dir, n)).mode & 0o777, n).toBe(0o600);
    const coordinatorUrl = file('coordinator-url');
    const workerUrl = file('worker-url');
    expect(r.stdout).not.toContain(new URL(coordinatorUrl).password);
    expect(file('users.acl')).not.toContain(new URL(coordinatorUrl).password);
    expect(file('users.acl')).not.toContain(new URL(workerUrl).password);
    // A second run must not silently replace the credentials every client uses.
    expect(spawnSync(process.execPath, [path.resolve('bin/tunehive.mjs'), 'redis-acl', '--out-dir', dir], { encoding: 'utf8' }).stderr).toMatch(/already holds Redis credentials/);

    const server = spawn(findRedisServer()!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--aclfile', path.join(dir, 'users.acl'), '--dir', path.dirname(dir)], { stdio: 'ignore' });
    const anonymous = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    anonymous.on('error', () => undefined);
    try {
      expect(await waitFor(() => anonymous.ping().catch(() => undefined), 10_000, 'redis-server')).toBe('PONG');
      await expect(anonymous.get('th:studies')).rejects.toThrow(/NOPERM/);
      const c = new Redis(coordinatorUrl);
      const w = new Redis(workerUrl);
      expect(await c.hset('th:{abcd}:study', 'state', 'RUNNING')).toBe(1);
      await expect(w.hgetall('th:{abcd}:study')).rejects.toThrow(/NOPERM/);
      expect(await w.sadd('th:workers', 'w')).toBe(1);
      c.disconnect();
      w.disconnect();
    } finally {
      anonymous.disconnect();
      server.kill('SIGKILL');
    }
  });
});
