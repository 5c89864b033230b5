/**
 * The whole path on real parts: HTTP submit -> coordinator -> BullMQ on a real redis-server ->
 * two worker agents -> trial child processes -> metrics over gRPC on loopback -> study COMPLETED.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoordinator, type Coordinator } from '../../coordinator/main.js';
import { Agent } from '../../worker/agent.js';
import { quietLog, redisUrl, uniquePrefix, waitFor } from '../helpers/env.js';

const fixture = path.resolve('test/fixtures/quadratic.mjs');

describe('a study end to end', () => {
  let coordinator: Coordinator;
  const agents: Agent[] = [];
  const prefix = uniquePrefix('e2e');

  beforeAll(async () => {
    const log = quietLog();
    coordinator = await startCoordinator({ redisUrl: redisUrl(), host: '127.0.0.1', httpPort: 0, grpcPort: 0, prefix, log, reconcileIntervalMs: 500 });
    for (let i = 0; i < 2; i++) {
      const agent = new Agent({
        redisUrl: redisUrl(), prefix, coordinator: coordinator.grpcAddress, slots: 2, log, workerId: `w${i}`,
        workDir: mkdtempSync(path.join(os.tmpdir(), 'tunehive-w-')), heartbeatMs: 500, graceMs: 2000,
      });
      agent.start();
      agents.push(agent);
    }
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await coordinator?.close();
  });

  const api = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${coordinator.httpUrl}${url}`, {
      method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('runs every trial on the workers and records the best one', async () => {
    const created = await api('POST', '/api/v1/studies', {
      name: 'e2e-grid',
      objective: { metric: 'score', direction: 'maximize' },
      searchSpace: { x: { type: 'int', min: 0, max: 5 }, y: { type: 'categorical', values: [0, 1] } },
      algorithm: { name: 'grid' },
      parallelism: 4,
      maxTrials: 100,
      trial: { command: [process.execPath, fixture, '--x', '${params.x}', '--y', '${params.y}'] },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;

    const done = await waitFor(async () => {
      const s = await api('GET', `/api/v1/studies/${id}`);
      return s.body.state !== 'RUNNING' ? s.body : undefined;
    }, 60_000, 'study to finish');

    // The grid has 6 x 2 = 12 points; the study ends when it is exhausted.
    expect(done.state).toBe('COMPLETED');
    expect(done.reason).toMatch(/exhausted after 12 trials/);
    expect(done.counts.completed).toBe(12);
    expect(done.best.params).toEqual({ x: 3, y: 1 });
    expect(done.best.value).toBe(0);

    const trials = await api('GET', `/api/v1/studies/${id}/trials`);
    expect(trials.body.trials).toHaveLength(12);
    const workers = new Set(trials.body.trials.map((t: any) => t.workerId));
    expect(workers).toEqual(new Set(['w0', 'w1']));

    const best = await api('GET', `/api/v1/trials/${done.best.trialId}`);
    expect(best.body.metrics.score.map((p: any) => p.step)).toEqual([1, 2, 3]);
    expect(best.body.metrics.score.map((p: any) => p.value)).toEqual([-2, -1, 0]);
    expect(best.body.metrics.params_seen[0].value).toBe(1);
  });
});
