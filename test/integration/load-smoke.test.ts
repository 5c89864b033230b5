/**
 * The load harness run small (bench/load: `npm run bench:load`), in the suite so it keeps
 * working: a coordinator and agents as real processes, a few real-process trials, simulated
 * ones, and a short soak with its memory sampler. What it asserts is the books, never speed:
 * every trial submitted is COMPLETED exactly once (trial records, study counters and history
 * agree), none is stuck, no job is left in the queues, every process it started is gone, and
 * nothing of the run is left in Redis.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { parseLoadOptions, type LoadOptions } from '../../bench/load/options.js';
import { runLoad } from '../../bench/load/run.js';
import { redisUrl } from '../helpers/env.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('bench:load smoke run', () => {
  it('accounts for every trial in both modes and through a short soak, and leaves nothing behind', async () => {
    const prefix = `smoke-${randomBytes(3).toString('hex')}`;
    const o = parseLoadOptions([
      '--mode', 'both', '--agents', '1', '--slots', '8', '--studies', '2', '--trials', '40', '--duration', '30',
      '--soak', '6', '--soak-interval', '1', '--parts', 'trials', '--no-warmup', '--prefix', prefix,
    ], { REDIS_URL: redisUrl() }) as LoadOptions;
    const lines: string[] = [];
    const { report, runs, soak, pids } = await runLoad(o, (l) => lines.push(l));

    expect(runs.map((r) => r.runtime)).toEqual(['process', 'simulated']);
    for (const r of runs) {
      expect(r.accounting.problems, r.label).toEqual([]);
      expect(r.accounting).toMatchObject({ ok: true, submitted: 40, created: 40, completed: 40, completedTwice: 0, stuck: 0, jobsLeft: 0 });
      // Every trial carried its program's start and exit (Finished), so every latency is known.
      expect(r.dispatch.n).toBe(40);
      expect(r.completion.n).toBe(40);
      expect(r.metricPoints).toBe(40);
      // The runtime is named what it is where the fleet and the runs say it (`--runtime simulated`).
      expect(r.agentRuntimes).toEqual([r.runtime]);
      expect(r.provenanceRuntime).toBe(r.runtime);
    }
    // The progress lines went to the caller (stderr for the command).
    expect(lines.some((l) => /\[simulated\] \d+\/40 trials completed/.test(l))).toBe(true);

    expect(soak).toBeDefined();
    expect(soak!.problems.filter((p) => !p.includes(' grows: '))).toEqual([]);
    expect(soak!.completed).toBeGreaterThan(0);
    expect(soak!.completed).toBe(soak!.studiesChecked * 50);
    // The sampler saw every process: the coordinator, the agent, and Redis's memory.
    const names = soak!.series.map((s) => s.name);
    expect(names.some((n) => n.startsWith('coordinator 0'))).toBe(true);
    expect(names.some((n) => n.startsWith('agent '))).toBe(true);
    expect(names).toContain('Redis used_memory');
    for (const s of soak!.series) expect(s.samples.length, s.name).toBeGreaterThanOrEqual(4);

    expect(report.sections.map((s) => s.name)).toEqual(['throughput: real processes', 'throughput: simulated runtime (no process)', 'soak']);
    for (const pid of pids) expect(alive(pid), `process ${pid}`).toBe(false);
    const r = new Redis(redisUrl());
    try {
      const found: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 10_000);
        found.push(...batch);
        cursor = next;
      } while (cursor !== '0');
      expect(found).toEqual([]);
    } finally {
      await r.quit();
    }
  }, 120_000);
});
