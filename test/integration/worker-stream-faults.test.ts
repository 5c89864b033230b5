/**
 * The worker's attempt stream against a scripted coordinator over real gRPC, with real trial
 * programs: wide lines are split to the batch cap, permanent errors end the attempt without a
 * re-join, transient ones back off without a re-join resetting the give-up clock, and a re-sent
 * Started carries the delivery's id.
 */
import * as grpc from '@grpc/grpc-js';
import { Writable } from 'node:stream';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { TrialRun } from '../../shared/trial-job.js';
import { AttemptChannel } from '../../worker/attempt-channel.js';
import { ProcessRuntime } from '../../worker/runtime/process-runtime.js';
import { runTrialSession, type SessionOptions } from '../../worker/trial-session.js';
import { quietLog, waitFor } from '../helpers/env.js';
import { serve, useScriptedCoordinator } from '../helpers/scripted-coordinator.js';

const job = (trialId: string, program: string): TrialRun => serve({
  studyId: 's', trialId, number: 0, params: {}, command: [process.execPath, '-e', program], env: {}, gpus: 0,
});

describe('worker stream faults', () => {
  const fx = useScriptedCoordinator();
  const session = (o: Partial<SessionOptions> = {}): SessionOptions => ({
    client: fx.client, runtime: new ProcessRuntime(), workerId: 'w', workDir: mkdtempSync(path.join(os.tmpdir(), 'tunehive-sf-')), log: quietLog(),
    heartbeatMs: 500, graceMs: 1000, ...o,
  });

  it('splits one line of 9,000 fields into batches of at most 500 points', async () => {
    const line = Array.from({ length: 9000 }, (_, i) => `m${i}=${i}`).join(' ');
    const r = await runTrialSession(job('wide.0', `console.log(${JSON.stringify(line)})`), [], session(), new AbortController().signal);
    expect(r.state).toBe('COMPLETED');
    const batches = fx.coord.streams[0]!.got.filter((m) => m.metrics).map((m) => m.metrics!.points.length);
    expect(Math.max(...batches)).toBeLessThanOrEqual(500);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(9000);
    expect(batches.length).toBe(18);
  });

  it('a permanent status stops the program, does not re-join and completes the job', async () => {
    fx.coord.script = {
      onMessage: (s, m) => {
        if (!m.metrics) return false;
        s.fail(grpc.status.INVALID_ARGUMENT, 'metric batch refused: 9000 points over the cap');
        return true;
      },
    };
    // The program would run for a minute: it must be stopped, not waited for.
    const program = 'console.log("loss=1"); process.on("SIGTERM", () => process.exit(143)); setTimeout(() => {}, 60_000)';
    const t0 = Date.now();
    const r = await runTrialSession(job('perm.0', program), [], session(), new AbortController().signal);
    expect(r.state).toBe('ENDED');
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(fx.coord.streams).toHaveLength(1);
  });

  it('failures after each granted re-join back off and give up within the deadline', async () => {
    fx.coord.script = {
      onMessage: (s, m) => {
        if (!m.metrics) return false;
        // The store fails every batch (a transient-looking error), while re-joins are granted.
        s.fail(grpc.status.UNAVAILABLE, 'store error');
        return true;
      },
    };
    const giveUpMs = 5000;
    const channel = new AttemptChannel({ client: fx.client, trialId: 'loop.0', workerId: 'w', log: quietLog(), giveUpMs });
    const stops: string[] = [];
    channel.on('command', (_a, reason) => stops.push(reason));
    expect(await channel.start()).toMatchObject({ run: true, attempt: 1 });
    const t0 = Date.now();
    channel.sendMetrics([{ name: 'loss', value: 1, step: 1, timeMs: 0 }]);
    await waitFor(() => stops.length > 0, giveUpMs + 8000, 'the channel to give up').finally(() => {
      if (process.env.REPORT_FIGURES) console.log(`streams opened: ${fx.coord.streams.length} in ${Date.now() - t0} ms`);
    });
    const elapsed = Date.now() - t0;
    channel.close();
    // Backoff 200, 400, ... ms, the last try at the deadline: about 6 streams, where re-joins
    // resetting the clock made 58 in 15 s (65 in 13 s here) and never gave up.
    expect(stops).toEqual(['coordinator unreachable']);
    expect(elapsed).toBeGreaterThanOrEqual(giveUpMs);
    expect(elapsed).toBeLessThan(giveUpMs + 1000);
    expect(fx.coord.streams.length).toBeLessThanOrEqual(8);
    expect(await channel.finish({ outcome: 'OUTCOME_EXITED', exitCode: 0, signal: '', reason: '', stderrTail: '' })).toBe('UNREACHABLE');
  });

  it('an acknowledged batch after a re-join resets the give-up clock', async () => {
    let failNext = 3;
    fx.coord.script = {
      onMessage: (s, m) => {
        if (!m.metrics || failNext === 0) return false;
        failNext--;
        s.fail(grpc.status.UNAVAILABLE, 'blip');
        return true;
      },
    };
    const channel = new AttemptChannel({ client: fx.client, trialId: 'heal.0', workerId: 'w', log: quietLog(), giveUpMs: 2000, backoffMs: { first: 300, max: 1000 } });
    const stops: string[] = [];
    channel.on('command', (_a, reason) => stops.push(reason));
    await channel.start();
    channel.sendMetrics([{ name: 'loss', value: 1, step: 1, timeMs: 0 }]);
    await channel.waitForAck();
    // 300 + 600 + 1000 ms of blips, then progress: a second round of blips gets the full clock again.
    failNext = 3;
    channel.sendMetrics([{ name: 'loss', value: 2, step: 2, timeMs: 0 }]);
    await channel.waitForAck();
    expect(stops).toEqual([]);
    expect(channel.inFlight).toBe(0);
    channel.close();
  });

  it('a Started re-sent after a lost reply carries the same delivery id', async () => {
    let lost = 0;
    fx.coord.script = {
      onMessage: (s, m) => {
        if (!m.started || lost > 0) return false;
        lost++;
        s.fail(grpc.status.UNAVAILABLE, 'reply lost');
        return true;
      },
    };
    const channel = new AttemptChannel({ client: fx.client, trialId: 'dup.0', workerId: 'w', log: quietLog() });
    expect(await channel.start()).toMatchObject({ run: true, attempt: 1 });
    const starts = fx.coord.streams.map((s) => s.got[0]!.started!);
    expect(starts).toHaveLength(2);
    expect(starts[0]!.deliveryId).toMatch(/^[0-9a-f-]{36}$/);
    expect(starts[1]!.deliveryId).toBe(starts[0]!.deliveryId);
    expect(starts.map((s) => s.resumeAttempt)).toEqual([0, 0]);
    channel.close();
    const other = new AttemptChannel({ client: fx.client, trialId: 'dup.0', workerId: 'w', log: quietLog() });
    expect(other.deliveryId).not.toBe(channel.deliveryId);
  });

  it('points dropped at the cap are a warning, once per attempt', async () => {
    fx.coord.script = { onMessage: (s, m) => (m.metrics ? (s.send({ ack: { seq: m.metrics.seq, droppedPoints: m.metrics.points.length } }), true) : false) };
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, new Writable({ write: (c: Buffer, _e, cb) => { lines.push(c.toString()); cb(); } }));
    const channel = new AttemptChannel({ client: fx.client, trialId: 'cap.0', workerId: 'w', log });
    await channel.start();
    for (let i = 1; i <= 3; i++) channel.sendMetrics([{ name: 'loss', value: i, step: i, timeMs: 0 }]);
    await channel.waitForAck();
    channel.close();
    expect(lines.filter((l) => l.includes('limits.maxMetricPoints'))).toHaveLength(1);
  });
});
