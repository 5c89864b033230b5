/**
 * Starts a private redis-server on 127.0.0.1 and a free port, for `tunehive dev` and the tests.
 * When redis-server is missing it is installed where that is safe (root on Debian/Ubuntu),
 * otherwise the error names the exact install command for the platform.
 *
 * It never runs without passwords: the default user gets a random password (the admin URL),
 * and with `prefix` the deployment's ACL users (shared/redis-acl.ts) are created with random
 * passwords too. The configuration goes in on stdin, so no password is in redis-server's argv
 * (/proc/PID/cmdline, readable by every process) nor in a file.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { aclLine, clusterUserUrl, deploymentUsers, randomPassword, userUrl, type AclUser } from '../shared/redis-acl.js';

export interface LocalRedis {
  /** The default user's URL (every key and command); for set-up and tests, not for services. */
  url: string;
  /** With `prefix`: the coordinator's and the worker's URLs (ACL users of that prefix). */
  users?: { coordinator: string; worker: string };
  port: number;
  process: ChildProcess;
  /** The users and passwords it was started with (a restart with `sameCredentialsAs` reuses them). */
  readonly credentials: { admin: { name: string; password: string }; users?: ReturnType<typeof deploymentUsers> };
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export function findRedisServer(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const found = r.stdout.trim();
  if (found) return found;
  for (const p of ['/usr/bin/redis-server', '/usr/local/bin/redis-server', '/opt/homebrew/bin/redis-server']) {
    if (spawnSync(p, ['--version']).status === 0) return p;
  }
  return undefined;
}

export function installHint(): string {
  if (process.platform === 'darwin') return 'brew install redis';
  if (spawnSync('sh', ['-c', 'command -v apt-get']).status === 0) return 'sudo apt-get install -y redis-server';
  if (spawnSync('sh', ['-c', 'command -v dnf']).status === 0) return 'sudo dnf install -y redis';
  if (spawnSync('sh', ['-c', 'command -v apk']).status === 0) return 'sudo apk add redis';
  return 'install Redis 6.2+ (https://redis.io/docs/install/), or set REDIS_URL to a running server';
}

/** Finds redis-server, installing it with apt-get when running as root on Debian/Ubuntu. */
export function ensureRedisServer(say: (msg: string) => void): string {
  const found = findRedisServer();
  if (found) return found;
  const isRoot = process.getuid?.() === 0;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get']).status === 0;
  if (isRoot && hasApt) {
    say('redis-server is not installed; installing it: apt-get install -y redis-server');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    const r = spawnSync('apt-get', ['install', '-y', '-qq', 'redis-server'], { stdio: 'inherit', env });
    const after = findRedisServer();
    if (r.status === 0 && after) return after;
  }
  throw new Error(`redis-server was not found on PATH. Install it with:\n\n    ${installHint()}\n\nor point Tunehive at a running Redis with REDIS_URL=redis://HOST:PORT`);
}

export async function startLocalRedis(opts: { dataDir: string; appendOnly?: boolean; port?: number; binary?: string; prefix?: string; sameCredentialsAs?: LocalRedis }): Promise<LocalRedis> {
  const binary = opts.binary ?? findRedisServer() ?? ensureRedisServer(() => {});
  mkdirSync(opts.dataDir, { recursive: true });
  // A restart (tests of Redis outages) keeps the passwords its clients already hold.
  const admin = opts.sameCredentialsAs?.credentials.admin ?? { name: 'default', password: randomPassword() };
  const users = opts.sameCredentialsAs?.credentials.users ?? (opts.prefix !== undefined ? deploymentUsers(opts.prefix) : undefined);
  const { child, port } = await startServer(binary, serverConfig(admin, users), admin.password, opts.dataDir, opts.appendOnly ?? false, [], opts.port);
  return {
    url: userUrl('127.0.0.1', port, admin), port, process: child, credentials: { admin, ...(users ? { users } : {}) },
    ...(users ? { users: { coordinator: userUrl('127.0.0.1', port, users.coordinator), worker: userUrl('127.0.0.1', port, users.worker) } } : {}),
    stop: () => stopChild(child),
  };
}

/** The users a server starts with: the default user's password, and the deployment's ACL users. */
function serverConfig(admin: { password: string }, users?: { coordinator: AclUser; worker: AclUser }): string {
  return [`user default reset on >${admin.password} ~* &* +@all`, ...(users ? [aclLine(users.coordinator), aclLine(users.worker)] : [])].join('\n');
}

