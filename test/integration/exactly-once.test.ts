/**
 * The protocol's exactly-once rules, driven by a hand-written worker over real gRPC: replayed
 * metric batches, a duplicated Finished, and late messages from a superseded attempt change
 * nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerMessage } from '../../shared/proto.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/env.js';
import { trialWithSeries } from '../helpers/series.js';
import { ScriptedFleet } from '../helpers/scripted-worker.js';

const points = (step: number) => [{ name: 'score', value: step * 10, step, timeMs: Date.now() }];
const finished = (attempt: number, lastSeq: number): WorkerMessage => ({ finished: { attempt, outcome: 'OUTCOME_EXITED', exitCode: 0, signal: '', reason: '', stderrTail: '', lastSeq } });

describe('exactly once', () => {
  let stack: TestStack;
  let fleet: ScriptedFleet;
  beforeAll(async () => {
    stack = await startTestStack('once', { workers: 0 });
    fleet = new ScriptedFleet(stack.coordinator.grpcAddress, stack.coordinator.store);
  });
  afterAll(async () => {
    fleet?.close();
    await stack?.close();
  });

  const queuedTrial = async (maxTrials = 1) => {
    const { body } = await stack.api('POST', '/api/v1/studies', {
      name: 'once', objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } },
      maxTrials, parallelism: maxTrials, trial: { command: ['unused'] },
    });
    await waitFor(async () => (await stack.api('GET', `/api/v1/studies/${body.id}`)).body.counts.queued === maxTrials || undefined, 5000, 'queued trials');
    return body.id as string;
  };

  it('replayed batches and a duplicated Finished are stored and counted once', async () => {
    const id = await queuedTrial();
    const s = await fleet.open('scripted');
    s.send(await fleet.started(`${id}.0`, 'scripted'));
    expect((await s.next((m) => !!m.startReply)).startReply).toMatchObject({ action: 'ACTION_RUN', attempt: 1 });
    s.send({ metrics: { attempt: 1, seq: 1, points: points(1) } });
    s.send({ metrics: { attempt: 1, seq: 2, points: points(2) } });
    s.send({ metrics: { attempt: 1, seq: 1, points: points(1) } }); // replay after a "reconnect"
    s.send({ metrics: { attempt: 1, seq: 2, points: points(2) } });
    for (const seq of [1, 2, 1, 2]) expect((await s.next((m) => !!m.ack)).ack!.seq).toBe(seq);
    s.send(finished(1, 2));
    s.send(finished(1, 2));
    expect((await s.next((m) => !!m.finishAck)).finishAck!.state).toBe('COMPLETED');
    s.end();

    const study = (await stack.api('GET', `/api/v1/studies/${id}`)).body;
    expect(study.counts).toMatchObject({ completed: 1, running: 0, queued: 0 });
    expect(study.best.value).toBe(20);
    const trial = await trialWithSeries(stack.api, `${id}.0`);
    expect(trial.metrics.score.map((p: any) => p.step)).toEqual([1, 2]);
  });

  it('messages of a superseded attempt change nothing', async () => {
    const id = await queuedTrial();
    const old = await fleet.open('dead');
    old.send(await fleet.started(`${id}.0`, 'dead'));
    const first = (await old.next((m) => !!m.startReply)).startReply!;
    expect(first.attempt).toBe(1);
    old.send({ metrics: { attempt: 1, seq: 1, points: points(1) } });
    await old.next((m) => !!m.ack);

    // The first worker's stream breaks and the job is delivered again: attempt 2 takes over.
    // (While attempt 1's stream is open here, a second delivery is skipped: see worker-hijack.)
    old.end();
    const fresh = await waitFor(async () => {
      const s = await fleet.open('alive');
      s.send(await fleet.started(`${id}.0`, 'alive'));
      if ((await s.next((m) => !!m.startReply)).startReply!.attempt === 2) return s;
      s.end();
      return undefined;
    }, 5000, 'attempt 2 to take over');

    // The old attempt wakes up: it cannot be re-joined, and what it sends changes nothing.
    const rejoin = await fleet.open('dead');
    rejoin.send(ScriptedFleet.rejoin(`${id}.0`, 'dead', 1, first.attemptSecret!));
    expect((await rejoin.next((m) => !!m.startReply)).startReply!.action).toBe('ACTION_SKIP');
    rejoin.send({ metrics: { attempt: 1, seq: 2, points: points(5) } });
    rejoin.send(finished(1, 2));
    // Straight to the store too: a late batch of attempt 1 is stale, its Finished not applied.
    const store = stack.coordinator.store;
    expect((await store.appendMetrics(id, 0, 1, 2, 'score', points(5), 1000)).status).toBe(-1);
    expect((await store.finishTrial(id, 0, 1, 'COMPLETED', { direction: 'maximize', reason: '', maxRetries: 3 })).applied).toBe(false);

    fresh.send({ metrics: { attempt: 2, seq: 1, points: points(3) } });
    await fresh.next((m) => !!m.ack);
    fresh.send(finished(2, 1));
    expect((await fresh.next((m) => !!m.finishAck)).finishAck!.state).toBe('COMPLETED');
    for (const s of [old, fresh, rejoin]) s.end();

    const study = (await stack.api('GET', `/api/v1/studies/${id}`)).body;
    expect(study.counts).toMatchObject({ completed: 1, running: 0 });
    expect(study.best.value).toBe(30);
    const trial = await trialWithSeries(stack.api, `${id}.0`);
    expect(trial.workerId).toBe('alive');
    expect(trial.metrics.score.map((p: any) => [p.attempt, p.step])).toEqual([[1, 1], [2, 3]]);
  });

  it('a batch after a gap is refused with the stream, and the replay in order stores everything once', async () => {
    const id = await queuedTrial();
    const s = await fleet.open('gappy');
    s.send(await fleet.started(`${id}.0`, 'gappy'));
    const { attemptSecret } = (await s.next((m) => !!m.startReply)).startReply!;
    s.send({ metrics: { attempt: 1, seq: 1, points: points(1) } });
    await s.next((m) => !!m.ack);
    s.send({ metrics: { attempt: 1, seq: 3, points: points(3) } }); // batch 2 went missing
    s.send({ metrics: { attempt: 1, seq: 4, points: points(4) } }); // buffered behind it: must not be stored
    await new Promise((r) => setTimeout(r, 300));
    const r = await fleet.open('gappy');
    r.send(ScriptedFleet.rejoin(`${id}.0`, 'gappy', 1, attemptSecret!));
    expect((await r.next((m) => !!m.startReply)).startReply!.action).toBe('ACTION_RUN');
    for (const seq of [2, 3, 4]) r.send({ metrics: { attempt: 1, seq, points: points(seq) } });
    for (const seq of [2, 3, 4]) expect((await r.next((m) => !!m.ack)).ack!.seq).toBe(seq);
    r.send(finished(1, 4));
    expect((await r.next((m) => !!m.finishAck)).finishAck!.state).toBe('COMPLETED');
    r.end();
    const trial = await trialWithSeries(stack.api, `${id}.0`);
    expect(trial.metrics.score.map((p: any) => p.step)).toEqual([1, 2, 3, 4]);
  });

  it('a job delivered after its study ended cancels the trial instead of leaving it running', async () => {
    const id = await queuedTrial();
    const s = await fleet.open('doomed');
    s.send(await fleet.started(`${id}.0`, 'doomed'));
    await s.next((m) => !!m.startReply);
    s.end(); // its worker dies without a word
    expect((await stack.api('POST', `/api/v1/studies/${id}/stop`)).body.state).toBe('STOPPED');
    const again = await fleet.open('late');
    again.send(await fleet.started(`${id}.0`, 'late'));
    expect((await again.next((m) => !!m.startReply)).startReply).toMatchObject({ action: 'ACTION_SKIP', reason: 'study is not running' });
    again.end();
    const study = (await stack.api('GET', `/api/v1/studies/${id}`)).body;
    expect(study.counts).toMatchObject({ running: 0, queued: 0, cancelled: 1 });
  });

  it('a trial that exhausted its retries is FAILED, not run again', async () => {
    const id = await queuedTrial();
    for (let attempt = 1; attempt <= 4; attempt++) {
      const s = await fleet.open(`w${attempt}`);
      s.send(await fleet.started(`${id}.0`, `w${attempt}`));
      expect((await s.next((m) => !!m.startReply)).startReply!.attempt).toBe(attempt);
      s.end();
    }
    // maxRetries 3: a fifth delivery finds the retries exhausted.
    const s = await fleet.open('w5');
    s.send(await fleet.started(`${id}.0`, 'w5'));
    const reply = (await s.next((m) => !!m.startReply)).startReply!;
    expect(reply).toMatchObject({ action: 'ACTION_SKIP' });
    s.end();
    const trial = await waitFor(async () => {
      const t = (await stack.api('GET', `/api/v1/trials/${id}.0`)).body;
      return t.state === 'FAILED' ? t : undefined;
    }, 5000, 'the trial to fail');
    expect(trial.reason).toMatch(/retries exhausted/);
  });
});
