/**
 * Katib's metric collectors in the worker, with real child processes and a scripted coordinator
 * over real gRPC: the StdOut collector (Katib's default filter, the RFC 3339 timestamp prefix,
 * stderr too), a custom filter, and the File collector following TEXT and JSON lines while the
 * program runs.
 */
import type * as grpc from '@grpc/grpc-js';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trialServiceClient, type MetricPoint } from '../../shared/proto.js';
import type { MetricsCollector } from '../../shared/study-spec.js';
import type { TrialRun } from '../../shared/trial-job.js';
import { ProcessRuntime } from '../../worker/runtime/process-runtime.js';
import { runTrialSession, type SessionOptions } from '../../worker/trial-session.js';
import { quietLog, waitFor } from '../helpers/env.js';
import { serve, startScriptedCoordinator, type ScriptedCoordinator } from '../helpers/scripted-coordinator.js';

const job = (trialId: string, program: string, metricsCollector: MetricsCollector, args: string[] = []): TrialRun => serve({
  studyId: 's', trialId, number: 0, params: {}, command: [process.execPath, '-e', program, ...args], env: {}, gpus: 0, metricsCollector,
});

describe('Katib metric collectors on the worker', () => {
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
  const session = (): SessionOptions => ({
    client, runtime: new ProcessRuntime(), workerId: 'w', workDir: mkdtempSync(path.join(os.tmpdir(), 'tunehive-kc-')), log: quietLog(), heartbeatMs: 500, graceMs: 1000,
  });
  const pointsOf = (trialId: string): MetricPoint[] => coord.streams.filter((x) => x.got[0]?.started?.trialId === trialId)
    .flatMap((s) => s.got.filter((m) => m.metrics).flatMap((m) => m.metrics!.points));
  const run = async (j: TrialRun) => {
    const r = await runTrialSession(j, [], session(), new AbortController().signal);
    expect(r.state).toBe('COMPLETED');
    return pointsOf(j.trialId).map((p) => [p.name, p.value, p.step]);
  };

  it('StdOut: Katib\'s default filter on stdout and stderr, kept names only, the timestamp prefix as the time', async () => {
    const program = `
      console.error('2024-05-01T10:00:00Z INFO     epoch 1: loss=0.5 accuracy=.9 lr=0.1');
      console.log('Train Epoch: 2 loss = 4.2E-1 f1-score=+0.75');
      console.log('no metrics here, loss is not reported: loss=');
      console.log('2024-05-01T10:00:02.123456789+02:00 loss=0.3');`;
    const j = job('kc-stdout.0', program, { kind: 'stdout', format: 'text', metrics: ['loss', 'accuracy', 'f1-score'] });
    expect(await run(j)).toEqual([['loss', 0.5, 1], ['accuracy', 0.9, 1], ['loss', 0.42, 2], ['f1-score', 0.75, 1], ['loss', 0.3, 3]]);
    const times = pointsOf(j.trialId).map((p) => p.timeMs);
    expect(times[0]).toBe(Date.parse('2024-05-01T10:00:00Z'));
    expect(times[4]).toBe(Date.parse('2024-05-01T08:00:02.123Z'));
    // A line without a timestamp is stamped when it is read.
    expect(Math.abs(times[2]! - Date.now())).toBeLessThan(60_000);
  });

  it('StdOut with custom filters (Katib\'s example formats); native lines are not read then', async () => {
    const program = `
      console.log('{metricName: accuracy, metricValue: 0.9123}');
      console.log('{metricName: f1-score, metricValue: -1.5}');
      console.log('loss=0.7');`;
    const j = job('kc-filter.0', program, {
      kind: 'stdout', format: 'text', metrics: ['accuracy', 'f1-score', 'loss'],
      filters: ['{metricName: ([\\w|-]+), metricValue: ((-?\\d+)(\\.\\d+)?)}'],
    });
    expect(await run(j)).toEqual([['accuracy', 0.9123, 1], ['f1-score', -1.5, 1]]);
  });

  it('File TEXT: the file is followed while the program runs; what it held before is skipped', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-kf-'));
    const file = path.join(dir, 'kc-file.0.log');
    const go = path.join(dir, 'go');
    writeFileSync(file, 'loss=99 (an earlier trial)\n');
    // The program writes one report, then waits (bounded) for the test to have seen it before
    // writing the next: the first can only have come while it was running.
    const program = `
      const fs = require('node:fs');
      const [file, go] = process.argv.slice(1);
      fs.appendFileSync(file, '2024-05-01T10:00:00Z loss=0.8\\n');
      const until = Date.now() + 20000;
      const wait = () => { if (fs.existsSync(go) || Date.now() > until) { fs.appendFileSync(file, 'loss=0.6 accuracy=0.7\\n'); } else setTimeout(wait, 20); };
      wait();`;
    const j = job('kc-file.0', program, { kind: 'file', format: 'text', path: path.join(dir, '${trial.id}.log'), metrics: ['loss'] }, [file, go]);
    const done = run(j);
    await waitFor(() => pointsOf(j.trialId).length > 0, 20_000, 'the first report from the file');
    expect(existsSync(go)).toBe(false);
    writeFileSync(go, '');
    expect(await done).toEqual([['loss', 0.8, 1], ['loss', 0.6, 2]]);
    expect(pointsOf(j.trialId)[0]!.timeMs).toBe(Date.parse('2024-05-01T10:00:00Z'));
  });

  it('File JSON: string values (and numbers), a timestamp in epoch seconds, other keys and bad lines ignored', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-kj-'));
    const file = path.join(dir, 'metrics.json');
    const program = `
      const fs = require('node:fs');
      const f = process.argv[1];
      fs.appendFileSync(f, JSON.stringify({ loss: '0.5', accuracy: '0.8', timestamp: 1714557600.25 }) + '\\n');
      fs.appendFileSync(f, 'not json\\n');
      fs.appendFileSync(f, JSON.stringify({ loss: 0.25, other: '1', timestamp: '2024-05-01T10:00:01Z' }) + '\\n');
      fs.appendFileSync(f, JSON.stringify({ loss: 'n/a' }) + '\\n');`;
    const j = job('kc-json.0', program, { kind: 'file', format: 'json', path: file, metrics: ['loss', 'accuracy'] }, [file]);
    expect(await run(j)).toEqual([['loss', 0.5, 1], ['accuracy', 0.8, 1], ['loss', 0.25, 2]]);
    expect(pointsOf(j.trialId).map((p) => p.timeMs)).toEqual([1714557600250, 1714557600250, Date.parse('2024-05-01T10:00:01Z')]);
  });
});

