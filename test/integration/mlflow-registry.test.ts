/**
 * Contract tests of MLflow's model registry endpoints as Tunehive serves them. Request and
 * response shapes and error codes are MLflow's published REST API reference,
 * https://mlflow.org/docs/latest/rest-api.html (sections "Create RegisteredModel" ... "Delete
 * ModelVersion Tag", messages RegisteredModel, ModelVersion, RegisteredModelAlias) and
 * `model_registry.proto`: versions are strings, timestamps int64 JSON numbers, tags
 * `[{key, value}]`, errors `{error_code, message}` (RESOURCE_ALREADY_EXISTS and
 * INVALID_PARAMETER_VALUE are 400, RESOURCE_DOES_NOT_EXIST 404, PERMISSION_DENIED 403,
 * UNAUTHENTICATED 401). The last test drives the same endpoints through an independent client's
 * transport (the npm `mlflow` package's MLflowBase: its own query-string and JSON encoding).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { ensureProject, studyWithTrial, userToken } from '../helpers/auth.js';
import { authHeaders, TEST_ADMIN_TOKEN } from '../helpers/env.js';

const MODEL_BYTES = Buffer.from(JSON.stringify({ weights: Array.from({ length: 300 }, (_, i) => Math.sin(i)) }));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Reply { status: number; body: any }

describe('MLflow model registry REST endpoints (contract)', () => {
  let stack: TestStack;
  let base: string;
  let run: { studyId: string; trialId: string };
  let editor: string;
  let viewer: string;
  let other: string;

  /** GET fields go in the query (MLflow's client: `params=json_body`), everything else as a JSON body. */
  const ml = async (method: string, path: string, fields: Record<string, unknown> = {}, token: string | null = editor, prefix = '/api/2.0/mlflow'): Promise<Reply> => {
    const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
    let url = `${base}${prefix}/${path}`;
    let body: string | undefined;
    if (method === 'GET') {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(fields)) for (const x of Array.isArray(v) ? v : [v]) q.append(k, String(x));
      url += `?${q}`;
    } else {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(fields);
    }
    const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const expectError = (r: Reply, status: number, code: string) => {
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    expect(Object.keys(r.body).sort()).toEqual(['error_code', 'message']);
    expect(r.body.error_code).toBe(code);
    expect(typeof r.body.message).toBe('string');
  };

  beforeAll(async () => {
    stack = await startTestStack('mlflow-registry', { workers: 0 });
    base = stack.coordinator.httpUrl;
    await ensureProject(base, 'proj-a');
    await ensureProject(base, 'proj-b');
    editor = (await userToken(base, 'ed', { 'proj-a': 'editor' }, { tokenProject: 'proj-a' })).token;
    viewer = (await userToken(base, 'vic', { 'proj-a': 'viewer' })).token;
    other = (await userToken(base, 'bob', { 'proj-b': 'owner' })).token;
    run = await studyWithTrial(base, 'proj-a');
    const r = await fetch(`${base}/api/v1/runs/${run.trialId}/artifacts/model/model.json`, { method: 'PUT', headers: authHeaders(), body: MODEL_BYTES });
    expect(r.status).toBe(201);
  });
  afterAll(async () => stack?.close());

  it('registered-models/create: {registered_model} with MLflow\'s fields; RESOURCE_ALREADY_EXISTS, INVALID_PARAMETER_VALUE, PERMISSION_DENIED, UNAUTHENTICATED', async () => {
    const r = await ml('POST', 'registered-models/create', { name: 'fraud', description: 'risk model', tags: [{ key: 'team', value: 'risk' }] });
    expect(r.status).toBe(200);
    const m = r.body.registered_model;
    expect(m).toMatchObject({ name: 'fraud', description: 'risk model', user_id: 'ed', tags: [{ key: 'team', value: 'risk' }], latest_versions: [], aliases: [] });
    expect(Number.isInteger(m.creation_timestamp) && Number.isInteger(m.last_updated_timestamp)).toBe(true);
    expect(await stack.coordinator.registry.modelProject('fraud')).toBe('proj-a');
    expectError(await ml('POST', 'registered-models/create', { name: 'fraud' }), 400, 'RESOURCE_ALREADY_EXISTS');
    expectError(await ml('POST', 'registered-models/create', {}), 400, 'INVALID_PARAMETER_VALUE');
    expectError(await ml('POST', 'registered-models/create', { name: 'bad/name' }), 400, 'INVALID_PARAMETER_VALUE');
    expectError(await ml('POST', 'registered-models/create', { name: 'v-made', tags: [{ key: 'tunehive.project', value: 'proj-a' }] }, viewer), 403, 'PERMISSION_DENIED');
    expectError(await ml('POST', 'registered-models/create', { name: 'anon' }, null), 401, 'UNAUTHENTICATED');
    // The project tag picks the project (and is not kept as a tag).
    const b = await ml('POST', 'registered-models/create', { name: 'b-model', tags: [{ key: 'tunehive.project', value: 'proj-b' }] }, other);
    expect(b.body.registered_model.tags).toEqual([]);
    expect(await stack.coordinator.registry.modelProject('b-model')).toBe('proj-b');
  });

  it('registered-models/get: by name (query); RESOURCE_DOES_NOT_EXIST for unknown and for another project\'s', async () => {
    const r = await ml('GET', 'registered-models/get', { name: 'fraud' }, viewer);
    expect(r.status).toBe(200);
    expect(r.body.registered_model.name).toBe('fraud');
    expectError(await ml('GET', 'registered-models/get', { name: 'nope' }), 404, 'RESOURCE_DOES_NOT_EXIST');
    const hidden = await ml('GET', 'registered-models/get', { name: 'fraud' }, other);
    expectError(hidden, 404, 'RESOURCE_DOES_NOT_EXIST');
    expect(hidden.body.message).toBe((await ml('GET', 'registered-models/get', { name: 'nope' }, other)).body.message.replace('nope', 'fraud'));
    expectError(await ml('GET', 'registered-models/get', {}), 400, 'INVALID_PARAMETER_VALUE');
    // The UI's prefix serves the same handlers.
    expect((await ml('GET', 'registered-models/get', { name: 'fraud' }, viewer, '/ajax-api/2.0/mlflow')).body.registered_model.name).toBe('fraud');
  });

  it('model-versions/create: from runs:/ or the run\'s artifact URI; READY, version "1", current_stage "None"; unknown run and foreign sources refused', async () => {
    const r = await ml('POST', 'model-versions/create', { name: 'fraud', source: `runs:/${run.trialId}/model`, run_id: run.trialId, description: 'v1', tags: [{ key: 'k', value: 'v' }], run_link: 'http://x/run' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.model_version).toMatchObject({ name: 'fraud', version: '1', current_stage: 'None', status: 'READY', source: `runs:/${run.trialId}/model`, run_id: run.trialId, description: 'v1', tags: [{ key: 'k', value: 'v' }], run_link: 'http://x/run', user_id: 'ed', aliases: [] });
    // mlflow.register_model("runs:/...") sends the run's artifact URI as the source.
    const v2 = await ml('POST', 'model-versions/create', { name: 'fraud', source: `mlflow-artifacts:/${run.studyId}/${run.trialId}/artifacts/model`, run_id: run.trialId });
    expect(v2.body.model_version.version).toBe('2');
    expect(v2.body.model_version.source).toBe(`runs:/${run.trialId}/model`);
    expectError(await ml('POST', 'model-versions/create', { name: 'fraud', source: `runs:/${run.studyId}.99/model`, run_id: `${run.studyId}.99` }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectError(await ml('POST', 'model-versions/create', { name: 'fraud', source: 's3://bucket/model' }), 400, 'INVALID_PARAMETER_VALUE');
    expectError(await ml('POST', 'model-versions/create', { name: 'nope', source: `runs:/${run.trialId}/model` }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectError(await ml('POST', 'model-versions/create', { name: 'fraud', source: `runs:/${run.trialId}/model` }, viewer), 403, 'PERMISSION_DENIED');
  });

  it('model-versions/get and update: string versions; RESOURCE_DOES_NOT_EXIST for a missing version, INVALID_PARAMETER_VALUE for a bad one', async () => {
    const r = await ml('GET', 'model-versions/get', { name: 'fraud', version: '1' }, viewer);
    expect(r.body.model_version.version).toBe('1');
    expectError(await ml('GET', 'model-versions/get', { name: 'fraud', version: '99' }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectError(await ml('GET', 'model-versions/get', { name: 'fraud', version: 'one' }), 400, 'INVALID_PARAMETER_VALUE');
    const u = await ml('PATCH', 'model-versions/update', { name: 'fraud', version: '1', description: 'first version' });
    expect(u.body.model_version.description).toBe('first version');
  });

  it('model-versions/transition-stage: case-insensitive stages, archive_existing_versions; get-latest-versions by stage (POST and GET)', async () => {
    expect((await ml('POST', 'model-versions/transition-stage', { name: 'fraud', version: '1', stage: 'staging', archive_existing_versions: false })).body.model_version.current_stage).toBe('Staging');
    expect((await ml('POST', 'model-versions/transition-stage', { name: 'fraud', version: '1', stage: 'Production', archive_existing_versions: false })).body.model_version.current_stage).toBe('Production');
    const t = await ml('POST', 'model-versions/transition-stage', { name: 'fraud', version: '2', stage: 'Production', archive_existing_versions: true });
    expect(t.body.model_version.current_stage).toBe('Production');
    expect((await ml('GET', 'model-versions/get', { name: 'fraud', version: '1' })).body.model_version.current_stage).toBe('Archived');
    expectError(await ml('POST', 'model-versions/transition-stage', { name: 'fraud', version: '1', stage: 'Prod' }), 400, 'INVALID_PARAMETER_VALUE');
    const latest = await ml('POST', 'registered-models/get-latest-versions', { name: 'fraud', stages: ['Production'] });
    expect(latest.body.model_versions.map((v: { version: string }) => v.version)).toEqual(['2']);
    const both = await ml('GET', 'registered-models/get-latest-versions', { name: 'fraud', stages: ['Archived', 'Production'] }, viewer);
    expect(both.body.model_versions.map((v: { version: string; current_stage: string }) => [v.version, v.current_stage])).toEqual([['1', 'Archived'], ['2', 'Production']]);
    expect((await ml('GET', 'registered-models/get', { name: 'fraud' })).body.registered_model.latest_versions.map((v: { version: string }) => v.version)).toEqual(['1', '2']);
  });

  it('registered-models/alias: POST sets (and moves), GET resolves, DELETE removes; aliases on the model and the version', async () => {
    expect((await ml('POST', 'registered-models/alias', { name: 'fraud', alias: 'champion', version: '1' })).body).toEqual({});
    expect((await ml('POST', 'registered-models/alias', { name: 'fraud', alias: 'champion', version: '2' })).body).toEqual({});
    const g = await ml('GET', 'registered-models/alias', { name: 'fraud', alias: 'champion' }, viewer);
    expect(g.body.model_version).toMatchObject({ version: '2', aliases: ['champion'] });
    expect((await ml('GET', 'registered-models/get', { name: 'fraud' })).body.registered_model.aliases).toEqual([{ alias: 'champion', version: '2' }]);
    expectError(await ml('POST', 'registered-models/alias', { name: 'fraud', alias: 'champion', version: '7' }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectError(await ml('POST', 'registered-models/alias', { name: 'fraud', alias: 'v1', version: '1' }, viewer), 403, 'PERMISSION_DENIED');
    expect((await ml('POST', 'registered-models/alias', { name: 'fraud', alias: 'old', version: '1' })).status).toBe(200);
    expect((await ml('DELETE', 'registered-models/alias', { name: 'fraud', alias: 'old' })).body).toEqual({});
    expectError(await ml('GET', 'registered-models/alias', { name: 'fraud', alias: 'old' }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectError(await ml('DELETE', 'registered-models/alias', { name: 'fraud', alias: 'old' }), 404, 'RESOURCE_DOES_NOT_EXIST');
    // The history names who moved the alias.
    const h = await stack.coordinator.registry.history('fraud');
    expect(h.filter((e) => e.kind === 'alias' && e.alias === 'champion').map((e) => [e.version, e.from, e.by])).toEqual([[2, 1, 'ed'], [1, undefined, 'ed']]);
  });

  it('set-tag / delete-tag on models and versions; deleting a missing tag is RESOURCE_DOES_NOT_EXIST', async () => {
    expect((await ml('POST', 'registered-models/set-tag', { name: 'fraud', key: 'tier', value: 'gold' })).body).toEqual({});
    expect((await ml('GET', 'registered-models/get', { name: 'fraud' })).body.registered_model.tags).toEqual([{ key: 'team', value: 'risk' }, { key: 'tier', value: 'gold' }]);
    expect((await ml('DELETE', 'registered-models/delete-tag', { name: 'fraud', key: 'tier' })).body).toEqual({});
    expectError(await ml('DELETE', 'registered-models/delete-tag', { name: 'fraud', key: 'tier' }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expect((await ml('POST', 'model-versions/set-tag', { name: 'fraud', version: '2', key: 'approved', value: 'yes' })).body).toEqual({});
    expect((await ml('GET', 'model-versions/get', { name: 'fraud', version: '2' })).body.model_version.tags).toEqual([{ key: 'approved', value: 'yes' }]);
    expect((await ml('DELETE', 'model-versions/delete-tag', { name: 'fraud', version: '2', key: 'approved' })).body).toEqual({});
    expectError(await ml('DELETE', 'model-versions/delete-tag', { name: 'fraud', version: '2', key: 'approved' }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectError(await ml('POST', 'model-versions/set-tag', { name: 'fraud', version: '2', key: 'x', value: 'y' }, viewer), 403, 'PERMISSION_DENIED');
  });

  it('registered-models/search and model-versions/search: filter, order_by, max_results, page_token; bad input is INVALID_PARAMETER_VALUE', async () => {
    await ml('POST', 'registered-models/create', { name: 'fraud-v2' });
    await ml('POST', 'registered-models/create', { name: 'churn' });
    const all = await ml('GET', 'registered-models/search', {}, viewer);
    expect(all.body.registered_models.map((m: { name: string }) => m.name)).toEqual(['churn', 'fraud', 'fraud-v2']);
    const p1 = await ml('GET', 'registered-models/search', { filter: "name LIKE 'fraud%'", max_results: 1, order_by: ['name DESC'] });
    expect(p1.body.registered_models.map((m: { name: string }) => m.name)).toEqual(['fraud-v2']);
    const p2 = await ml('GET', 'registered-models/search', { filter: "name LIKE 'fraud%'", max_results: 1, order_by: ['name DESC'], page_token: p1.body.next_page_token });
    expect(p2.body.registered_models.map((m: { name: string }) => m.name)).toEqual(['fraud']);
    expect(p2.body.next_page_token).toBeUndefined();
    expect((await ml('GET', 'registered-models/search', { filter: "tags.team = 'risk'" })).body.registered_models.map((m: { name: string }) => m.name)).toEqual(['fraud']);
    expect((await ml('GET', 'registered-models/search', {}, other)).body.registered_models.map((m: { name: string }) => m.name)).toEqual(['b-model']);
    expectError(await ml('GET', 'registered-models/search', { filter: "name LIKE 'a' OR name = 'b'" }), 400, 'INVALID_PARAMETER_VALUE');
    expectError(await ml('GET', 'registered-models/search', { filter: "params.x = 'b'" }), 400, 'INVALID_PARAMETER_VALUE');
    expectError(await ml('GET', 'registered-models/search', { max_results: 1001 }), 400, 'INVALID_PARAMETER_VALUE');
    expectError(await ml('GET', 'registered-models/search', { page_token: 'garbage' }), 400, 'INVALID_PARAMETER_VALUE');
    const vs = await ml('GET', 'model-versions/search', { filter: "name='fraud'" }, viewer);
    expect(vs.body.model_versions.map((v: { version: string }) => v.version)).toEqual(['2', '1']);
    const byRun = await ml('GET', 'model-versions/search', { filter: `run_id = '${run.trialId}'`, order_by: ['version_number ASC'], max_results: 1 });
    expect(byRun.body.model_versions.map((v: { version: string }) => v.version)).toEqual(['1']);
    expect(typeof byRun.body.next_page_token).toBe('string');
    expect((await ml('GET', 'model-versions/search', { filter: "name='fraud'" }, other)).body.model_versions).toEqual([]);
  });

  it('model-versions/get-download-uri: the run\'s artifact URI while the run holds the same bytes (the proxy serves them), else the registry\'s own copy', async () => {
    const v = (await stack.coordinator.registry.getVersion('fraud', 2))!;
    expect(v.files).toEqual([{ path: 'model.json', size: MODEL_BYTES.length, sha256: sha(MODEL_BYTES) }]);
    const r = await ml('GET', 'model-versions/get-download-uri', { name: 'fraud', version: '2' }, viewer);
    expect(r.body).toEqual({ artifact_uri: `mlflow-artifacts:/${run.studyId}/${run.trialId}/artifacts/model` });
    // What MLflow's client does with it: list through the proxy, then download each file.
    const root = r.body.artifact_uri.slice('mlflow-artifacts:/'.length);
    const listed = await fetch(`${base}/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(root)}`, { headers: { authorization: `Bearer ${viewer}` } });
    expect(((await listed.json()) as { files: Array<{ path: string }> }).files.map((f) => f.path)).toEqual(['model.json']);
    const file = await fetch(`${base}/api/2.0/mlflow-artifacts/artifacts/${root}/model.json`, { headers: { authorization: `Bearer ${viewer}` } });
    expect(sha(Buffer.from(await file.arrayBuffer()))).toBe(sha(MODEL_BYTES));
    expectError(await ml('GET', 'model-versions/get-download-uri', { name: 'fraud', version: '5' }), 404, 'RESOURCE_DOES_NOT_EXIST');
    // The run's file replaced by other bytes: the URI names the registry's copy instead.
    const swap = await fetch(`${base}/api/v1/runs/${run.trialId}/artifacts/model/model.json`, { method: 'PUT', headers: authHeaders(), body: Buffer.from('other bytes') });
    expect(swap.status).toBe(201);
    expect((await ml('GET', 'model-versions/get-download-uri', { name: 'fraud', version: '2' }, viewer)).body).toEqual({ artifact_uri: 'mlflow-artifacts:/registry/fraud/2' });
    await fetch(`${base}/api/v1/runs/${run.trialId}/artifacts/model/model.json`, { method: 'PUT', headers: authHeaders(), body: MODEL_BYTES });
  });

  it('registered-models/update and rename: RESOURCE_ALREADY_EXISTS for a taken name, the old name gone', async () => {
    expect((await ml('PATCH', 'registered-models/update', { name: 'fraud', description: 'new words' })).body.registered_model.description).toBe('new words');
    expectError(await ml('POST', 'registered-models/rename', { name: 'fraud', new_name: 'churn' }), 400, 'RESOURCE_ALREADY_EXISTS');
    const r = await ml('POST', 'registered-models/rename', { name: 'fraud', new_name: 'fraud-detector' });
    expect(r.body.registered_model).toMatchObject({ name: 'fraud-detector', aliases: [{ alias: 'champion', version: '2' }] });
    expectError(await ml('GET', 'registered-models/get', { name: 'fraud' }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expect((await ml('GET', 'model-versions/get', { name: 'fraud-detector', version: '2' })).body.model_version.name).toBe('fraud-detector');
  });

  it('model-versions/delete and registered-models/delete (DELETE with a JSON body, as MLflow\'s client sends it)', async () => {
    expect((await ml('DELETE', 'model-versions/delete', { name: 'fraud-detector', version: '1' })).body).toEqual({});
    expectError(await ml('GET', 'model-versions/get', { name: 'fraud-detector', version: '1' }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectError(await ml('DELETE', 'registered-models/delete', { name: 'fraud-detector' }, viewer), 403, 'PERMISSION_DENIED');
    expect((await ml('DELETE', 'registered-models/delete', { name: 'fraud-detector' })).body).toEqual({});
    expectError(await ml('GET', 'registered-models/get', { name: 'fraud-detector' }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectError(await ml('DELETE', 'registered-models/delete', { name: 'fraud-detector' }), 404, 'RESOURCE_DOES_NOT_EXIST');
  });

  it('an independent client (npm mlflow\'s MLflowBase transport) creates, registers, aliases and reads back', async () => {
    const { MLflowBase } = (await import('mlflow/lib/mlflow.js')) as unknown as { MLflowBase: new (o: { endpoint: string; headers: Record<string, string> }) => { req(method: string, path: string, param: unknown): Promise<any> } };
    class Registry extends MLflowBase {
      call(method: string, path: string, param: unknown) { return this.req(method, path, param); }
    }
    const client = new Registry({ endpoint: base, headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    const log = console.log;
    console.log = () => undefined; // the package prints every request body
    try {
      const created = await client.call('POST', 'registered-models/create', { name: 'npm-model', tags: [{ key: 'tunehive.project', value: 'proj-a' }] });
      expect(created.registered_model.name).toBe('npm-model');
      const v = await client.call('POST', 'model-versions/create', { name: 'npm-model', source: `runs:/${run.trialId}/model`, run_id: run.trialId });
      expect(v.model_version.version).toBe('1');
      await client.call('POST', 'registered-models/alias', { name: 'npm-model', alias: 'champion', version: '1' });
      const got = await client.call('GET', 'registered-models/alias', { name: 'npm-model', alias: 'champion' });
      expect(got.model_version.version).toBe('1');
      const latest = await client.call('GET', 'registered-models/get-latest-versions', { name: 'npm-model', stages: ['None'] });
      expect(latest.model_versions.map((x: { version: string }) => x.version)).toEqual(['1']);
      await expect(client.call('GET', 'registered-models/get', { name: 'missing' })).rejects.toThrow(/RESOURCE_DOES_NOT_EXIST/);
    } finally {
      console.log = log;
    }
  });
});
