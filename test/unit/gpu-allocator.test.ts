import { describe, expect, it } from 'vitest';
import { GpuAllocator } from '../../worker/gpu/allocator.js';
import { createRng } from '../../shared/rng.js';

const gpus = (n: number) => Array.from({ length: n }, (_, i) => String(i));
const MIN = 60_000;

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t, advance: (ms: number) => { c.t += ms; } };
  return c;
}

describe('GpuAllocator accounting', () => {
  it('gives exactly n free devices and never one device to two trials', () => {
    const a = new GpuAllocator(gpus(4), { cpuSlots: 1 });
    expect(a.tryAcquire('t1', 2)).toEqual(['0', '1']);
    expect(a.tryAcquire('t2', 3)).toBeNull();
    expect(a.tryAcquire('t3', 2)).toEqual(['2', '3']);
    expect(a.free()).toEqual([]);
    expect(a.release('t1')).toBe(true);
    expect(a.release('t1')).toBe(false); // idempotent
    expect(a.release('never')).toBe(false);
    expect(a.free()).toEqual(['0', '1']);
    expect(a.tryAcquire('t4', 1)).toEqual(['0']);
  });

  it('limits 0-GPU trials only by CPU slots', () => {
    const a = new GpuAllocator(gpus(2), { cpuSlots: 2 });
    expect(a.tryAcquire('g', 2)).toEqual(['0', '1']);
    expect(a.tryAcquire('c1', 0)).toEqual([]);
    expect(a.tryAcquire('c2', 0)).toEqual([]);
    expect(a.tryAcquire('c3', 0)).toBeNull();
    expect(a.freeCpuSlots()).toBe(0);
    a.release('c1');
    expect(a.tryAcquire('c3', 0)).toEqual([]);
    expect(new GpuAllocator([], { cpuSlots: 0 }).canEverFit(0)).toBe(false);
  });

  it('answers a repeated acquire with the same devices and refuses a different size', () => {
    const a = new GpuAllocator(gpus(4), { cpuSlots: 1 });
    expect(a.tryAcquire('t', 2)).toEqual(['0', '1']);
    expect(a.tryAcquire('t', 2)).toEqual(['0', '1']);
    expect(a.free()).toEqual(['2', '3']);
    expect(() => a.tryAcquire('t', 1)).toThrow(/already holds 2/);
  });

  it('knows what can never fit', () => {
    const a = new GpuAllocator(gpus(8), { cpuSlots: 1 });
    expect(a.canEverFit(8)).toBe(true);
    expect(a.canEverFit(9)).toBe(false);
    expect(a.tryAcquire('big', 9)).toBeNull();
    expect(a.takeableClasses([9, 1])).toEqual([1]);
    expect(() => a.tryAcquire('x', -1)).toThrow(RangeError);
    expect(() => a.takeableClasses([1.5])).toThrow(RangeError);
    expect(() => new GpuAllocator(['0', '0'], { cpuSlots: 1 })).toThrow(/duplicate/);
  });

  it('keeps its invariants over a long random sequence', () => {
    for (const seed of [1, 2, 42]) {
      const rng = createRng(seed);
      const devices = gpus(8);
      const cpuSlots = 3;
      const a = new GpuAllocator(devices, { cpuSlots });
      const model = new Map<string, { n: number; devices: string[] }>();
      const sortedAll = [...devices].sort().join();
      for (let step = 0; step < 2000; step++) {
        if (rng.next() < 0.55) {
          const id = `t${rng.int(40)}`;
          const n = rng.int(10); // 9 never fits
          const before = a.free().length;
          const cpuBefore = a.freeCpuSlots();
          const existing = model.get(id);
          if (existing && existing.n !== n) {
            expect(() => a.tryAcquire(id, n)).toThrow();
            continue;
          }
          const got = a.tryAcquire(id, n);
          if (existing) expect(got).toEqual(existing.devices);
          else if (n === 0 ? cpuBefore > 0 : before >= n) {
            expect(got).not.toBeNull();
            expect(got).toHaveLength(n);
            model.set(id, { n, devices: got! });
          } else expect(got).toBeNull();
        } else {
          const id = `t${rng.int(40)}`;
          expect(a.release(id)).toBe(model.delete(id));
        }
        // Invariants (plain checks: this runs thousands of times): a device has at most one
        // holder; free + held = all; CPU slots respected; the allocator agrees with the model.
        const held = [...model.values()].flatMap((h) => h.devices);
        const all = [...held, ...a.free()].sort().join();
        const cpuTrials = [...model.values()].filter((h) => h.n === 0).length;
        const agrees = [...model].every(([id, h]) => a.held(id)?.join() === h.devices.join());
        if (new Set(held).size !== held.length || all !== sortedAll || cpuTrials > cpuSlots || a.freeCpuSlots() !== cpuSlots - cpuTrials || !agrees || a.running !== model.size) {
          throw new Error(`invariant broken at seed ${seed} step ${step}`);
        }
      }
    }
  });
});

