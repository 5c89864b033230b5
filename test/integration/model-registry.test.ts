/**
 * The model registry's native API (/api/v1/models) against a real coordinator and Redis: models,
 * versions registered from a run's artifacts (files copied and checked, lineage snapshotted),
 * stages with archive-existing, aliases that move atomically, the history of both, models:/
 * resolution and downloads (Range), roles, and deletion of keys and files.
 */
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { call, ensureProject, studyWithTrial, userToken } from '../helpers/auth.js';
import { authHeaders } from '../helpers/env.js';
import type { FsArtifactStore } from '../../coordinator/artifacts/fs-artifact-store.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const WEIGHTS = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 251));
const MLMODEL = 'flavors:\n  tunehive: {}\n';

describe('model registry (native API)', () => {
  let stack: TestStack;
  let base: string;
  let run: { studyId: string; trialId: string };
  let viewer: string;
  let editor: string;
  let other: string;

  beforeAll(async () => {
    stack = await startTestStack('model-registry', { workers: 0 });
    base = stack.coordinator.httpUrl;
    await ensureProject(base, 'proj-a');
    await ensureProject(base, 'proj-b');
    viewer = (await userToken(base, 'vic', { 'proj-a': 'viewer' })).token;
    editor = (await userToken(base, 'ed', { 'proj-a': 'editor' })).token;
    other = (await userToken(base, 'bob', { 'proj-b': 'owner' })).token;
    run = await studyWithTrial(base, 'proj-a');
    // 17 significant digits: a lineage kept through Lua's cjson alone would read 0.3.
    expect((await call(base, 'POST', `/api/v1/studies/${run.studyId}/trials/${run.trialId.split('.')[1]}/tell`, { body: { step: 2, value: 0.30000000000000004 } })).status).toBeLessThan(300);
    for (const [path, bytes] of [['model/weights.bin', WEIGHTS], ['model/MLmodel', MLMODEL], ['notes.txt', 'not part of the model']] as const) {
      const r = await fetch(`${base}/api/v1/runs/${run.trialId}/artifacts/${path}`, { method: 'PUT', headers: authHeaders(), body: bytes });
      expect(r.status, path).toBe(201);
    }
  });
  afterAll(async () => stack?.close());

  it('creates a model in a project, refuses a taken or bad name naming the field, and hides it from other projects', async () => {
    const m = await call(base, 'POST', '/api/v1/models', { token: editor, body: { name: 'fraud-detector', project: 'proj-a', description: 'd', tags: { team: 'risk' } } });
    expect(m.status, m.text).toBe(201);
    expect(m.body).toMatchObject({ name: 'fraud-detector', project: 'proj-a', description: 'd', tags: { team: 'risk' }, createdBy: 'ed', aliases: {}, latestVersions: [] });
    const dup = await call(base, 'POST', '/api/v1/models', { token: editor, body: { name: 'fraud-detector', project: 'proj-a' } });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('TH_ERR_MODEL_EXISTS');
    const bad = await call(base, 'POST', '/api/v1/models', { token: editor, body: { name: 'a/b@c', project: 'proj-a' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0].field).toBe('name');
    const long = await call(base, 'POST', '/api/v1/models', { token: editor, body: { name: 'x'.repeat(129), project: 'proj-a' } });
    expect(long.status).toBe(400);
    expect((await call(base, 'POST', '/api/v1/models', { token: viewer, body: { name: 'v-made', project: 'proj-a' } })).status).toBe(403);
    expect((await call(base, 'GET', '/api/v1/models/fraud-detector', { token: other })).status).toBe(404);
    expect((await call(base, 'GET', '/api/v1/models', { token: other })).body.models).toEqual([]);
    const listed = await call(base, 'GET', '/api/v1/models?nameLike=fraud%25', { token: viewer });
    expect(listed.body.models.map((x: { name: string }) => x.name)).toEqual(['fraud-detector']);
  });

  it('registers a version from runs:/<run>/model: the folder\'s files copied with their checksums, the lineage snapshotted', async () => {
    const v = await call(base, 'POST', '/api/v1/models/fraud-detector/versions', { token: editor, body: { source: `runs:/${run.trialId}/model`, description: 'first' } });
    expect(v.status, v.text).toBe(201);
    expect(v.body).toMatchObject({ name: 'fraud-detector', version: 1, status: 'READY', stage: 'None', runId: run.trialId, artifactPath: 'model', source: `runs:/${run.trialId}/model`, createdBy: 'ed' });
    expect(v.body.files).toEqual([{ path: 'MLmodel', size: MLMODEL.length, sha256: sha(MLMODEL) }, { path: 'weights.bin', size: WEIGHTS.length, sha256: sha(WEIGHTS) }]);
    expect(v.body.lineage).toMatchObject({ runId: run.trialId, experimentId: run.studyId, studyId: run.studyId, trialNumber: Number(run.trialId.split('.')[1]), project: 'proj-a' });
    expect(Object.keys(v.body.lineage.params)).toEqual(['x']);
    expect(v.body.lineage.metrics.loss).toBe(0.30000000000000004);
    // Still exact after Lua rewrote the document (a stage change).
    await call(base, 'PATCH', '/api/v1/models/fraud-detector/versions/1', { token: editor, body: { description: 'first!' } });
    expect((await call(base, 'GET', '/api/v1/models/fraud-detector/versions/1')).body.lineage.metrics.loss).toBe(0.30000000000000004);
    // A run id and a path work too; a path with nothing below it is a 404 naming the path.
    const v2 = await call(base, 'POST', '/api/v1/models/fraud-detector/versions', { token: editor, body: { runId: run.trialId, path: 'model' } });
    expect(v2.body.version).toBe(2);
    const none = await call(base, 'POST', '/api/v1/models/fraud-detector/versions', { token: editor, body: { runId: run.trialId, path: 'nothing-here' } });
    expect(none.status).toBe(404);
    expect(none.body.error.fields[0].field).toBe('path');
    const badSource = await call(base, 'POST', '/api/v1/models/fraud-detector/versions', { token: editor, body: { source: 's3://bucket/x' } });
    expect(badSource.status).toBe(400);
    expect(badSource.body.error.fields[0].field).toBe('source');
    // Another project's editor cannot register this project's run into its own model.
    await call(base, 'POST', '/api/v1/models', { token: other, body: { name: 'b-model', project: 'proj-b' } });
    const cross = await call(base, 'POST', '/api/v1/models/b-model/versions', { token: other, body: { runId: run.trialId } });
    expect(cross.status).toBe(404);
    expect(cross.body.error.code).toBe('TH_ERR_RUN_NOT_FOUND');
  });

  it('moves stages with archive-existing in one step and records each change with who and when', async () => {
    const s1 = await call(base, 'POST', '/api/v1/models/fraud-detector/versions/1/stage', { token: editor, body: { stage: 'Staging' } });
    expect(s1.status, s1.text).toBe(200);
    expect(s1.body.version.stage).toBe('Staging');
    expect((await call(base, 'POST', '/api/v1/models/fraud-detector/versions/1/stage', { token: editor, body: { stage: 'Production' } })).body.version.stage).toBe('Production');
    const s2 = await call(base, 'POST', '/api/v1/models/fraud-detector/versions/2/stage', { token: editor, body: { stage: 'Production', archiveExisting: true } });
    expect(s2.body.archived).toEqual([1]);
    expect((await call(base, 'GET', '/api/v1/models/fraud-detector/versions/1', { token: viewer })).body.stage).toBe('Archived');
    const bad = await call(base, 'POST', '/api/v1/models/fraud-detector/versions/1/stage', { token: editor, body: { stage: 'Prod' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0].field).toBe('stage');
    expect((await call(base, 'POST', '/api/v1/models/fraud-detector/versions/9/stage', { token: editor, body: { stage: 'Staging' } })).body.error.code).toBe('TH_ERR_MODEL_VERSION_NOT_FOUND');
    const h = await call(base, 'GET', '/api/v1/models/fraud-detector/history', { token: viewer });
    const stages = h.body.events.filter((e: { kind: string }) => e.kind === 'stage').map((e: any) => [e.version, e.from, e.to, e.by]);
    expect(stages).toEqual([[1, 'Production', 'Archived', 'ed'], [2, 'None', 'Production', 'ed'], [1, 'Staging', 'Production', 'ed'], [1, 'None', 'Staging', 'ed']]);
    expect(h.body.events.every((e: { time: number }) => Math.abs(Date.now() - e.time) < 60_000)).toBe(true);
  });

  it('moves an alias atomically under concurrent writers, and records every move', async () => {
    expect((await call(base, 'PUT', '/api/v1/models/fraud-detector/aliases/champion', { token: editor, body: { version: 1 } })).body).toEqual({ alias: 'champion', version: 1, previous: null });
    const moves = await Promise.all(Array.from({ length: 20 }, (_, i) => call(base, 'PUT', '/api/v1/models/fraud-detector/aliases/champion', { token: editor, body: { version: (i % 2) + 1 } })));
    expect(moves.every((m) => m.status === 200)).toBe(true);
    const h = (await call(base, 'GET', '/api/v1/models/fraud-detector/history', { token: viewer })).body.events.filter((e: { kind: string; alias?: string }) => e.kind === 'alias' && e.alias === 'champion');
    expect(h).toHaveLength(21);
    // Each move's `from` is exactly the version the previous move set: no lost update.
    const chain = [...h].reverse();
    for (let i = 1; i < chain.length; i++) expect(chain[i].from).toBe(chain[i - 1].version);
    const m = (await call(base, 'GET', '/api/v1/models/fraud-detector', { token: viewer })).body;
    expect(m.aliases.champion).toBe(chain.at(-1).version);
    expect((await call(base, 'PUT', '/api/v1/models/fraud-detector/aliases/champion', { token: editor, body: { version: 42 } })).status).toBe(404);
    expect((await call(base, 'PUT', '/api/v1/models/fraud-detector/aliases/3bad', { token: editor, body: { version: 1 } })).status).toBe(400);
    expect((await call(base, 'PUT', '/api/v1/models/fraud-detector/aliases/champion', { token: viewer, body: { version: 1 } })).status).toBe(403);
  });

  it('resolves models:/ URIs and downloads the registered bytes (whole, a range, 416 past the end)', async () => {
    await call(base, 'PUT', '/api/v1/models/fraud-detector/aliases/champion', { token: editor, body: { version: 2 } });
    for (const [uri, version] of [['models:/fraud-detector@champion', 2], ['models:/fraud-detector/Production', 2], ['models:/fraud-detector/1', 1], ['models:/fraud-detector/latest', 2], ['models:/fraud-detector/archived', 1]] as const) {
      const r = await call(base, 'GET', `/api/v1/models/resolve?uri=${encodeURIComponent(uri)}`, { token: viewer });
      expect(r.status, `${uri}: ${r.text}`).toBe(200);
      expect(r.body.version, uri).toBe(version);
    }
    for (const [uri, code] of [['models:/fraud-detector@nobody', 'TH_ERR_MODEL_ALIAS_NOT_FOUND'], ['models:/fraud-detector/Staging', 'TH_ERR_MODEL_VERSION_NOT_FOUND'], ['models:/nope/1', 'TH_ERR_MODEL_NOT_FOUND'], ['runs:/x/y', 'TH_ERR_MODEL_URI_INVALID'], ['models:/fraud-detector/Prod', 'TH_ERR_MODEL_URI_INVALID']] as const) {
      const r = await call(base, 'GET', `/api/v1/models/resolve?uri=${encodeURIComponent(uri)}`, { token: viewer });
      expect(r.body.error?.code, uri).toBe(code);
    }
    expect((await call(base, 'GET', `/api/v1/models/resolve?uri=${encodeURIComponent('models:/fraud-detector@champion')}`, { token: other })).status).toBe(404);
    const headers = authHeaders();
    const whole = await fetch(`${base}/api/v1/models/fraud-detector/versions/2/files/weights.bin`, { headers });
    expect(whole.status).toBe(200);
    const bytes = Buffer.from(await whole.arrayBuffer());
    expect(sha(bytes)).toBe(sha(WEIGHTS));
    expect(whole.headers.get('x-content-sha256')).toBe(sha(WEIGHTS));
    const part = await fetch(`${base}/api/v1/models/fraud-detector/versions/2/files/weights.bin`, { headers: { ...headers, range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(WEIGHTS.subarray(100, 200));
    expect((await fetch(`${base}/api/v1/models/fraud-detector/versions/2/files/weights.bin`, { headers: { ...headers, range: 'bytes=900000-' } })).status).toBe(416);
    expect((await fetch(`${base}/api/v1/models/fraud-detector/versions/2/files/notes.txt`, { headers })).status).toBe(404);
    const listing = await call(base, 'GET', '/api/v1/models/fraud-detector/versions/2/files', { token: viewer });
    expect(listing.body.files.map((f: { path: string }) => f.path)).toEqual(['MLmodel', 'weights.bin']);
  });

  it('gives concurrent registrations distinct versions, and marks a version whose copy failed FAILED_REGISTRATION (its partial files removed)', async () => {
    await call(base, 'POST', '/api/v1/models', { token: editor, body: { name: 'concurrent', project: 'proj-a' } });
    const made = await Promise.all(Array.from({ length: 6 }, () => call(base, 'POST', '/api/v1/models/concurrent/versions', { token: editor, body: { runId: run.trialId, path: 'model' } })));
    expect(made.map((r) => r.status)).toEqual(Array(6).fill(201));
    expect(made.map((r) => r.body.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    // The run's index still lists weights.bin, but its bytes are gone from the store.
    const store = stack.coordinator.artifacts.store as FsArtifactStore;
    const object = path.join(store.root, 'objects', 'runs', run.studyId, run.trialId, 'model', 'weights.bin');
    const saved = readFileSync(object);
    rmSync(object);
    try {
      const failed = await call(base, 'POST', '/api/v1/models/concurrent/versions', { token: editor, body: { runId: run.trialId, path: 'model' } });
      expect(failed.status).toBe(404);
      expect(failed.body.error.code).toBe('TH_ERR_ARTIFACT_NOT_FOUND');
      const v7 = (await call(base, 'GET', '/api/v1/models/concurrent/versions/7')).body;
      expect(v7.status).toBe('FAILED_REGISTRATION');
      expect(v7.statusMessage).toContain("copying the run's files failed");
      const left: string[] = [];
      for await (const o of store.list(`registry/${(await stack.coordinator.registry.getVersion('concurrent', 7))!.modelId}/7/`)) left.push(o.key);
      expect(left).toEqual([]);
      // A failed version is never what a stage or `latest` resolves to.
      expect((await call(base, 'GET', `/api/v1/models/resolve?uri=${encodeURIComponent('models:/concurrent/latest')}`)).body.version).toBe(6);
    } finally {
      writeFileSync(object, saved);
    }
    expect((await call(base, 'DELETE', '/api/v1/models/concurrent', { token: editor })).status).toBe(200);
  });

  it('keeps a registered version whole after its run\'s study is deleted', async () => {
    const del = await call(base, 'DELETE', `/api/v1/studies/${run.studyId}?force=true`);
    expect(del.status, del.text).toBe(200);
    expect((await call(base, 'GET', `/api/v1/runs/${run.trialId}/artifacts`)).status).toBe(404);
    const headers = authHeaders();
    const r = await fetch(`${base}/api/v1/models/fraud-detector/versions/1/files/weights.bin`, { headers });
    expect(r.status).toBe(200);
    expect(sha(Buffer.from(await r.arrayBuffer()))).toBe(sha(WEIGHTS));
    // The lineage is a snapshot: it still names the run that is gone.
    expect((await call(base, 'GET', '/api/v1/models/fraud-detector/versions/1')).body.lineage.runId).toBe(run.trialId);
  });

  it('caps tags per model and per version, all or nothing', async () => {
    await call(base, 'POST', '/api/v1/models', { token: editor, body: { name: 'capped', project: 'proj-a', tags: { keep: '1' } } });
    const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`t${i}`, 'v']));
    const over = await call(base, 'PATCH', '/api/v1/models/capped', { token: editor, body: { tags: many } });
    expect(over.status).toBe(409);
    expect(over.body.error.code).toBe('TH_ERR_MODEL_LIMIT');
    expect((await call(base, 'GET', '/api/v1/models/capped')).body.tags).toEqual({ keep: '1' });
    // Deleting one in the same change makes room.
    expect((await call(base, 'PATCH', '/api/v1/models/capped', { token: editor, body: { tags: { ...many, keep: null } } })).status).toBe(200);
    expect(Object.keys((await call(base, 'GET', '/api/v1/models/capped')).body.tags)).toHaveLength(100);
    const tooLong = await call(base, 'PATCH', '/api/v1/models/capped', { token: editor, body: { tags: { k: 'x'.repeat(5001) } } });
    expect(tooLong.status).toBe(400);
    expect((await call(base, 'DELETE', '/api/v1/models/capped', { token: editor })).status).toBe(200);
  });

  it('refuses to delete a project that still holds registered models', async () => {
    await ensureProject(base, 'proj-c');
    expect((await call(base, 'POST', '/api/v1/models', { body: { name: 'c-model', project: 'proj-c' } })).status).toBe(201);
    const refused = await call(base, 'DELETE', '/api/v1/projects/proj-c');
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('TH_ERR_PROJECT_NOT_EMPTY');
    expect(refused.body.error.message).toContain('1 registered models');
    expect((await call(base, 'DELETE', '/api/v1/models/c-model')).status).toBe(200);
    expect((await call(base, 'DELETE', '/api/v1/projects/proj-c')).status).toBe(200);
  });

  it('renames, updates tags, and deletes a version (its aliases and files) and then the model (every key and file)', async () => {
    const upd = await call(base, 'PATCH', '/api/v1/models/fraud-detector', { token: editor, body: { tags: { team: null, tier: 'gold' }, newName: 'fraud-model' } });
    expect(upd.status, upd.text).toBe(200);
    expect(upd.body).toMatchObject({ name: 'fraud-model', tags: { tier: 'gold' } });
    expect((await call(base, 'GET', '/api/v1/models/fraud-detector')).status).toBe(404);
    const vt = await call(base, 'PATCH', '/api/v1/models/fraud-model/versions/2', { token: editor, body: { tags: { approved: 'yes' }, description: 'ok' } });
    expect(vt.body).toMatchObject({ tags: { approved: 'yes' }, description: 'ok', aliases: ['champion'] });
    const store = stack.coordinator.artifacts.store;
    const modelId = (await stack.coordinator.registry.getVersion('fraud-model', 2))!.modelId;
    const keysOf = async (prefix: string) => { const out: string[] = []; for await (const o of store.list(prefix)) out.push(o.key); return out; };
    expect(await keysOf(`registry/${modelId}/2/`)).toHaveLength(2);
    expect((await call(base, 'DELETE', '/api/v1/models/fraud-model/versions/2', { token: editor })).status).toBe(200);
    expect(await keysOf(`registry/${modelId}/2/`)).toEqual([]);
    const m = (await call(base, 'GET', '/api/v1/models/fraud-model')).body;
    expect(m.aliases).toEqual({});
    expect(m.versions.map((v: { version: number }) => v.version)).toEqual([1]);
    expect((await call(base, 'DELETE', '/api/v1/models/fraud-model', { token: viewer })).status).toBe(403);
    expect((await call(base, 'DELETE', '/api/v1/models/fraud-model', { token: editor })).status).toBe(200);
    expect(await keysOf(`registry/${modelId}`)).toEqual([]);
    const left = await stack.coordinator.store.redis.keys(`${stack.prefix}:{registry}:m:${modelId}*`);
    expect(left).toEqual([]);
    expect(await stack.coordinator.store.redis.hexists(`${stack.prefix}:{registry}:names`, 'fraud-model')).toBe(0);
  });
});
