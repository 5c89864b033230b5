/**
 * The coordinator's edge of the worker protocol, driven by a scripted worker over real gRPC:
 * what it refuses (and how: a non-retriable status, the trial FAILED with the reason), the
 * per-trial point cap, wide batches, idempotent starts and the one-round-trip heartbeat.
 */
import type * as grpc from '@grpc/grpc-js';
import { status as grpcStatus } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CoordinatorMessage, WorkerMessage } from '../../shared/proto.js';
import { ScriptedFleet } from '../helpers/scripted-worker.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { redisUrl, waitFor } from '../helpers/env.js';
import { trialSeries } from '../helpers/series.js';
import { keys } from '../../shared/redis-keys.js';
import { monitorRedis } from '../helpers/redis-monitor.js';

type Duplex = grpc.ClientDuplexStream<WorkerMessage, CoordinatorMessage>;

function open(client: grpc.Client) {
  const call = (client as unknown as { runTrial(): Duplex }).runTrial();
  const inbox: CoordinatorMessage[] = [];
  let error: grpc.ServiceError | undefined;
  call.on('data', (m: CoordinatorMessage) => inbox.push(m));
  call.on('error', (e: grpc.ServiceError) => { error = e; });
  return {
    inbox,
    send: (m: WorkerMessage) => call.write(m),
    next: async (pred: (m: CoordinatorMessage) => boolean) => waitFor(() => {
      const i = inbox.findIndex(pred);
      return i >= 0 ? inbox.splice(i, 1)[0] : undefined;
    }, 5000, 'a reply'),
    error: () => waitFor(() => error, 5000, 'the stream to end with an error'),
    end: () => call.end(),
  };
}

const MiB3 = 'a'.repeat(3 * 1024 * 1024);
const pt = (step: number, o: Partial<{ name: string; value: number; timeMs: number }> = {}) => ({ name: 'score', value: step, step, timeMs: Date.now(), ...o });
const finished = (attempt: number, o: Partial<NonNullable<WorkerMessage['finished']>> = {}): WorkerMessage =>
  ({ finished: { attempt, outcome: 'OUTCOME_EXITED', exitCode: 0, signal: '', reason: '', stderrTail: '', lastSeq: 0, ...o } });

