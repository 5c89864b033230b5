/**
 * What a trial program's output may cost the agent, with real child processes and a scripted
 * coordinator over real gRPC: a line without a newline is cut at the line cap (never buffered
 * whole), and a coordinator that does not acknowledge makes the program block on its pipe
 * instead of the agent piling up batches.
 */
import type * as grpc from '@grpc/grpc-js';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trialServiceClient, type WorkerMessage } from '../../shared/proto.js';
import type { TrialRun } from '../../shared/trial-job.js';
import { LineSplitter } from '../../worker/metrics/line-splitter.js';
import { ProcessRuntime } from '../../worker/runtime/process-runtime.js';
import { runTrialSession, type SessionOptions } from '../../worker/trial-session.js';
import { quietLog, waitFor } from '../helpers/env.js';
import { serve, startScriptedCoordinator, type ScriptedCoordinator, type ScriptedStream } from '../helpers/scripted-coordinator.js';

const MiB = 1024 * 1024;
const job = (trialId: string, program: string): TrialRun => serve({
  studyId: 's', trialId, number: 0, params: {}, command: [process.execPath, '-e', program], env: {}, gpus: 0,
});

/** Resolves with `read()`'s value once it has not changed for `quietMs` (bounded by `timeoutMs`). */
async function waitForStable<T>(read: () => T, quietMs: number, timeoutMs: number): Promise<T> {
  let last = read();
  let since = Date.now();
  return waitFor(() => {
    const v = read();
    if (v !== last) {
      last = v;
      since = Date.now();
      return undefined;
    }
    return Date.now() - since >= quietMs ? { v } : undefined;
  }, timeoutMs, 'the value to settle').then((r) => r.v);
}

describe('worker output bounds', () => {
  let coord: ScriptedCoordinator;
  let client: grpc.Client;
  beforeAll(async () => {
    coord = await startScriptedCoordinator();
    client = trialServiceClient(coord.address);
  });
  afterAll(() => {
    client?.close();
    coord?.close();
  });
  const session = (o: Partial<SessionOptions> = {}): SessionOptions => ({
    client, runtime: new ProcessRuntime(), workerId: 'w', workDir: mkdtempSync(path.join(os.tmpdir(), 'tunehive-ob-')), log: quietLog(),
    heartbeatMs: 500, graceMs: 1000, ...o,
  });
  const finishedOf = (s: ScriptedStream) => s.got.find((m) => m.finished)!.finished!;

  it('the splitter cuts lines at the cap and counts what it dropped', () => {
    const lines: Array<[string, boolean]> = [];
    const s = new LineSplitter(4, (l, t) => lines.push([l, t]));
    s.push('ab\r\ncdefgh');
    s.push('ij\nk');
    s.end();
    expect(lines).toEqual([['ab', false], ['cdef', true], ['k', false]]);
    expect([s.truncatedLines, s.droppedBytes, s.maxHeld]).toEqual([1, 4, 4]);
  });

  it('300 MiB without a newline cost the agent at most the line cap; the trial ends normally with the counts', async () => {
    // 300 MiB on stdout and 5 MiB on stderr, each without a newline, then one metric line.
    const program = `
      const b = Buffer.alloc(${MiB}, 120);
      let i = 0;
      process.stderr.write(Buffer.alloc(${5 * MiB}, 121));
      process.stderr.write('\\n');
      const w = () => {
        while (i < 300) { i++; if (!process.stdout.write(b)) return process.stdout.once('drain', w); }
        process.stdout.write('\\nloss=0.5\\n');
      };
      w();`;
    global.gc?.();
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 10);
    try {
      const r = await runTrialSession(job('long.0', program), [], session(), new AbortController().signal);
      expect(r.state).toBe('COMPLETED');
    } finally {
      clearInterval(sampler);
    }
    const growthMiB = (peak - rss0) / MiB;
    if (process.env.REPORT_FIGURES) console.log(`rss growth ${growthMiB.toFixed(1)} MiB`);
    const s = coord.streams.find((x) => x.got[0]?.started?.trialId === 'long.0')!;
    const f = finishedOf(s);
    expect(f.exitCode).toBe(0);
    expect(f.truncatedLines).toBe(2);
    expect(f.droppedBytes).toBe(299 * MiB + 4 * MiB);
    expect(f.stderrTail.length).toBeLessThanOrEqual(510);
    expect(s.got.filter((m) => m.metrics).flatMap((m) => m.metrics!.points).map((p) => [p.name, p.value])).toEqual([['loss', 0.5]]);
    expect(growthMiB).toBeLessThan(100);
  });

  it('with the window full the program blocks on its pipe; acks let it go on', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-bp-'));
    const progress = path.join(dir, 'progress');
    const total = 200_000;
    // Blocking writes to fd 1 (process.stdout would queue them in the program's memory): a
    // full pipe stops the program where it is.
    const program = `
      const fs = require('node:fs');
      for (let i = 1; i <= ${total}; i++) {
        fs.writeSync(1, 'step=' + i + ' loss=1\\n');
        if (i % 1000 === 0) fs.writeFileSync(${JSON.stringify(progress)}, String(i));
      }`;
    let holding = true;
    const held: Array<[ScriptedStream, number]> = [];
    coord.script = {
      onMessage: (s, m: WorkerMessage) => {
        if (!m.metrics) return false;
        if (!holding) return false;
        held.push([s, m.metrics.seq]);
        return true;
      },
    };
    const window = 4;
    const run = runTrialSession(job('bp.0', program), [], session({ window }), new AbortController().signal);
    await waitFor(() => held.length >= window, 20_000, 'the first window of batches');
    const readProgress = () => { try { return Number(readFileSync(progress, 'utf8')); } catch { return 0; } };
    const stalledAt = await waitForStable(readProgress, 500, 20_000);
    expect(held).toHaveLength(window);
    expect(stalledAt).toBeLessThan(total / 4);
    if (process.env.REPORT_FIGURES) console.log(`program stalled at line ${stalledAt} of ${total} with ${held.length} batches unacknowledged`);

    holding = false;
    for (const [s, seq] of held) s.send({ ack: { seq } });
    expect((await run).state).toBe('COMPLETED');
    const s = coord.streams.find((x) => x.got[0]?.started?.trialId === 'bp.0')!;
    const steps = s.got.filter((m) => m.metrics).flatMap((m) => m.metrics!.points).filter((p) => p.name === 'loss').map((p) => p.step);
    expect(steps).toHaveLength(total);
    expect(steps[total - 1]).toBe(total);
    coord.script = {};
  });
});
