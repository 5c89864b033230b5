/**
 * Ask/tell under load: N concurrent HTTP clients, each looping ask -> trivial objective (x²) ->
 * tell over a keep-alive connection, against one coordinator (a child process, so the clients
 * and the coordinator do not share an event loop), one study per algorithm; and, in the same
 * run and on the same Redis, Optuna's samplers on JournalRedisStorage with the same objective
 * and trial count (bench/optuna_journal.py, run with /usr/bin/python3).
 *
 *   npm run bench:ask-tell [-- --clients 16 --trials 2000 --algorithms random,tpe --no-optuna --optuna-processes 2]
 *
 * Without `--redis-url` (or REDIS_URL) it runs its own redis-server on a free port.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../cli/local-redis.js';
import { httpRequest } from '../http-request.js';
import { dropPrefix } from './drop-prefix.js';
import { percentile, type Figure, type Section } from './figures.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const PYTHON = '/usr/bin/python3';

export interface AskTellOptions {
  /** A running coordinator to load (then `token` is its admin token); default: one started here. */
  baseUrl?: string;
  token?: string;
  redisUrl: string;
  clients: number;
  /** Trials per algorithm (and per Optuna sampler). */
  trials: number;
  algorithms: string[];
  optuna: boolean;
  /** Optuna worker processes (default: the CPU count, Optuna's best on a small machine: 2 beat 1 in ../shared/bench/ceilings.md). */
  optunaProcesses?: number;
  /** Optuna samplers to run (default tpe and random). */
  optunaSamplers?: string[];
  prefix?: string;
  say?: (line: string) => void;
}

interface Run { trialsPerSecond: number; ask: number[]; tell: number[]; completed: number; wallS: number; cpu: { coordinatorMs?: number; clientsMs: number } }

/** utime + stime of a process in ms (Linux /proc), or undefined elsewhere. */
function cpuMsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // fields 14 and 15, in clock ticks (USER_HZ 100)
  } catch {
    return undefined;
  }
}

