/**
 * Metric ingestion under load, end to end: a coordinator and agents as child processes (the
 * `tunehive` CLI), `trials` trials at once, each a real program (bench/load/metric-printer.mjs)
 * printing `pointsPerTrial` metric lines as fast as its stdout takes them; the agents split and
 * parse the lines, batch them over their gRPC streams, and the coordinator stores each batch with
 * appendMetrics-3.lua. The figure is what Redis holds: the points stored (the trials' `points`
 * counters), sampled every 100 ms, as points/s sustained between 10 % and 90 % of the total.
 *
 *   npm run bench:metric-ingest [-- --trials 4 --points 100000 --agents 2]
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { freePort } from '../../cli/local-redis.js';
import { keys } from '../../shared/redis-keys.js';
import { killAll, spawnCoordinator, spawnWorker, waitForHttp } from '../../test/helpers/processes.js';
import { authHeaders } from '../../test/helpers/tokens.js';
import { dropPrefix } from './drop-prefix.js';
import type { Figure, Section } from './figures.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface MetricIngestOptions {
  redisUrl: string;
  /** Trials running at once (default 4, the outside probe's). */
  trials?: number;
  /** Metric lines each trial's program prints, one point each (default 100,000). */
  pointsPerTrial?: number;
  /** Agent processes the trials are spread over (default 2; each gets enough slots for its share). */
  agents?: number;
  /** Longest the run may take before it is abandoned (default 120 s). */
  timeoutMs?: number;
  prefix?: string;
  say?: (line: string) => void;
}

/** utime + stime of a process in ms (Linux /proc), or undefined. */
function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/** Redis's own CPU (user + sys) in ms, from INFO cpu. */
async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const f = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
  return (f('used_cpu_user') + f('used_cpu_sys')) * 1000;
}

/** The rate between the samples where the total first reached `lo` and `hi` of `total`. */
function sustained(samples: Array<[number, number]>, total: number, lo = 0.1, hi = 0.9): number {
  const a = samples.find(([, n]) => n >= lo * total);
  const b = samples.find(([, n]) => n >= hi * total);
  if (!a || !b || b[0] <= a[0]) return NaN;
  return (b[1] - a[1]) / ((b[0] - a[0]) / 1000);
}

