/**
 * The worker's reliable attempt stream against a scripted coordinator over real gRPC: after a
 * break it re-joins the same attempt and replays unacknowledged batches in order, and sends
 * nothing new before the re-join is answered (a new batch overtaking a replayed one would make
 * the coordinator drop the replay as a duplicate); batches go as columns only to a coordinator
 * that says it reads them.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trialServiceClient, trialServiceDefinition, type CoordinatorMessage, type TrialStream, type WorkerMessage } from '../../shared/proto.js';
import { AttemptChannel } from '../../worker/attempt-channel.js';
import { fromColumns } from '../../shared/metric-columns.js';
import { failStream } from '../../coordinator/grpc/trial-service.js';
import { quietLog, waitFor } from '../helpers/env.js';

describe('attempt channel', () => {
  let server: grpc.Server;
  let port: number;
  const streams: Array<{ call: TrialStream; got: WorkerMessage[] }> = [];

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(trialServiceDefinition(), {
      runTrial: (call: TrialStream) => {
        const entry = { call, got: [] as WorkerMessage[] };
        streams.push(entry);
        call.on('data', (m: WorkerMessage) => entry.got.push(m));
        call.on('error', () => undefined);
      },
    } as unknown as grpc.UntypedServiceImplementation);
    port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  });
  afterAll(() => server?.forceShutdown());

  it('re-joins after a break and replays in seq order before sending anything new', async () => {
    const client = trialServiceClient(`127.0.0.1:${port}`);
    const channel = new AttemptChannel({ client, trialId: 'abcd.0', workerId: 'w', log: quietLog() });
    const started = channel.start();
    await waitFor(() => streams.length === 1 && streams[0]!.got.length === 1, 5000, 'started');
    const reply = (m: CoordinatorMessage, i: number) => streams[i]!.call.write(m);
    reply({ startReply: { action: 'ACTION_RUN', attempt: 1, reason: '' } }, 0);
    expect(await started).toMatchObject({ run: true, attempt: 1 });

    const pts = (step: number) => [{ name: 'loss', value: step, step, timeMs: 0 }];
    channel.sendMetrics(pts(1));
    await waitFor(() => streams[0]!.got.some((m) => m.metrics?.seq === 1), 5000, 'batch 1');
    // The coordinator dies before acknowledging batch 1.
    failStream(streams[0]!.call, new Error('coordinator lost its Redis'));
    await waitFor(() => streams.length === 2 && streams[1]!.got.length >= 1, 10_000, 're-connect');
    expect(streams[1]!.got[0]!.started).toMatchObject({ trialId: 'abcd.0', resumeAttempt: 1 });

    // New output while the re-join is unanswered must wait.
    channel.sendMetrics(pts(2));
    await new Promise((r) => setTimeout(r, 200));
    expect(streams[1]!.got.filter((m) => m.metrics)).toHaveLength(0);

    // This coordinator reads columns (packedMetrics): the replay comes as columns, the first stream's batch came as points.
    reply({ startReply: { action: 'ACTION_RUN', attempt: 1, reason: '', packedMetrics: true } }, 1);
    await waitFor(() => streams[1]!.got.filter((m) => m.metrics).length === 2, 5000, 'replay');
    expect(streams[1]!.got.filter((m) => m.metrics).map((m) => m.metrics!.seq)).toEqual([1, 2]);
    const first = streams[0]!.got.find((m) => m.metrics)!.metrics!;
    expect([first.points, first.columns]).toEqual([pts(1), null]);
    expect(streams[1]!.got.filter((m) => m.metrics).map((m) => [m.metrics!.points, fromColumns(m.metrics!.columns!)])).toEqual([[[], pts(1)], [[], pts(2)]]);

    // Acknowledged batches are not replayed again; a finish waits for its acknowledgement.
    reply({ ack: { seq: 2 } }, 1);
    await channel.waitForAck();
    const finished = channel.finish({ outcome: 'OUTCOME_EXITED', exitCode: 0, signal: '', reason: '', stderrTail: '' });
    await waitFor(() => streams[1]!.got.some((m) => m.finished), 5000, 'finished');
    expect(streams[1]!.got.find((m) => m.finished)!.finished).toMatchObject({ attempt: 1, lastSeq: 2 });
    reply({ finishAck: { state: 'COMPLETED' } }, 1);
    expect(await finished).toBe('COMPLETED');
    channel.close();
    client.close();
  });
});
