/**
 * The coordinator and queue path of a trial, alone: one coordinator (a child process, so its
 * CPU is its own), K agents (child processes) with S slots running trials in a simulated
 * runtime (no program), one random study of N trivial trials on a private Redis. Prints, as
 * one JSON line: trials/s, coordinator CPU ms per trial, Redis commands per trial (INFO
 * commandstats delta, top commands), and BullMQ's raw no-op job rate measured in the same run.
 *
 *   node --import tsx bench/load/trial-path-probe.ts [--trials N] [--agents K] [--slots S] [--cpu-prof DIR] [--skip-ceiling]
 *
 * Bounded: every wait has a deadline; Redis and every child are stopped at the end.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { keys } from '../../shared/redis-keys.js';
import { expandLuaIncludes } from '../../coordinator/store/lua-includes.js';
import { freePort, startLocalRedis } from '../../cli/local-redis.js';
import { TEST_ADMIN_TOKEN, TEST_JOIN_TOKEN } from '../../test/helpers/tokens.js';
import { monitorRedis, type RedisMonitor } from '../../test/helpers/redis-monitor.js';
import { SimulatedRuntime } from '../../worker/runtime/simulated-runtime.js';

const SELF = fileURLToPath(import.meta.url);
const HARD_TIMEOUT_MS = 120_000;
const PREFIX = 'probe';

async function agentChild(redisUrl: string, coordinator: string, id: string, slots: number): Promise<void> {
  const { Agent } = await import('../../worker/agent.js');
  const runtime = new SimulatedRuntime();
  const agent = new Agent({
    redisUrl, prefix: PREFIX, coordinator, slots, workerId: id, log: pino({ level: 'warn' }), runtime,
    workDir: mkdtempSync(path.join(os.tmpdir(), `probe-${id}-`)), gpus: { kind: 'none' }, joinToken: TEST_JOIN_TOKEN, heartbeatMs: 2000,
  });
  await agent.start();
  process.send!({ type: 'ready', runtime: runtime.name });
  process.on('message', (m: { type: string }) => {
    if (m.type === 'stop') void agent.close().finally(() => process.exit(0));
  });
  setTimeout(() => process.exit(3), HARD_TIMEOUT_MS * 2).unref();
}

/** BullMQ no-op worker child: counts completions and reports when it has seen `n`. */
async function bullmqChild(redisUrl: string, queue: string, concurrency: number, n: number): Promise<void> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  let count = 0;
  const w = new Worker(queue, async () => null, { connection, concurrency, prefix: 'ceiling' });
  w.on('completed', () => {
    if (++count === n) process.send!({ type: 'done', at: performance.timeOrigin + performance.now() });
  });
  await w.waitUntilReady();
  process.send!({ type: 'ready' });
  process.on('message', (m: { type: string }) => {
    if (m.type === 'stop') void w.close().finally(() => process.exit(0));
  });
  setTimeout(() => process.exit(3), HARD_TIMEOUT_MS).unref();
}

const once = <T>(child: ChildProcess, type: string): Promise<T> => new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error(`child did not send ${type}`)), HARD_TIMEOUT_MS);
  child.on('message', (m: { type: string }) => { if (m.type === type) { clearTimeout(t); resolve(m as T); } });
  child.once('exit', (code) => reject(new Error(`child exited (${code}) before ${type}`)));
});

/** BullMQ raw: add N no-op jobs in bulk, one worker process (concurrency = all slots) runs them. */
async function bullmqRaw(redisUrl: string, n: number, concurrency: number, redisPid: number): Promise<{ rate: number; redisCpuMsPerJob: number; cpuMsPerJob: number }> {
  const name = `raw-${Date.now()}`;
  const child = fork(SELF, ['__bullmq', redisUrl, name, String(concurrency), String(n)], { execArgv: process.execArgv });
  await once(child, 'ready');
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const q = new Queue(name, { connection, prefix: 'ceiling' });
  const t0 = performance.timeOrigin + performance.now();
  const redisCpu0 = cpuMs(redisPid);
  const workerCpu0 = cpuMs(child.pid!);
  const self0 = process.cpuUsage();
  const done = once<{ at: number }>(child, 'done');
  for (let i = 0; i < n; i += 500) {
    await q.addBulk(Array.from({ length: Math.min(500, n - i) }, (_, j) => ({ name: 'trial', data: { trialId: `t${i + j}`, params: { x: 0.5 } }, opts: { removeOnComplete: true, removeOnFail: true } })));
  }
  const { at } = await done;
  const redisCpuMsPerJob = (cpuMs(redisPid) - redisCpu0) / n;
  const self = process.cpuUsage(self0);
  // Every process of the ceiling: Redis, the worker, this producer.
  const cpuMsPerJob = redisCpuMsPerJob + (cpuMs(child.pid!) - workerCpu0) / n + (self.user + self.system) / 1000 / n;
  child.send({ type: 'stop' });
  await q.obliterate({ force: true }).catch(() => undefined);
  await q.close();
  connection.disconnect();
  return { rate: n / ((at - t0) / 1000), redisCpuMsPerJob, cpuMsPerJob };
}

