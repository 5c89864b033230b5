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
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { aclLine, deploymentUsers, randomPassword, userUrl } from '../shared/redis-acl.js';

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
  const config = [
    `user default reset on >${admin.password} ~* &* +@all`,
    ...(users ? [aclLine(users.coordinator), aclLine(users.worker)] : []),
  ].join('\n');
  for (let tries = 0; ; tries++) {
    const port = opts.port ?? (await freePort());
    // `-` reads the configuration (the users and their passwords) from stdin.
    const child = spawn(binary, [
      '-', '--port', String(port), '--bind', '127.0.0.1', '--dir', path.resolve(opts.dataDir),
      '--save', '', '--appendonly', opts.appendOnly ? 'yes' : 'no', '--protected-mode', 'yes', '--loglevel', 'warning',
    ], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(`${config}\n`);
    const ready = await waitForReady(child, port, admin.password);
    if (ready) {
      return {
        url: userUrl('127.0.0.1', port, admin), port, process: child, credentials: { admin, ...(users ? { users } : {}) },
        ...(users ? { users: { coordinator: userUrl('127.0.0.1', port, users.coordinator), worker: userUrl('127.0.0.1', port, users.worker) } } : {}),
        stop: () => new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
      };
    }
    child.kill('SIGKILL');
    if (tries >= 3) throw new Error(`redis-server did not start on 127.0.0.1:${port}`);
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
