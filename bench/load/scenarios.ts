/**
 * The trial scenarios of bench:load, each a report section:
 *   throughput  each mode (process, simulated) on K agents x S slots, M studies, against its ceiling;
 *   slots1000   10 agents x 100 slots (simulated): the maximum throughput, then the studies held
 *               to half of it (trials of a fixed wall time and a parallelism that gives that rate),
 *               where dispatch p99 and the coordinator's RSS are read;
 *   horizontal  one coordinator, then C replicas with the agents spread over them, same studies.
 */
import type { Figure, Section } from './figures.js';
import type { LoadOptions } from './options.js';
import type { AgentRuntime, LoadStack } from './stack.js';
import { runTrials, type TrialRunOptions, type TrialRunResult } from './trial-run.js';
import { cpuShare, trialFigures } from './trial-figures.js';
import type { CeilingMeter } from './ceilings.js';

export interface ScenarioResult { sections: Section[]; runs: TrialRunResult[] }

const MB = 1e6;
const MiB = 2 ** 20;

/** Every measured run is preceded by a short untimed one (JIT, pools, connections) unless --no-warmup. */
async function measured(stack: LoadStack, o: LoadOptions, run: Omit<TrialRunOptions, 'say'>, say: (l: string) => void, runs: TrialRunResult[], before?: () => Promise<void>): Promise<TrialRunResult> {
  if (o.warmup) {
    const w = await runTrials(stack, { ...run, label: `${run.label}-warmup`, trials: Math.min(run.trials, Math.max(50, Math.min(300, 2 * o.agents * o.slots))), say });
    runs.push(w);
  }
  await before?.();
  const r = await runTrials(stack, { ...run, say });
  runs.push(r);
  return r;
}

/** Enough queued work per study that no slot waits for the runner (2x the slots, spread over the studies). */
const fullParallelism = (o: LoadOptions) => Math.min(10_000, Math.ceil((2 * o.agents * o.slots) / o.studies));

export async function throughput(stack: LoadStack, o: LoadOptions, meter: CeilingMeter, say: (l: string) => void): Promise<ScenarioResult> {
  const runs: TrialRunResult[] = [];
  const sections: Section[] = [];
  await stack.ensureCoordinators(o.coordinators);
  const modes: AgentRuntime[] = o.mode === 'both' ? ['process', 'simulated'] : [o.mode];
  for (const mode of modes) {
    say(`bench:load: ${mode} trials on ${o.agents} agents x ${o.slots} slots, ${o.studies} studies, ${o.trials} trials`);
    await stack.startAgents(o.agents, o.slots, mode);
    let raw: number | undefined;
    const r = await measured(stack, o, {
      label: mode, runtime: mode, studies: o.studies, trials: o.trials, parallelism: fullParallelism(o), durationS: o.durationS,
      command: o.program, steps: o.steps, replicas: stack.replicas.map((x) => x.index),
    }, say, runs, async () => { raw = mode === 'process' ? await meter.spawn(`the ${mode} run`) : await meter.bullmq(`the ${mode} run`); });
    const ceiling = raw === undefined ? undefined : mode === 'process'
      ? { label: `Node raw spawn rate of ${o.program.join(' ')} (same concurrency, just before)`, value: raw, target: '≥ 50 % of the raw spawn rate' }
      : { label: 'BullMQ raw no-op jobs/s (addBulk + 1 Worker process, just before)', value: raw, target: '≥ 50 % of BullMQ raw' };
    sections.push({
      name: `throughput: ${mode === 'process' ? 'real processes' : 'simulated runtime (no process)'}`,
      settings: { agents: o.agents, slots: o.slots, studies: o.studies, coordinators: o.coordinators, trials: o.trials, parallelismPerStudy: fullParallelism(o), steps: mode === 'simulated' ? o.steps : undefined, program: mode === 'process' ? o.program.join(' ') : undefined },
      figures: trialFigures(mode === 'process' ? 'proc' : 'sim', mode === 'process' ? 'real-process' : 'simulated', r, ceiling),
      notes: r.stoppedAtDuration ? [`stopped at --duration ${o.durationS} s before all ${o.trials} trials ran`] : [],
    });
  }
  return { sections, runs };
}

