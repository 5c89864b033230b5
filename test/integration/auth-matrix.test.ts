/**
 * The auth matrix, derived from the OpenAPI document: every route the coordinator publishes
 * is called without a token, with a bad one, with another project's token and with too small a
 * role. A new route is in the document, so it is in this test: without auth it fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { call, ensureProject, studyWithTrial, userToken, type Reply } from '../helpers/auth.js';
import { TEST_ADMIN_TOKEN } from '../helpers/env.js';

/**
 * `call`, but an event stream (GET .../events) is not read to its end (it has none): its status
 * and headers are what the matrix checks, then the stream is closed.
 */
async function callOrStream(base: string, method: string, url: string, o: { token?: string | null; body?: unknown; authorization?: string; cookie?: string; csrf?: string } = {}): Promise<Reply> {
  if (!/\/events(\?|$)/.test(url) && o.cookie === undefined) return call(base, method, url, o);
  const headers: Record<string, string> = {};
  const token = o.token === undefined ? TEST_ADMIN_TOKEN : o.token;
  if (o.authorization !== undefined) headers.authorization = o.authorization;
  else if (token !== null) headers.authorization = `Bearer ${token}`;
  if (o.cookie !== undefined) headers.cookie = o.cookie;
  if (o.csrf !== undefined) headers['x-tunehive-csrf'] = o.csrf;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const abort = new AbortController();
  const res = await fetch(`${base}${url}`, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body), signal: abort.signal });
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    abort.abort();
    return { status: res.status, body: undefined, headers: res.headers, text: '' };
  }
  const text = await res.text();
  let body: any = text;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body, headers: res.headers, text };
}

const MLFLOW_PATH = /^\/(ajax-)?api\/2\.0\//;
type Rule = { idIn?: string[]; runToken?: true; public?: true; token?: true; admin?: true; scope?: string; openable?: boolean; study?: string; trial?: string; project?: string; run?: string; experiment?: string; model?: string };
/** The role a route needs in a project (whatever names the project: a study, trial, run, experiment, model or the project itself). */
const projectRole = (r: Rule) => r.study ?? r.trial ?? r.project ?? r.run ?? r.experiment ?? r.model;
const RANK: Record<string, number> = { viewer: 1, editor: 2, owner: 3, admin: 4 };

// A body for every write route, so the route itself (not the body check) answers. A write
// route missing here fails the test: add a body when adding a route.
const BODIES: Record<string, unknown> = {
  'POST /api/v1/studies': { name: 'm', project: 'proj-a', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 5 },
  'POST /api/v1/studies/{id}/trials/{trialId}/tell': { step: 2, value: 0.4 },
  'POST /api/v1/tokens': { description: 'matrix' },
  'POST /api/v1/projects': { name: 'matrix-made' },
  'PUT /api/v1/projects/{name}/members/{owner}': { role: 'editor' },
  'POST /api/v1/runs/{id}/rerun': { force: false },
  // The raw body is the artifact (any content type).
  'PUT /api/v1/runs/{id}/artifacts/{*}': 'matrix artifact',
  'POST /api/v1/experiments': { project: 'proj-a', name: 'matrix-experiment' },
  'PATCH /api/v1/experiments/{id}': { description: 'matrix' },
  'PATCH /api/v1/runs/{id}': { tags: { matrix: 'yes' } },
  'POST /api/v1/runs/{id}/params': { params: { matrix: '1' } },
  'POST /api/v1/runs/{id}/metrics': { metrics: [{ name: 'loss', value: 1 }] },
  'POST /api/v1/session': { token: 'not-a-token-at-all-000000' },
  // 'POST /api/v1/runs' is set in beforeAll: it names project A's experiment.
  // Model registry (native): the model "matrix-model" (proj-a) with version 1 and alias champion.
  'POST /api/v1/models': { name: 'matrix-new', project: 'proj-a' },
  'PATCH /api/v1/models/{name}': { description: 'matrix' },
  'POST /api/v1/models/{name}/versions': { source: 'runs:/RUN/matrix.txt' },
  'PATCH /api/v1/models/{name}/versions/{version}': { description: 'matrix' },
  'POST /api/v1/models/{name}/versions/{version}/stage': { stage: 'Staging' },
  'PUT /api/v1/models/{name}/aliases/{alias}': { version: 1 },
};
const NO_BODY = new Set(['POST /api/v1/studies/{id}/stop', 'POST /api/v1/studies/{id}/trials/ask', 'DELETE /api/v1/studies/{id}', 'DELETE /api/v1/tokens/{id}', 'DELETE /api/v1/projects/{name}/members/{owner}', 'DELETE /api/v1/workers/{id}', 'DELETE /api/v1/projects/{name}',
  'DELETE /api/v1/runs/{id}', 'DELETE /api/v1/experiments/{id}', 'DELETE /api/v1/runs/{id}/artifacts/{*}', 'DELETE /api/v1/session',
  'DELETE /api/v1/models/{name}', 'DELETE /api/v1/models/{name}/versions/{version}', 'DELETE /api/v1/models/{name}/aliases/{alias}']);

