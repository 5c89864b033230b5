/**
 * The agent's fast path for real-process trials: a private Redis, one coordinator and K agents
 * as child processes (the `tunehive` command, as deployed), one `random` study of N trials whose
 * program is `/bin/echo score=<x>`; trials/s end to end next to Node's raw spawn rate of the same
 * program at the same concurrency (spawn, read its output, wait for its exit), measured in the
 * same run while the stack idles; CPU ms per trial of the agents and the coordinator
 * (/proc/<pid>/stat). With `cpuProfDir` every agent writes a V8 CPU profile (`node --cpu-prof`).
 *
 *   npx tsx bench/load/agent-path.ts [--agents 2] [--slots 32] [--trials 3000] [--spawn-seconds 5] [--cpu-prof DIR]
 *                                    [--work-root DIR] [--agent-bin OTHER_CHECKOUT/bin/tunehive.mjs]
 *
 * `--agent-bin` runs the agents of another checkout (e.g. `git archive main | tar -x -C /tmp/before`
 * plus a node_modules link) against this coordinator: two agents' versions compared in one run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, startLocalRedis } from '../../cli/local-redis.js';
import { killAll, waitForHttp } from '../../test/helpers/processes.js';
import { authHeaders, TEST_ADMIN_TOKEN, TEST_JOIN_TOKEN } from '../../test/helpers/tokens.js';
import type { Section } from './figures.js';

export interface AgentPathOptions {
  agents: number;
  slots: number;
  trials: number;
  /** How long the raw spawn ceiling is measured for. */
  spawnSeconds: number;
  /** The trial program: argv, `${params.x}` substituted (a float in [0, 1)). */
  program?: string[];
  cpuProfDir?: string;
  /** The `tunehive` entry the agents run (another checkout's, to compare two versions of the agent in one run); the coordinator is always this one. */
  agentBin?: string;
  /** Where the agents' work dirs (and Redis's data dir) go: the trial folders' file system matters (default: the OS temp dir). */
  workRoot?: string;
  redisUrl?: string;
  say?: (line: string) => void;
}

const TICKS_PER_SECOND = 100;

/** utime + stime of a process, in ms (Linux /proc; 0 where there is none). */
export function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // The command name (field 2) may hold spaces: fields are counted after its closing paren.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Resident memory of a process in MB (Linux /proc; 0 where there is none). */
export function rssMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Programs started and exited per second with `concurrency` at once, as the agent starts them
 * (pipes, own group), and the spawning process's own CPU per program (the floor of an agent's).
 */
export async function rawSpawnRate(argv: string[], concurrency: number, seconds: number): Promise<{ perSecond: number; cpuMs: number }> {
  const [file, ...args] = argv;
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  const one = () => new Promise<void>((resolve) => {
    const child = spawn(file!, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout.on('data', () => undefined);
    child.stderr.on('data', () => undefined);
    child.on('error', () => resolve());
    child.on('close', () => resolve());
  });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      await one();
      done++;
    }
  }));
  const c = process.cpuUsage(c0);
  return { perSecond: done / ((performance.now() - t0) / 1000), cpuMs: (c.user + c.system) / 1000 / done };
}

