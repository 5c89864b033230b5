import { describe, expect, it } from 'vitest';
import { fromColumns, toColumns } from '../../shared/metric-columns.js';
import { trialServiceDefinition } from '../../shared/proto.js';

describe('metric columns', () => {
  const points = [
    { name: 'loss', value: 0.5, step: 1, timeMs: 1_764_000_000_123 },
    { name: 'acc', value: -1e-300, step: 1, timeMs: 1_764_000_000_124 },
    { name: 'loss', value: 0.25, step: 2 ** 53 - 1, timeMs: 1_764_000_000_125 },
  ];

  it('give back the same points, in order, through the wire encoding', () => {
    const def = trialServiceDefinition();
    const stream = Object.values(def).find((m) => m.requestStream && m.responseStream)!;
    const bytes = stream.requestSerialize({ metrics: { attempt: 1, seq: 7, points: [], columns: toColumns(points) } });
    const decoded = stream.requestDeserialize(bytes) as { metrics: { points: unknown[]; columns: Parameters<typeof fromColumns>[0] } };
    expect(decoded.metrics.points).toEqual([]);
    expect(decoded.metrics.columns.names).toEqual(['loss', 'acc']);
    expect(fromColumns(decoded.metrics.columns)).toEqual(points);
  });

  it('refuses columns of different lengths and name indexes out of range', () => {
    const c = toColumns(points);
    expect(() => fromColumns({ ...c, values: c.values.slice(1) })).toThrow(/metrics\.columns\.values: 2 entries for 3 points/);
    expect(() => fromColumns({ ...c, nameIndex: [0, 5, 0] })).toThrow(/nameIndex\[1\]/);
    expect(() => fromColumns({ ...c, names: ['a', 'b', 'c', 'd'] })).toThrow(/4 names for 3 points/);
  });
});
