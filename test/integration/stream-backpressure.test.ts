/**
 * During a Redis outage the coordinator's memory stays bounded: a worker stream is paused once
 * a few messages wait on it (HTTP/2 flow control then holds the sender), and store calls give up
 * after the command timeout so the stream ends UNAVAILABLE and the worker re-joins later.
 * Each test runs its own redis-server (a private port) and freezes it with SIGSTOP, so no other
 * test file's Redis stalls.
 */
import type * as grpc from '@grpc/grpc-js';
import { status as grpcStatus } from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalRedis, type LocalRedis } from '../../cli/local-redis.js';
import { startCoordinator, type Coordinator, type CoordinatorOptions } from '../../coordinator/main.js';
import type { StreamStats } from '../../coordinator/grpc/trial-service.js';
import type { CoordinatorMessage, WorkerMessage } from '../../shared/proto.js';
import { quietLog, uniquePrefix, waitFor, authHeaders, TEST_ADMIN_TOKEN, TEST_JOIN_TOKEN } from '../helpers/env.js';
import { ScriptedFleet } from '../helpers/scripted-worker.js';

type Duplex = grpc.ClientDuplexStream<WorkerMessage, CoordinatorMessage>;

describe('stream backpressure and store timeouts', () => {
  let redis: LocalRedis | undefined;
  let coordinator: Coordinator | undefined;
  let client: grpc.Client | undefined;
  const dirs: string[] = [];
  afterEach(async () => {
    redis?.process.kill('SIGCONT');
    client?.close();
    await coordinator?.close();
    await redis?.stop();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    redis = undefined; coordinator = undefined; client = undefined;
  });

  const stackWith = async (o: Partial<CoordinatorOptions>) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-bp-'));
    dirs.push(dir);
    redis = await startLocalRedis({ dataDir: path.join(dir, 'redis') });
    coordinator = await startCoordinator({ redisUrl: redis.url, host: '127.0.0.1', httpPort: 0, grpcPort: 0, prefix: uniquePrefix('bp'), log: quietLog(),
      reconcileIntervalMs: 600_000, checkpointDir: path.join(dir, 'ckpt'), adminToken: TEST_ADMIN_TOKEN, workerJoinToken: TEST_JOIN_TOKEN, ...o });
    const fleet = new ScriptedFleet(coordinator.grpcAddress, coordinator.store);
    client = await fleet.client('bp');
    const res = await fetch(`${coordinator.httpUrl}/api/v1/studies`, { method: 'POST', headers: authHeaders({ 'content-type': 'application/json' }), body: JSON.stringify({
      name: 'bp', objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 1, trial: { command: ['unused'] },
    }) });
    const id = ((await res.json()) as { id: string }).id;
    const c = coordinator;
    await waitFor(async () => (await c.store.getStudy(id))?.counts.queued === 1 || undefined, 5000, 'a queued trial');
    const call = (client as unknown as { runTrial(): Duplex }).runTrial();
    const inbox: CoordinatorMessage[] = [];
    let error: grpc.ServiceError | undefined;
    call.on('data', (m: CoordinatorMessage) => inbox.push(m));
    call.on('error', (e: grpc.ServiceError) => { error = e; });
    call.write(await fleet.started(`${id}.0`, 'bp'));
    await waitFor(() => inbox.some((m) => m.startReply?.action === 'ACTION_RUN') || undefined, 5000, 'the start reply');
    return { call, inbox, error: () => error };
  };

  it('a stream whose store calls hang is paused: queued messages stay bounded, and all are stored once Redis is back', async () => {
    const stats: StreamStats = { queued: 0, maxQueuedOnAStream: 0, pauses: 0 };
    const { call, inbox } = await stackWith({ streamStats: stats, maxQueuedPerStream: 16, storeCommandTimeoutMs: 120_000 });
    redis!.process.kill('SIGSTOP');
    const BATCHES = 3000;
    let written = 0;
    for (let seq = 1; seq <= BATCHES; seq++) {
      call.write({ metrics: { attempt: 1, seq, points: [{ name: 'score', step: seq, value: seq, timeMs: Date.now() }] } });
      written++;
    }
    // The stream is paused at the cap while everything else waits in the sender's buffers.
    await waitFor(() => stats.pauses >= 1 || undefined, 10_000, 'the stream to be paused');
    await waitFor(() => stats.queued === 16 || undefined, 10_000, 'the queue to fill to its cap');
    expect(written).toBe(BATCHES);
    expect(stats.maxQueuedOnAStream).toBeLessThanOrEqual(16);
    expect(inbox.filter((m) => m.ack)).toHaveLength(0);

    redis!.process.kill('SIGCONT');
    await waitFor(() => inbox.filter((m) => m.ack).length === BATCHES || undefined, 60_000, 'every batch to be acknowledged');
    expect(stats.maxQueuedOnAStream).toBeLessThanOrEqual(16);
    expect(inbox.filter((m) => m.ack).map((m) => m.ack!.seq)).toEqual(Array.from({ length: BATCHES }, (_, i) => i + 1));
    call.end();
  }, 90_000);

  it('a store call without a reply ends the stream UNAVAILABLE after the command timeout (the worker re-joins)', async () => {
    const { call, error } = await stackWith({ storeCommandTimeoutMs: 500 });
    redis!.process.kill('SIGSTOP');
    const t0 = Date.now();
    call.write({ metrics: { attempt: 1, seq: 1, points: [{ name: 'score', step: 1, value: 1, timeMs: Date.now() }] } });
    const err = await waitFor(error, 10_000, 'the stream to end');
    expect(err.code).toBe(grpcStatus.UNAVAILABLE);
    expect(err.details).toMatch(/timed out/i);
    expect(Date.now() - t0).toBeLessThan(5000);
    call.end();
  }, 30_000);
});
