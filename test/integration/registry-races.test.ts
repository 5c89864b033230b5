/**
 * Registry changes that interleave with a registration's file copy. The interleaving is forced
 * by a hook on the real artifact store's put (the store, Redis and HTTP are all real): a model
 * or version deleted while its files are still being copied must not leave copied bytes behind
 * under registry/<modelId>/, which no key would own any more.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { call, ensureProject, studyWithTrial } from '../helpers/auth.js';
import { authHeaders } from '../helpers/env.js';

describe('registry races with a registration in progress', () => {
  let stack: TestStack;
  let base: string;
  let run: { studyId: string; trialId: string };

  beforeAll(async () => {
    stack = await startTestStack('registry-races', { workers: 0 });
    base = stack.coordinator.httpUrl;
    await ensureProject(base, 'proj-r');
    run = await studyWithTrial(base, 'proj-r');
    for (const p of ['model/a.bin', 'model/b.bin']) {
      const r = await fetch(`${base}/api/v1/runs/${run.trialId}/artifacts/${p}`, { method: 'PUT', headers: authHeaders(), body: Buffer.alloc(1000, 7) });
      expect(r.status, p).toBe(201);
    }
  });
  afterAll(async () => stack?.close());

  const keysOf = async (prefix: string) => {
    const out: string[] = [];
    for await (const o of stack.coordinator.artifacts.store.list(prefix)) out.push(o.key);
    return out;
  };

  /** Runs `during` once, right before the first file of a registration is stored. */
  const duringFirstCopy = (during: () => Promise<unknown>) => {
    const store = stack.coordinator.artifacts.store;
    const put = store.put.bind(store);
    let fired = false;
    store.put = async (key, body, expect) => {
      if (!fired && key.startsWith('registry/')) {
        fired = true;
        await during();
      }
      return put(key, body, expect);
    };
    return () => { store.put = put; };
  };

  for (const what of ['model', 'version'] as const) {
    it(`leaves no copied file when the ${what} is deleted while its files are copied`, async () => {
      const name = `race-${what}`;
      expect((await call(base, 'POST', '/api/v1/models', { body: { name, project: 'proj-r' } })).status).toBe(201);
      let modelId = '';
      const restore = duringFirstCopy(async () => {
        const v = await stack.coordinator.registry.getVersion(name, 1);
        modelId = v!.modelId;
        const path = what === 'model' ? `/api/v1/models/${name}` : `/api/v1/models/${name}/versions/1`;
        const del = await call(base, 'DELETE', path);
        expect(del.status, del.text).toBe(200);
      });
      try {
        const made = await call(base, 'POST', `/api/v1/models/${name}/versions`, { body: { runId: run.trialId, path: 'model' } });
        expect(made.status, made.text).toBe(404);
      } finally {
        restore();
      }
      expect(modelId).not.toBe('');
      expect(await keysOf(`registry/${modelId}/`)).toEqual([]);
    });
  }

  it('refuses to move a version still registering to Staging or Production: archive-existing would retire the live one for a version without files', async () => {
    const name = 'race-stage';
    expect((await call(base, 'POST', '/api/v1/models', { body: { name, project: 'proj-r' } })).status).toBe(201);
    expect((await call(base, 'POST', `/api/v1/models/${name}/versions`, { body: { runId: run.trialId, path: 'model' } })).status).toBe(201);
    expect((await call(base, 'POST', `/api/v1/models/${name}/versions/1/stage`, { body: { stage: 'Production' } })).status).toBe(200);
    let during: { status: number; body: any } | undefined;
    const restore = duringFirstCopy(async () => {
      during = await call(base, 'POST', `/api/v1/models/${name}/versions/2/stage`, { body: { stage: 'Production', archiveExisting: true } });
    });
    try {
      expect((await call(base, 'POST', `/api/v1/models/${name}/versions`, { body: { runId: run.trialId, path: 'model' } })).status).toBe(201);
    } finally {
      restore();
    }
    expect(during!.status).toBe(409);
    expect(during!.body.error.code).toBe('TH_ERR_MODEL_VERSION_NOT_READY');
    expect(during!.body.error.fields[0].field).toBe('version');
    expect((await call(base, 'GET', `/api/v1/models/${name}/versions/1`)).body.stage).toBe('Production');
    // Once READY it moves, and None/Archived never needed files.
    expect((await call(base, 'POST', `/api/v1/models/${name}/versions/2/stage`, { body: { stage: 'Production', archiveExisting: true } })).body.archived).toEqual([1]);
  });

  it('refuses to point an alias at a version still registering: models:/<name>@<alias> would name a version without its files', async () => {
    const name = 'race-alias';
    expect((await call(base, 'POST', '/api/v1/models', { body: { name, project: 'proj-r' } })).status).toBe(201);
    expect((await call(base, 'POST', `/api/v1/models/${name}/versions`, { body: { runId: run.trialId, path: 'model' } })).status).toBe(201);
    expect((await call(base, 'PUT', `/api/v1/models/${name}/aliases/champion`, { body: { version: 1 } })).status).toBe(200);
    let during: { status: number; body: any } | undefined;
    const restore = duringFirstCopy(async () => {
      during = await call(base, 'PUT', `/api/v1/models/${name}/aliases/champion`, { body: { version: 2 } });
    });
    try {
      expect((await call(base, 'POST', `/api/v1/models/${name}/versions`, { body: { runId: run.trialId, path: 'model' } })).status).toBe(201);
    } finally {
      restore();
    }
    expect(during!.status).toBe(409);
    expect(during!.body.error.code).toBe('TH_ERR_MODEL_VERSION_NOT_READY');
    expect((await call(base, 'GET', `/api/v1/models/resolve?uri=${encodeURIComponent(`models:/${name}@champion`)}`)).body.version).toBe(1);
    expect((await call(base, 'PUT', `/api/v1/models/${name}/aliases/champion`, { body: { version: 2 } })).status).toBe(200);
  });
});
