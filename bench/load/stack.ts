/**
 * The system under load, as real processes: a Redis (a private redis-server on loopback, or the
 * one REDIS_URL / --redis-url names), C coordinators (`tunehive coordinator`) and K agents
 * (`tunehive worker`), spawned the way the tests spawn them (test/helpers/processes.ts) but with
 * the production timings (lock, heartbeat, lease, reconcile), so the figures are a deployment's.
 * Everything runs under a key prefix of its own; close() stops every process it started and
 * deletes what the run stored (an external Redis keeps nothing of it).
 */
import { dropPrefix } from './drop-prefix.js';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { freePort, startLocalRedis, type LocalRedis } from '../../cli/local-redis.js';
import { connectRedis } from '../../shared/redis.js';
import { WorkerDirectory } from '../../coordinator/store/worker-directory.js';
import { exited, spawnCoordinator, spawnWorker, waitForHttp } from '../../test/helpers/processes.js';
import { authHeaders } from '../../test/helpers/tokens.js';

export type AgentRuntime = 'process' | 'simulated';

export interface Replica {
  index: number;
  process: ChildProcess;
  base: string;
  grpc: string;
}

export interface AgentProcess {
  id: string;
  process: ChildProcess;
  replica: number;
  runtime: AgentRuntime;
  slots: number;
  workDir: string;
}

export interface StackOptions {
  prefix: string;
  /** An existing Redis (REDIS_URL, --redis-url); absent: a private redis-server is started. */
  redisUrl?: string;
  /** A local 3-master Redis Cluster (needs startLocalRedisCluster of cli/local-redis.ts). */
  cluster?: boolean;
  /** Where agents (and so their programs) run: their own empty work dir, or this checkout (provenance capture of a git repository per trial). */
  agentCwd?: 'workdir' | 'repo';
  say: (line: string) => void;
}

/** A process stopped with SIGTERM (agents drain and deregister), killed if it takes longer. */
async function stopProcess(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
}

/** Stacks not yet closed: an interrupted harness (Ctrl-C) closes them before it exits. */
const open = new Set<LoadStack>();
export const closeOpenStacks = (): Promise<void> => Promise.all([...open].map((s) => s.close())).then(() => undefined);

export class LoadStack {
  readonly replicas: Replica[] = [];
  readonly agents: AgentProcess[] = [];
  /** Every pid this stack started (coordinators, agents), for a caller that checks they are gone. */
  readonly startedPids: number[] = [];
  private agentSeq = 0;
  private closed = false;

  private constructor(
    readonly o: StackOptions,
    readonly redisUrl: string,
    /** The admin connection: INFO, accounting reads, clean-up. */
    readonly redis: Redis,
    private readonly local: { stop(): Promise<void>; pid?: number } | undefined,
    private readonly tmp: string,
  ) {}

