/** A coordinator and worker agents on the test Redis (or another), each test file under its own key prefix. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCoordinator, type Coordinator, type CoordinatorOptions } from '../../coordinator/main.js';
import { Agent, type AgentOptions } from '../../worker/agent.js';
import { authHeaders, quietLog, redisUrl, TEST_ADMIN_TOKEN, TEST_JOIN_TOKEN, uniquePrefix, waitFor } from './env.js';

export interface TestStack {
  coordinator: Coordinator;
  agents: Agent[];
  prefix: string;
  api(method: string, url: string, body?: unknown): Promise<{ status: number; body: any }>;
  waitForStudy(id: string, timeoutMs?: number): Promise<any>;
  close(): Promise<void>;
}

export const fixture = (name: string) => path.resolve('test/fixtures', name);

/**
 * `redisUrl` / `workerRedisUrl`: another Redis than the test one (a Redis Cluster, ACL users);
 * the agents use `workerRedisUrl`, else `redisUrl`.
 */
export async function startTestStack(name: string, o: { workers?: number; slots?: number; agent?: Partial<AgentOptions>; coordinator?: Partial<CoordinatorOptions>; prefix?: string; fetch?: typeof fetch; redisUrl?: string; workerRedisUrl?: string } = {}): Promise<TestStack> {
  const prefix = o.prefix ?? uniquePrefix(name);
  const log = quietLog();
  const coordinator = await startCoordinator({ redisUrl: o.redisUrl ?? redisUrl(), host: '127.0.0.1', httpPort: 0, grpcPort: 0, prefix, log, reconcileIntervalMs: 500,
    checkpointDir: mkdtempSync(path.join(os.tmpdir(), 'tunehive-ckpt-')), adminToken: TEST_ADMIN_TOKEN, workerJoinToken: TEST_JOIN_TOKEN, ...o.coordinator });
  const agents: Agent[] = [];
  for (let i = 0; i < (o.workers ?? 1); i++) {
    const agent = new Agent({
      redisUrl: o.workerRedisUrl ?? o.redisUrl ?? redisUrl(), prefix, coordinator: coordinator.grpcAddress, slots: o.slots ?? 2, log, workerId: `w${i}`,
      workDir: mkdtempSync(path.join(os.tmpdir(), 'tunehive-w-')), heartbeatMs: 500, graceMs: 2000, gpus: { kind: 'none' }, joinToken: TEST_JOIN_TOKEN, ...o.agent,
    });
    await agent.start();
    agents.push(agent);
  }
  const api = async (method: string, url: string, body?: unknown) => {
    // A stack serving HTTPS with a test CA passes a fetch that trusts it.
    const res = await (o.fetch ?? fetch)(`${coordinator.httpUrl}${url}`, {
      method, headers: authHeaders(body !== undefined ? { 'content-type': 'application/json' } : {}), body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  return {
    coordinator, agents, prefix, api,
    waitForStudy: (id, timeoutMs = 60_000) => waitFor(async () => {
      const s = await api('GET', `/api/v1/studies/${id}`);
      return s.body.state !== 'RUNNING' ? s.body : undefined;
    }, timeoutMs, `study ${id} to finish`),
    close: async () => {
      await Promise.all(agents.map((a) => a.close()));
      await coordinator.close();
    },
  };
}