async function startCoordinator(redisUrl: string, prefix: string): Promise<{ url: string; token: string; child: ChildProcess; dir: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-bench-asktell-'));
  const token = randomBytes(24).toString('hex');
  const httpPort = await freePort();
  const grpcPort = await freePort();
    // e.g. BENCH_COORDINATOR_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the coordinator.
  const nodeArgs = (process.env.BENCH_COORDINATOR_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // BENCH_COORDINATOR_ROOT: another checkout's coordinator (a before/after comparison in one session).
  const child = spawn(process.execPath, [...nodeArgs, path.join(process.env.BENCH_COORDINATOR_ROOT ?? root, 'bin/tunehive.mjs'), 'coordinator', '--prefix', prefix, '--host', '127.0.0.1',
    '--http-port', String(httpPort), '--grpc-port', String(grpcPort), '--checkpoint-dir', path.join(dir, 'ckpt')], {
    // The Redis URL carries a password: by environment, never in argv.
    stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, REDIS_URL: redisUrl, LOG_LEVEL: 'warn', TUNEHIVE_ADMIN_TOKEN: token },
  });
  const url = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the coordinator exited with ${child.exitCode} before answering`);
    try {
      const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (r.status < 500) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`the coordinator did not answer on ${url} within 30 s`); }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, token, child, dir };
}

/** One study of `trials` trials driven to its end by `clients` loops of ask -> x² -> tell. */
async function drive(base: string, token: string, algorithm: string, clients: number, trials: number, project: string, coordinatorPid?: number): Promise<Run> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const call = async (method: string, url: string, body?: unknown) => {
    const r = await httpRequest(agent, base, method, url, { token, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    return { status: r.status, body: r.text ? JSON.parse(r.text) : undefined };
  };
  try {
    const created = await call('POST', '/api/v1/studies', {
      name: `bench-ask-tell-${algorithm}`, project, objective: { metric: 'loss', direction: 'minimize' },
      searchSpace: { x: { type: 'float', min: -10, max: 10 } }, algorithm: { name: algorithm, seed: 1 }, maxTrials: trials,
    });
    if (created.status !== 201) throw new Error(`creating the ${algorithm} study: ${created.status} ${JSON.stringify(created.body)}`);
    const id = created.body.id as string;
    const ask: number[] = [];
    const tell: number[] = [];
    let completed = 0;
    const c0 = cpuMsOf(coordinatorPid);
    const u0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: clients }, async () => {
      for (;;) {
        const a0 = performance.now();
        const asked = await call('POST', `/api/v1/studies/${id}/trials/ask`);
        const a1 = performance.now();
        // 409: every trial is asked (maxTrials reached) or the study has ended.
        if (asked.status === 409) return;
        if (asked.status !== 201) throw new Error(`ask: ${asked.status} ${JSON.stringify(asked.body)}`);
        ask.push(a1 - a0);
        const x = asked.body.params.x as number;
        const told = await call('POST', `/api/v1/studies/${id}/trials/${asked.body.number}/tell`, { value: x * x });
        tell.push(performance.now() - a1);
        if (told.status !== 200) throw new Error(`tell: ${told.status} ${JSON.stringify(told.body)}`);
        completed++;
      }
    }));
    const wallS = (performance.now() - t0) / 1000;
    const u = process.cpuUsage(u0);
    const c1 = cpuMsOf(coordinatorPid);
    const cpu = { clientsMs: (u.user + u.system) / 1000, ...(c0 !== undefined && c1 !== undefined ? { coordinatorMs: c1 - c0 } : {}) };
    if (completed !== trials) throw new Error(`${algorithm}: ${completed} trials told, ${trials} expected`);
    await call('DELETE', `/api/v1/studies/${id}`);
    return { trialsPerSecond: completed / wallS, ask: ask.sort((a, b) => a - b), tell: tell.sort((a, b) => a - b), completed, wallS, cpu };
  } finally {
    agent.destroy();
  }
}

interface OptunaResult { sampler: string; procs: number; trials: number; wall_s: number; trials_per_s: number; optuna: string; complete_in_storage: number }

/** Why Optuna cannot run here, or undefined when it can. */
function optunaMissing(): Promise<string | undefined> {
  if (!existsSync(PYTHON)) return Promise.resolve(`${PYTHON} is missing`);
  return new Promise((resolve) => {
    execFile(PYTHON, ['-c', 'import optuna, redis'], (err) => resolve(err ? `${PYTHON} cannot import optuna and redis (apt-get install -y python3-optuna python3-redis)` : undefined));
  });
}

function runOptuna(redisUrl: string, sampler: string, procs: number, trials: number): Promise<OptunaResult> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [path.join(root, 'bench/optuna_journal.py'), sampler, String(procs), String(trials)], {
      env: { ...process.env, REDIS_URL: redisUrl }, timeout: 600_000, maxBuffer: 1 << 22,
    }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`optuna_journal.py ${sampler}: ${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as OptunaResult);
    });
  });
}