export async function runMetricIngest(o: MetricIngestOptions): Promise<Section> {
  const say = o.say ?? ((l: string) => console.error(l));
  const trials = o.trials ?? 4;
  const pointsPerTrial = o.pointsPerTrial ?? 100_000;
  const agents = Math.max(1, Math.min(o.agents ?? 2, trials));
  const prefix = o.prefix ?? `bench-ingest-${randomBytes(4).toString('hex')}`;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tunehive-bench-ingest-'));
  const children: ChildProcess[] = [];
  const redis = new Redis(o.redisUrl, { maxRetriesPerRequest: 3 });
  try {
    const ports = { http: await freePort(), grpc: await freePort() };
    const coordinator = spawnCoordinator({ redisUrl: o.redisUrl, prefix, httpPort: ports.http, grpcPort: ports.grpc, checkpointDir: path.join(tmp, 'checkpoints') });
    children.push(coordinator);
    const base = `http://127.0.0.1:${ports.http}`;
    await waitForHttp(`${base}/healthz`);
    const workerPids: number[] = [];
    for (let i = 0; i < agents; i++) {
      const w = spawnWorker({ redisUrl: o.redisUrl, prefix, coordinator: `127.0.0.1:${ports.grpc}`, id: `ingest-${i}`, slots: Math.ceil(trials / agents) });
      children.push(w);
      if (w.pid !== undefined) workerPids.push(w.pid);
    }
    const api = async (method: string, url: string, body?: unknown) => {
      const r = await fetch(`${base}${url}`, { method, headers: authHeaders(body === undefined ? {} : { 'content-type': 'application/json' }), ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      const json = await r.json() as any;
      if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(json)}`);
      return json;
    };
    // The agents must have joined before the study starts, or the first trials wait for them.
    const deadlineJoin = Date.now() + 30_000;
    while ((await api('GET', '/api/v1/workers')).workers?.length < agents) {
      if (Date.now() > deadlineJoin) throw new Error(`${agents} agents did not join within 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const study = await api('POST', '/api/v1/studies', {
      name: 'bench-metric-ingest', objective: { metric: 'loss', direction: 'minimize' },
      searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: trials, parallelism: trials,
      limits: { maxMetricPoints: pointsPerTrial },
      trial: { command: [process.execPath, path.join(here, 'metric-printer.mjs'), String(pointsPerTrial)] },
    });
    const total = trials * pointsPerTrial;
    say(`metric ingestion: ${trials} trials x ${pointsPerTrial} lines over ${agents} agents ...`);
    const c0 = cpuMs(coordinator.pid);
    const w0 = workerPids.map(cpuMs);
    const r0 = await redisCpuMs(redis);
    const t0 = performance.now();
    const samples: Array<[number, number]> = [];
    const deadline = t0 + (o.timeoutMs ?? 120_000);
    let stored = 0;
    let dropped = 0;
    let state = 'RUNNING';
    while (performance.now() < deadline) {
      const pipe = redis.pipeline();
      for (let n = 0; n < trials; n++) pipe.hmget(keys.trial(prefix, study.id, n), 'points', 'pointsDropped', 'state');
      const rows = ((await pipe.exec()) ?? []).map(([, v]) => v as Array<string | null>);
      stored = rows.reduce((a, r) => a + Number(r?.[0] ?? 0), 0);
      dropped = rows.reduce((a, r) => a + Number(r?.[1] ?? 0), 0);
      samples.push([performance.now() - t0, stored]);
      const finished = rows.filter((r) => r?.[2] && !['QUEUED', 'RUNNING'].includes(r[2])).length;
      if (finished === trials) {
        state = rows.every((r) => r?.[2] === 'COMPLETED') ? 'COMPLETED' : rows.map((r) => r?.[2]).join(',');
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const wallMs = performance.now() - t0;
    const c1 = cpuMs(coordinator.pid);
    const w1 = workerPids.map(cpuMs);
    const redisCpu = (await redisCpuMs(redis)) - r0;
    const first = samples.find(([, n]) => n > 0);
    const last = samples.find(([, n]) => n >= stored);
    const rate = sustained(samples, stored);
    const overall = first && last && last[0] > first[0] ? (stored - first[1]) / ((last[0] - first[0]) / 1000) : NaN;
    const notes: string[] = [];
    if (stored !== total) notes.push(`only ${stored} of ${total} points stored (dropped: ${dropped}; trials ${state}) within ${(wallMs / 1000).toFixed(1)} s`);
    const coordinatorCpu = c0 !== undefined && c1 !== undefined ? c1 - c0 : undefined;
    const agentsCpu = w0.every((x) => x !== undefined) && w1.every((x) => x !== undefined) ? w1.reduce((a, x, i) => a + x! - w0[i]!, 0) : undefined;
    const figures: Figure[] = [
      { key: 'ingest.pointsPerSecond', label: `metric points/s stored, sustained (10-90 % of the run; ${trials} trials x ${pointsPerTrial} lines)`, value: rate, unit: 'points/s',
        target: { text: '≥ 250,000 points/s', met: rate >= 250_000 } },
      { key: 'ingest.pointsPerSecondOverall', label: 'metric points/s stored, first point to last', value: overall, unit: 'points/s' },
    ];
    if (coordinatorCpu !== undefined) figures.push({ key: 'ingest.coordinatorCpuUsPerPoint', label: 'coordinator CPU per point stored', value: (coordinatorCpu * 1000) / Math.max(1, stored), unit: 'µs' });
    if (agentsCpu !== undefined) figures.push({ key: 'ingest.agentCpuUsPerPoint', label: 'agent CPU per point (all agents; programs not counted)', value: (agentsCpu * 1000) / Math.max(1, stored), unit: 'µs' });
    const perPoint = [coordinatorCpu, agentsCpu, redisCpu].every((x) => x !== undefined && Number.isFinite(x)) ? ((coordinatorCpu! + agentsCpu! + redisCpu) * 1000) / Math.max(1, stored) : undefined;
    if (perPoint !== undefined) {
      figures[0]!.limit = `coordinator + agents + Redis use ${perPoint.toFixed(2)} µs of CPU per point (the printing programs besides): ${os.cpus().length} idle cores would cap it near ${((os.cpus().length * 1e6) / perPoint / 1000).toFixed(0)}k points/s; Redis alone (one core) near ${(1e6 / ((redisCpu * 1000) / Math.max(1, stored)) / 1000).toFixed(0)}k`;
    }
    if (Number.isFinite(redisCpu)) figures.push({ key: 'ingest.redisCpuUsPerPoint', label: 'Redis CPU per point stored', value: (redisCpu * 1000) / Math.max(1, stored), unit: 'µs' });
    notes.push(`stored ${stored} of ${total} points (dropped ${dropped}), trials ${state}, ${(wallMs / 1000).toFixed(1)} s; ${os.cpus().length} CPUs shared by the programs, agents, coordinator and Redis (and whatever else runs on the machine). Load average at the end: ${os.loadavg()[0]!.toFixed(1)} (other work on the machine skews absolute figures; ratios and CPU per unit less).`);
    await api('DELETE', `/api/v1/studies/${study.id}`).catch(() => undefined);
    return { name: 'metric ingestion', settings: { trials: trials, pointsPerTrial: pointsPerTrial, agents }, figures, notes };
  } finally {
    await killAll(children);
    redis.disconnect();
    if (!o.prefix) await dropPrefix(o.redisUrl, prefix);
    rmSync(tmp, { recursive: true, force: true });
  }
}