function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
  const tick = 100; // USER_HZ on Linux
  return ((Number(parts[11]) + Number(parts[12])) * 1000) / tick;
}

async function commandStats(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const out = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

async function main(): Promise<void> {
  const { values: f } = parseArgs({ options: { trials: { type: 'string' }, agents: { type: 'string' }, slots: { type: 'string' }, 'cpu-prof': { type: 'string' }, 'skip-ceiling': { type: 'boolean' }, monitor: { type: 'boolean' } } });
  const N = Number(f.trials ?? 3000);
  const K = Number(f.agents ?? 2);
  const S = Number(f.slots ?? 32);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'probe-redis-'));
  const redis = await startLocalRedis({ dataDir: dir, appendOnly: false });
  const admin = new Redis(redis.url);
  const children: ChildProcess[] = [];
  try {
    const ceiling = f['skip-ceiling'] ? undefined : await bullmqRaw(redis.url, N, K * S, redis.process.pid!);
    const raw = ceiling?.rate;
    const [httpPort, grpcPort] = [await freePort(), await freePort()];
    const coordinator = spawn(process.execPath, [
      ...(f['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(f['cpu-prof'])] : []),
      path.resolve('bin/tunehive.mjs'), 'coordinator', '--prefix', PREFIX, '--http-port', String(httpPort), '--grpc-port', String(grpcPort),
      '--checkpoint-dir', mkdtempSync(path.join(os.tmpdir(), 'probe-ckpt-')), '--reconcile-ms', '2000',
    ], { stdio: ['ignore', 'ignore', process.env.PROBE_LOGS ? 'inherit' : 'ignore'], env: { ...process.env, REDIS_URL: redis.url, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info', TUNEHIVE_ADMIN_TOKEN: TEST_ADMIN_TOKEN, TUNEHIVE_WORKER_JOIN_TOKEN: TEST_JOIN_TOKEN } });
    children.push(coordinator);
    const api = `http://127.0.0.1:${httpPort}/api/v1`;
    const headers = { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' };
    for (let t = Date.now(); ; ) {
      try { if ((await fetch(`${api}/studies`, { headers })).status < 500) break; } catch { /* not up yet */ }
      if (Date.now() - t > 30_000) throw new Error('coordinator did not start');
      await new Promise((r) => setTimeout(r, 200));
    }
    let runtime = '';
    for (let i = 0; i < K; i++) {
      const a = fork(SELF, ['__agent', redis.url, `127.0.0.1:${grpcPort}`, `a${i}`, String(S)], { execArgv: process.execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      children.push(a);
      runtime = (await once<{ runtime: string }>(a, 'ready')).runtime;
    }
    const monitor: RedisMonitor | undefined = f.monitor ? await monitorRedis(redis.url) : undefined;
    const stats0 = await commandStats(admin);
    const cpu0 = cpuMs(coordinator.pid!);
    const others0 = [redis.process.pid!, ...children.slice(1).map((c) => c.pid!)].map(cpuMs);
    const t0 = performance.now();
    const res = await fetch(`${api}/studies`, { method: 'POST', headers, body: JSON.stringify({
      name: 'probe', objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } },
      algorithm: { name: 'random', seed: 1 }, parallelism: K * S, maxTrials: N, trial: { command: ['/bin/true'] },
    }) });
    const study = (await res.json()) as { id: string };
    if (res.status !== 201) throw new Error(`study not created: ${JSON.stringify(study)}`);
    let done: { state: string; counts: Record<string, number> } | undefined;
    for (;;) {
      done = (await (await fetch(`${api}/studies/${study.id}`, { headers })).json()) as typeof done;
      if (done!.state !== 'RUNNING') break;
      if (performance.now() - t0 > HARD_TIMEOUT_MS) throw new Error(`study not done in time: ${JSON.stringify(done!.counts)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuMs(coordinator.pid!) - cpu0;
    const others = [redis.process.pid!, ...children.slice(1).map((c) => c.pid!)].map((pid, i) => cpuMs(pid) - others0[i]!);
    const stats1 = await commandStats(admin);
    const delta = [...stats1].map(([k, v]) => [k, v - (stats0.get(k) ?? 0)] as const).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
    const total = delta.reduce((a, [, v]) => a + v, 0);
    const rate = N / seconds;
    // Where a trial's time goes: waiting in the queue (created -> started) and its attempt (started -> finished).
    const pipe = admin.pipeline();
    for (let n = 0; n < N; n++) pipe.hmget(keys.trial(PREFIX, study.id, n), 'createdAt', 'startedAt', 'finishedAt');
    const rows = ((await pipe.exec()) ?? []).map(([, r]) => (r as Array<string | null>).map(Number));
    const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
    const p99 = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length * 0.99)] ?? NaN;
    const waits = rows.map(([c, s0]) => s0! - c!).filter(Number.isFinite);
    const runs = rows.map(([, s0, e]) => e! - s0!).filter(Number.isFinite);
    const latency = { queuedMsP50: med(waits), queuedMsP99: p99(waits), attemptMsP50: med(runs), attemptMsP99: p99(runs) };
    let byClient: Record<string, Record<string, number>> | undefined;
    const byScript: Record<string, { calls: number; inner: number }> = {};
    if (monitor) {
      monitor.close();
      const names = new Map<string, string>();
      for (const line of ((await admin.client('LIST')) as string).split('\n')) {
        const addr = /addr=(\S+)/.exec(line)?.[1];
        if (addr) names.set(addr, /name=(\S*)/.exec(line)?.[1] || 'anon');
      }
      byClient = {};
      // Commands a script ran, under the script (MONITOR shows a script's call, then its commands).
      const shaNames = new Map<string, string>();
      for (const f of readdirSync('coordinator/store/lua').filter((n) => n.endsWith('.lua'))) shaNames.set(createHash('sha1').update(expandLuaIncludes(readFileSync(`coordinator/store/lua/${f}`, 'utf8'), f.replace(/\.lua$/, ''))).digest('hex').slice(0, 6), f.replace(/\.lua$/, ''));
      let script = '';
      for (const c of monitor.seen) {
        if (c.source !== 'lua' && /^eval/i.test(c.args[0]!)) {
          const sha = /^evalsha$/i.test(c.args[0]!) ? c.args[1]!.slice(0, 6) : createHash('sha1').update(c.args[1]!).digest('hex').slice(0, 6);
          script = `${shaNames.get(sha) ?? `bullmq:${sha}`}`;
          (byScript[script] ??= { calls: 0, inner: 0 }).calls += 1 / N;
        } else if (c.source === 'lua' && script) byScript[script]!.inner += 1 / N;
      }
      for (const c of monitor.seen) {
        const who = c.source === 'lua' ? 'lua' : (names.get(c.addr ?? '') ?? 'gone').replace(/-a\d+$|:.*$/, '');
        const cmd = c.args[0]!.toLowerCase() + (c.args[0]!.toLowerCase() === 'evalsha' ? ':' + c.args[1]!.slice(0, 6) : '');
        (byClient[who] ??= {})[cmd] = ((byClient[who] ??= {})[cmd] ?? 0) + 1 / N;
      }
      for (const m of Object.values(byClient)) for (const k of Object.keys(m)) m[k] = +m[k]!.toFixed(2);
      for (const v of Object.values(byScript)) { v.calls = +v.calls.toFixed(2); v.inner = +v.inner.toFixed(1); }
    }
    console.log(JSON.stringify({
      runtime, trials: N, agents: K, slots: S, state: done!.state, counts: done!.counts, seconds: +seconds.toFixed(2),
      trialsPerSecond: Math.round(rate), ...latency, bullmqRawJobsPerSecond: raw && Math.round(raw), ratio: raw && +(rate / raw).toFixed(3),
      coordinatorCpuMsPerTrial: +(cpu / N).toFixed(3), coordinatorCpuShare: +(cpu / 1000 / seconds).toFixed(2),
      redisCpuMsPerTrial: +(others[0]! / N).toFixed(3), ...(ceiling ? { bullmqRawRedisCpuMsPerJob: +ceiling.redisCpuMsPerJob.toFixed(3) } : {}),
      // CPU of every process per unit of work: on a machine others load, the ratio of rates the two would reach with the same CPU.
      cpuMsPerTrial: +((cpu + others.reduce((a, b) => a + b, 0)) / N).toFixed(3),
      ...(ceiling ? { bullmqRawCpuMsPerJob: +ceiling.cpuMsPerJob.toFixed(3), cpuRatio: +(ceiling.cpuMsPerJob / ((cpu + others.reduce((a, b) => a + b, 0)) / N)).toFixed(3) } : {}), redisCpuShare: +(others[0]! / 1000 / seconds).toFixed(2),
      agentCpuMsPerTrial: +(others.slice(1).reduce((a, b) => a + b, 0) / N).toFixed(3), agentsCpuShare: +(others.slice(1).reduce((a, b) => a + b, 0) / 1000 / seconds).toFixed(2), redisCommandsPerTrial: +(total / N).toFixed(1),
      ...(byClient ? { byClient, byScript } : {}),
      topCommands: Object.fromEntries(delta.slice(0, 16).map(([k, v]) => [k, +(v / N).toFixed(2)])),
    }));
  } finally {
    for (const c of children.slice(1)) c.send?.({ type: 'stop' });
    await Promise.all(children.slice(1).map((c) => new Promise<void>((r) => { if (c.exitCode !== null) r(); c.once('exit', () => r()); setTimeout(() => { c.kill('SIGKILL'); r(); }, 15_000).unref(); })));
    const coord = children[0];
    if (coord && coord.exitCode === null) {
      const exited = new Promise<void>((r) => coord.once('exit', () => r()));
      coord.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (coord.exitCode === null) coord.kill('SIGKILL');
    }
    admin.disconnect();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const [mode, ...args] = process.argv.slice(2);
if (mode === '__agent') await agentChild(args[0]!, args[1]!, args[2]!, Number(args[3]));
else if (mode === '__bullmq') await bullmqChild(args[0]!, args[1]!, Number(args[2]), Number(args[3]));
else await main().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1); });
