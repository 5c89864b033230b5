/**
 * One measured run: M concurrent studies of a trivial objective on the agents already started,
 * timed from submission to the last COMPLETED, with the costs of that span (Redis commands, CPU
 * of coordinators and agents, Redis memory) and the latencies of every trial from its record:
 * dispatch = program started - trial created (= enqueued), completion = COMPLETED - program
 * exit (both times from the agent's Finished message, stored by finishTrial).
 *
 * Then the harness's own accounting, the point of the smoke test: every trial the studies
 * created is COMPLETED exactly once (trial records, study counters and the history list agree),
 * none is stuck (QUEUED or RUNNING after the studies ended), no job is left in the queues.
 */
import { Queue } from 'bullmq';
import { percentile } from './figures.js';
import { cpuDeltaMs, machineBusyPercent, machineCpu, sampleAll, type ProcSample } from './proc-stats.js';
import { redisCpuPercent, redisSnapshot, topCommands } from './redis-stats.js';
import type { AgentRuntime, LoadStack } from './stack.js';
import { keys } from '../../shared/redis-keys.js';
import { queuePrefix, trialQueueName } from '../../shared/trial-job.js';

export interface TrialRunOptions {
  label: string;
  runtime: AgentRuntime;
  studies: number;
  /** Trials over all studies. */
  trials: number;
  /** Per study: how many of its trials may be queued or running at once. */
  parallelism: number;
  /** The run is stopped after this long (its studies with it); what completed counts. */
  durationS: number;
  /** The trial program (process runtime; the simulated runtime ignores it). */
  command: string[];
  /** The simulated runtime's settings (SIMULATED_STEPS, SIMULATED_MS); also the lines per trial. */
  steps?: number;
  trialMs?: number;
  /** Replicas the studies are submitted to, round-robin (default: the first). */
  replicas?: number[];
  say: (line: string) => void;
}

export interface Latency { p50: number; p99: number; n: number }

export interface Accounting {
  ok: boolean;
  submitted: number;
  created: number;
  completed: number;
  /** Trials whose COMPLETED is in the history more than once. */
  completedTwice: number;
  /** Trials created but not COMPLETED (a stopped run's cancelled trials are not lost). */
  notCompleted: number;
  failed: number;
  stuck: number;
  jobsLeft: number;
  problems: string[];
}

export interface TrialRunResult {
  label: string;
  runtime: AgentRuntime;
  studyIds: string[];
  completed: number;
  wallS: number;
  trialsPerSecond: number;
  stoppedAtDuration: boolean;
  dispatch: Latency;
  completion: Latency;
  metricPoints: number;
  pointsPerSecond: number;
  redisCalls: number;
  callsPerTrial: number;
  /** The commands behind callsPerTrial, most first ("evalsha 12.0, hget 8.1, ..."). */
  topCommandsPerTrial: string;
  redisBytesPerTrial: number;
  redisCpuPercent: number;
  /** All cores of the machine, busy with anything (other load included), during the run. */
  machineBusyPercent: number;
  coordinatorCpuMsPerTrial: number;
  agentCpuMsPerTrial: number;
  coordinatorPeakRssBytes: number;
  agentPeakRssBytes: number;
  accounting: Accounting;
  /** What the agents registered as their runtime, and what the first trial's provenance says. */
  agentRuntimes: string[];
  provenanceRuntime?: string;
}

const STUDY_FIELDS = ['state', 'nextNumber', 'completed', 'failed', 'cancelled', 'pruned'] as const;
const TRIAL_FIELDS = ['state', 'attempt', 'createdAt', 'programStartedAt', 'programExitedAt', 'finishedAt', 'points'] as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function latency(values: number[]): Latency {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), n: s.length };
}

