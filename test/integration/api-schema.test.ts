/**
 * Schema first (issue 9 item 18): every route declares its params, query, body and responses;
 * the OpenAPI document and the docs UI are served from the coordinator itself; requests are
 * checked by the declared schemas, and responses keep every field the views produce.
 */
import { authHeaders } from '../helpers/env.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';

const spec = {
  name: 'schema',
  objective: { metric: 'loss', direction: 'minimize' },
  searchSpace: { x: { type: 'float', min: 0, max: 1 } },
  maxTrials: 5,
};

/** Routes whose schemas another package of issue 9 writes (trials-routes.ts); see the report. */

describe('schema-first API', () => {
  let stack: TestStack;
  beforeAll(async () => { stack = await startTestStack('api-schema', { workers: 0 }); });
  afterAll(async () => stack?.close());

  it('serves an OpenAPI document in which every route declares its parameters and responses', async () => {
    const r = await stack.api('GET', '/api/v1/openapi.json');
    expect(r.status).toBe(200);
    expect(r.body.openapi).toMatch(/^3\./);
    const ops = Object.entries(r.body.paths as Record<string, Record<string, any>>).flatMap(([p, methods]) => Object.entries(methods).map(([m, op]) => ({ key: `${m.toUpperCase()} ${p}`, path: p, op })));
    const keys = ops.map((o) => o.key);
    // Routes of every plugin, the composition root's operations routes included.
    for (const k of ['POST /api/v1/studies', 'GET /api/v1/studies', 'GET /api/v1/studies/{id}', 'GET /api/v1/studies/{id}/trials', 'POST /api/v1/studies/{id}/stop',
      'GET /api/v1/algorithms', 'POST /api/v1/studies/{id}/trials/ask', 'POST /api/v1/studies/{id}/trials/{trialId}/tell', 'GET /api/v1/workers', 'GET /healthz', 'GET /readyz', 'GET /metrics']) {
      expect(keys, k).toContain(k);
    }
    for (const { key, path, op } of ops) {
      const ok = Object.entries(op.responses ?? {}).find(([code]) => code.startsWith('2'));
      expect(ok, `${key} declares a 2xx response`).toBeDefined();
      // A 204 has no body by definition (DELETE /api/v1/session).
      if (ok![0] !== '204') expect((ok![1] as any).content, `${key} declares its 2xx body`).toBeDefined();
      for (const name of path.match(/\{(\w+)\}/g) ?? []) {
        expect((op.parameters ?? []).some((p: any) => p.in === 'path' && `{${p.name}}` === name), `${key} declares ${name}`).toBe(true);
      }
      if (key.startsWith('POST') && !key.endsWith('/ask') && !key.endsWith('/stop')) expect(op.requestBody, `${key} declares its body`).toBeDefined();
    }
    // The spec's schema is published: a client can see the parameter kinds.
    const body = r.body.paths['/api/v1/studies'].post.requestBody.content['application/json'].schema;
    expect(JSON.stringify(body)).toContain('categorical');
  });

  it('serves the docs UI and its assets locally, fetching nothing from the internet', async () => {
    const page = await fetch(`${stack.coordinator.httpUrl}/docs/`, { redirect: 'follow', headers: authHeaders() });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(/swagger/i);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThan(0);
    for (const a of assets) expect(a, 'asset served by the coordinator').not.toMatch(/^(https?:)?\/\//);
    const init = await fetch(`${stack.coordinator.httpUrl}/docs/static/swagger-initializer.js`, { headers: authHeaders() });
    expect(init.status).toBe(200);
    const code = (await init.text()).replace(/^\s*\/\/.*$/gm, '').replace(/'data:[^']*'/g, "''");
    // No online validator badge, no URL elsewhere: the document comes from this server.
    expect(code).toContain('"validatorUrl":null');
    expect(code).not.toMatch(/https?:\/\//);
  });

  it('checks tell bodies with their schema, naming the field (no coercion: null is not 0)', async () => {
    const study = (await stack.api('POST', '/api/v1/studies', spec)).body;
    const t = (await stack.api('POST', `/api/v1/studies/${study.id}/trials/ask`)).body;
    for (const [body, field] of [[{ value: null }, 'value'], [{ value: '0.5' }, 'value'], [{ value: 1, extra: 1 }, 'extra'], [{ value: 1, step: -1 }, 'step'], [{ state: 'done' }, 'state'], [[1], '(body)']] as const) {
      const r = await stack.api('POST', `/api/v1/studies/${study.id}/trials/${t.number}/tell`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.fields.map((f: any) => f.field), JSON.stringify(body)).toContain(field);
    }
    // The trial is still RUNNING: none of those was recorded.
    const ok = await stack.api('POST', `/api/v1/studies/${study.id}/trials/${t.number}/tell`, { value: 0.25 });
    expect(ok).toMatchObject({ status: 200, body: { state: 'COMPLETED' } });
  });

  it('checks query strings and path parameters, naming them', async () => {
    const bad = await stack.api('GET', '/api/v1/studies?limit=abc');
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0].field).toBe('query.limit');
    // Query strings are text on the wire: they are coerced to the declared integers.
    expect((await stack.api('GET', '/api/v1/studies?limit=2&offset=0')).body).toMatchObject({ limit: 2, offset: 0 });
    const unknown = await stack.api('GET', '/api/v1/studies?limt=5');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.fields[0].field).toBe('query.limt');
    const state = await stack.api('GET', '/api/v1/studies/abcd/trials?state=DONE');
    expect(state.status).toBe(400);
    expect(state.body.error.fields[0]).toMatchObject({ field: 'query.state', reason: expect.stringMatching(/QUEUED/) });
    const missing = await stack.api('GET', '/api/v1/studies/nosuchstudy0');
    expect(missing.status).toBe(404);
    expect(missing.body.error.fields[0].field).toBe('params.id');
  });

  it('serialises free-form settings and every kind of parameter value as they are', async () => {
    const created = await stack.api('POST', '/api/v1/studies', {
      ...spec, searchSpace: { x: { type: 'float', min: 0, max: 1 }, flag: { type: 'categorical', values: [true] }, n: { type: 'categorical', values: [3] }, s: { type: 'categorical', values: ['3'] } },
      algorithm: { name: 'tpe', seed: 2, settings: { nStartupTrials: 3, multivariate: true } },
    });
    expect(created.body.algorithm).toEqual({ name: 'tpe', seed: 2, settings: { nStartupTrials: 3, multivariate: true } });
    const asked = (await stack.api('POST', `/api/v1/studies/${created.body.id}/trials/ask`)).body;
    expect(asked.params).toEqual({ x: expect.any(Number), flag: true, n: 3, s: '3' });
    const page = (await stack.api('GET', `/api/v1/studies/${created.body.id}/trials`)).body;
    expect(page.trials[0].params).toEqual(asked.params);
  });

  it('answers with every field of the views (serialisation drops nothing the CLI reads)', async () => {
    const created = await stack.api('POST', '/api/v1/studies', { ...spec, algorithm: { name: 'random', seed: 4, settings: {} } });
    expect(Object.keys(created.body).sort()).toEqual(['algorithm', 'best', 'counts', 'created', 'createdAt', 'finishedAt', 'id', 'maxTrials', 'mode', 'name', 'objective', 'parallelism', 'project', 'reason', 'state']);
    expect(created.body.algorithm).toEqual({ name: 'random', seed: 4, settings: {} });
    const asked = (await stack.api('POST', `/api/v1/studies/${created.body.id}/trials/ask`)).body;
    expect(Object.keys(asked).sort()).toEqual(['id', 'number', 'params']);
    await stack.api('POST', `/api/v1/studies/${created.body.id}/trials/${asked.number}/tell`, { value: 0.5 });
    const trials = (await stack.api('GET', `/api/v1/studies/${created.body.id}/trials`)).body;
    expect(Object.keys(trials.trials[0]).sort()).toEqual(['attempt', 'budget', 'checkpoint', 'createdAt', 'exitCode', 'finishedAt', 'id', 'lastObjective', 'number', 'output', 'params', 'reason',
      'startedAt', 'state', 'stderrTail', 'stopLatencyMs', 'studyId', 'value', 'workerId']);
    expect(trials.trials[0]).toMatchObject({ state: 'COMPLETED', value: 0.5, params: { x: asked.params.x } });
    const study = (await stack.api('GET', `/api/v1/studies/${created.body.id}`)).body;
    expect(study.best).toEqual({ trialId: asked.id, number: asked.number, value: 0.5, params: asked.params });
  });
});
