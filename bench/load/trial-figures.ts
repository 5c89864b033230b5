/** A measured run (trial-run.ts) as report figures, with what limits it where the run shows it. */
import os from 'node:os';
import type { Figure } from './figures.js';
import type { TrialRunResult } from './trial-run.js';

const MiB = 2 ** 20;

/** Where the run's CPU went, in cores: the usual limit on a small machine. */
export function cpuShare(r: TrialRunResult): { coordinator: number; agents: number; redis: number; text: string } {
  const coordinator = (r.coordinatorCpuMsPerTrial * r.trialsPerSecond) / 1000;
  const agents = (r.agentCpuMsPerTrial * r.trialsPerSecond) / 1000;
  const redis = r.redisCpuPercent / 100;
  const cores = os.cpus().length;
  return {
    coordinator, agents, redis,
    text: `CPU in cores: coordinators ${coordinator.toFixed(2)}, agents ${agents.toFixed(2)}, Redis ${redis.toFixed(2)}, of ${cores}; the machine ${r.machineBusyPercent.toFixed(0)} % busy (all processes, other load included)`,
  };
}

export function trialFigures(prefix: string, what: string, r: TrialRunResult, ceiling?: { label: string; value: number; target: string }): Figure[] {
  const share = cpuShare(r);
  const f: Figure[] = [{
    key: `${prefix}.trialsPerSecond`, label: `${what} trials/s end to end`, value: r.trialsPerSecond, unit: 'trials/s',
    ...(ceiling ? { against: { label: ceiling.label, value: ceiling.value }, target: { text: ceiling.target, met: r.trialsPerSecond >= 0.5 * ceiling.value } } : {}),
    limit: share.text,
  },
  { key: `${prefix}.dispatchP50Ms`, label: `${what} dispatch latency p50 (enqueued -> program started)`, value: r.dispatch.p50, unit: 'ms' },
  { key: `${prefix}.dispatchP99Ms`, label: `${what} dispatch latency p99`, value: r.dispatch.p99, unit: 'ms', limit: 'includes the wait in the queue: studies keep more trials queued than there are slots' },
  { key: `${prefix}.completionP50Ms`, label: `${what} completion latency p50 (program exit -> COMPLETED)`, value: r.completion.p50, unit: 'ms' },
  { key: `${prefix}.completionP99Ms`, label: `${what} completion latency p99`, value: r.completion.p99, unit: 'ms' },
  { key: `${prefix}.metricPointsPerSecond`, label: `${what} metric points/s stored`, value: r.pointsPerSecond, unit: 'points/s' },
  {
    key: `${prefix}.redisCallsPerTrial`, label: `${what} Redis commands per trial (INFO commandstats delta / trials: every client, idle polling and the calls inside Lua scripts included)`,
    value: r.callsPerTrial, unit: 'commands', limit: `most: ${r.topCommandsPerTrial}`,
  },
  { key: `${prefix}.coordinatorCpuMsPerTrial`, label: `${what} coordinator CPU per trial`, value: r.coordinatorCpuMsPerTrial, unit: 'ms' },
  { key: `${prefix}.agentCpuMsPerTrial`, label: `${what} agent CPU per trial (the agents' own, not their programs')`, value: r.agentCpuMsPerTrial, unit: 'ms' },
  { key: `${prefix}.coordinatorPeakRssMiB`, label: `${what} coordinator peak RSS`, value: r.coordinatorPeakRssBytes / MiB, unit: 'MiB' },
  { key: `${prefix}.agentPeakRssMiB`, label: `${what} agent peak RSS (largest agent)`, value: r.agentPeakRssBytes / MiB, unit: 'MiB' },
  { key: `${prefix}.redisBytesPerTrial`, label: `${what} Redis memory per finished trial (used_memory delta / trials)`, value: r.redisBytesPerTrial, unit: 'bytes' },
  { key: `${prefix}.redisCpuPercent`, label: `${what} Redis CPU (INFO cpu, % of one core)`, value: r.redisCpuPercent, unit: '%' },
  { key: `${prefix}.machineBusyPercent`, label: `${what} machine CPU busy (all cores, every process on it)`, value: r.machineBusyPercent, unit: '%' },
  {
    key: `${prefix}.accounted`, label: `${what} trials accounted for (COMPLETED exactly once, none stuck, queues empty)`, value: r.accounting.completed, unit: 'trials',
    target: { text: 'every trial accounted for', met: r.accounting.ok }, ...(r.accounting.ok ? {} : { limit: r.accounting.problems.join('; ') }),
  }];
  return f;
}
