/** The runner's cache of pending trials' parameters: which trials are pending is always asked, each one's params read once. */
import { describe, expect, it } from 'vitest';
import { PendingParams } from '../../coordinator/runner/pending-params.js';
import type { TrialRecord } from '../../coordinator/store/study-store.js';

function fakeStore(pending: number[]) {
  const reads: number[][] = [];
  return {
    pending, reads,
    pendingNumbers: async () => [...pending],
    getTrials: async (_s: string, numbers: number[]) => {
      reads.push(numbers);
      return numbers.map((n) => ({ number: n, params: { n } }) as unknown as TrialRecord);
    },
  };
}

describe('PendingParams', () => {
  it('reads only trials it has not seen, in number order, and forgets the ones that ended', async () => {
    const store = fakeStore([3, 1]);
    const cache = new PendingParams(store);
    expect(await cache.params('s')).toEqual([{ n: 3 }, { n: 1 }]);
    cache.add('s', 4, { n: 4, mine: true });
    store.pending.push(4, 5);
    expect(await cache.params('s')).toEqual([{ n: 3 }, { n: 1 }, { n: 4, mine: true }, { n: 5 }]);
    expect(store.reads).toEqual([[3, 1], [5]]);
    store.pending.splice(0, store.pending.length, 5);
    expect(await cache.params('s')).toEqual([{ n: 5 }]);
    expect(store.reads).toHaveLength(2);
    cache.forget('s');
    expect(cache.studies()).toEqual([]);
    expect(await cache.params('s')).toEqual([{ n: 5 }]);
    expect(store.reads.at(-1)).toEqual([5]);
  });

  it('a trial added for a study it holds nothing for is read when asked (nothing to trust yet)', async () => {
    const store = fakeStore([0]);
    const cache = new PendingParams(store);
    cache.add('s', 0, { n: 0 });
    expect(await cache.params('s')).toEqual([{ n: 0 }]);
    expect(store.reads).toEqual([[0]]);
  });
});
