/**
 * Runs and experiments through the HTTP API, with real Redis: creation with roles, nested runs,
 * params set once (409), tags from the API with null deletes, metrics and their history, the
 * search route (filters, orders, malformed filters as 400s with positions), the streamed CSV and
 * JSON exports, pagination that neither repeats nor skips under concurrent inserts, and the
 * deletion of experiments and of a study with its run data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { call, ensureProject, userToken } from '../helpers/auth.js';

let stack: TestStack;
let base: string;
let editor: string;
let viewer: string;

beforeAll(async () => {
  stack = await startTestStack('run-routes', { workers: 0 });
  base = stack.coordinator.httpUrl;
  await ensureProject(base, 'ml');
  editor = (await userToken(base, 'eddie', { ml: 'editor' })).token;
  viewer = (await userToken(base, 'vera', { ml: 'viewer' })).token;
});
afterAll(async () => stack?.close());

async function experiment(name: string): Promise<string> {
  const r = await call(base, 'POST', '/api/v1/experiments', { token: editor, body: { project: 'ml', name, tags: { team: 'fraud' } } });
  expect(r.status, r.text).toBe(201);
  return r.body.id as string;
}

describe('runs over HTTP', () => {
  it('experiments: an editor creates, a viewer may not; listed with studies, searched by name, renamed and tagged', async () => {
    const id = await experiment('Fraud model');
    expect((await call(base, 'POST', '/api/v1/experiments', { token: viewer, body: { project: 'ml', name: 'nope' } })).status).toBe(403);
    const dup = await call(base, 'POST', '/api/v1/experiments', { token: editor, body: { project: 'ml', name: 'Fraud model' } });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('TH_ERR_EXPERIMENT_EXISTS');
    const study = await stack.api('POST', '/api/v1/studies', { name: 'fraud search', project: 'ml', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 3, tags: { team: 'fraud' } });
    expect(study.status).toBe(201);
    const list = await call(base, 'GET', '/api/v1/experiments?project=ml&name=fraud', { token: viewer });
    expect(list.status).toBe(200);
    const byId = new Map((list.body.experiments as any[]).map((e) => [e.id, e]));
    expect(byId.get(id)).toMatchObject({ kind: 'plain', state: 'ACTIVE', tags: { team: 'fraud' }, progress: null });
    expect(byId.get(study.body.id)).toMatchObject({ kind: 'study', state: 'RUNNING', name: 'fraud search', progress: { maxTrials: 3 } });
    const patched = await call(base, 'PATCH', `/api/v1/experiments/${id}`, { token: editor, body: { name: 'Fraud model v2', tags: { team: null, goal: 'recall' } } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({ name: 'Fraud model v2', tags: { goal: 'recall' } });
    expect((await call(base, 'GET', `/api/v1/experiments/${id}`, { token: viewer })).body.name).toBe('Fraud model v2');
  });

  it('runs: created by an editor (nested), params set once, tags deleted with null, metrics with paged history', async () => {
    const e = await experiment('runs-basic');
    const parent = await call(base, 'POST', '/api/v1/runs', { token: editor, body: { experimentId: e, name: 'hpo parent' } });
    expect(parent.status, parent.text).toBe(201);
    expect((await call(base, 'POST', '/api/v1/runs', { token: viewer, body: { experimentId: e } })).status).toBe(403);
    expect((await call(base, 'POST', '/api/v1/runs', { token: editor, body: { experimentId: 'nosuchexp1' } })).body.error.fields[0].field).toBe('experimentId');
    const child = await call(base, 'POST', '/api/v1/runs', { token: editor, body: { experimentId: e, parentRunId: parent.body.id, params: { lr: '0.1' }, tags: { a: '1', b: '2' } } });
    expect(child.body).toMatchObject({ parentRunId: parent.body.id, params: { lr: '0.1' }, status: 'RUNNING', kind: 'direct' });
    const id = child.body.id as string;
    const conflict = await call(base, 'POST', `/api/v1/runs/${id}/params`, { token: editor, body: { params: { depth: '3', lr: '0.2' } } });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('TH_ERR_RUN_PARAM_CHANGED');
    expect(conflict.body.error.message).toMatch(/"0\.1".*"0\.2"/);
    expect((await call(base, 'GET', `/api/v1/runs/${id}`, { token: viewer })).body.params).toEqual({ lr: '0.1' });
    const tagged = await call(base, 'PATCH', `/api/v1/runs/${id}`, { token: editor, body: { tags: { a: null, c: '3' }, note: '# Notes\nfine' } });
    expect(tagged.body).toMatchObject({ tags: { b: '2', c: '3' }, note: '# Notes\nfine' });
    const m = await call(base, 'POST', `/api/v1/runs/${id}/metrics`, { token: editor, body: { metrics: Array.from({ length: 5 }, (_, i) => ({ name: 'f1', value: i / 10, step: i, timestamp: 1000 + i })) } });
    expect(m.body).toEqual({ runId: id, stored: 5 });
    const h1 = await call(base, 'GET', `/api/v1/runs/${id}/metrics/f1?limit=2`, { token: viewer });
    expect(h1.body).toMatchObject({ total: 5, next: 2, points: [{ step: 0, value: 0, timestamp: 1000 }, { step: 1, value: 0.1, timestamp: 1001 }] });
    const h2 = await call(base, 'GET', `/api/v1/runs/${id}/metrics/f1?offset=4&limit=2`, { token: viewer });
    expect(h2.body).toMatchObject({ total: 5, next: null, points: [{ step: 4 }] });
    const bad = await call(base, 'POST', `/api/v1/runs/${id}/metrics`, { token: editor, body: { metrics: [{ name: 'bad name!', value: 1 }] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0].field).toBe('metrics.0.name');
    const ended = await call(base, 'PATCH', `/api/v1/runs/${id}`, { token: editor, body: { status: 'FINISHED' } });
    expect(ended.body.status).toBe('FINISHED');
    expect(typeof ended.body.endTime).toBe('number');
    expect((await call(base, 'POST', `/api/v1/runs/${id}/metrics`, { token: editor, body: { metrics: [{ name: 'f1', value: 1 }] } })).body.error.code).toBe('TH_ERR_RUN_ENDED');
    expect((await call(base, 'GET', `/api/v1/runs/${e}.r000000000000`, { token: viewer })).status).toBe(404);
    expect((await call(base, 'GET', '/api/v1/runs/not-a-run-id', { token: viewer })).status).toBe(404);
  });

  it('search: filter and order across experiments; a malformed filter is a 400 with its position', async () => {
    const e1 = await experiment('search-1');
    const e2 = await experiment('search-2');
    const made: string[] = [];
    for (const [e, model, f1] of [[e1, 'rf', 0.95], [e1, 'gbm', 0.91], [e2, 'rf', 0.5], [e2, 'rf', 0.99]] as const) {
      const r = await call(base, 'POST', '/api/v1/runs', { token: editor, body: { experimentId: e, params: { model } } });
      await call(base, 'POST', `/api/v1/runs/${r.body.id}/metrics`, { token: editor, body: { metrics: [{ name: 'f1', value: f1 }] } });
      made.push(r.body.id);
    }
    const q = new URLSearchParams({ filter: "metrics.f1 > 0.9 and params.model = 'rf'", orderBy: 'metrics.f1 DESC', experiment: `${e1},${e2}` });
    const r = await call(base, 'GET', `/api/v1/runs?${q}`, { token: viewer });
    expect(r.status, r.text).toBe(200);
    expect(r.body.runs.map((x: any) => x.id)).toEqual([made[3], made[0]]);
    expect(r.body.nextPageToken).toBeNull();
    const two = await call(base, 'GET', `/api/v1/runs?experiment=${e1}&experiment=${e2}&orderBy=params.model%20ASC&orderBy=metrics.f1%20ASC`, { token: viewer });
    expect(two.body.runs.map((x: any) => x.id)).toEqual([made[1], made[2], made[0], made[3]]);
    const bad = await call(base, 'GET', `/api/v1/runs?${new URLSearchParams({ filter: 'metrics.f1 >> 0.9' })}`, { token: viewer });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('TH_ERR_FILTER_INVALID');
    expect(bad.body.error.fields[0].field).toBe('query.filter');
    expect(bad.body.error.fields[0].reason).toMatch(/^at position \d+: expected /);
    const badOrder = await call(base, 'GET', `/api/v1/runs?orderBy=${encodeURIComponent('metrics.f1 SIDEWAYS')}`, { token: viewer });
    expect(badOrder.status).toBe(400);
    expect(badOrder.body.error.fields[0].field).toBe('query.orderBy');
    const badToken = await call(base, 'GET', '/api/v1/runs?pageToken=garbage', { token: viewer });
    expect(badToken.status).toBe(400);
    expect(badToken.body.error.fields[0].field).toBe('query.pageToken');
  });

  it('export: every matching run as CSV (quoting right) and as a JSON array, streamed page by page', async () => {
    const e = await experiment('export');
    for (let i = 0; i < 1203; i++) {
      // Through the store: 1203 runs over HTTP would only slow the test down.
      await stack.coordinator.runs.createRun({ experimentId: e, createdBy: 'eddie', name: i === 0 ? 'a, "quoted"\nname' : `run ${i}`, params: { i: String(i) }, tags: { even: String(i % 2 === 0) } });
    }
    const res = await fetch(`${base}/api/v1/runs?experiment=${e}&format=csv&orderBy=params.i%20ASC`, { headers: { authorization: `Bearer ${viewer}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    const text = await res.text();
    const header = text.slice(0, text.indexOf('\r\n')).split(',');
    expect(header).toEqual(['run_id', 'experiment_id', 'run_name', 'status', 'state', 'start_time', 'end_time', 'parent_run_id', 'params.i', 'tags.even']);
    expect(text).toContain('"a, ""quoted""\nname"');
    // 1203 records plus the header, each ending CRLF (the quoted newline is an LF inside a field).
    expect(text.split('\r\n').length - 1).toBe(1204);
    const json = await fetch(`${base}/api/v1/runs?experiment=${e}&format=json&filter=${encodeURIComponent("tags.even = 'true'")}`, { headers: { authorization: `Bearer ${viewer}` } });
    const rows = (await json.json()) as any[];
    expect(rows.length).toBe(602);
    expect(new Set(rows.map((r) => r.id)).size).toBe(602);
  });

  it('pagination neither repeats nor skips a run under concurrent inserts', async () => {
    const e = await experiment('paging');
    const before: string[] = [];
    for (let i = 0; i < 120; i++) before.push((await stack.coordinator.runs.createRun({ experimentId: e, createdBy: 'eddie', startTime: 1_000_000 + i * 10 })).id);
    const seen: string[] = [];
    let token: string | null = null;
    let inserted = 0;
    for (let page = 0; page < 100; page++) {
      const qs: URLSearchParams = new URLSearchParams({ experiment: e, pageSize: "7", ...(token ? { pageToken: token } : {}) });
      // Inserts between pages, at start times before, among and after the runs already read.
      const writes = Array.from({ length: 3 }, (_, k) => stack.coordinator.runs.createRun({ experimentId: e, createdBy: 'eddie', startTime: 1_000_000 + ((page * 37 + k * 411) % 1300) }));
      const [r]: [Awaited<ReturnType<typeof call>>, ...unknown[]] = await Promise.all([call(base, 'GET', `/api/v1/runs?${qs}`, { token: viewer }), ...writes]);
      inserted += writes.length;
      seen.push(...r.body.runs.map((x: any) => x.id));
      token = r.body.nextPageToken;
      if (!token) break;
    }
    expect(token).toBeNull();
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of before) expect(seen).toContain(id);
    expect(inserted).toBeGreaterThan(0);
  });

  it('deleting: a direct run; a plain experiment with its runs; a study with its run data (tags, provenance, direct runs, indexes)', async () => {
    const e = await experiment('deleting');
    const run = await call(base, 'POST', '/api/v1/runs', { token: editor, body: { experimentId: e, params: { p: '1' } } });
    expect((await call(base, 'DELETE', `/api/v1/runs/${run.body.id}`, { token: editor })).body).toEqual({ id: run.body.id, deleted: true });
    expect((await call(base, 'GET', `/api/v1/runs/${run.body.id}`, { token: viewer })).status).toBe(404);
    await call(base, 'POST', '/api/v1/runs', { token: editor, body: { experimentId: e } });
    const gone = await call(base, 'DELETE', `/api/v1/experiments/${e}`, { token: editor });
    expect(gone.body).toMatchObject({ id: e, kind: 'plain', runs: 1 });
    expect((await call(base, 'GET', `/api/v1/experiments/${e}`, { token: viewer })).status).toBe(404);
    const redis = stack.coordinator.store.redis;
    expect(await redis.keys(`${stack.prefix}:{${e}}:*`)).toEqual([]);

    const study = await stack.api('POST', '/api/v1/studies', { name: 'doomed', project: 'ml', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 2, parallelism: 2, trial: { command: ['true'], tags: { stage: 'dev' } } });
    const sid = study.body.id as string;
    // The runner creates the trials; tag one and give it provenance, and log a direct run into the study.
    for (let i = 0; i < 200 && (await stack.coordinator.store.getStudy(sid))!.created < 1; i++) await new Promise((r) => setTimeout(r, 25));
    expect((await call(base, 'PATCH', `/api/v1/runs/${sid}.0`, { token: editor, body: { tags: { keep: 'no' }, note: 'x' } })).status).toBe(200);
    await stack.coordinator.runs.setProvenance(`${sid}.0`, { attempt: 1, capturedAt: 1, code: { source: 'none' }, data: { source: 'none', files: [], dvc: [] }, command: ['true'], env: {}, seed: 1 });
    expect((await call(base, 'POST', '/api/v1/runs', { token: editor, body: { experimentId: sid, params: { p: '2' } } })).status).toBe(201);
    expect((await redis.keys(`${stack.prefix}:{${sid}}:*`)).length).toBeGreaterThan(5);
    const del = await call(base, 'DELETE', `/api/v1/experiments/${sid}?force=true`);
    expect(del.status, del.text).toBe(200);
    expect(await redis.keys(`${stack.prefix}:{${sid}}:*`)).toEqual([]);
    expect((await call(base, 'GET', `/api/v1/runs/${sid}.0`)).status).toBe(404);
  });
});