  static async start(o: StackOptions): Promise<LoadStack> {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'tunehive-load-'));
    let url = o.redisUrl;
    let local: { stop(): Promise<void>; pid?: number } | undefined;
    if (!url && o.cluster) {
      const mod = (await import('../../cli/local-redis.js')) as Record<string, unknown>;
      const start = mod.startLocalRedisCluster as undefined | ((x: { dataDir: string }) => Promise<{ url: string; stop(): Promise<void> }>);
      if (typeof start !== 'function') throw new Error('--cluster needs startLocalRedisCluster in cli/local-redis.ts (the Redis Cluster work, branch wp-cluster)');
      const c = await start({ dataDir: path.join(tmp, 'redis-cluster') });
      url = c.url;
      local = c;
    } else if (!url) {
      const r: LocalRedis = await startLocalRedis({ dataDir: path.join(tmp, 'redis'), appendOnly: false });
      url = r.url;
      local = { stop: () => r.stop(), ...(r.process.pid !== undefined ? { pid: r.process.pid } : {}) };
    }
    const redis = connectRedis(url, 'tunehive-bench-load') as Redis;
    const stack = new LoadStack(o, url, redis, local, tmp);
    open.add(stack);
    return stack;
  }

  /** The pid of the private redis-server (undefined for an external one: INFO is all there is). */
  get redisPid(): number | undefined {
    return this.local?.pid;
  }

  /** Starts coordinators until there are `n`, each ready to answer. */
  async ensureCoordinators(n: number): Promise<void> {
    while (this.replicas.length < n) {
      const index = this.replicas.length;
      const http = await freePort();
      const grpc = await freePort();
      const child = spawnCoordinator({
        redisUrl: this.redisUrl, prefix: this.o.prefix, httpPort: http, grpcPort: grpc, checkpointDir: path.join(this.tmp, `checkpoints-${index}`),
        // Production timings (the helper's are a test's: short leases, frequent reconciles).
        extra: ['--lease-ms', '15000', '--reconcile-ms', '2000'],
      });
      const base = `http://127.0.0.1:${http}`;
      this.replicas.push({ index, process: child, base, grpc: `127.0.0.1:${grpc}` });
      if (child.pid !== undefined) this.startedPids.push(child.pid);
      await Promise.race([
        waitForHttp(`${base}/api/v1/studies`, 60_000),
        exited(child).then(() => { throw new Error(`coordinator ${index} exited while starting (code ${child.exitCode}); run with TEST_LOG_LEVEL=info to see why`); }),
      ]);
    }
  }

  /** Stops coordinators beyond the first `n`. */
  async keepCoordinators(n: number): Promise<void> {
    while (this.replicas.length > n) await stopProcess(this.replicas.pop()!.process, 20_000);
  }

  /**
   * K agents of S slots on `runtime`, spread round-robin over the replicas, and waits until every
   * one has registered (all slots connected). Agents already running are stopped first.
   */
  async startAgents(k: number, slots: number, runtime: AgentRuntime): Promise<void> {
    await this.stopAgents();
    for (let i = 0; i < k; i++) {
      const replica = i % this.replicas.length;
      const id = `${this.o.prefix}-w${++this.agentSeq}`;
      const workDir = mkdtempSync(path.join(this.tmp, `${id}-`));
      const child = spawnWorker({
        redisUrl: this.redisUrl, prefix: this.o.prefix, coordinator: this.replicas[replica]!.grpc, id, slots, workDir,
        // The programs run where the agent runs: its own empty folder, not this repository (whose
        // git and DVC capture per trial would be this checkout's cost, not the fleet's).
        ...(this.o.agentCwd === 'workdir' ? { cwd: workDir } : {}),
        extra: ['--lock-ms', '10000', '--heartbeat-ms', '2000', '--grace-ms', '5000', '--gpus', 'none', '--runtime', runtime],
      });
      this.agents.push({ id, process: child, replica, runtime, slots, workDir });
      if (child.pid !== undefined) this.startedPids.push(child.pid);
    }
    const dir = new WorkerDirectory(this.redis, this.o.prefix);
    const ids = new Set(this.agents.map((a) => a.id));
    const deadline = Date.now() + 60_000 + 3000 * k;
    for (;;) {
      const dead = this.agents.find((a) => a.process.exitCode !== null || a.process.signalCode !== null);
      if (dead) throw new Error(`agent ${dead.id} exited while starting (code ${dead.process.exitCode}); run with TEST_LOG_LEVEL=info to see why`);
      const live = (await dir.list()).filter((w) => ids.has(w.id) && w.info.state === 'RUNNING');
      if (live.length === k) return;
      if (Date.now() > deadline) throw new Error(`only ${live.length} of ${k} agents registered within the deadline`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Slots the registered agents of this run offer now (the "connected at once" figure). */
  async connectedSlots(): Promise<{ agents: number; slots: number; runtimes: string[] }> {
    const ids = new Set(this.agents.map((a) => a.id));
    const live = (await new WorkerDirectory(this.redis, this.o.prefix).list()).filter((w) => ids.has(w.id));
    return { agents: live.length, slots: live.reduce((s, w) => s + (w.info.slots ?? 0), 0), runtimes: [...new Set(live.map((w) => w.info.runtime ?? '?'))] };
  }

  async stopAgents(): Promise<void> {
    const gone = this.agents.splice(0);
    await Promise.all(gone.map((a) => stopProcess(a.process, 20_000)));
    for (const a of gone) rmSync(a.workDir, { recursive: true, force: true });
  }

  coordinatorPids(): number[] {
    return this.replicas.map((r) => r.process.pid).filter((p): p is number => p !== undefined);
  }

  agentPids(): number[] {
    return this.agents.map((a) => a.process.pid).filter((p): p is number => p !== undefined);
  }

  /** The HTTP API of one replica (admin token), as JSON; throws with the body on an error status. */
  async api<T = any>(method: string, url: string, body?: unknown, replica = 0): Promise<T> {
    const r = await fetch(`${this.replicas[replica]!.base}${url}`, {
      method, headers: authHeaders(body !== undefined ? { 'content-type': 'application/json' } : {}),
      body: body !== undefined ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(30_000),
    });
    const text = await r.text();
    if (r.status >= 400) throw new Error(`${method} ${url}: ${r.status} ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Every process stopped, the run's keys gone, the private Redis stopped; safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    open.delete(this);
    await this.stopAgents();
    await Promise.all(this.replicas.splice(0).map((r) => stopProcess(r.process, 20_000)));
    if (!this.local) await dropPrefix(this.redis, this.o.prefix).catch((err: unknown) => this.o.say(`bench:load: could not delete the run's keys (${this.o.prefix}:*): ${(err as Error).message}`));
    await this.redis.quit().catch(() => this.redis.disconnect());
    await this.local?.stop();
    rmSync(this.tmp, { recursive: true, force: true });
  }
}
