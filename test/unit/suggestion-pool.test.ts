import type { Worker } from 'node:worker_threads';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { suggestNow, type SuggestRequest } from '../../coordinator/search/suggest.js';
import { ThreadSuggestionService } from '../../coordinator/search/suggestion-pool.js';
import { createRng } from '../../shared/rng.js';
import type { SearchSpace } from '../../shared/search-space.js';
import type { FrozenTrial } from '../../shared/trial.js';

const SPACE: SearchSpace = {
  a: { type: 'float', min: -5, max: 5 },
  b: { type: 'float', min: -5, max: 5 },
  c: { type: 'float', min: 1e-3, max: 1, log: true },
  d: { type: 'int', min: 1, max: 8 },
};

/** A gp request with `n` finished trials of a smooth objective (more trials = a slower suggestion). */
function gpRequest(n: number, trialNumber = n): SuggestRequest {
  const rng = createRng(n);
  const trials: FrozenTrial[] = Array.from({ length: n }, (_, i) => {
    const params = { a: rng.next() * 10 - 5, b: rng.next() * 10 - 5, c: Math.exp(Math.log(1e-3) * rng.next()), d: 1 + rng.int(8) };
    const loss = (params.a - 1) ** 2 + (params.b + 2) ** 2 + Math.log(params.c) ** 2 / 10 + (params.d - 3) ** 2 / 4;
    return { number: i, params, state: 'COMPLETED', loss };
  });
  return { algorithm: { name: 'gp', settings: {} }, space: SPACE, seed: 42, trialNumber, trials, pending: [] };
}

/** Largest gap between ticks of a 5 ms interval while `work` runs. */
async function maxTimerLag<T>(work: () => Promise<T>): Promise<{ result: T; lagMs: number; durationMs: number }> {
  let last = performance.now();
  let lag = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    lag = Math.max(lag, now - last - 5);
    last = now;
  }, 5);
  const t0 = performance.now();
  try {
    const result = await work();
    const durationMs = performance.now() - t0;
    // Let the overdue interval fire once more, so a stall that lasted until the end is counted.
    await new Promise((r) => setTimeout(r, 10));
    return { result, lagMs: lag, durationMs };
  } finally {
    clearInterval(timer);
  }
}

const services: ThreadSuggestionService[] = [];
function service(threads?: number): ThreadSuggestionService {
  const s = new ThreadSuggestionService(threads === undefined ? {} : { threads });
  services.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

const workersOf = (s: ThreadSuggestionService) => [...(s as unknown as { slots: Set<{ worker: Worker }> }).slots].map((slot) => slot.worker);

describe('ThreadSuggestionService', () => {
  // One warm service for the tests that do not kill it: starting a thread from source (tsx
  // compiling the sampler inside it) costs more than the suggestions measured here.
  let shared: ThreadSuggestionService;
  beforeAll(async () => {
    shared = new ThreadSuggestionService();
    await shared.suggest(gpRequest(12));
  });
  afterAll(() => shared.close());

  it('returns exactly what suggestNow returns, for heavy samplers through a thread and light ones inline', async () => {
    const req = gpRequest(30);
    expect(await shared.suggest(req)).toEqual(suggestNow(req));
    expect(workersOf(shared)).toHaveLength(1);
    const light = { ...req, algorithm: { name: 'random', settings: {} } };
    expect(await shared.suggest(light)).toEqual(suggestNow(light));
    await expect(shared.suggest({ ...req, algorithm: { name: 'nope', settings: {} } })).rejects.toThrow(/unknown algorithm/);
  });

  it('keeps the event loop ticking while a gp suggestion runs', async () => {
    // A history long enough that the inline stall stands well above timer noise on any machine.
    const req = gpRequest(280);
    const inline = await maxTimerLag(async () => suggestNow(req));
    // Inline, the loop stalls for the whole suggestion; the comparison needs a long one.
    expect(inline.durationMs).toBeGreaterThan(60);
    expect(inline.lagMs).toBeGreaterThan(inline.durationMs / 2);
    const pooled = await maxTimerLag(() => shared.suggest(req));
    expect(pooled.result).toEqual(inline.result);
    expect(pooled.lagMs).toBeLessThan(inline.durationMs / 3);
  });

  it('answers queued requests first-in first-out', async () => {
    const reqs = [14, 15, 16, 17].map((n) => gpRequest(n));
    const order: number[] = [];
    const results = await Promise.all(reqs.map((r, i) => shared.suggest(r).then((p) => { order.push(i); return p; })));
    expect(order).toEqual([0, 1, 2, 3]);
    expect(results).toEqual(reqs.map((r) => suggestNow(r)));
  });

  it('spreads requests over more threads when asked to', async () => {
    const svc = service(2);
    const reqs = [14, 15, 16].map((n) => gpRequest(n));
    expect(await Promise.all(reqs.map((r) => svc.suggest(r)))).toEqual(reqs.map((r) => suggestNow(r)));
    expect(workersOf(svc)).toHaveLength(2);
  });

  it('fails the running request when its thread dies, and replaces the thread', async () => {
    const svc = service();
    await svc.suggest(gpRequest(12));
    const [worker] = workersOf(svc);
    const running = expect(svc.suggest(gpRequest(150))).rejects.toThrow(/suggestion thread crashed while suggesting trial 150 \(gp\)/);
    await worker!.terminate();
    await running;
    const req = gpRequest(13);
    expect(await svc.suggest(req)).toEqual(suggestNow(req));
    expect(workersOf(svc)).toHaveLength(1);
    expect(workersOf(svc)[0]).not.toBe(worker);
  });

  it('close() rejects pending work, terminates the threads and is idempotent', async () => {
    const svc = service();
    await svc.suggest(gpRequest(12));
    const [worker] = workersOf(svc);
    const running = expect(svc.suggest(gpRequest(150))).rejects.toThrow(/closed/);
    const queued = expect(svc.suggest(gpRequest(151))).rejects.toThrow(/closed/);
    await Promise.all([svc.close(), svc.close()]);
    await running;
    await queued;
    await svc.close();
    expect(worker!.threadId).toBe(-1); // terminated
    expect(workersOf(svc)).toHaveLength(0);
    await expect(svc.suggest(gpRequest(12))).rejects.toThrow(/closed/);
  });

  it('validates the thread count', () => {
    expect(() => new ThreadSuggestionService({ threads: 0 })).toThrow(/positive integer/);
  });
});
