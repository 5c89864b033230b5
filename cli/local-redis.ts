/**
 * Starts a private redis-server on 127.0.0.1 and a free port, for `tunehive dev` and the tests.
 * When redis-server is missing it is installed where that is safe (root on Debian/Ubuntu),
 * otherwise the error names the exact install command for the platform.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export interface LocalRedis {
  url: string;
  port: number;
  process: ChildProcess;
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

export async function startLocalRedis(opts: { dataDir: string; appendOnly?: boolean; port?: number; binary?: string }): Promise<LocalRedis> {
  const binary = opts.binary ?? findRedisServer() ?? ensureRedisServer(() => {});
  mkdirSync(opts.dataDir, { recursive: true });
  for (let tries = 0; ; tries++) {
    const port = opts.port ?? (await freePort());
    const child = spawn(binary, [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', path.resolve(opts.dataDir),
      '--save', '', '--appendonly', opts.appendOnly ? 'yes' : 'no', '--protected-mode', 'yes', '--loglevel', 'warning',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const ready = await waitForReady(child, port);
    if (ready) {
      return {
        url: `redis://127.0.0.1:${port}`, port, process: child,
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

async function waitForReady(child: ChildProcess, port: number): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false;
    if (await ping(port)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.setTimeout(500);
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => { s.destroy(); resolve(d.toString().startsWith('+PONG')); });
    s.on('error', () => resolve(false));
    s.on('timeout', () => { s.destroy(); resolve(false); });
  });
}