/** Starts one redis-server on a free port of 127.0.0.1 (a few tries: another process may take the port first). */
async function startServer(binary: string, config: string, password: string, dataDir: string, appendOnly: boolean, extra: ((port: number) => Promise<string[]> | string[]) | string[] = [], fixedPort?: number): Promise<{ child: ChildProcess; port: number }> {
  for (let tries = 0; ; tries++) {
    const port = fixedPort ?? (await freePort());
    const more = typeof extra === 'function' ? await extra(port) : extra;
    // `-` reads the configuration (the users and their passwords) from stdin.
    const child = spawn(binary, [
      '-', '--port', String(port), '--bind', '127.0.0.1', '--dir', path.resolve(dataDir),
      '--save', '', '--appendonly', appendOnly ? 'yes' : 'no', '--protected-mode', 'yes', '--loglevel', 'warning', ...more,
    ], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(`${config}\n`);
    if (await waitForReady(child, port, password)) return { child, port };
    child.kill('SIGKILL');
    if (tries >= 3) throw new Error(`redis-server did not start on 127.0.0.1:${port}`);
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

export interface LocalRedisCluster {
  /** `redis-cluster://` URL of the default user (every key and command); for set-up and tests. */
  url: string;
  /** With `prefix`: the coordinator's and the worker's cluster URLs (the ACL users are on every node). */
  users?: { coordinator: string; worker: string };
  /** The masters' ports, in the order they were created. */
  ports: number[];
  password: string;
  stop(): Promise<void>;
}

/**
 * A Redis Cluster of `masters` masters (no replicas) on 127.0.0.1, for the tests: each node a
 * redis-server with `--cluster-enabled yes` and the same users as startLocalRedis, joined with
 * `redis-cli --cluster create`. Returns once every node says `cluster_state:ok`.
 */
export async function startLocalRedisCluster(opts: { dataDir: string; masters?: number; binary?: string; prefix?: string; timeoutMs?: number }): Promise<LocalRedisCluster> {
  const masters = opts.masters ?? 3;
  if (!Number.isInteger(masters) || masters < 3 || masters > 16) throw new Error(`a Redis Cluster needs 3 to 16 masters here, not ${masters}`);
  const binary = opts.binary ?? findRedisServer() ?? ensureRedisServer(() => {});
  const cli = path.join(path.dirname(binary), 'redis-cli');
  if (spawnSync(cli, ['--version']).status !== 0) throw new Error(`redis-cli was not found beside ${binary} (it creates the cluster). Install it with:\n\n    ${installHint()}`);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const admin = { name: 'default', password: randomPassword() };
  const users = opts.prefix !== undefined ? deploymentUsers(opts.prefix) : undefined;
  const config = serverConfig(admin, users);
  const nodes: Array<{ child: ChildProcess; port: number }> = [];
  const stop = async () => { await Promise.all(nodes.map((n) => stopChild(n.child))); };
  try {
    for (let i = 0; i < masters; i++) {
      const dir = path.join(opts.dataDir, `node-${i}`);
      mkdirSync(dir, { recursive: true });
      // The cluster bus gets a free port of its own (the default, port + 10000, may be taken or past 65535).
      nodes.push(await startServer(binary, config, admin.password, dir, false, async () => ['--cluster-enabled', 'yes', '--cluster-config-file', path.resolve(dir, 'nodes.conf'),
        '--cluster-port', String(await freePort()), '--cluster-node-timeout', '5000']));
    }
    const ports = nodes.map((n) => n.port);
    // The password goes in REDISCLI_AUTH, not in redis-cli's argv (readable by every process).
    const create = spawnSync(cli, ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
      { env: { ...process.env, REDISCLI_AUTH: admin.password }, encoding: 'utf8', timeout: timeoutMs });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed (${create.error?.message ?? `exit ${create.status}`}): ${(create.stdout + create.stderr).slice(-2000)}`);
    await waitForClusterOk(ports, admin.password, Date.now() + timeoutMs);
    const hosts = ports.map((p) => `127.0.0.1:${p}`).join(',');
    const urlOf = (u: { name: string; password: string }) => clusterUserUrl(hosts, u);
    return {
      url: urlOf(admin), ports, password: admin.password, stop,
      ...(users ? { users: { coordinator: urlOf(users.coordinator), worker: urlOf(users.worker) } } : {}),
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Every node reports `cluster_state:ok` (slots assigned and the configuration agreed), or an error naming the ones that do not. */
async function waitForClusterOk(ports: number[], password: string, deadline: number): Promise<void> {
  const clients = ports.map((port) => new Redis({ host: '127.0.0.1', port, password, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null }));
  try {
    for (;;) {
      const states = await Promise.all(clients.map(async (c) => {
        const info = String(await c.call('CLUSTER', 'INFO').catch((e: Error) => `error ${e.message}`));
        return /cluster_state:ok/.test(info) && /cluster_known_nodes:(\d+)/.exec(info)?.[1] === String(ports.length);
      }));
      if (states.every(Boolean)) return;
      if (Date.now() > deadline) throw new Error(`the Redis Cluster on ports ${ports.join(', ')} is not ready (cluster_state:ok on every node): not yet on ${ports.filter((_, i) => !states[i]).join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    clients.forEach((c) => c.disconnect());
  }
}

async function waitForReady(child: ChildProcess, port: number, password: string): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false;
    if (await ping(port, password)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

function ping(port: number, password: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.setTimeout(500);
    let got = '';
    s.on('connect', () => s.write(`AUTH default ${password}\r\nPING\r\n`));
    s.on('data', (d) => {
      got += d.toString();
      if (!got.includes('\r\n', got.indexOf('\r\n') + 2)) return;
      s.destroy();
      resolve(got.startsWith('+OK') && got.includes('+PONG'));
    });
    s.on('error', () => resolve(false));
    s.on('timeout', () => { s.destroy(); resolve(false); });
  });
}
