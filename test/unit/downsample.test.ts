import { describe, expect, it } from 'vitest';
import { downsampleMinMax } from '../../coordinator/api/downsample.js';

/** A series that exists only as a function of the index: reading it costs nothing but the chunk. */
const series = (count: number, valueAt: (i: number) => number) => {
  const reads: Array<[number, number]> = [];
  const read = async (start: number, stop: number) => {
    reads.push([start, stop]);
    return Array.from({ length: stop - start + 1 }, (_, k) => ({ value: valueAt(start + k) }));
  };
  return { read, reads };
};

describe('min/max down-sampling', () => {
  it('streams through the series in bounded chunks and keeps at most maxPoints', async () => {
    const { read, reads } = series(1_000_003, (i) => Math.sin(i / 5000));
    const out = await downsampleMinMax(1_000_003, 1000, read, 10_000);
    expect(out.length).toBeLessThanOrEqual(1000);
    expect(out.length).toBeGreaterThan(900);
    expect(Math.max(...reads.map(([a, b]) => b - a + 1))).toBe(10_000);
    expect(reads[0]).toEqual([0, 9999]);
    expect(reads.at(-1)![1]).toBe(1_000_002);
    const idx = out.map((p) => p.index);
    expect(idx).toEqual([...idx].sort((a, b) => a - b));
  });

  it('keeps a single spike and a single dip of any bucket', async () => {
    const { read } = series(100_000, (i) => (i === 31_337 ? 99 : i === 77_777 ? -99 : 0));
    const out = await downsampleMinMax(100_000, 10, read);
    expect(out.find((p) => p.point.value === 99)?.index).toBe(31_337);
    expect(out.find((p) => p.point.value === -99)?.index).toBe(77_777);
    expect(out.length).toBeLessThanOrEqual(10);
  });

  it('returns a short series whole', async () => {
    const { read } = series(7, (i) => i);
    expect((await downsampleMinMax(7, 100, read)).map((p) => p.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});
