/** Every ask through the suggestion pool is bounded: past its deadline it fails with a reason. */
import { afterEach, describe, expect, it } from 'vitest';
import { ThreadSuggestionService } from '../../coordinator/search/suggestion-pool.js';
import { createRng } from '../../shared/rng.js';
import type { SearchSpace } from '../../shared/search-space.js';
import type { FrozenTrial } from '../../shared/trial.js';
import type { SuggestRequest } from '../../coordinator/search/suggest.js';

const SPACE: SearchSpace = { a: { type: 'float', min: -5, max: 5 }, b: { type: 'float', min: -5, max: 5 }, d: { type: 'int', min: 1, max: 8 } };
function gpRequest(n: number): SuggestRequest {
  const rng = createRng(n);
  const trials: FrozenTrial[] = Array.from({ length: n }, (_, i) => {
    const params = { a: rng.next() * 10 - 5, b: rng.next() * 10 - 5, d: 1 + rng.int(8) };
    return { number: i, params, state: 'COMPLETED', loss: (params.a - 1) ** 2 + (params.b + 2) ** 2 + params.d };
  });
  return { algorithm: { name: 'gp', settings: {} }, space: SPACE, seed: 3, trialNumber: n, trials, pending: [] };
}

let service: ThreadSuggestionService | undefined;
afterEach(async () => { await service?.close(); });

describe('suggestion deadline', () => {
  it('fails an ask that runs past its deadline with TH_ERR_SEARCH_TIMEOUT, drops the busy thread, and fails queued asks too', async () => {
    service = new ThreadSuggestionService({ deadlineMs: 50 });
    // A 400-trial gp fit (plus the thread's start from source) takes far longer than 50 ms.
    const [running, queued] = await Promise.allSettled([service.suggest(gpRequest(400)), service.suggest(gpRequest(400))]);
    for (const r of [running, queued]) {
      expect(r.status).toBe('rejected');
      const err = (r as PromiseRejectedResult).reason as { code?: string; message: string };
      expect(err.code).toBe('TH_ERR_SEARCH_TIMEOUT');
      expect(err.message).toMatch(/trial 400 \(gp\) took longer than 50 ms/);
    }
    expect((service as unknown as { slots: Set<unknown> }).slots.size).toBe(0);
    // Light samplers stay inline and answer at once.
    expect(await service.suggest({ ...gpRequest(3), algorithm: { name: 'random', settings: {} } })).toMatchObject({ d: expect.any(Number) });
  });

  it('refuses a deadline that is not positive', () => {
    expect(() => new ThreadSuggestionService({ deadlineMs: 0 })).toThrow(/deadlineMs must be positive/);
  });
});