export async function slots1000(stack: LoadStack, o: LoadOptions, meter: CeilingMeter, say: (l: string) => void): Promise<ScenarioResult> {
  const runs: TrialRunResult[] = [];
  await stack.ensureCoordinators(o.coordinators);
  say(`bench:load: ${o.agents} agents x ${o.slots} slots (simulated), ${o.studies} studies`);
  await stack.startAgents(o.agents, o.slots, 'simulated');
  const connected = await stack.connectedSlots();
  let bullmq: number | undefined;
  const max = await measured(stack, o, {
    label: 'slots-max', runtime: 'simulated', studies: o.studies, trials: o.trials, parallelism: fullParallelism(o), durationS: o.durationS,
    command: o.program, steps: o.steps, replicas: stack.replicas.map((x) => x.index),
  }, say, runs, async () => { bullmq = await meter.bullmq('the 1,000-slot maximum run'); });
  // Half the maximum as a steady rate: trials of a fixed wall time T, P of them at once, give
  // P / T trials/s; T is 1 s unless that needs more slots than 90 % of those connected.
  const rate = max.trialsPerSecond / 2;
  const slots = o.agents * o.slots;
  const trialMs = Math.max(50, Math.min(1000, Math.floor((0.9 * slots * 1000) / Math.max(1, rate))));
  const perStudy = Math.max(1, Math.round((rate * trialMs) / 1000 / o.studies));
  const paced = Math.max(1, Math.round(rate * Math.min(o.durationS, 20)));
  say(`bench:load: held at half the maximum (${rate.toFixed(0)} trials/s): trials of ${trialMs} ms, parallelism ${perStudy} per study, ${paced} trials`);
  const half = await runTrials(stack, {
    label: 'slots-half', runtime: 'simulated', studies: o.studies, trials: paced, parallelism: perStudy, durationS: o.durationS + Math.ceil(trialMs / 1000) + 10,
    command: o.program, steps: o.steps, trialMs, replicas: stack.replicas.map((x) => x.index), say,
  });
  runs.push(half);
  const figures: Figure[] = [
    { key: 'slots.connected', label: 'worker slots connected at once (registered agents)', value: connected.slots, unit: 'slots', target: { text: `${slots} (${o.agents} x ${o.slots})`, met: connected.slots >= slots } },
    {
      key: 'slots.maxTrialsPerSecond', label: 'maximum simulated trials/s on these slots', value: max.trialsPerSecond, unit: 'trials/s',
      ...(bullmq !== undefined ? { against: { label: 'BullMQ raw no-op jobs/s (just before)', value: bullmq } } : {}), limit: cpuShare(max).text,
    },
    { key: 'slots.halfTrialsPerSecond', label: 'held rate (trials/s)', value: half.trialsPerSecond, unit: 'trials/s', against: { label: 'half the maximum', value: rate } },
    { key: 'slots.dispatchP50Ms', label: 'dispatch latency p50 at half the maximum', value: half.dispatch.p50, unit: 'ms' },
    { key: 'slots.dispatchP99Ms', label: 'dispatch latency p99 at half the maximum', value: half.dispatch.p99, unit: 'ms', target: { text: '< 50 ms', met: half.dispatch.p99 < 50 }, limit: cpuShare(half).text },
    { key: 'slots.completionP99Ms', label: 'completion latency p99 at half the maximum', value: half.completion.p99, unit: 'ms' },
    {
      key: 'slots.coordinatorPeakRssMiB', label: 'coordinator peak RSS (1,000 slots, both phases)', value: Math.max(max.coordinatorPeakRssBytes, half.coordinatorPeakRssBytes) / MiB, unit: 'MiB',
      target: { text: '< 500 MB', met: Math.max(max.coordinatorPeakRssBytes, half.coordinatorPeakRssBytes) < 500 * MB },
    },
    { key: 'slots.agentPeakRssMiB', label: 'agent peak RSS (100 slots each)', value: Math.max(max.agentPeakRssBytes, half.agentPeakRssBytes) / MiB, unit: 'MiB' },
    {
      key: 'slots.accounted', label: 'trials accounted for (both phases)', value: max.accounting.completed + half.accounting.completed, unit: 'trials',
      target: { text: 'every trial accounted for', met: max.accounting.ok && half.accounting.ok },
    },
  ];
  return {
    runs,
    sections: [{
      name: '1,000 worker slots (simulated runtime)',
      settings: { agents: o.agents, slots: o.slots, studies: o.studies, coordinators: o.coordinators, trialsMax: o.trials, trialsHalf: paced, halfTrialMs: trialMs, halfParallelismPerStudy: perStudy },
      figures,
      notes: ['the held phase rate-limits the studies with their parallelism: trials of a fixed wall time, so the rate is parallelism / wall time; dispatch there is enqueue -> program start with slots to spare'],
    }],
  };
}