describe('GpuAllocator fairness', () => {
  it('lets 1-GPU trials proceed while an 8-GPU trial waits on a busy node', () => {
    const c = clock();
    const a = new GpuAllocator(gpus(8), { cpuSlots: 2, reserveAfterMs: 10 * MIN, now: c.now });
    a.tryAcquire('small-0', 1);
    for (let i = 1; i < 6; i++) {
      c.advance(MIN);
      expect([...a.takeableClasses([8, 1, 0])].sort()).toEqual([0, 1]); // 8 does not fit; the rest go on
      expect(a.tryAcquire(`small-${i}`, 1)).not.toBeNull();
    }
    expect(a.free()).toHaveLength(2);
    expect(a.reservation()).toBeNull();
  });

  it('reserves the node for a starved 8-GPU trial, then lets it in', () => {
    const c = clock();
    const a = new GpuAllocator(gpus(8), { cpuSlots: 1, reserveAfterMs: 10 * MIN, now: c.now });
    let n = 0;
    const running: string[] = [];
    // A steady stream of 1-GPU jobs: without a reservation the node never has 8 free at once.
    for (let i = 0; i < 4; i++) running.push(acquire(a, `s${n++}`, 1));
    for (let minute = 0; minute < 9; minute++) {
      c.advance(MIN);
      a.release(running.shift()!);
      const classes = a.takeableClasses([8, 1]);
      expect(classes).toEqual([1]);
      running.push(acquire(a, `s${n++}`, 1));
    }
    c.advance(2 * MIN); // the 8-GPU class has now waited 11 minutes
    expect(a.takeableClasses([8, 1, 0])).toEqual([0]); // CPU-only work still goes
    expect(a.reservation()).toMatchObject({ gpus: 8 });
    expect(a.reservation()!.waitingMs).toBeGreaterThanOrEqual(10 * MIN);
    // The 1-GPU trials drain; no new one starts.
    while (running.length > 0) {
      expect(a.takeableClasses([8, 1])).toEqual([]);
      a.release(running.shift()!);
      c.advance(MIN);
    }
    expect(a.takeableClasses([8, 1])[0]).toBe(8);
    expect(a.tryAcquire('big', 8)).toHaveLength(8);
    expect(a.reservation()).toBeNull();
    // Once the big one finishes, the 1-GPU class (waiting since the drain) goes first.
    c.advance(MIN);
    expect(a.takeableClasses([8, 1])).toEqual([]);
    a.release('big');
    expect(a.takeableClasses([8, 1])).toEqual([1, 8]);
  });

  it('drops a reservation when nobody wants the class any more', () => {
    const c = clock();
    const a = new GpuAllocator(gpus(8), { cpuSlots: 0, reserveAfterMs: MIN, now: c.now });
    acquire(a, 's', 1);
    a.takeableClasses([8, 1]);
    c.advance(2 * MIN);
    expect(a.takeableClasses([8, 1])).toEqual([]);
    // Another worker took the 8-GPU job: the class is no longer reported.
    expect(a.takeableClasses([1])).toEqual([1]);
    expect(a.reservation()).toBeNull();
  });

  it('alternates classes on an idle node instead of always serving one', () => {
    const c = clock();
    const a = new GpuAllocator(gpus(8), { cpuSlots: 0, now: c.now });
    const served: number[] = [];
    for (let round = 0; round < 6; round++) {
      const best = a.takeableClasses([1, 8])[0]!;
      served.push(best);
      acquire(a, `r${round}`, best);
      c.advance(MIN);
      a.release(`r${round}`);
    }
    expect(served).toEqual([8, 1, 8, 1, 8, 1]);
  });

  it('never reserves for a class this node cannot hold', () => {
    const c = clock();
    const a = new GpuAllocator(gpus(8), { cpuSlots: 0, reserveAfterMs: 0, now: c.now });
    acquire(a, 's', 1);
    c.advance(MIN);
    expect(a.takeableClasses([16, 1])).toEqual([1]);
    expect(a.reservation()).toBeNull();
  });
});

function acquire(a: GpuAllocator, id: string, n: number): string {
  const got = a.tryAcquire(id, n);
  if (got === null) throw new Error(`could not acquire ${n} for ${id}`);
  return id;
}
