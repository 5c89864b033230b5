/** The study API over a real Redis: status codes, error bodies, YAML, limits. */
import { authHeaders } from '../helpers/env.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';

const spec = {
  name: 'api',
  objective: { metric: 'loss', direction: 'minimize' },
  searchSpace: { x: { type: 'float', min: 0, max: 1 } },
  maxTrials: 5,
};

describe('study API', () => {
  let stack: TestStack;
  // No workers: these tests look at the API alone (ask/tell-style studies without a trial section).
  beforeAll(async () => { stack = await startTestStack('api', { workers: 0 }); });
  afterAll(async () => stack?.close());

  it('creates, lists and reads a study', async () => {
    const created = await stack.api('POST', '/api/v1/studies', spec);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'api', state: 'RUNNING', mode: 'ask-tell', maxTrials: 5, counts: { completed: 0 } });
    const got = await stack.api('GET', `/api/v1/studies/${created.body.id}`);
    expect(got.body.id).toBe(created.body.id);
    const list = await stack.api('GET', '/api/v1/studies?limit=50');
    expect(list.body.studies.map((s: any) => s.id)).toContain(created.body.id);
  });

  it('answers 400 naming every bad field', async () => {
    const r = await stack.api('POST', '/api/v1/studies', { ...spec, parallelism: 0, searchSpace: { x: { type: 'float', min: 2, max: 1 } }, algorithm: { name: 'nope' } });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('TH_ERR_SPEC_INVALID');
    expect(r.body.error.fields.map((f: any) => f.field).sort()).toEqual(['parallelism', 'searchSpace.x.min']);
  });

  it('accepts a YAML spec', async () => {
    const yaml = 'name: from-yaml\nobjective: {metric: loss, direction: minimize}\nsearchSpace:\n  x: {type: float, min: 0, max: 1}\nmaxTrials: 3\n';
    const res = await fetch(`${stack.coordinator.httpUrl}/api/v1/studies`, { method: 'POST', headers: authHeaders({ 'content-type': 'application/yaml' }), body: yaml });
    expect(res.status).toBe(201);
    expect(((await res.json()) as any).name).toBe('from-yaml');
  });

  it('rejects malformed bodies with a 4xx, never a 500', async () => {
    const post = (body: string, type: string) => fetch(`${stack.coordinator.httpUrl}/api/v1/studies`, { method: 'POST', headers: authHeaders({ 'content-type': type }), body });
    expect((await post('{"name": ', 'application/json')).status).toBe(400);
    expect((await post('a: [1, 2', 'application/yaml')).status).toBe(400);
    const text = await post('name=x', 'text/plain');
    expect(text.status).toBe(400);
    expect(((await text.json()) as any).error.fields[0]).toEqual({ field: '(body)', reason: 'must be a JSON object' });
    expect((await post('<study/>', 'application/xml')).status).toBe(415);
    const big = await post(JSON.stringify({ ...spec, name: 'x'.repeat(2 * 1024 * 1024) }), 'application/json');
    expect(big.status).toBe(413);
  });

  it('answers 404 for unknown studies, trials and routes', async () => {
    expect((await stack.api('GET', '/api/v1/studies/doesnotexist')).status).toBe(404);
    expect((await stack.api('GET', '/api/v1/studies/..%2f..')).status).toBe(404);
    const t = await stack.api('GET', '/api/v1/trials/nope');
    expect(t.status).toBe(404);
    expect(t.body.error.message).toMatch(/<studyId>\.<number>/);
    expect((await stack.api('GET', '/api/v1/nothing')).status).toBe(404);
  });

  it("answers the router's own refusals (a bad %-escape, an over-long path part) in the error shape, naming the url", async () => {
    for (const [url, status] of [['/api/v1/trials/%ff', 400], [`/api/v1/trials/abcd.0/metrics/${'a'.repeat(300)}`, 414]] as const) {
      const r = await stack.api('GET', url);
      expect(r.status, url).toBe(status);
      expect(r.body.error, url).toMatchObject({ code: expect.stringMatching(/^FST_ERR_/), fields: [{ field: '(url)', reason: expect.any(String) }] });
    }
  });

  it('validates pagination', async () => {
    const r = await stack.api('GET', '/api/v1/studies?limit=-3');
    expect(r.status).toBe(400);
    expect(r.body.error.fields[0].field).toBe('query.limit');
  });

  it('stops a study once', async () => {
    const { body } = await stack.api('POST', '/api/v1/studies', spec);
    const stopped = await stack.api('POST', `/api/v1/studies/${body.id}/stop`);
    expect(stopped.body).toMatchObject({ state: 'STOPPED', reason: 'stopped by request' });
    const again = await stack.api('POST', `/api/v1/studies/${body.id}/stop`);
    expect(again.status).toBe(409);
  });

  it('lists the algorithms', async () => {
    const r = await stack.api('GET', '/api/v1/algorithms');
    expect(r.body.algorithms.map((a: any) => a.name)).toEqual(expect.arrayContaining(['random', 'grid']));
  });
});