describe('the coordinator edge of the worker protocol', () => {
  let stack: TestStack;
  let fleet: ScriptedFleet;
  beforeAll(async () => {
    // No periodic reconcile: the heartbeat test counts every Redis command on the study's keys.
    stack = await startTestStack('wire', { workers: 0, coordinator: { reconcileIntervalMs: 600_000 } });
    fleet = new ScriptedFleet(stack.coordinator.grpcAddress, stack.coordinator.store);
  });
  afterAll(async () => {
    fleet?.close();
    await stack?.close();
  });

  const queuedTrial = async (extra: Record<string, unknown> = {}) => {
    const { body } = await stack.api('POST', '/api/v1/studies', {
      name: 'wire', objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } },
      maxTrials: 1, parallelism: 1, trial: { command: ['unused'] }, ...extra,
    });
    expect(body.id).toBeDefined();
    await waitFor(async () => (await stack.api('GET', `/api/v1/studies/${body.id}`)).body.counts.queued === 1 || undefined, 5000, 'a queued trial');
    return body.id as string;
  };
  const started = async (id: string, deliveryId = '') => {
    const s = open(await fleet.client('scripted'));
    s.send(await fleet.started(`${id}.0`, 'scripted', { deliveryId: deliveryId }));
    expect((await s.next((m) => !!m.startReply)).startReply).toMatchObject({ action: 'ACTION_RUN', attempt: 1 });
    return s;
  };
  const failedTrial = (id: string) => waitFor(async () => {
    const t = (await stack.api('GET', `/api/v1/trials/${id}.0`)).body;
    return t.state === 'FAILED' ? t : undefined;
  }, 5000, 'the trial to be FAILED');

  describe('values and names from the wire are checked (item 3)', () => {
    const badBatches: Array<[string, ReturnType<typeof pt>, number, RegExp]> = [
      ['NaN', pt(1, { value: NaN }), grpcStatus.INVALID_ARGUMENT, /points\[1\]\.value: must be a finite number/],
      ['Infinity', pt(1, { value: Infinity }), grpcStatus.INVALID_ARGUMENT, /points\[1\]\.value: must be a finite number/],
      ['-Infinity', pt(1, { value: -Infinity }), grpcStatus.INVALID_ARGUMENT, /points\[1\]\.value: must be a finite number/],
      ['time 1e16', pt(1, { timeMs: 1e16 }), grpcStatus.INVALID_ARGUMENT, /points\[1\]\.timeMs: .*outside/],
      ['a tab in a name', pt(1, { name: 'lo\tss' }), grpcStatus.INVALID_ARGUMENT, /points\[1\]\.name: .* is not a metric name/],
      ['a 3 MiB name', pt(1, { name: MiB3 }), grpcStatus.RESOURCE_EXHAUSTED, /points\[1\]\.name: longer than 200/],
    ];
    for (const [what, point, code, reason] of badBatches) {
      it(`a metric point with ${what} ends the stream non-retriably and fails the trial with the reason`, async () => {
        const id = await queuedTrial();
        const s = await started(id);
        s.send({ metrics: { attempt: 1, seq: 1, points: [pt(1), point] } });
        // The good point before it changes nothing either: the batch is refused whole.
        expect((await s.error()).code).toBe(code);
        const trial = await failedTrial(id);
        expect(trial.reason).toMatch(reason);
        expect(trial.reason.length).toBeLessThan(1000);
        expect(trial.points).toBe(0);
        const study = (await stack.api('GET', `/api/v1/studies/${id}`)).body;
        expect(study.counts).toMatchObject({ failed: 1, running: 0 });
        expect(study.best).toBeNull();
      });
    }

    it('a metric batch with seq 0 (the ask/tell "next" marker) is refused: its replays would each be stored', async () => {
      const id = await queuedTrial();
      const s = await started(id);
      s.send({ metrics: { attempt: 1, seq: 0, points: [pt(1)] } });
      expect((await s.error()).code).toBe(grpcStatus.INVALID_ARGUMENT);
      const trial = await failedTrial(id);
      expect(trial.reason).toMatch(/metrics\.seq: must be an integer from 1/);
      expect(trial.points).toBe(0);
    });

    it('a 3 MiB reason in Finished fails the trial with a bounded reason', async () => {
      const id = await queuedTrial();
      const s = await started(id);
      s.send(finished(1, { exitCode: 1, reason: MiB3 }));
      expect((await s.error()).code).toBe(grpcStatus.RESOURCE_EXHAUSTED);
      const trial = await failedTrial(id);
      expect(trial.reason).toMatch(/finished\.reason: 3145728 bytes is more than the 4096 allowed/);
    });

    it('a 3 MiB worker id in Started is refused without opening an attempt', async () => {
      const id = await queuedTrial();
      const s = open(await fleet.client('scripted'));
      s.send({ started: { trialId: `${id}.0`, workerId: MiB3, resumeAttempt: 0 } });
      const err = await s.error();
      expect(err.code).toBe(grpcStatus.RESOURCE_EXHAUSTED);
      expect(err.details).toMatch(/started\.workerId: 3145728 chars is more than the 200 allowed/);
      const trial = (await stack.api('GET', `/api/v1/trials/${id}.0`)).body;
      expect(trial).toMatchObject({ state: 'QUEUED', attempt: 0, workerId: null });
    });
  });

  it('a 9,000-point batch is stored whole (Lua pushes in chunks; item 1)', async () => {
    const id = await queuedTrial();
    const s = await started(id);
    const points = Array.from({ length: 9000 }, (_, i) => pt(i, { name: i % 2 ? 'loss' : 'score' }));
    s.send({ metrics: { attempt: 1, seq: 1, points } });
    expect((await s.next((m) => !!m.ack)).ack).toMatchObject({ seq: 1, droppedPoints: 0 });
    s.send(finished(1, { lastSeq: 1 }));
    expect((await s.next((m) => !!m.finishAck)).finishAck!.state).toBe('COMPLETED');
    s.end();
    const list = (await stack.api('GET', `/api/v1/trials/${id}.0/metrics`)).body;
    expect(list).toMatchObject({ points: 9000, pointsDropped: 0, metrics: [{ name: 'loss', count: 4500 }, { name: 'score', count: 4500 }] });
    const series = await trialSeries(stack.api, `${id}.0`);
    expect(series.score!.map((p) => p.step)).toEqual(Array.from({ length: 4500 }, (_, i) => 2 * i));
  });

  it('output lines the worker cut at its line cap are counted on the trial, over all attempts (item 2)', async () => {
    const id = await queuedTrial({ maxRetries: 2 });
    const s = await started(id, 'first');
    s.send({ metrics: { attempt: 1, seq: 1, points: [pt(1)] } });
    await s.next((m) => !!m.ack);
    s.send(finished(1, { lastSeq: 1, outcome: 'OUTCOME_STOPPED', exitCode: -1, truncatedLines: 2, droppedBytes: 3_000_000 }));
    expect((await s.next((m) => !!m.finishAck)).finishAck!.state).toBe('QUEUED');
    s.end();
    // The re-queued trial's new job, delivered to the same worker.
    await waitFor(async () => (await stack.api('GET', `/api/v1/trials/${id}.0`)).body.state === 'QUEUED' || undefined, 5000, 'the trial re-queued');
    const again = open(await fleet.client('scripted'));
    again.send(await fleet.started(`${id}.0`, 'scripted', { deliveryId: 'second' }));
    expect((await again.next((m) => !!m.startReply)).startReply).toMatchObject({ action: 'ACTION_RUN', attempt: 2 });
    again.send({ metrics: { attempt: 2, seq: 1, points: [pt(2)] } });
    await again.next((m) => !!m.ack);
    again.send(finished(2, { lastSeq: 1, truncatedLines: 1, droppedBytes: 5 }));
    expect((await again.next((m) => !!m.finishAck)).finishAck!.state).toBe('COMPLETED');
    again.end();
    expect((await stack.api('GET', `/api/v1/trials/${id}.0`)).body.output).toEqual({ truncatedLines: 3, droppedBytes: 3_000_005 });
    // Counts are checked at the edge like every other number.
    const bad = await started(await queuedTrial());
    bad.send(finished(1, { truncatedLines: 2 ** 62 }));
    expect((await bad.error()).code).toBe(grpcStatus.INVALID_ARGUMENT);
  });

  it('a store refusal that retrying cannot heal (a script error) fails the trial instead of looping (item 1)', async () => {
    const id = await queuedTrial();
    const s = await started(id);
    // A key of the wrong type makes every RPUSH into it fail with WRONGTYPE, however often retried.
    await stack.coordinator.store.redis.set(keys.metricSeries(stack.prefix, id, 0, 'score'), 'not a list');
    s.send({ metrics: { attempt: 1, seq: 1, points: [pt(1)] } });
    const err = await s.error();
    expect(err.code).toBe(grpcStatus.FAILED_PRECONDITION);
    expect(err.details).toMatch(/TH_ERR_STORE_REFUSED: the store refused the message: .*WRONGTYPE/);
    expect((await failedTrial(id)).reason).toMatch(/WRONGTYPE/);
  });

  it('points past the trial cap are not stored, are counted, and acked as dropped (item 4)', async () => {
    const id = await queuedTrial({ limits: { maxMetricPoints: 10 } });
    const s = await started(id);
    s.send({ metrics: { attempt: 1, seq: 1, points: Array.from({ length: 8 }, (_, i) => pt(i + 1)) } });
    expect((await s.next((m) => !!m.ack)).ack).toMatchObject({ seq: 1, droppedPoints: 0 });
    s.send({ metrics: { attempt: 1, seq: 2, points: Array.from({ length: 8 }, (_, i) => pt(i + 9, { name: i % 2 ? 'loss' : 'score' })) } });
    expect((await s.next((m) => !!m.ack)).ack).toMatchObject({ seq: 2, droppedPoints: 6 });
    // A replayed batch is a duplicate: nothing more is counted.
    s.send({ metrics: { attempt: 1, seq: 2, points: Array.from({ length: 8 }, (_, i) => pt(i + 9)) } });
    expect((await s.next((m) => !!m.ack)).ack).toMatchObject({ seq: 2, droppedPoints: 0 });
    s.send(finished(1, { lastSeq: 2 }));
    expect((await s.next((m) => !!m.finishAck)).finishAck!.state).toBe('COMPLETED');
    s.end();
    const trial = (await stack.api('GET', `/api/v1/trials/${id}.0`)).body;
    expect(trial).toMatchObject({ points: 10, pointsDropped: 6 });
    expect(trial.metrics.score.count + (trial.metrics.loss?.count ?? 0)).toBe(10);
    // The result is the last objective report, even one past the cap.
    expect(trial.value).toBe(15);
  });

  it('the objective is stored even after a program used up the metric names cap with other names', async () => {
    const id = await queuedTrial();
    const s = await started(id);
    // 1,000 other names first (the names cap): the objective must still get its series, or the
    // stopping rules and the series routes would never see it.
    s.send({ metrics: { attempt: 1, seq: 1, points: Array.from({ length: 1000 }, (_, i) => pt(1, { name: `m${i}` })) } });
    expect((await s.next((m) => !!m.ack)).ack).toMatchObject({ seq: 1, droppedPoints: 0 });
    s.send({ metrics: { attempt: 1, seq: 2, points: [pt(1), pt(2), pt(3, { name: 'one_too_many' })] } });
    expect((await s.next((m) => !!m.ack)).ack).toMatchObject({ seq: 2, droppedPoints: 1 });
    s.end();
    const trial = (await stack.api('GET', `/api/v1/trials/${id}.0`)).body;
    expect(trial.metrics.score?.count).toBe(2);
    expect(trial.metrics.one_too_many).toBeUndefined();
    const series = await stack.api('GET', `/api/v1/trials/${id}.0/metrics/score`);
    expect(series.status).toBe(200);
    expect(series.body.points.map((p: { value: number }) => p.value)).toEqual([1, 2]);
  });

  it('a second Start on one stream leaves the first trial\'s commands off that stream', async () => {
    const a = await queuedTrial();
    const b = await queuedTrial();
    const s = await started(a);
    s.send(await fleet.started(`${b}.0`, 'scripted', { deliveryId: '' }));
    expect((await s.next((m) => !!m.startReply)).startReply).toMatchObject({ action: 'ACTION_RUN', attempt: 1 });
    // Commands carry no trial id: a stop meant for the first trial would stop the second one's program.
    expect((await stack.api('POST', `/api/v1/studies/${a}/stop`)).status).toBe(200);
    s.send({ metrics: { attempt: 1, seq: 1, points: [pt(1)] } });
    expect((await s.next((m) => !!m.ack)).ack).toMatchObject({ seq: 1 });
    expect(s.inbox.filter((m) => m.command)).toEqual([]);
    s.end();
  });

  it('re-sent Starts of one delivery (lost replies) get the same attempt and do not fail a healthy trial (item 6)', async () => {
    const id = await queuedTrial();
    // maxRetries is 3: four lost replies used to open four attempts and fail the trial.
    for (let i = 0; i < 5; i++) {
      const s = open(await fleet.client('blippy'));
      s.send(await fleet.started(`${id}.0`, 'blippy', { deliveryId: 'delivery-1' }));
      expect((await s.next((m) => !!m.startReply)).startReply).toMatchObject({ action: 'ACTION_RUN', attempt: 1 });
      s.end(); // the reply was "lost": the worker tries again on a new stream
    }
    const s = open(await fleet.client('blippy'));
    s.send(await fleet.started(`${id}.0`, 'blippy', { deliveryId: 'delivery-1' }));
    expect((await s.next((m) => !!m.startReply)).startReply!.attempt).toBe(1);
    s.send({ metrics: { attempt: 1, seq: 1, points: [pt(1)] } });
    await s.next((m) => !!m.ack);
    s.send(finished(1, { lastSeq: 1 }));
    expect((await s.next((m) => !!m.finishAck)).finishAck!.state).toBe('COMPLETED');
    s.end();
    const trial = (await stack.api('GET', `/api/v1/trials/${id}.0`)).body;
    expect(trial).toMatchObject({ state: 'COMPLETED', attempt: 1 });
    // A new delivery (the job re-delivered after its worker died) still opens a new attempt.
    const id2 = await queuedTrial();
    const a = await started(id2, 'delivery-a');
    // Its worker's stream is gone (a live one keeps its attempt: see worker-hijack).
    a.end();
    const b = await waitFor(async () => {
      const s2 = open(await fleet.client('other'));
      s2.send(await fleet.started(`${id2}.0`, 'other', { deliveryId: 'delivery-b' }));
      if ((await s2.next((m) => !!m.startReply)).startReply!.attempt === 2) return s2;
      s2.end();
      return undefined;
    }, 5000, 'attempt 2 on the new delivery');
    b.end();
  });

  it('a heartbeat is one Redis command, and no spec is read for it (item 7)', async () => {
    const id = await queuedTrial();
    const s = await started(id);
    // Warm up: the scripts are loaded into Redis (a first EVALSHA may fall back to EVAL).
    s.send({ heartbeat: { attempt: 1 } });
    s.send({ metrics: { attempt: 1, seq: 1, points: [pt(1)] } });
    await s.next((m) => !!m.ack);

    const monitor = await monitorRedis(redisUrl());
    // Round trips only: the commands a script runs inside Redis show up too, with source "lua".
    const ours = () => monitor.seen.filter((c) => c.source !== 'lua' && c.args.some((a) => a.includes(`{${id}}`))).map((c) => c.args);
    await waitFor(async () => {
      await stack.coordinator.store.getTrial(id, 0);
      return ours().length > 0 || undefined;
    }, 5000, 'MONITOR to see a command of ours');
    const before = ours().length;
    const seen = () => ours().slice(before);
    const HEARTBEATS = 20;
    for (let i = 0; i < HEARTBEATS; i++) s.send({ heartbeat: { attempt: 1 } });
    s.send({ metrics: { attempt: 1, seq: 2, points: [pt(2)] } });
    await s.next((m) => !!m.ack);
    await waitFor(() => seen().length >= HEARTBEATS + 1 || undefined, 5000, 'the commands to be seen');
    monitor.close();
    const perHeartbeat = (seen().length - 1) / HEARTBEATS;
    console.log(`redis commands per heartbeat: ${perHeartbeat} (${seen().length} for ${HEARTBEATS} heartbeats + 1 batch)`);
    expect(perHeartbeat).toBe(1);
    expect(seen().filter((a) => a[0]!.toLowerCase() === 'hgetall')).toEqual([]);
    s.end();
  });

  it('a heartbeat of a study that was stopped is told to stop, in the same round trip', async () => {
    const id = await queuedTrial();
    const s = await started(id);
    await stack.api('POST', `/api/v1/studies/${id}/stop`);
    s.send({ heartbeat: { attempt: 1 } });
    const cmd = await s.next((m) => !!m.command && /study/.test(m.command.reason));
    expect(cmd.command).toMatchObject({ action: 'ACTION_STOP', reason: 'study stopped' });
    s.end();
  });

  it('ask/tell values obey the same limits: a 3 MiB reason and a non-integer step are 400s naming the field', async () => {
    const { body: study } = await stack.api('POST', '/api/v1/studies', {
      name: 'tell', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 2,
    });
    const t = (await stack.api('POST', `/api/v1/studies/${study.id}/trials/ask`)).body;
    const long = await stack.api('POST', `/api/v1/studies/${study.id}/trials/${t.number}/tell`, { state: 'failed', reason: MiB3.slice(0, 100_000) });
    expect(long.status).toBe(400);
    expect(long.body.error.fields).toEqual([{ field: 'reason', reason: '100000 bytes is more than the 4096 allowed' }]);
    const step = await stack.api('POST', `/api/v1/studies/${study.id}/trials/${t.number}/tell`, { step: 1.5, value: 1 });
    expect(step.status).toBe(400);
    expect(step.body.error.fields[0].field).toBe('step');
    expect((await stack.api('GET', `/api/v1/trials/${t.id}`)).body).toMatchObject({ state: 'RUNNING', points: 0 });
  });
});