export async function runAgentPath(o: AgentPathOptions): Promise<Section> {
  const say = o.say ?? ((l: string) => process.stderr.write(`${l}\n`));
  const program = o.program ?? ['/bin/echo', 'score=${params.x}'];
  const rawArgv = program.map((a) => a.replace('${params.x}', '0.5'));
  const tmp = mkdtempSync(path.join(o.workRoot ?? os.tmpdir(), 'tunehive-agent-path-'));
  const redis = o.redisUrl ? undefined : await startLocalRedis({ dataDir: path.join(tmp, 'redis') });
  const redisUrl = o.redisUrl ?? redis!.url;
  const prefix = `ap${Date.now().toString(36)}`;
  const ports = { http: await freePort(), grpc: await freePort() };
  const base = `http://127.0.0.1:${ports.http}`;
  const children: ChildProcess[] = [];
  const env = { ...process.env, REDIS_URL: redisUrl, LOG_LEVEL: 'warn', TUNEHIVE_ADMIN_TOKEN: TEST_ADMIN_TOKEN, TUNEHIVE_WORKER_JOIN_TOKEN: TEST_JOIN_TOKEN, TUNEHIVE_JOIN_TOKEN: TEST_JOIN_TOKEN };
  // Agents run in this checkout (a git checkout, as a user's would be): provenance capture reads it.
  const node = (args: string[], agent: boolean) => spawn(process.execPath, [
    ...(agent && o.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(o.cpuProfDir)] : []), path.resolve(agent && o.agentBin ? o.agentBin : 'bin/tunehive.mjs'), ...args,
  ], { stdio: ['ignore', 'ignore', 'inherit'], env });
  const api = async (method: string, url: string, body?: unknown): Promise<any> => {
    const r = await fetch(`${base}${url}`, { method, headers: authHeaders(body ? { 'content-type': 'application/json' } : {}), body: body ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(10_000) });
    return r.json();
  };
  try {
    const coordinator = node(['coordinator', '--prefix', prefix, '--http-port', String(ports.http), '--grpc-port', String(ports.grpc), '--checkpoint-dir', path.join(tmp, 'ckpt')], false);
    children.push(coordinator);
    await waitForHttp(`${base}/api/v1/studies`);
    const agents = Array.from({ length: o.agents }, (_, i) => node(['worker', '--prefix', prefix, '--coordinator', `127.0.0.1:${ports.grpc}`, '--slots', String(o.slots),
      '--id', `ap-w${i}`, '--work-dir', path.join(tmp, `w${i}`), '--gpus', 'none'], true));
    children.push(...agents);
    for (let i = 0; ; i++) {
      const ws = await api('GET', '/api/v1/workers');
      if ((ws.workers ?? []).length >= o.agents) break;
      if (i > 300) throw new Error('the agents did not register within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const concurrency = o.agents * o.slots;
    say(`agent-path: ${o.agents} agents x ${o.slots} slots, ${o.trials} trials of ${JSON.stringify(program)}`);
    const rawBefore = await rawSpawnRate(rawArgv, concurrency, o.spawnSeconds);
    say(`agent-path: raw spawn (before) ${rawBefore.perSecond.toFixed(0)}/s`);

    const study = await api('POST', '/api/v1/studies', {
      name: 'agent-path', objective: { metric: 'score', direction: 'maximize' },
      searchSpace: { x: { type: 'float', min: 0, max: 1 } }, algorithm: { name: 'random', seed: 1 },
      // Twice the slots: a slot that frees finds the next job already queued.
      parallelism: concurrency * 2, maxTrials: o.trials, trial: { command: program },
    });
    if (!study.id) throw new Error(`study not created: ${JSON.stringify(study)}`);
    // The window starts once the first slots are busy (start-up excluded) and ends when every trial is final.
    const warm = Math.min(concurrency, Math.floor(o.trials / 10));
    let t0 = 0;
    let done0 = 0;
    let cpu0: number[] = [];
    let rss0: number[] = [];
    let state: any;
    const deadline = Date.now() + 10 * 60_000;
    for (;;) {
      state = await api('GET', `/api/v1/studies/${study.id}`);
      const finished = state.counts.completed + state.counts.failed + (state.counts.pruned ?? 0);
      if (!t0 && finished >= warm) {
        t0 = performance.now();
        done0 = finished;
        cpu0 = children.map((c) => cpuMs(c.pid));
        rss0 = children.map((c) => rssMb(c.pid));
      }
      if (state.state !== 'RUNNING') break;
      if (Date.now() > deadline) throw new Error('the study did not end within 10 minutes');
      await new Promise((r) => setTimeout(r, 50));
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = children.map((c, i) => cpuMs(c.pid) - (cpu0[i] ?? 0));
    const rss = children.map((c) => rssMb(c.pid));
    const finished = state.counts.completed + state.counts.failed + (state.counts.pruned ?? 0);
    const trials = finished - done0;
    const rate = trials / seconds;
    const rawAfter = await rawSpawnRate(rawArgv, concurrency, o.spawnSeconds);
    say(`agent-path: raw spawn (after) ${rawAfter.perSecond.toFixed(0)}/s`);
    const raw = (rawBefore.perSecond + rawAfter.perSecond) / 2;
    const rawCpu = (rawBefore.cpuMs + rawAfter.cpuMs) / 2;
    const agentCpu = cpu.slice(1).reduce((a, b) => a + b, 0) / trials;
    const coordinatorCpu = cpu[0]! / trials;
    const notes = [`raw spawn before ${rawBefore.perSecond.toFixed(0)}/s, after ${rawAfter.perSecond.toFixed(0)}/s (the mean is the ceiling)`,
      `${state.counts.completed} COMPLETED, ${state.counts.failed} FAILED of ${o.trials}; window ${trials} trials in ${seconds.toFixed(1)} s`,
      `RSS MB over the window: coordinator ${rss0[0]!.toFixed(0)} -> ${rss[0]!.toFixed(0)}, agents ${rss0.slice(1).map((r, i) => `${r.toFixed(0)} -> ${rss[i + 1]!.toFixed(0)}`).join(', ')}`];
    if (state.counts.failed > 0) notes.push('some trials FAILED: the figure is not of a healthy run');
    return {
      name: 'agent fast path (real processes)',
      settings: { agents: o.agents, slots: o.slots, trials: o.trials, program: rawArgv.join(' ') },
      figures: [
        { key: 'process.trialsPerSecond', label: 'real-process trials/s end to end', value: rate, unit: 'trials/s', against: { label: 'Node raw spawn rate, same program and concurrency', value: raw },
          target: { text: '≥ 50 % of raw spawn', met: rate >= raw / 2 } },
        { key: 'process.agentCpuMsPerTrial', label: 'agent CPU per trial (all agents)', value: agentCpu, unit: 'ms', against: { label: 'CPU of the raw spawner per program', value: rawCpu } },
        { key: 'process.coordinatorCpuMsPerTrial', label: 'coordinator CPU per trial', value: coordinatorCpu, unit: 'ms' },
      ],
      notes,
    };
  } finally {
    // SIGTERM first: an agent writes its CPU profile only on a clean exit.
    for (const c of children) c.kill('SIGTERM');
    await Promise.race([Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(undefined) : c.once('exit', r))))), new Promise((r) => setTimeout(r, 20_000))]);
    await killAll(children);
    await redis?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const { values: a } = parseArgs({
    options: { agents: { type: 'string', default: '2' }, slots: { type: 'string', default: '32' }, trials: { type: 'string', default: '3000' }, 'spawn-seconds': { type: 'string', default: '5' }, 'cpu-prof': { type: 'string' }, 'work-root': { type: 'string' }, 'agent-bin': { type: 'string' } },
  });
  const section = await runAgentPath({
    agents: Number(a.agents), slots: Number(a.slots), trials: Number(a.trials), spawnSeconds: Number(a['spawn-seconds']),
    ...(a['cpu-prof'] ? { cpuProfDir: a['cpu-prof'] } : {}), ...(a['work-root'] ? { workRoot: a['work-root'] } : {}), ...(a['agent-bin'] ? { agentBin: a['agent-bin'] } : {}), ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
  });
  for (const f of section.figures) console.log(`${f.label}: ${f.value.toFixed(2)} ${f.unit}${f.against ? ` (${f.against.label} ${f.against.value.toPrecision(3)}; ratio ${(f.value / f.against.value).toFixed(3)})` : ''}`);
  for (const n of section.notes ?? []) console.log(`  ${n}`);
}