export async function runAskTell(o: AskTellOptions): Promise<Section> {
  const say = o.say ?? ((l: string) => console.error(l));
  const prefix = o.prefix ?? `bench-asktell-${randomBytes(3).toString('hex')}`;
  const notes: string[] = [];
  const figures: Figure[] = [];
  let started: Awaited<ReturnType<typeof startCoordinator>> | undefined;
  try {
    let base = o.baseUrl;
    let token = o.token;
    if (!base) {
      started = await startCoordinator(o.redisUrl, prefix);
      base = started.url;
      token = started.token;
    }
    if (!token) throw new Error('a token is needed with baseUrl');
    const project = 'default';
    // Untimed: compiles the coordinator's paths, opens the connections and starts the suggestion
    // thread of model-based samplers (from source, ~1 s), as on a coordinator that has been running.
    // Optuna's processes likewise import optuna before their clock starts.
    say(`ask/tell: warm-up (${['random', ...o.algorithms.filter((a) => a !== 'random')].join(', ')}) ...`);
    await drive(base, token, 'random', o.clients, 300, project);
    for (const algorithm of o.algorithms.filter((a) => a !== 'random')) await drive(base, token, algorithm, o.clients, 60, project);
    const ours = new Map<string, Run>();
    for (const algorithm of o.algorithms) {
      say(`ask/tell: ${algorithm}, ${o.trials} trials from ${o.clients} clients ...`);
      const r = await drive(base, token, algorithm, o.clients, o.trials, project, started?.child.pid);
      ours.set(algorithm, r);
      say(`  ${r.trialsPerSecond.toFixed(0)} trials/s (ask p50 ${percentile(r.ask, 50).toFixed(2)} ms, tell p50 ${percentile(r.tell, 50).toFixed(2)} ms; CPU per trial: coordinator ${((r.cpu.coordinatorMs ?? NaN) / r.completed).toFixed(2)} ms, clients ${(r.cpu.clientsMs / r.completed).toFixed(2)} ms)`);
    }
    const optuna = new Map<string, OptunaResult>();
    if (o.optuna) {
      const missing = await optunaMissing();
      if (missing) notes.push(`Optuna not measured: ${missing}`);
      else {
        const procs = o.optunaProcesses ?? os.cpus().length;
        for (const sampler of o.optunaSamplers ?? ['tpe', 'random']) {
          say(`optuna: ${sampler} on JournalRedisStorage, ${o.trials} trials from ${procs} processes ...`);
          const r = await runOptuna(o.redisUrl, sampler, procs, o.trials);
          optuna.set(sampler, r);
          say(`  ${r.trials_per_s.toFixed(0)} trials/s`);
        }
        notes.push(`Optuna ${[...optuna.values()][0]?.optuna ?? '?'} on JournalStorage(JournalRedisStorage) on the same Redis, ${procs} processes (multiprocessing), objective x² over x in [-10, 10], ${o.trials} trials each.`);
      }
    }
    for (const [algorithm, r] of ours) {
      const peer = optuna.get(algorithm);
      const f: Figure = { key: `askTell.${algorithm}.trialsPerSecond`, label: `ask/tell ${algorithm}: trials/s (ask + x² + tell, ${o.clients} HTTP clients)`, value: r.trialsPerSecond, unit: 'trials/s' };
      if (peer) f.against = { label: `Optuna ${algorithm === 'tpe' ? 'TPESampler' : 'RandomSampler'} on JournalRedisStorage, ${peer.procs} processes`, value: peer.trials_per_s };
      if (r.cpu.coordinatorMs !== undefined) {
        const ms = r.cpu.coordinatorMs / r.completed;
        // The coordinator is one process: its CPU per trial bounds the rate whatever the clients do.
        f.limit = `coordinator CPU ${ms.toFixed(2)} ms per trial: one core caps it near ${(1000 / ms).toFixed(0)} trials/s (clients ${(r.cpu.clientsMs / r.completed).toFixed(2)} ms per trial besides)`;
      }
      if (algorithm === 'random') f.target = { text: '≥ 1,500 trials/s', met: r.trialsPerSecond >= 1500 };
      if (algorithm === 'tpe' && peer) f.target = { text: '≥ 2x Optuna TPE on JournalRedisStorage', met: r.trialsPerSecond >= 2 * peer.trials_per_s };
      figures.push(f);
      if (r.cpu.coordinatorMs !== undefined) figures.push({ key: `askTell.${algorithm}.coordinatorCpuMsPerTrial`, label: `ask/tell ${algorithm}: coordinator CPU per trial (ask + tell)`, value: r.cpu.coordinatorMs / r.completed, unit: 'ms' });
      for (const [what, xs] of [['ask', r.ask], ['tell', r.tell]] as const) {
        figures.push({ key: `askTell.${algorithm}.${what}P50`, label: `ask/tell ${algorithm}: ${what} p50`, value: percentile(xs, 50), unit: 'ms' });
        figures.push({ key: `askTell.${algorithm}.${what}P99`, label: `ask/tell ${algorithm}: ${what} p99`, value: percentile(xs, 99), unit: 'ms' });
      }
    }
    for (const [sampler, r] of optuna) {
      if (o.algorithms.includes(sampler)) continue;
      figures.push({ key: `askTell.optuna.${sampler}.trialsPerSecond`, label: `Optuna ${sampler} on JournalRedisStorage, ${r.procs} processes`, value: r.trials_per_s, unit: 'trials/s' });
    }
    notes.push(`All on ${os.cpus().length} CPUs shared by the clients, the coordinator${o.baseUrl ? ' (given)' : ' (a child process)'}, Redis and Optuna's processes. Load average at the end: ${os.loadavg()[0]!.toFixed(1)} (other work on the machine skews absolute figures; ratios and CPU per unit less).`);
    return { name: 'ask/tell', settings: { clients: o.clients, trials: o.trials, algorithms: o.algorithms, optuna: o.optuna }, figures, notes };
  } finally {
    if (started) {
      started.child.kill('SIGTERM');
      await new Promise<void>((r) => { if (started!.child.exitCode !== null) r(); else started!.child.once('exit', () => r()); });
      rmSync(started.dir, { recursive: true, force: true });
      if (!o.prefix) await dropPrefix(o.redisUrl, prefix);
    }
  }
}