describe('auth matrix over every route of the OpenAPI document', () => {
  let stack: TestStack;
  let base: string;
  let a: { studyId: string; trialId: string };
  // Project A's plain experiment and two direct runs in it (the {run} and {experiment} rules).
  let experimentA: string;
  let runsA: string[];
  let viewerA: string;
  let mlOps: Array<{ method: string; path: string; rule: Rule }>;
  /** The run of project A the MLflow part acts on (a direct run: every MLflow write applies to it). */
  let mlRunA: string;
  let editorA: string;
  let ownerB: string;
  let aliceTokenId: string;
  let ops: Array<{ method: string; path: string; rule: Rule }>;

  beforeAll(async () => {
    // Hundreds of deliberate failures from one address: the failure limit is tested elsewhere.
    stack = await startTestStack('auth-matrix', { workers: 0, coordinator: { authFailuresPerMinute: 1_000_000 } });
    base = stack.coordinator.httpUrl;
    await ensureProject(base, 'proj-a');
    await ensureProject(base, 'proj-b');
    aliceTokenId = (await userToken(base, 'alice', { 'proj-a': 'owner' })).id;
    viewerA = (await userToken(base, 'vic', { 'proj-a': 'viewer' })).token;
    editorA = (await userToken(base, 'ed', { 'proj-a': 'editor' })).token;
    ownerB = (await userToken(base, 'bob', { 'proj-b': 'owner' })).token;
    a = await studyWithTrial(base, 'proj-a');
    // The artifact the read routes ask for (the delete route, run last as admin, may remove it).
    expect((await call(base, 'PUT', `/api/v1/runs/${a.trialId}/artifacts/matrix.txt`, { body: 'matrix artifact' })).status).toBe(201);
    const exp = await stack.coordinator.runs.createExperiment({ project: 'proj-a', name: 'matrix-runs', createdBy: 'alice' });
    experimentA = exp.id;
    runsA = [(await stack.coordinator.runs.createRun({ experimentId: exp.id, createdBy: 'alice' })).id, (await stack.coordinator.runs.createRun({ experimentId: exp.id, createdBy: 'alice' })).id];
    BODIES['POST /api/v1/runs'] = { experimentId: experimentA };
    // The artifact the read routes ask for (the delete route, run last as admin, may remove it).
    expect((await call(base, 'PUT', `/api/v1/runs/${runsA[0]}/artifacts/matrix.txt`, { body: 'matrix artifact' })).status).toBe(201);
    // The registry's fixtures: a model of project A with version 1 (from that artifact) and the alias champion.
    expect((await call(base, 'POST', '/api/v1/models', { body: { name: 'matrix-model', project: 'proj-a' } })).status).toBe(201);
    expect((await call(base, 'POST', '/api/v1/models/matrix-model/versions', { body: { runId: runsA[0], path: 'matrix.txt' } })).status).toBe(201);
    expect((await call(base, 'PUT', '/api/v1/models/matrix-model/aliases/champion', { body: { version: 1 } })).status).toBe(200);
    const doc = await call(base, 'GET', '/api/v1/openapi.json');
    expect(doc.status).toBe(200);
    ops = Object.entries(doc.body.paths as Record<string, Record<string, any>>).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), path, rule: op['x-tunehive-auth'] as Rule })));
    // MLflow's routes answer in MLflow's shapes (ids in the query or body): their own part below.
    mlOps = ops.filter((o) => MLFLOW_PATH.test(o.path));
    ops = ops.filter((o) => !MLFLOW_PATH.test(o.path));
    mlRunA = runsA[1]!;
    await call(base, 'PUT', `/api/2.0/mlflow-artifacts/artifacts/${experimentA}/${mlRunA}/artifacts/matrix.txt`, { body: 'matrix' });
  });
  afterAll(async () => stack?.close());

  const urlOf = (path: string) => path
    .replace('/models/{name}', '/models/matrix-model').replace('{version}', '1').replace('{alias}', 'champion')
    .replace(/^\/api\/v1\/models\/resolve$/, '/api/v1/models/resolve?uri=models:/matrix-model@champion')
    .replace(/^\/api\/v1\/runs\/compare$/, `/api/v1/runs/compare?ids=${runsA[0]},${runsA[1]}`)
    // Artifacts, provenance and reruns of a trial run; the other run routes on a direct run.
    .replace(/\/runs\/\{id\}(?=\/(artifacts|provenance|rerun))/, `/runs/${a.trialId}`).replace('{*}', 'matrix.txt')
    .replace('/runs/{id}', `/runs/${runsA[0]}`).replace('/experiments/{id}', `/experiments/${experimentA}`)
    .replace('/metrics/{name}', '/metrics/loss').replace('/trials/{id}', `/trials/${a.trialId}`).replace('{trialId}', a.trialId.split('.')[1]!)
    .replace('/runs/{id}', `/runs/${a.trialId}`).replace('/tokens/{id}', `/tokens/${aliceTokenId}`).replace('{id}', a.studyId).replace('{name}', 'proj-a').replace('{owner}', 'ed');
  const bodyOf = (method: string, path: string) => {
    const key = `${method} ${path}`;
    if (method === 'GET') return undefined;
    if (key in BODIES) return JSON.parse(JSON.stringify(BODIES[key]).replace('RUN', runsA[0]!));
    if (NO_BODY.has(key)) return undefined;
    throw new Error(`${key} is a write route the auth matrix does not know: add its body to BODIES (or NO_BODY)`);
  };
  const send = (o: { method: string; path: string }, token: string | null, authorization?: string, session?: { cookie: string; csrf?: string }) =>
    callOrStream(base, o.method, urlOf(o.path), { token: session ? null : token, ...(authorization ? { authorization } : {}), ...(session ?? {}),
      ...(bodyOf(o.method, o.path) !== undefined ? { body: bodyOf(o.method, o.path) } : {}) });

  it('covers the routes it should, and every route declares its rule', () => {
    expect(ops.length).toBeGreaterThanOrEqual(24);
    const keys = ops.map((o) => `${o.method} ${o.path}`);
    for (const k of ['GET /api/v1/models', 'GET /api/v1/models/{name}', 'PUT /api/v1/models/{name}/aliases/{alias}', 'GET /api/v1/models/{name}/versions/{version}/files/{*}', 'GET /api/v1/runs/{id}/artifacts', 'PUT /api/v1/runs/{id}/artifacts/{*}', 'GET /api/v1/runs/{id}/artifacts/{*}', 'DELETE /api/v1/runs/{id}/artifacts/{*}',
      'GET /api/v1/runs/{id}/provenance', 'POST /api/v1/runs/{id}/rerun',
      'GET /api/v1/runs/{id}', 'PATCH /api/v1/runs/{id}', 'GET /api/v1/runs', 'POST /api/v1/runs', 'GET /api/v1/experiments/{id}', 'DELETE /api/v1/experiments/{id}',
      'GET /api/v1/studies/{id}', 'DELETE /api/v1/studies/{id}', 'GET /api/v1/trials/{id}/metrics/{name}', 'POST /api/v1/tokens', 'GET /api/v1/audit', 'GET /metrics', 'GET /healthz']) {
      expect(keys).toContain(k);
    }
    for (const o of ops) {
      expect(o.rule, `${o.method} ${o.path} has x-tunehive-auth`).toBeDefined();
      // A route that names a study, a trial or a project must check the role in its project.
      if (/^\/api\/v1\/studies\/\{id\}/.test(o.path)) expect(o.rule.study, `${o.method} ${o.path}`).toBeDefined();
      if (/^\/api\/v1\/trials\/\{id\}/.test(o.path)) expect(o.rule.trial, `${o.method} ${o.path}`).toBeDefined();
      if (/^\/api\/v1\/projects\/\{name\}/.test(o.path)) expect(o.rule.project, `${o.method} ${o.path}`).toBeDefined();
      if (/^\/api\/v1\/runs\/\{id\}/.test(o.path)) expect(o.rule.run, `${o.method} ${o.path}`).toBeDefined();
      if (/^\/api\/v1\/models\/\{name\}/.test(o.path)) expect(o.rule.model, `${o.method} ${o.path}`).toBeDefined();
      if (/^\/api\/v1\/experiments\/\{id\}/.test(o.path)) expect(o.rule.experiment, `${o.method} ${o.path}`).toBeDefined();
      // The dashboard's login and logout are public: there is no session before one, and an expired one must still clear its cookie.
      if (o.rule.public) expect(['/healthz', '/readyz', '/api/v1/session'], `${o.path} may be public`).toContain(o.path);
    }
  });

  it('answers 401 with WWW-Authenticate to a missing or bad token on every route but the probes', async () => {
    const bad = ['thk_0123456789abcdef_' + 'A'.repeat(43), 'not-a-token-at-all-000000'];
    for (const o of ops) {
      const label = `${o.method} ${o.path}`;
      const none = await send(o, null);
      if (o.rule.public) {
        // Login with the matrix's body (not a token) is refused like a bad header; logout without a session just clears the cookie.
        expect(none.status, label).toBe(label === 'POST /api/v1/session' ? 401 : label === 'DELETE /api/v1/session' ? 204 : 200);
        continue;
      }
      expect(none.status, label).toBe(401);
      expect(none.headers.get('www-authenticate'), label).toBe('Bearer realm="tunehive", Basic realm="tunehive"');
      expect(none.body.error.fields[0].field, label).toBe('headers.authorization');
      for (const t of bad) {
        const r = await send(o, t);
        expect(r.status, `${label} with ${t}`).toBe(401);
        expect(r.body.error.code, label).toBe('TH_ERR_AUTH_INVALID');
      }
      const basicBad = await send(o, null, `Basic ${Buffer.from(`${bad[0]}:`).toString('base64')}`);
      expect(basicBad.status, `${label} Basic`).toBe(401);
    }
  });

  it("never answers 2xx to another project's token about project A, and shows it nothing of A", async () => {
    for (const o of ops) {
      if (o.rule.public) continue;
      const label = `${o.method} ${o.path}`;
      const r = await send(o, ownerB);
      if (projectRole(o.rule)) {
        // Unreadable is unknown: a 404 that says no more than for an id that never existed.
        expect(r.status, label).toBe(404);
        expect(r.text, label).not.toContain('proj-a"');
      } else if (o.rule.scope || o.rule.admin) {
        expect(r.status, label).toBe(403);
      } else if (label === 'POST /api/v1/studies' || label === 'POST /api/v1/experiments') {
        expect(r.status, label).toBe(404);
        expect(r.body.error.fields[0].field).toBe('project');
      } else if (label === 'POST /api/v1/runs') {
        expect(r.status, label).toBe(404);
        expect(r.body.error.fields[0].field).toBe('experimentId');
      } else if (label === 'GET /api/v1/runs/compare') {
        expect(r.status, label).toBe(404);
        expect(r.text, label).not.toContain('proj-a"');
      } else if (label === 'DELETE /api/v1/tokens/{id}') {
        // Someone else's token is answered like an unknown one.
        expect(r.status, label).toBe(404);
      } else {
        // Global routes: whatever they answer, nothing of project A is in it.
        for (const secret of [a.studyId, aliceTokenId, '"proj-a"', '"alice"', '"vic"']) expect(r.text, `${label} leaks ${secret}`).not.toContain(secret);
      }
    }
    // The study is intact after all of that.
    expect((await call(base, 'GET', `/api/v1/studies/${a.studyId}`)).body.state).toBe('RUNNING');
  });

  it('answers 403 naming the role to too small a role, and 2xx to enough', async () => {
    for (const o of ops) {
      if (o.rule.public) continue;
      const label = `${o.method} ${o.path}`;
      const wanted = projectRole(o.rule) ?? (['POST /api/v1/studies', 'POST /api/v1/experiments', 'POST /api/v1/runs', 'POST /api/v1/models'].includes(label) ? 'editor' : undefined);
      const r = await send(o, viewerA);
      if (o.rule.scope) {
        expect(r.status, label).toBe(403);
        expect(r.body.error.message, label).toContain(`scope ${o.rule.scope}`);
      } else if (o.rule.admin) {
        expect(r.status, label).toBe(403);
        expect(r.body.error.message, label).toContain('needs an admin token');
      } else if (wanted && RANK[wanted]! > RANK.viewer!) {
        expect(r.status, label).toBe(403);
        expect(r.body.error.code, label).toBe('TH_ERR_AUTH_FORBIDDEN');
        expect(r.body.error.message, label).toContain(`needs role ${wanted}`);
      } else if (wanted) {
        expect(r.status, `${label}: ${r.text.slice(0, 200)}`).toBeLessThan(300);
      }
    }
    // An editor is too small for what needs an owner.
    for (const o of ops.filter((x) => projectRole(x.rule) === 'owner')) {
      const r = await send(o, editorA);
      expect(r.status, `${o.method} ${o.path} as editor`).toBe(403);
      expect(r.body.error.message).toContain('needs role owner');
    }
    expect((await call(base, 'GET', `/api/v1/studies/${a.studyId}`)).body.state).toBe('RUNNING');
    expect((await call(base, 'GET', `/api/v1/runs/${runsA[0]}`)).status).toBe(200);
  });

  it('answers every GET route to the admin token', async () => {
    for (const o of ops.filter((x) => x.method === 'GET')) {
      const r = await send(o, undefined as unknown as null);
      expect(r.status, `${o.path}: ${r.text.slice(0, 200)}`).toBe(200);
    }
  });

  it('treats a session cookie like its token: the same answer to every route, and every write without the CSRF header is 403', async () => {
    const login = await call(base, 'POST', '/api/v1/session', { token: null, body: { token: viewerA } });
    expect(login.status).toBe(200);
    const cookie = login.headers.getSetCookie().find((c) => c.startsWith('th_session='))!.split(';')[0]!;
    expect(cookie).toMatch(/^th_session=[A-Za-z0-9_-]{43}$/);
    for (const o of ops) {
      if (o.rule.public) continue;
      const label = `${o.method} ${o.path}`;
      if (o.method !== 'GET') {
        const r = await send(o, null, undefined, { cookie });
        expect(r.status, label).toBe(403);
        expect(r.body.error.code, label).toBe('TH_ERR_AUTH_CSRF');
        continue;
      }
      const [byHeader, byCookie] = [await send(o, viewerA), await send(o, null, undefined, { cookie })];
      expect(byCookie.status, label).toBe(byHeader.status);
    }
    // With its CSRF header a cookie write gets the role check a header write gets (a viewer may not stop a study).
    const stop = await send({ method: 'POST', path: '/api/v1/studies/{id}/stop' }, null, undefined, { cookie, csrf: login.body.csrf });
    expect(stop.status).toBe(403);
    expect(stop.body.error.code).toBe('TH_ERR_AUTH_FORBIDDEN');
    expect((await call(base, 'GET', `/api/v1/studies/${a.studyId}`)).body.state).toBe('RUNNING');
  });

  it('protects the docs UI and the OpenAPI document (not in the document themselves)', async () => {
    for (const url of ['/docs/', '/docs/static/swagger-initializer.js', '/api/v1/openapi.json']) {
      const none = await call(base, 'GET', url, { token: null });
      expect(none.status, url).toBe(401);
      expect(none.headers.get('www-authenticate')).toContain('Basic realm="tunehive"');
      expect((await call(base, 'GET', url, { token: ownerB })).status, url).toBe(200);
    }
  });

  // ---- MLflow routes (coordinator/mlflow): `{error_code, message}`, ids named by the rule's idIn ----
  const mlRpc = (path: string) => path.replace(MLFLOW_PATH, '').replace(/^mlflow(-artifacts)?\//, '');
  let made = 0;
  const mlQuery = (): Record<string, string> => ({
    experiment_id: experimentA, run_id: mlRunA, experiment_name: 'matrix-runs', metric_key: 'loss', path: `${experimentA}/${mlRunA}/artifacts`,
    // The registry's GETs: the matrix model, its version 1 and alias champion.
    name: 'matrix-model', version: '1', alias: 'champion',
  });
  const mlBody = (rpc: string): Record<string, unknown> => {
    const now = Date.now();
    const run = { run_id: mlRunA };
    const bodies: Record<string, Record<string, unknown>> = {
      'experiments/create': { name: `matrix-ml-${made++}`, tags: [{ key: 'tunehive.project', value: 'proj-a' }] },
      'experiments/update': { experiment_id: experimentA, new_name: 'matrix-runs' },
      'experiments/delete': { experiment_id: experimentA }, 'experiments/restore': { experiment_id: experimentA },
      'experiments/set-experiment-tag': { experiment_id: experimentA, key: 'k', value: 'v' }, 'experiments/delete-experiment-tag': { experiment_id: experimentA, key: 'k' },
      'experiments/search': {}, 'runs/search': { experiment_ids: [experimentA] }, 'runs/create': { experiment_id: experimentA },
      'runs/update': { ...run, run_name: 'matrix' }, 'runs/delete': run, 'runs/restore': run,
      'runs/log-metric': { ...run, key: 'loss', value: 1, timestamp: now }, 'runs/log-parameter': { ...run, key: 'matrix', value: '1' },
      'runs/set-tag': { ...run, key: 'k', value: 'v' }, 'runs/delete-tag': { ...run, key: 'k' },
      'runs/log-batch': { ...run, metrics: [{ key: 'loss', value: 1, timestamp: now }] }, 'runs/log-inputs': { ...run, datasets: [] },
      'runs/log-model': { ...run, model_json: '{}' },
      // Model registry (the matrix model of project A; name and version in the body, the handler checks the role).
      'registered-models/create': { name: `matrix-rm-${made++}`, tags: [{ key: 'tunehive.project', value: 'proj-a' }] },
      'registered-models/rename': { name: 'matrix-model', new_name: 'matrix-renamed' }, 'registered-models/update': { name: 'matrix-model', description: 'm' },
      'registered-models/search': {}, 'registered-models/get-latest-versions': { name: 'matrix-model' },
      'registered-models/set-tag': { name: 'matrix-model', key: 'k', value: 'v' }, 'registered-models/alias': { name: 'matrix-model', alias: 'champion', version: '1' },
      'model-versions/create': { name: 'matrix-model', source: `runs:/${runsA[0]}/matrix.txt`, run_id: runsA[0] }, 'model-versions/search': {},
      'model-versions/update': { name: 'matrix-model', version: '1', description: 'm' }, 'model-versions/transition-stage': { name: 'matrix-model', version: '1', stage: 'Staging' },
      'model-versions/set-tag': { name: 'matrix-model', version: '1', key: 'k', value: 'v' },
    };
    if (!(rpc in bodies)) throw new Error(`POST ${rpc} is an MLflow route the auth matrix does not know: add its body`);
    return bodies[rpc]!;
  };
  const mlSend = (o: { method: string; path: string }, token: string | null, authorization?: string) => {
    const url = o.path.replace('{experiment}', experimentA).replace('{id}', mlRunA).replace('{*}', 'matrix.txt');
    const rpc = mlRpc(o.path);
    if (o.method === 'GET') return call(base, 'GET', `${url}?${new URLSearchParams(mlQuery())}`, { token, ...(authorization ? { authorization } : {}) });
    // The registry's DELETEs carry their fields like MLflow's client sends them: a JSON body.
    if (o.method === 'DELETE' && /^(registered-models|model-versions)\//.test(rpc)) return call(base, 'DELETE', url, { token, body: { name: 'matrix-model', version: '1', alias: 'champion', key: 'k' } });
    if (o.method === 'PUT' || o.method === 'DELETE') return call(base, o.method, url, { token, ...(o.method === 'PUT' ? { body: 'matrix' } : {}) });
    return call(base, o.method, url, { token, body: mlBody(rpc) });
  };
  const mlRole = (r: Rule) => r.run ?? r.experiment;

  it('MLflow: covers every route under both prefixes, each with a rule that names where its id is', () => {
    const keys = mlOps.map((o) => `${o.method} ${o.path}`);
    for (const rpc of ['experiments/create', 'experiments/search', 'runs/create', 'runs/log-batch', 'runs/search', 'runs/update', 'runs/delete', 'runs/restore', 'runs/log-inputs', 'runs/log-model']) {
      expect(keys).toContain(`POST /api/2.0/mlflow/${rpc}`);
      expect(keys).toContain(`POST /ajax-api/2.0/mlflow/${rpc}`);
    }
    for (const rpc of ['experiments/get', 'experiments/get-by-name', 'runs/get', 'metrics/get-history', 'artifacts/list']) expect(keys).toContain(`GET /api/2.0/mlflow/${rpc}`);
    for (const m of ['PUT', 'GET', 'DELETE']) expect(keys).toContain(`${m} /api/2.0/mlflow-artifacts/artifacts/{experiment}/{id}/artifacts/{*}`);
    expect(keys).toContain('GET /api/2.0/mlflow-artifacts/artifacts');
    for (const k of ['POST registered-models/create', 'GET registered-models/get', 'GET registered-models/search', 'POST registered-models/rename', 'PATCH registered-models/update', 'DELETE registered-models/delete',
      'POST registered-models/get-latest-versions', 'POST registered-models/set-tag', 'DELETE registered-models/delete-tag', 'POST registered-models/alias', 'GET registered-models/alias', 'DELETE registered-models/alias',
      'POST model-versions/create', 'GET model-versions/get', 'GET model-versions/search', 'PATCH model-versions/update', 'DELETE model-versions/delete', 'POST model-versions/transition-stage',
      'GET model-versions/get-download-uri', 'POST model-versions/set-tag', 'DELETE model-versions/delete-tag']) {
      const [m, rpc] = k.split(' ');
      expect(keys).toContain(`${m} /api/2.0/mlflow/${rpc}`);
      expect(keys).toContain(`${m} /ajax-api/2.0/mlflow/${rpc}`);
    }
    for (const o of mlOps) {
      expect(o.rule, `${o.method} ${o.path}`).toBeDefined();
      expect(o.rule.public, `${o.method} ${o.path}`).toBeUndefined();
      if (mlRole(o.rule) && !o.path.includes('{id}')) expect(o.rule.idIn?.length, `${o.method} ${o.path} names where its id is`).toBeGreaterThan(0);
      const rpc = mlRpc(o.path);
      if (/^(runs\/(get|update|delete|restore|log-|set-tag|delete-tag))|^metrics\/|^artifacts\/list/.test(rpc)) expect(o.rule.run, `${o.method} ${o.path}`).toBeDefined();
      if (/^experiments\/(get$|update|delete|restore|set-|delete-)/.test(rpc)) expect(o.rule.experiment, `${o.method} ${o.path}`).toBeDefined();
    }
  });

  it('MLflow: UNAUTHENTICATED 401 with WWW-Authenticate to no token or a bad one (Bearer and Basic)', async () => {
    const bad = 'thk_0123456789abcdef_' + 'A'.repeat(43);
    for (const o of mlOps) {
      const label = `${o.method} ${o.path}`;
      for (const r of [await mlSend(o, null), await mlSend(o, bad), await mlSend(o, null, `Basic ${Buffer.from(`${bad}:`).toString('base64')}`)]) {
        expect(r.status, label).toBe(401);
        expect(r.body.error_code, label).toBe('UNAUTHENTICATED');
        expect(r.headers.get('www-authenticate'), label).toContain('Bearer');
      }
    }
  });

  it("MLflow: another project's token gets RESOURCE_DOES_NOT_EXIST for A's runs and experiments, and sees nothing of A", async () => {
    for (const o of mlOps) {
      const label = `${o.method} ${o.path}`;
      const r = await mlSend(o, ownerB);
      if (mlRole(o.rule)) {
        expect(r.status, `${label}: ${r.text.slice(0, 200)}`).toBe(404);
        expect(r.body.error_code, label).toBe('RESOURCE_DOES_NOT_EXIST');
      } else {
        for (const secret of [experimentA, mlRunA, '"proj-a"']) expect(r.text, `${label} leaks ${secret}`).not.toContain(secret);
      }
    }
  });

  it('MLflow: PERMISSION_DENIED 403 to too small a role, 2xx to enough; a run token only for its own run', async () => {
    const { RunTokens } = await import('../../coordinator/mlflow/run-tokens.js');
    const other = await new RunTokens(stack.coordinator.creds, base).mint({ studyId: a.studyId, number: Number(a.trialId.split('.')[1]), attempt: 1, project: 'proj-a', timeoutSeconds: 60 });
    for (const o of mlOps) {
      const label = `${o.method} ${o.path}`;
      const wanted = mlRole(o.rule) ?? (mlRpc(o.path) === 'experiments/create' ? 'editor' : undefined);
      const r = await mlSend(o, viewerA);
      if (wanted === 'editor') {
        expect(r.status, `${label}: ${r.text.slice(0, 200)}`).toBe(403);
        expect(r.body.error_code, label).toBe('PERMISSION_DENIED');
      } else if (wanted === 'viewer') {
        expect(r.status, `${label}: ${r.text.slice(0, 200)}`).toBeLessThan(300);
      }
      // A trial's run token (of another run than A's) is refused here, whatever the route.
      const t = await mlSend(o, other.token);
      expect(t.status, `${label} with a run token: ${t.text.slice(0, 200)}`).toBe(o.rule.runToken && !mlRole(o.rule) ? t.status : 403);
      if (!(o.rule.runToken && !mlRole(o.rule))) expect(t.body.error_code, label).toBe('PERMISSION_DENIED');
    }
  });
});