export async function runTrials(stack: LoadStack, o: TrialRunOptions): Promise<TrialRunResult> {
  const p = stack.o.prefix;
  const procs = () => [...stack.coordinatorPids(), ...stack.agentPids()];
  const { runtimes: agentRuntimes } = await stack.connectedSlots();
  const beforeProc = sampleAll(procs());
  const beforeRedis = await redisSnapshot(stack.redis);
  const beforeMachine = machineCpu();
  const t0 = Date.now();
  const per = Array.from({ length: o.studies }, (_, i) => Math.floor(o.trials / o.studies) + (i < o.trials % o.studies ? 1 : 0)).filter((n) => n > 0);
  const env: Record<string, string> = { SIMULATED_STEPS: String(o.steps ?? 1), SIMULATED_MS: String(o.trialMs ?? 0) };
  const replicas = o.replicas ?? [0];
  const studyIds: string[] = [];
  for (const [i, maxTrials] of per.entries()) {
    const s = await stack.api<{ id: string }>('POST', '/api/v1/studies', {
      name: `load-${o.label}-${i}`, objective: { metric: 'score', direction: 'maximize' },
      searchSpace: { x: { type: 'float', min: 0, max: 1 } }, algorithm: { name: 'random', seed: i + 1 },
      parallelism: o.parallelism, maxTrials, maxRetries: 3, trial: { command: o.command, env },
    }, replicas[i % replicas.length]);
    studyIds.push(s.id);
  }

  // Progress from the study hashes, one HMGET per study a poll: cheap next to the run it watches
  // (not one pipeline: on a Redis Cluster the studies sit in different slots).
  const readStudies = async () => (await Promise.all(studyIds.map((id) => stack.redis.hmget(keys.study(p, id), ...STUDY_FIELDS))))
    .map((v) => Object.fromEntries(STUDY_FIELDS.map((f, i) => [f, v[i] ?? null])) as Record<(typeof STUDY_FIELDS)[number], string | null>);
  const deadline = t0 + o.durationS * 1000;
  let stoppedAtDuration = false;
  let lastLine = 0;
  let lastDone = 0;
  for (;;) {
    await sleep(200);
    const rows = await readStudies();
    const done = rows.reduce((s, r) => s + Number(r.completed ?? 0), 0);
    if (Date.now() - lastLine >= 1000) {
      const dt = (Date.now() - (lastLine || t0)) / 1000;
      o.say(`  [${o.label}] ${done}/${o.trials} trials completed, ${((done - lastDone) / dt).toFixed(0)}/s, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      lastLine = Date.now();
      lastDone = done;
    }
    if (rows.every((r) => r.state !== 'RUNNING')) break;
    if (Date.now() > deadline && !stoppedAtDuration) {
      stoppedAtDuration = true;
      o.say(`  [${o.label}] --duration ${o.durationS} s reached: stopping the studies; what completed counts`);
      for (const [i, id] of studyIds.entries()) await stack.api('POST', `/api/v1/studies/${id}/stop`, undefined, replicas[i % replicas.length]).catch(() => undefined);
    }
    if (Date.now() > deadline + 60_000) throw new Error(`[${o.label}] the studies did not end within 60 s of being stopped`);
  }
  const afterRedis = await redisSnapshot(stack.redis);
  const afterMachine = machineCpu();
  const afterProc = sampleAll(procs());

  // Trials can still be finishing after a stop: let the stragglers settle before the books close.
  const trials = await settle(stack, studyIds, stoppedAtDuration ? 20_000 : 5000);
  const completedRows = trials.filter((t) => t.state === 'COMPLETED');
  const lastFinish = Math.max(t0 + 1, ...completedRows.map((t) => Number(t.finishedAt ?? 0)));
  const wallS = (lastFinish - t0) / 1000;
  const firstAttempt = completedRows.filter((t) => Number(t.attempt) === 1);
  const dispatch = latency(firstAttempt.map((t) => Number(t.programStartedAt) - Number(t.createdAt)));
  const completion = latency(firstAttempt.map((t) => Number(t.finishedAt) - Number(t.programExitedAt)));
  const metricPoints = completedRows.reduce((s, t) => s + Number(t.points ?? 0), 0);
  const accounting = await account(stack, studyIds, trials, o.trials, stoppedAtDuration);
  const firstDone = firstAttempt[0];
  const prov = firstDone ? await stack.redis.hget(keys.trialProvenance(p, firstDone.studyId, firstDone.number), '1') : null;
  const provenanceRuntime = prov ? (JSON.parse(prov) as { runtime?: string }).runtime : undefined;
  const n = Math.max(1, completedRows.length);
  const peak = (pids: number[], m: Map<number, ProcSample | undefined>) => Math.max(0, ...pids.map((pid) => m.get(pid)?.peakRssBytes ?? 0));
  const result: TrialRunResult = {
    label: o.label, runtime: o.runtime, studyIds, completed: completedRows.length, wallS,
    trialsPerSecond: completedRows.length / wallS, stoppedAtDuration, dispatch, completion,
    metricPoints, pointsPerSecond: metricPoints / wallS,
    redisCalls: afterRedis.calls - beforeRedis.calls, callsPerTrial: (afterRedis.calls - beforeRedis.calls) / n, topCommandsPerTrial: topCommands(beforeRedis, afterRedis, n),
    redisBytesPerTrial: (afterRedis.usedMemory - beforeRedis.usedMemory) / n,
    redisCpuPercent: redisCpuPercent(beforeRedis, afterRedis), machineBusyPercent: machineBusyPercent(beforeMachine, afterMachine),
    coordinatorCpuMsPerTrial: cpuDeltaMs(pick(beforeProc, stack.coordinatorPids()), pick(afterProc, stack.coordinatorPids())) / n,
    agentCpuMsPerTrial: cpuDeltaMs(pick(beforeProc, stack.agentPids()), pick(afterProc, stack.agentPids())) / n,
    coordinatorPeakRssBytes: peak(stack.coordinatorPids(), afterProc), agentPeakRssBytes: peak(stack.agentPids(), afterProc),
    accounting, agentRuntimes, ...(provenanceRuntime ? { provenanceRuntime } : {}),
  };
  o.say(`  [${o.label}] ${result.completed} trials in ${wallS.toFixed(1)} s: ${result.trialsPerSecond.toFixed(0)}/s; dispatch p50/p99 ${dispatch.p50}/${dispatch.p99} ms; accounting ${accounting.ok ? 'ok' : `FAILED: ${accounting.problems.join('; ')}`}`);
  return result;
}

const pick = (m: Map<number, ProcSample | undefined>, pids: number[]) => new Map(pids.map((p) => [p, m.get(p)]));

type TrialRow = Record<(typeof TRIAL_FIELDS)[number], string | null> & { studyId: string; number: number };

/** Every trial record of the studies, re-read until none is QUEUED or RUNNING (or the wait is over). */
async function settle(stack: LoadStack, studyIds: string[], waitMs: number): Promise<TrialRow[]> {
  const until = Date.now() + waitMs;
  for (;;) {
    const rows = await readTrials(stack, studyIds);
    if (rows.every((t) => t.state !== 'QUEUED' && t.state !== 'RUNNING') || Date.now() > until) return rows;
    await sleep(250);
  }
}

export async function readTrials(stack: LoadStack, studyIds: string[]): Promise<TrialRow[]> {
  const p = stack.o.prefix;
  const counts = await Promise.all(studyIds.map(async (id) => Number((await stack.redis.hget(keys.study(p, id), 'nextNumber')) ?? 0)));
  const rows: TrialRow[] = [];
  for (const [si, id] of studyIds.entries()) {
    // Bounded pipelines, each within one study (one hash tag: one cluster slot): a study of
    // 100,000 trials is read 1,000 records at a time.
    for (let from = 0; from < counts[si]!; from += 1000) {
      const pipe = stack.redis.pipeline();
      const to = Math.min(counts[si]!, from + 1000);
      for (let n = from; n < to; n++) pipe.hmget(keys.trial(p, id, n), ...TRIAL_FIELDS);
      const res = (await pipe.exec()) ?? [];
      res.forEach(([, v], i) => rows.push({ studyId: id, number: from + i, ...(Object.fromEntries(TRIAL_FIELDS.map((f, j) => [f, (v as (string | null)[])[j]])) as Record<(typeof TRIAL_FIELDS)[number], string | null>) }));
    }
  }
  return rows;
}

/** The books of a finished run (see the header): what must hold whatever the speed. */
export async function account(stack: LoadStack, studyIds: string[], trials: TrialRow[], submitted: number, stopped: boolean, o: { queues?: boolean } = {}): Promise<Accounting> {
  const p = stack.o.prefix;
  const problems: string[] = [];
  let completedTwice = 0;
  let historyCompleted = 0;
  let counterCompleted = 0;
  const projects = new Set<string>();
  for (const id of studyIds) {
    const view = await stack.api<{ state: string; project?: string; counts: { completed: number } }>('GET', `/api/v1/studies/${id}`);
    counterCompleted += view.counts.completed;
    projects.add(view.project ?? 'default');
    if (!stopped && view.state !== 'COMPLETED') problems.push(`study ${id} ended ${view.state}, not COMPLETED`);
    const seen = new Map<number, number>();
    const len = await stack.redis.llen(keys.history(p, id));
    for (let from = 0; from < len; from += 5000) {
      for (const raw of await stack.redis.lrange(keys.history(p, id), from, from + 4999)) {
        const h = JSON.parse(raw) as { n: number; s: string };
        if (h.s === 'COMPLETED') seen.set(h.n, (seen.get(h.n) ?? 0) + 1);
      }
    }
    for (const c of seen.values()) {
      historyCompleted++;
      if (c > 1) completedTwice++;
    }
  }
  const completed = trials.filter((t) => t.state === 'COMPLETED').length;
  const failed = trials.filter((t) => t.state === 'FAILED').length;
  const stuck = trials.filter((t) => t.state === 'QUEUED' || t.state === 'RUNNING' || t.state === 'PAUSED').length;
  if (completedTwice > 0) problems.push(`${completedTwice} trials COMPLETED more than once`);
  if (historyCompleted !== completed) problems.push(`${completed} trial records COMPLETED but ${historyCompleted} in the history`);
  if (counterCompleted !== completed) problems.push(`${completed} trial records COMPLETED but the study counters say ${counterCompleted}`);
  if (!stopped && trials.length !== submitted) problems.push(`${trials.length} trials created of ${submitted} submitted`);
  if (!stopped && completed !== submitted) problems.push(`${submitted - completed} of ${submitted} trials not COMPLETED (${failed} FAILED)`);
  if (failed > 0) problems.push(`${failed} trials FAILED`);
  if (stuck > 0) problems.push(`${stuck} trials stuck QUEUED/RUNNING/PAUSED after the studies ended`);
  // The queues are shared by every study of a project: only empty once all of them have ended.
  const jobsLeft = o.queues === false ? 0 : await queuedJobs(stack, [...projects]);
  if (jobsLeft > 0) problems.push(`${jobsLeft} jobs left in the trial queues`);
  return { ok: problems.length === 0, submitted, created: trials.length, completed, completedTwice, notCompleted: trials.length - completed, failed, stuck, jobsLeft, problems };
}

/**
 * Jobs still in the projects' trial queues (waiting, active, delayed, ...), after up to 5 s for
 * the last ones: an agent completes its BullMQ job just after the coordinator has acknowledged
 * the trial's Finished.
 */
export async function queuedJobs(stack: LoadStack, projects: string[]): Promise<number> {
  const until = Date.now() + 5000;
  for (;;) {
    let n = 0;
    for (const project of projects) {
      const q = new Queue(trialQueueName(project, 0), { connection: stack.redis, prefix: queuePrefix(stack.o.prefix) });
      const c = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
      n += Object.values(c).reduce((a, b) => a + b, 0);
      await q.close();
    }
    if (n === 0 || Date.now() > until) return n;
    await sleep(200);
  }
}