describe('Katib File collector: trials on one agent sharing a fixed path', () => {
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

  it('take turns, so each is credited with its own reports only', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'tunehive-ks-')), 'metrics.log');
    // Each program appends its own value five times, 20 ms apart: run at once, they would interleave.
    const program = `
      const fs = require('node:fs');
      const [f, v] = process.argv.slice(1);
      let i = 0;
      const tick = () => { fs.appendFileSync(f, 'loss=' + v + '\\n'); if (++i < 5) setTimeout(tick, 20); };
      tick();`;
    const session = (): SessionOptions => ({
      client, runtime: new ProcessRuntime(), workerId: 'w', workDir: mkdtempSync(path.join(os.tmpdir(), 'tunehive-ks-w-')), log: quietLog(), heartbeatMs: 200, graceMs: 1000,
    });
    const collector: MetricsCollector = { kind: 'file', format: 'text', path: file, metrics: ['loss'] };
    const jobs = ['0.1', '0.2', '0.3'].map((v, i) => job(`ks-${i}.0`, program, collector, [file, v]));
    const results = await Promise.all(jobs.map((j) => runTrialSession(j, [], session(), new AbortController().signal)));
    expect(results.map((r) => r.state)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    for (const [i, v] of ['0.1', '0.2', '0.3'].entries()) {
      const values = coord.streams.filter((x) => x.got[0]?.started?.trialId === `ks-${i}.0`)
        .flatMap((s) => s.got.filter((m) => m.metrics).flatMap((m) => m.metrics!.points)).map((p) => p.value);
      expect(values).toEqual([Number(v), Number(v), Number(v), Number(v), Number(v)]);
    }
  });
});
