/**
 * MLflow's artifact routes: ListArtifacts (`GET /api/2.0/mlflow/artifacts/list`,
 * https://mlflow.org/docs/latest/rest-api.html#list-artifacts, service.proto ListArtifacts:
 * {root_uri, files[{path, is_dir, file_size}], next_page_token}) and the artifact proxy of
 * `mlflow server --serve-artifacts` (mlflow_artifacts.proto: PUT/GET/DELETE
 * `/api/2.0/mlflow-artifacts/artifacts/<path>`, GET `/api/2.0/mlflow-artifacts/artifacts?path=`
 * -> {files}), requested the way MLflow's HttpArtifactRepository does (mlflow.log_artifact,
 * mlflow.artifacts.download_artifacts): paths under the run's artifact_uri
 * `mlflow-artifacts:/<experiment>/<run>/artifacts`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { ensureProject, userToken } from '../helpers/auth.js';
import { TEST_ADMIN_TOKEN } from '../helpers/env.js';
import { expectMlflowError, mlflow } from '../helpers/mlflow.js';

describe('MLflow artifacts', () => {
  let stack: TestStack;
  let base: string;
  let exp: string;
  let run: string;
  let root: string;
  const auth = (token = TEST_ADMIN_TOKEN) => ({ authorization: `Bearer ${token}` });

  beforeAll(async () => {
    stack = await startTestStack('mlflow-artifacts', { workers: 0 });
    base = stack.coordinator.httpUrl;
    await ensureProject(base, 'default');
    const m = mlflow(base);
    exp = (await m.post('experiments/create', { name: 'arts' })).body.experiment_id;
    const created = (await m.post('runs/create', { experiment_id: exp })).body.run.info;
    run = created.run_id;
    // What the client does with artifact_uri: mlflow-artifacts:/<path> -> <tracking>/api/2.0/mlflow-artifacts/artifacts/<path>.
    expect(created.artifact_uri).toBe(`mlflow-artifacts:/${exp}/${run}/artifacts`);
    root = `${base}/api/2.0/mlflow-artifacts/artifacts/${created.artifact_uri.slice('mlflow-artifacts:/'.length)}`;
  });
  afterAll(async () => stack?.close());

  it('PUT uploads (any content type), GET downloads the same bytes, list shows files and folders', async () => {
    const model = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
    for (const [p, body, type] of [['model/model.pkl', model, 'application/octet-stream'], ['model/MLmodel', Buffer.from('flavors: {}\n'), 'text/plain'], ['metrics.json', Buffer.from('{"f1": 0.9}'), 'application/json']] as const) {
      const r = await fetch(`${root}/${p}`, { method: 'PUT', headers: { ...auth(), 'content-type': type }, body });
      expect(r.status, await r.clone().text()).toBe(200);
      expect((await r.json()) as any).toEqual({});
    }
    const down = await fetch(`${root}/model/model.pkl`, { headers: auth() });
    expect(down.status).toBe(200);
    expect(Buffer.from(await down.arrayBuffer()).equals(model)).toBe(true);
    const json = await fetch(`${root}/metrics.json`, { headers: auth() });
    expect(await json.text()).toBe('{"f1": 0.9}');

    const proxyList = await fetch(`${base}/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(`${exp}/${run}/artifacts`)}`, { headers: auth() });
    expect((await proxyList.json()) as any).toEqual({ files: [{ path: 'metrics.json', is_dir: false, file_size: 11 }, { path: 'model', is_dir: true }] });
    const sub = await fetch(`${base}/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(`${exp}/${run}/artifacts/model`)}`, { headers: auth() });
    expect((await sub.json()) as any).toEqual({ files: [{ path: 'MLmodel', is_dir: false, file_size: 12 }, { path: 'model.pkl', is_dir: false, file_size: 70_000 }] });

    const m = mlflow(base);
    const listed = await m.get('artifacts/list', { run_id: run });
    expect(listed.body).toEqual({ root_uri: `mlflow-artifacts:/${exp}/${run}/artifacts`, files: [{ path: 'metrics.json', is_dir: false, file_size: 11 }, { path: 'model', is_dir: true }] });
    const inModel = await m.get('artifacts/list', { run_id: run, path: 'model' });
    expect(inModel.body.files).toEqual([{ path: 'model/MLmodel', is_dir: false, file_size: 12 }, { path: 'model/model.pkl', is_dir: false, file_size: 70_000 }]);
    // The Tunehive API sees the same artifacts.
    const native = await fetch(`${base}/api/v1/runs/${run}/artifacts`, { headers: auth() });
    expect(((await native.json()) as any).files.map((f: any) => f.path).sort()).toEqual(['metrics.json', 'model/MLmodel', 'model/model.pkl']);
  });

  it('DELETE removes a file or a folder; missing files and bad paths are MLflow errors', async () => {
    await fetch(`${root}/tmp/a.txt`, { method: 'PUT', headers: auth(), body: 'a' });
    await fetch(`${root}/tmp/b.txt`, { method: 'PUT', headers: auth(), body: 'b' });
    const del = await fetch(`${root}/tmp`, { method: 'DELETE', headers: auth() });
    expect(del.status).toBe(200);
    expect((await del.json()) as any).toEqual({});
    const gone = await fetch(`${root}/tmp/a.txt`, { headers: auth() });
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as any).error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    const escape = await fetch(`${root}/..%2F..%2Fetc/passwd`, { method: 'PUT', headers: auth(), body: 'x' });
    expect(escape.status).toBe(400);
    expect(((await escape.json()) as any).error_code).toBe('INVALID_PARAMETER_VALUE');
    const wrongExp = await fetch(`${base}/api/2.0/mlflow-artifacts/artifacts/otherexp00/${run}/artifacts/x.txt`, { headers: auth() });
    expect(wrongExp.status).toBe(404);
    const badList = await fetch(`${base}/api/2.0/mlflow-artifacts/artifacts?path=${exp}`, { headers: auth() });
    expect(badList.status).toBe(404);
  });

  it('needs a token, editor to write, and hides other projects\' runs', async () => {
    const none = await fetch(`${root}/metrics.json`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as any).error_code).toBe('UNAUTHENTICATED');
    const viewer = (await userToken(base, 'art-viewer', { default: 'viewer' })).token;
    expect((await fetch(`${root}/metrics.json`, { headers: auth(viewer) })).status).toBe(200);
    const put = await fetch(`${root}/viewer.txt`, { method: 'PUT', headers: auth(viewer), body: 'no' });
    expect(put.status).toBe(403);
    expect(((await put.json()) as any).error_code).toBe('PERMISSION_DENIED');
    await ensureProject(base, 'elsewhere');
    const outsider = (await userToken(base, 'art-out', { elsewhere: 'owner' })).token;
    const hidden = await fetch(`${root}/metrics.json`, { headers: auth(outsider) });
    expect(hidden.status).toBe(404);
    expectMlflowError({ status: hidden.status, body: await hidden.json(), headers: hidden.headers, text: '' }, 404, 'RESOURCE_DOES_NOT_EXIST');
  });
});