export async function horizontal(stack: LoadStack, o: LoadOptions, meter: CeilingMeter, say: (l: string) => void): Promise<ScenarioResult> {
  const runs: TrialRunResult[] = [];
  const base = { runtime: 'simulated' as const, studies: o.studies, trials: o.trials, parallelism: fullParallelism(o), durationS: o.durationS, command: o.program, steps: o.steps };
  await stack.ensureCoordinators(1);
  await stack.keepCoordinators(1);
  say(`bench:load: horizontal, 1 coordinator: ${o.agents} agents x ${o.slots} slots, ${o.studies} studies`);
  await stack.startAgents(o.agents, o.slots, 'simulated');
  let bullmq: number | undefined;
  const one = await measured(stack, o, { ...base, label: 'replicas-1', replicas: [0] }, say, runs, async () => { bullmq = await meter.bullmq('the 1-replica run'); });
  await stack.ensureCoordinators(o.coordinators);
  say(`bench:load: horizontal, ${o.coordinators} coordinators, agents spread over them`);
  await stack.startAgents(o.agents, o.slots, 'simulated');
  const many = await measured(stack, o, { ...base, label: `replicas-${o.coordinators}`, replicas: stack.replicas.map((x) => x.index) }, say, runs);
  const limit = `1 replica: ${cpuShare(one).text}; ${o.coordinators} replicas: ${cpuShare(many).text}`;
  const figures: Figure[] = [
    { key: 'horizontal.oneTrialsPerSecond', label: 'simulated trials/s, 1 coordinator', value: one.trialsPerSecond, unit: 'trials/s', ...(bullmq !== undefined ? { against: { label: 'BullMQ raw no-op jobs/s (just before)', value: bullmq } } : {}) },
    {
      key: 'horizontal.manyTrialsPerSecond', label: `simulated trials/s, ${o.coordinators} coordinators`, value: many.trialsPerSecond, unit: 'trials/s',
      against: { label: '1 coordinator, same run', value: one.trialsPerSecond }, target: { text: '≥ 1.6x one replica, or the limit shown', met: many.trialsPerSecond >= 1.6 * one.trialsPerSecond }, limit,
    },
    { key: 'horizontal.redisCpuOnePercent', label: 'Redis CPU, 1 coordinator (% of one core)', value: one.redisCpuPercent, unit: '%' },
    { key: 'horizontal.redisCpuManyPercent', label: `Redis CPU, ${o.coordinators} coordinators (% of one core)`, value: many.redisCpuPercent, unit: '%' },
    { key: 'horizontal.machineBusyOnePercent', label: 'machine CPU busy, 1 coordinator (all cores, every process)', value: one.machineBusyPercent, unit: '%' },
    { key: 'horizontal.machineBusyManyPercent', label: `machine CPU busy, ${o.coordinators} coordinators`, value: many.machineBusyPercent, unit: '%' },
    { key: 'horizontal.coordinatorCpuMsPerTrialOne', label: 'coordinator CPU per trial, 1 coordinator', value: one.coordinatorCpuMsPerTrial, unit: 'ms' },
    { key: 'horizontal.coordinatorCpuMsPerTrialMany', label: `coordinator CPU per trial, ${o.coordinators} coordinators (all)`, value: many.coordinatorCpuMsPerTrial, unit: 'ms' },
    { key: 'horizontal.accounted', label: 'trials accounted for (both)', value: one.accounting.completed + many.accounting.completed, unit: 'trials', target: { text: 'every trial accounted for', met: one.accounting.ok && many.accounting.ok } },
  ];
  return {
    runs,
    sections: [{
      name: `horizontal coordinators (1 vs ${o.coordinators})`,
      settings: { agents: o.agents, slots: o.slots, studies: o.studies, trials: o.trials, coordinators: o.coordinators },
      figures,
      notes: [`studies are submitted round-robin to the replicas (each drives what it holds the lease of); agents connect round-robin to them. Limit: ${limit}`],
    }],
  };
}
