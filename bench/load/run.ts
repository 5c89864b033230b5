/**
 * `npm run bench:load` as a function (bench/load.ts is its command line; the smoke test calls it
 * directly): the stack, the ceilings, the scenario's trial runs, the soak and the other parts
 * (ask/tell, metric ingestion, the big study: modules of their own, run when they exist), one
 * report. Whatever happens, every process it started is stopped and what it stored is deleted.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CeilingMeter } from './ceilings.js';
import type { Section } from './figures.js';
import type { LoadOptions, Part } from './options.js';
import { machine, type LoadReport } from './report.js';
import { horizontal, slots1000, throughput, type ScenarioResult } from './scenarios.js';
import { runSoak } from './soak.js';
import { LoadStack } from './stack.js';
import type { TrialRunResult } from './trial-run.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The other packages' parts: file, function, and the options they are given (plain objects). */
const OTHER_PARTS: Array<{ part: Part; file: string; fn: string; options: (o: LoadOptions, redisUrl: string, say: (l: string) => void) => Record<string, unknown> }> = [
  { part: 'ask-tell', file: 'ask-tell.ts', fn: 'runAskTell', options: (o, redisUrl, say) => ({ redisUrl, prefix: `${o.prefix}-asktell`, clients: 16, trials: Math.min(o.trials, 2000), algorithms: ['random', 'tpe'], optuna: true, say }) },
  { part: 'metric-ingest', file: 'metric-ingest.ts', fn: 'runMetricIngest', options: (o, redisUrl, say) => ({ redisUrl, prefix: `${o.prefix}-metrics`, agents: o.agents, slots: o.slots, durationS: o.durationS, say }) },
  { part: 'big-study', file: 'big-study.ts', fn: 'runBigStudy', options: (o, redisUrl, say) => ({ redisUrl, prefix: `${o.prefix}-big`, trials: 100_000, say }) },
];

export interface LoadRun { report: LoadReport; runs: TrialRunResult[]; soak?: Awaited<ReturnType<typeof runSoak>>; pids: number[] }

export async function runLoad(o: LoadOptions, say: (line: string) => void): Promise<LoadRun> {
  const startedAt = new Date().toISOString();
  const sections: Section[] = [];
  const problems: string[] = [];
  const runs: TrialRunResult[] = [];
  let soak: LoadRun['soak'];
  const want = (p: Part) => o.parts.includes(p);
  say(`bench:load: prefix ${o.prefix}, Redis ${o.redisUrl ? 'given (REDIS_URL / --redis-url)' : o.cluster ? 'a local 3-master cluster' : 'a private redis-server'}`);
  const stack = await LoadStack.start({ prefix: o.prefix, ...(o.redisUrl ? { redisUrl: o.redisUrl } : {}), cluster: o.cluster, agentCwd: o.agentCwd, say });
  try {
    const meter = new CeilingMeter(want('ceilings'), stack, o, say);
    if (want('trials')) {
      const scenario = { throughput, slots1000, horizontal }[o.scenario];
      const r: ScenarioResult = await scenario(stack, o, meter, say);
      const c = meter.section();
      if (c) sections.push(c);
      sections.push(...r.sections);
      runs.push(...r.runs);
      for (const run of r.runs) for (const why of run.accounting.problems) problems.push(`${run.label}: ${why}`);
    }
    if (o.soakS > 0) {
      await stack.ensureCoordinators(1);
      const runtime = o.mode === 'process' ? 'process' : 'simulated';
      if (stack.agents.length === 0) await stack.startAgents(o.agents, o.slots, runtime);
      const slots = stack.agents.reduce((s, a) => s + a.slots, 0);
      const studies = Math.min(o.studies, 8);
      say(`bench:load: soak for ${o.soakS} s, memory sampled every ${o.soakIntervalS} s`);
      soak = await runSoak(stack, {
        durationS: o.soakS, intervalS: o.soakIntervalS, runtime: stack.agents[0]!.runtime, studies,
        trialsPerStudy: Math.max(50, Math.ceil((4 * slots) / studies)), parallelism: Math.ceil(slots / studies), trialMs: 20, command: o.program, say,
      });
      sections.push(soak.section);
      problems.push(...soak.problems.map((p) => `soak: ${p}`));
    }
    // The other parts start what they need on the same Redis (their own prefixes): the agents of
    // the trial runs are not theirs to share.
    if (o.parts.some((p) => OTHER_PARTS.some((x) => x.part === p))) await stack.stopAgents();
    for (const part of OTHER_PARTS) {
      if (!want(part.part)) continue;
      const file = path.join(here, part.file);
      if (!existsSync(file)) {
        if (o.parts.length < 5) say(`bench:load: part ${part.part} skipped: ${path.relative(process.cwd(), file)} is not on this branch`);
        continue;
      }
      say(`bench:load: part ${part.part} ...`);
      try {
        const mod = (await import(pathToFileURL(file).href)) as Record<string, (x: Record<string, unknown>) => Promise<Section>>;
        if (typeof mod[part.fn] !== 'function') throw new Error(`${part.file} exports no ${part.fn}`);
        sections.push(await mod[part.fn]!(part.options(o, stack.redisUrl, say)));
      } catch (err) {
        problems.push(`part ${part.part} failed: ${(err as Error).message}`);
        sections.push({ name: part.part, settings: {}, figures: [], notes: [`failed: ${(err as Error).stack ?? String(err)}`] });
      }
    }
  } finally {
    await stack.close();
  }
  const report: LoadReport = {
    startedAt, finishedAt: new Date().toISOString(), machine: machine(),
    options: { ...o, redisUrl: o.redisUrl ? '(given)' : undefined }, sections, ok: problems.length === 0, problems,
  };
  return { report, runs, pids: [...stack.startedPids, ...(stack.redisPid !== undefined ? [stack.redisPid] : [])], ...(soak ? { soak } : {}) };
}
