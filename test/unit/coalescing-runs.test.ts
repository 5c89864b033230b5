import { describe, expect, it } from 'vitest';
import { CoalescingRuns } from '../../shared/coalescing-runs.js';

describe('CoalescingRuns', () => {
  it('runs a key once at a time; requests during a run make exactly one more', async () => {
    const started: string[] = [];
    let release!: () => void;
    const runs = new CoalescingRuns<string>(async (k) => {
      started.push(k);
      if (started.length === 1) await new Promise<void>((r) => { release = r; });
    }, () => undefined);
    runs.request('a');
    for (let i = 0; i < 5; i++) runs.request('a');
    runs.request('b');
    await new Promise((r) => setTimeout(r, 0));
    expect(started).toEqual(['a', 'b']);
    release();
    await runs.idle();
    expect(started).toEqual(['a', 'b', 'a']);
  });

  it('a failed run is reported and the next request runs again; nothing starts once stopped', async () => {
    const errors: unknown[] = [];
    let stopped = false;
    let n = 0;
    const runs = new CoalescingRuns<string>(async () => { n++; if (n === 1) throw new Error('boom'); }, (_k, e) => errors.push(e), () => stopped);
    runs.request('a');
    await runs.idle();
    runs.request('a');
    await runs.idle();
    expect([n, errors.length]).toEqual([2, 1]);
    stopped = true;
    runs.request('a');
    await runs.idle();
    expect(n).toBe(2);
  });
});
