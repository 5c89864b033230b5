/**
 * The embedded default deployment: a private redis-server (unless REDIS_URL is set), a
 * coordinator and N worker agents in one process, all on 127.0.0.1.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { startCoordinator, type Coordinator } from '../coordinator/main.js';
import { Agent } from '../worker/agent.js';
import { ProcessRuntime } from '../worker/runtime/process-runtime.js';
import { redactUrl } from '../shared/redis.js';
import { ensureRedisServer, freePort, startLocalRedis, type LocalRedis } from './local-redis.js';

export interface DevStack {
  coordinator: Coordinator;
  agents: Agent[];
  redisUrl: string;
  /** The local stack's admin token (kept in <dataDir>/admin-token, mode 0600; the CLI in this folder uses it). */
  adminToken: string;
  close(): Promise<void>;
}

async function portOr(preferred: number): Promise<number> {
  const net = await import('node:net');
  const free = await new Promise<boolean>((resolve) => {
    const s = net.createServer().once('error', () => resolve(false)).listen(preferred, '127.0.0.1', () => s.close(() => resolve(true)));
  });
  return free ? preferred : freePort();
}

export async function startDevStack(o: { workers: number; slots: number; dataDir: string; log: Logger; say: (m: string) => void; httpPort?: number; grpcPort?: number }): Promise<DevStack> {
  let local: LocalRedis | undefined;
  let redisUrl = process.env.REDIS_URL;
  // The private redis-server has ACL users with random passwords (shared/redis-acl.ts): the
  // agents log in as the worker user, which cannot read or write study data.
  let workerRedisUrl = redisUrl;
  if (!redisUrl) {
    const binary = ensureRedisServer(o.say);
    local = await startLocalRedis({ dataDir: path.join(o.dataDir, 'redis'), appendOnly: true, binary, prefix: 'th' });
    redisUrl = local.users!.coordinator;
    workerRedisUrl = local.users!.worker;
    o.say(`started redis-server on 127.0.0.1:${local.port} with random passwords for its ACL users (data in ${path.join(o.dataDir, 'redis')})`);
  } else {
    o.say(`using Redis at ${redactUrl(redisUrl)} (REDIS_URL)`);
  }
  const adminToken = localAdminToken(o.dataDir);
  // A fresh join token per start, handed over in memory: workers join with nothing typed.
  const joinToken = randomBytes(24).toString('base64url');
  const coordinator = await startCoordinator({
    adminToken,
    workerJoinToken: joinToken,
    redisUrl, host: '127.0.0.1', httpPort: await portOr(o.httpPort ?? 8080), grpcPort: await portOr(o.grpcPort ?? 50051), prefix: 'th', log: o.log,
    checkpointDir: path.join(o.dataDir, 'checkpoints'), artifactStore: path.join(o.dataDir, 'artifacts'),
  });
  const agents: Agent[] = [];
  for (let i = 0; i < o.workers; i++) {
    const agent = new Agent({
      redisUrl: workerRedisUrl!, prefix: 'th', coordinator: coordinator.grpcAddress, slots: o.slots, log: o.log, workerId: `dev-worker-${i + 1}`,
      workDir: path.join(o.dataDir, `worker-${i + 1}`), runtime: new ProcessRuntime(process.cwd()),
      // Joined afresh each start (a saved credential would outlive a wiped Redis).
      joinToken, saveCredential: false,
    });
    await agent.start();
    agents.push(agent);
  }
  let closing: Promise<void> | undefined;
  return {
    coordinator, agents, redisUrl, adminToken,
    close() {
      closing ??= (async () => {
        await Promise.all(agents.map((a) => a.close()));
        await coordinator.close();
        await local?.stop();
      })();
      return closing;
    },
  };
}

/**
 * A random admin token for the local stack, made once and kept next to its data, so the
 * quick start needs nothing typed: the CLI falls back to this file for a loopback API.
 */
function localAdminToken(dataDir: string): string {
  const file = path.join(dataDir, 'admin-token');
  if (existsSync(file)) {
    const kept = readFileSync(file, 'utf8').trim();
    if (kept.length >= 32) return kept;
  }
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(32).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}
