/**
 * Coordinator death and Redis restarts on real processes: the study goes on, no trial is lost
 * or counted twice, and no metric point is lost or stored twice.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, startLocalRedis, type LocalRedis } from '../../cli/local-redis.js';
import { startCoordinator, type Coordinator } from '../../coordinator/main.js';
import { Agent } from '../../worker/agent.js';
import { quietLog, redisUrl, uniquePrefix, waitFor, authHeaders, TEST_ADMIN_TOKEN, TEST_JOIN_TOKEN } from '../helpers/env.js';
import { exited, killAll, spawnCoordinator, waitForHttp } from '../helpers/processes.js';
import { fixture } from '../helpers/stack.js';
import { trialWithSeries } from '../helpers/series.js';

const tmp = (name: string) => mkdtempSync(path.join(os.tmpdir(), `tunehive-${name}-`));

const spec = (trials: number) => ({
  name: 'failover', objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'float', min: 0, max: 6 } },
  algorithm: { name: 'random', seed: 3 }, parallelism: 2, maxTrials: trials,
  trial: { command: [process.execPath, fixture('quadratic.mjs'), '--x', '${params.x}', '--steps', '6', '--sleep-ms', '150'] },
});

async function api(base: string, method: string, url: string, body?: unknown): Promise<any> {
  const r = await fetch(`${base}${url}`, { method, headers: authHeaders(body ? { 'content-type': 'application/json' } : {}), body: body ? JSON.stringify(body) : undefined });
  return r.json();
}

/** Every trial completed once, with score reported at steps 1..6 exactly once each. */
async function expectExactlyOnce(base: string, studyId: string, trials: number): Promise<void> {
  const s = await api(base, 'GET', `/api/v1/studies/${studyId}`);
  expect(s.state).toBe('COMPLETED');
  expect(s.counts).toMatchObject({ completed: trials, failed: 0, running: 0, queued: 0 });
  const list = (await api(base, 'GET', `/api/v1/studies/${studyId}/trials`)).trials;
  expect(list).toHaveLength(trials);
  for (const t of list) {
    const full = await trialWithSeries(async (method, url) => ({ status: 200, body: await api(base, method, url) }), t.id);
    expect(full.metrics.score.map((p: any) => p.step).sort((a: number, b: number) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
  }
}

describe('coordinator and Redis failures', () => {
  const children: ChildProcess[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await killAll(children.splice(0));
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('a coordinator killed with SIGKILL: the other replica takes its studies over and workers re-connect to it', async () => {
    const prefix = uniquePrefix('ha');
    const ports = { h1: await freePort(), g1: await freePort(), h2: await freePort(), g2: await freePort() };
    const ckpt = tmp('ckpt');
    const c1 = spawnCoordinator({ redisUrl: redisUrl(), prefix, httpPort: ports.h1, grpcPort: ports.g1, checkpointDir: ckpt });
    const c2 = spawnCoordinator({ redisUrl: redisUrl(), prefix, httpPort: ports.h2, grpcPort: ports.g2, checkpointDir: ckpt });
    children.push(c1, c2);
    const b1 = `http://127.0.0.1:${ports.h1}`;
    const b2 = `http://127.0.0.1:${ports.h2}`;
    await Promise.all([waitForHttp(`${b1}/api/v1/studies`), waitForHttp(`${b2}/api/v1/studies`)]);
    // The workers know both replicas (as a Kubernetes Service would front them).
    const agent = new Agent({
      redisUrl: redisUrl(), prefix, coordinator: `ipv4:127.0.0.1:${ports.g1},127.0.0.1:${ports.g2}`, slots: 2, log: quietLog(), workerId: 'w', workDir: tmp('w'),
      heartbeatMs: 300, graceMs: 2000, lockMs: 2000, joinToken: TEST_JOIN_TOKEN,
    });
    await agent.start();
    cleanups.push(() => agent.close());

    const study = await api(b1, 'POST', '/api/v1/studies', spec(8));
    await waitFor(async () => (await api(b2, 'GET', `/api/v1/studies/${study.id}`)).counts.completed >= 2 || undefined, 30_000, 'two trials done');
    c1.kill('SIGKILL');
    await exited(c1);

    const done = await waitFor(async () => {
      const s = await api(b2, 'GET', `/api/v1/studies/${study.id}`);
      return s.state !== 'RUNNING' ? s : undefined;
    }, 60_000, 'the study to finish on the surviving replica');
    expect(done.state).toBe('COMPLETED');
    await expectExactlyOnce(b2, study.id, 8);
  });

  it('a coordinator restarted in place: running trials re-join, replay unacknowledged metrics, and finish', async () => {
    const prefix = uniquePrefix('restart');
    const grpcPort = await freePort();
    const ckpt = tmp('ckpt');
    const start = () => startCoordinator({ redisUrl: redisUrl(), host: '127.0.0.1', httpPort: 0, grpcPort, prefix, log: quietLog(), reconcileIntervalMs: 300, checkpointDir: ckpt, adminToken: TEST_ADMIN_TOKEN, workerJoinToken: TEST_JOIN_TOKEN });
    let c: Coordinator = await start();
    const agent = new Agent({ redisUrl: redisUrl(), prefix, coordinator: `127.0.0.1:${grpcPort}`, slots: 2, log: quietLog(), workerId: 'w', workDir: tmp('w'), heartbeatMs: 300, graceMs: 2000, lockMs: 2000, joinToken: TEST_JOIN_TOKEN });
    await agent.start();
    cleanups.push(async () => { await agent.close(); await c.close(); });

    const study = await api(c.httpUrl, 'POST', '/api/v1/studies', spec(6));
    await waitFor(async () => (await api(c.httpUrl, 'GET', `/api/v1/studies/${study.id}`)).counts.running >= 1 || undefined, 20_000, 'a running trial');
    await c.close();
    await new Promise((r) => setTimeout(r, 700)); // trials keep running and buffering metrics meanwhile
    c = await start();
    const done = await waitFor(async () => {
      const s = await api(c.httpUrl, 'GET', `/api/v1/studies/${study.id}`);
      return s.state !== 'RUNNING' ? s : undefined;
    }, 60_000, 'the study to finish after the restart');
    expect(done.state).toBe('COMPLETED');
    await expectExactlyOnce(c.httpUrl, study.id, 6);
  });

  it('Redis restarted (AOF on) mid-study: everything re-connects and the study finishes exactly once', async () => {
    const dir = tmp('redis');
    const port = await freePort();
    let redis: LocalRedis = await startLocalRedis({ dataDir: dir, appendOnly: true, port });
    const prefix = uniquePrefix('redis');
    const c = await startCoordinator({ redisUrl: redis.url, host: '127.0.0.1', httpPort: 0, grpcPort: 0, prefix, log: quietLog(), reconcileIntervalMs: 300, checkpointDir: tmp('ckpt'), adminToken: TEST_ADMIN_TOKEN, workerJoinToken: TEST_JOIN_TOKEN });
    const agent = new Agent({ redisUrl: redis.url, prefix, coordinator: c.grpcAddress, slots: 2, log: quietLog(), workerId: 'w', workDir: tmp('w'), heartbeatMs: 300, graceMs: 2000, lockMs: 2000, joinToken: TEST_JOIN_TOKEN });
    await agent.start();
    cleanups.push(async () => { await agent.close(); await c.close(); await redis.stop(); });

    const study = await api(c.httpUrl, 'POST', '/api/v1/studies', spec(6));
    await waitFor(async () => (await api(c.httpUrl, 'GET', `/api/v1/studies/${study.id}`)).counts.completed >= 1 || undefined, 20_000, 'a finished trial');
    await redis.stop();
    await new Promise((r) => setTimeout(r, 500));
    redis = await startLocalRedis({ dataDir: dir, appendOnly: true, port, sameCredentialsAs: redis });
    const done = await waitFor(async () => {
      const s = await api(c.httpUrl, 'GET', `/api/v1/studies/${study.id}`).catch(() => undefined);
      return s && s.state !== 'RUNNING' ? s : undefined;
    }, 60_000, 'the study to finish after the Redis restart');
    expect(done.state).toBe('COMPLETED');
    await expectExactlyOnce(c.httpUrl, study.id, 6);
  });
});
