/**
 * Spec and API edges (issue 9 item 16), against the real coordinator and Redis: hostile names
 * and bodies get a 400 that names the field (never a 500), a fuzzed stream of specs never gets
 * a 500 or a nameless 4xx, the spec is stored once instead of in every job, a stopped ask/tell
 * study ends its trials and refuses late tells, and an unseeded study gets a stored random seed.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../shared/redis-keys.js';
import { queuePrefix, trialQueueName } from '../../shared/trial-job.js';
import { createRng } from '../../shared/rng.js';
import { redisUrl, waitFor, authHeaders } from '../helpers/env.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';

const askTell = {
  name: 'edges',
  objective: { metric: 'loss', direction: 'minimize' },
  searchSpace: { x: { type: 'float', min: 0, max: 1 }, n: { type: 'int', min: 1, max: 4 }, c: { type: 'categorical', values: ['a', 'b'] } },
  algorithm: { name: 'random', seed: 1 },
  maxTrials: 5,
};

describe('spec and API edges', () => {
  let stack: TestStack;
  let redis: Redis;
  beforeAll(async () => {
    stack = await startTestStack('spec-edges', { workers: 0 });
    redis = new Redis(redisUrl());
  });
  afterAll(async () => {
    redis?.disconnect();
    await stack?.close();
  });

  const post = async (text: string, type = 'application/json') => {
    const res = await fetch(`${stack.coordinator.httpUrl}/api/v1/studies`, { method: 'POST', headers: authHeaders({ 'content-type': type }), body: text });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('refuses a __proto__ key with its path, instead of "not valid JSON" or dropping the parameter', async () => {
    const inSpace = await post(JSON.stringify(askTell).replace('"searchSpace":{', '"searchSpace":{"__proto__":{"type":"int","min":0,"max":3},'));
    expect(inSpace.status).toBe(400);
    expect(inSpace.body.error.fields).toEqual([{ field: 'searchSpace.__proto__', reason: expect.stringMatching(/"__proto__" cannot be used as a key/) }]);
    const top = await post(JSON.stringify(askTell).replace('{', '{"__proto__":{"x":1},'));
    expect(top.status).toBe(400);
    expect(top.body.error.fields[0].field).toBe('__proto__');
    const yaml = await post('name: y\n__proto__: {a: 1}\n', 'application/yaml');
    expect(yaml.status).toBe(400);
    expect(yaml.body.error.fields[0].field).toBe('__proto__');
  });

  it('refuses parameter names that are built-ins of JavaScript objects', async () => {
    for (const name of ['constructor', 'toString', 'hasOwnProperty']) {
      const r = await stack.api('POST', '/api/v1/studies', { ...askTell, searchSpace: { [name]: { type: 'int', min: 0, max: 3 } } });
      expect(r.status, name).toBe(400);
      expect(r.body.error.fields[0]).toEqual({ field: `searchSpace.${name}`, reason: expect.stringMatching(/built-in name/) });
    }
  });

  it('answers a deeply nested body with a 400 naming the body, not a 500', async () => {
    for (const depth of [100, 100_000]) {
      const deep = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
      const r = await post(JSON.stringify(askTell).replace('"random"', `"random","settings":${deep}`));
      expect(r.status, `depth ${depth}`).toBe(400);
      expect(r.body.error.fields[0]).toEqual({ field: '(body)', reason: expect.stringMatching(/nests deeper than 32 levels/) });
      const arrays = await post('['.repeat(depth) + ']'.repeat(depth));
      expect(arrays.status).toBe(400);
      expect(arrays.body.error.fields.length).toBeGreaterThan(0);
    }
  });

  it('names a field in every 4xx of a few hundred fuzzed specs, and never answers 500', async () => {
    const r0 = createRng(20261201);
    const rng = () => r0.next();
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
    const weird = [null, -1, 0, 0.5, 1, 2 ** 60, -(2 ** 60), 5e-324, 1.7e308, -1.7e308, '', 'x'.repeat(300), [], [1, 'a'], {}, { type: 'int' }, true, 'log', '${params.toString}', 'constructor'];
    const names = ['__proto__', 'constructor', 'toString', 'prototype', 'valueOf', '', 'a.b', 'x y', 'é'];
    const base = () => ({ ...structuredClone(askTell), algorithm: { name: 'tpe', seed: 1, settings: { nStartupTrials: 3 } }, earlyStopping: { rule: 'median', settings: {} }, parallelism: 1, trial: { command: ['node', 'train.js', '--x=${params.x}'], env: { A: '1' } } });
    /** Every path to a value in the document. */
    const paths = (v: unknown, at: string[] = []): string[][] => (typeof v === 'object' && v !== null ? [at, ...Object.keys(v).flatMap((k) => paths((v as any)[k], [...at, k]))] : [at]);
    const parent = (doc: any, path: string[]) => path.slice(0, -1).reduce((o, k) => o?.[k], doc);
    const mutations: Array<(doc: any) => void> = [
      (doc) => { const p = pick(paths(doc).filter((x) => x.length > 0)); const o = parent(doc, p); if (o) o[p.at(-1)!] = structuredClone(pick(weird)); },
      (doc) => { const p = pick(paths(doc).filter((x) => x.length > 0)); const o = parent(doc, p); if (o && !Array.isArray(o)) delete o[p.at(-1)!]; },
      (doc) => { const p = pick(paths(doc)); const o = p.reduce((x: any, k) => x?.[k], doc); if (o && typeof o === 'object' && !Array.isArray(o)) o[pick(names) || 'extra'] = structuredClone(pick(weird)); },
      (doc) => { if (doc.searchSpace && typeof doc.searchSpace === 'object') doc.searchSpace[pick(names) || 'y'] = { type: pick(['int', 'float', 'categorical']), min: pick(weird), max: pick(weird), step: pick([undefined, 5e-324, 1e-300, 1, 2 ** 60]) }; },
      (doc) => { if (Array.isArray(doc.trial?.command)) doc.trial.command.push(`--v=\${params.${pick(names)}}`); },
    ];
    const statuses = new Map<number, number>();
    for (let i = 0; i < 300; i++) {
      const doc: any = base();
      for (let m = 0, n = 1 + Math.floor(rng() * 3); m < n; m++) pick(mutations)(doc);
      let text = JSON.stringify(doc);
      // Some bodies are mangled as text: truncated, or with a __proto__ key JSON.stringify cannot write.
      if (rng() < 0.1) text = text.slice(0, Math.floor(rng() * text.length));
      else if (rng() < 0.1) text = text.replace('"searchSpace":{', '"searchSpace":{"__proto__":{"type":"int","min":0,"max":1},');
      const r = await post(text);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      expect(r.status, text).not.toBe(500);
      expect([201, 400], text).toContain(r.status);
      if (r.status === 400) {
        expect(r.body.error.fields.length, `${text}\n${JSON.stringify(r.body)}`).toBeGreaterThan(0);
        for (const f of r.body.error.fields) {
          expect(f.field, JSON.stringify(f)).not.toBe('');
          // Reasons are the spec's own words, not a validator's internals.
          expect(f.reason, JSON.stringify(f)).not.toMatch(/anyOf|schema is false|equal to constant|must match/);
        }
      } else {
        // An accepted spec is one every sampler can draw from: its stored values are sane.
        for (const p of Object.values(r.body.algorithm ? doc.searchSpace : {}) as any[]) {
          if (p && p.type !== 'categorical') expect(Number.isFinite(p.max - p.min)).toBe(true);
        }
      }
    }
    // Both outcomes were exercised.
    expect(statuses.get(400) ?? 0).toBeGreaterThan(100);
    expect(statuses.get(201) ?? 0).toBeGreaterThan(5);
  });

  it('stores the spec once, not in every job: jobs carry ids and per-trial parameters only', async () => {
    // A 0.1 MiB spec (a long environment value) at parallelism 200.
    const spec = { ...askTell, parallelism: 200, maxTrials: 200, trial: { command: ['node', 'train.js', '--x=${params.x}'], env: { BIG: 'x'.repeat(100 * 1024) } } };
    const created = await stack.api('POST', '/api/v1/studies', spec);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const jobKeys = await waitFor(async () => {
      const found: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', `${queuePrefix(stack.prefix)}:${trialQueueName('default', 0)}:${id}.*`, 'COUNT', 1000);
        cursor = next;
        found.push(...batch.filter((k) => /\.\d+-r\d+$/.test(k)));
      } while (cursor !== '0');
      return found.length >= 200 ? found : undefined;
    }, 30_000, '200 jobs');
    let bytes = 0;
    for (const k of jobKeys) bytes += Number(await redis.memory('USAGE', k));
    const perJob = bytes / jobKeys.length;
    // Before: every job held the whole template (> 100 KiB each, 20+ MiB for these 200).
    expect(perJob).toBeLessThan(2048);
    const data = JSON.parse((await redis.hget(jobKeys[0]!, 'data'))!);
    expect(Object.keys(data).sort()).toEqual(['gpus', 'number', 'params', 'project', 'studyId', 'trialId']);
    // The template is in the study's record once; the coordinator sends it in each start reply.
    expect(JSON.parse((await redis.hget(keys.study(stack.prefix, id), 'spec'))!).trial.env.BIG).toHaveLength(100 * 1024);
    await stack.api('POST', `/api/v1/studies/${id}/stop`);
  });

  it('stopping an ask/tell study cancels its running trials and refuses later tells with 409', async () => {
    const study = (await stack.api('POST', '/api/v1/studies', askTell)).body;
    const a = (await stack.api('POST', `/api/v1/studies/${study.id}/trials/ask`)).body;
    const b = (await stack.api('POST', `/api/v1/studies/${study.id}/trials/ask`)).body;
    expect((await stack.api('POST', `/api/v1/studies/${study.id}/trials/${a.number}/tell`, { value: 0.5 })).status).toBe(200);
    const stopped = await stack.api('POST', `/api/v1/studies/${study.id}/stop`);
    expect(stopped.body).toMatchObject({ state: 'STOPPED', best: { number: a.number, value: 0.5 } });
    const trials = (await stack.api('GET', `/api/v1/studies/${study.id}/trials`)).body.trials;
    expect(trials.find((t: any) => t.number === b.number)).toMatchObject({ state: 'CANCELLED', reason: expect.stringMatching(/stopped/) });
    // A late tell (a better value) is refused and changes nothing.
    const late = await stack.api('POST', `/api/v1/studies/${study.id}/trials/${b.number}/tell`, { value: 0.01 });
    expect(late.status).toBe(409);
    expect(late.body.error).toMatchObject({ code: 'TH_ERR_STUDY_NOT_RUNNING', message: expect.stringMatching(/STOPPED/), fields: [expect.objectContaining({ field: 'params.id' })] });
    const after = (await stack.api('GET', `/api/v1/studies/${study.id}`)).body;
    expect(after.best).toMatchObject({ number: a.number, value: 0.5 });
    expect((await stack.api('POST', `/api/v1/studies/${study.id}/trials/ask`)).status).toBe(409);
  });

  it('an ask/tell study that reaches its goal cancels its other running trials too', async () => {
    const study = (await stack.api('POST', '/api/v1/studies', { ...askTell, objective: { ...askTell.objective, goal: 0.1 } })).body;
    const a = (await stack.api('POST', `/api/v1/studies/${study.id}/trials/ask`)).body;
    const b = (await stack.api('POST', `/api/v1/studies/${study.id}/trials/ask`)).body;
    await stack.api('POST', `/api/v1/studies/${study.id}/trials/${a.number}/tell`, { value: 0.05 });
    const ended = await stack.waitForStudy(study.id, 20_000);
    expect(ended).toMatchObject({ state: 'COMPLETED', best: { number: a.number } });
    const other = await waitFor(async () => {
      const t = (await stack.api('GET', `/api/v1/studies/${study.id}/trials`)).body.trials.find((x: any) => x.number === b.number);
      return t.state !== 'RUNNING' ? t : undefined;
    }, 20_000, 'the other trial to end');
    expect(other.state).toBe('CANCELLED');
    expect((await stack.api('POST', `/api/v1/studies/${study.id}/trials/${b.number}/tell`, { value: 0.01 })).status).toBe(409);
  });

  it('chooses and stores a random seed when the spec has no algorithm block or no seed', async () => {
    const { algorithm: _drop, ...noAlgorithm } = askTell;
    const seeds: number[] = [];
    for (const spec of [noAlgorithm, noAlgorithm, { ...askTell, algorithm: { name: 'random' } }]) {
      const created = (await stack.api('POST', '/api/v1/studies', spec)).body;
      const stored = (await stack.api('GET', `/api/v1/studies/${created.id}`)).body.algorithm.seed;
      expect(stored).toBe(created.algorithm.seed);
      seeds.push(stored);
    }
    for (const s of seeds) expect(Number.isInteger(s) && s >= 0 && s <= 0xffffffff).toBe(true);
    // Three draws from 2^32: equal seeds (or all zero) mean no draw happened.
    expect(new Set(seeds).size).toBe(3);
    const seeded = (await stack.api('POST', '/api/v1/studies', askTell)).body;
    expect(seeded.algorithm.seed).toBe(1);
  });
});
