/**
 * `tunehive models ...` against a real coordinator: usage mistakes and server refusals exit 2
 * with the reason, list/show/alias work, and `download` refuses (exit 1, nothing kept) bytes
 * whose SHA-256 is not the registry's record: the object is altered behind the server's back.
 */
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { call, studyWithTrial } from '../helpers/auth.js';
import { authHeaders, TEST_ADMIN_TOKEN } from '../helpers/env.js';
import { runCli } from '../helpers/processes.js';
import { registryFileKey } from '../../coordinator/registry/redis-model-registry.js';
import type { FsArtifactStore } from '../../coordinator/artifacts/fs-artifact-store.js';

describe('tunehive models (CLI)', () => {
  let stack: TestStack;
  let run: { studyId: string; trialId: string };
  const models = (args: string[]) => runCli(['models', ...args], { env: { TUNEHIVE_API: stack.coordinator.httpUrl, TUNEHIVE_TOKEN: TEST_ADMIN_TOKEN } });

  beforeAll(async () => {
    stack = await startTestStack('cli-models', { workers: 0 });
    run = await studyWithTrial(stack.coordinator.httpUrl, 'default');
    const r = await fetch(`${stack.coordinator.httpUrl}/api/v1/runs/${run.trialId}/artifacts/model/w.bin`, { method: 'PUT', headers: authHeaders(), body: Buffer.alloc(5000, 7) });
    expect(r.status).toBe(201);
  });
  afterAll(async () => stack?.close());

  it('exits 2 naming the mistake: no subcommand, missing --name, a bad stage, an unknown model, a bad URI', async () => {
    const none = await models([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('tunehive models register|alias|stage|list|show|download');
    const noName = await models(['register', run.trialId]);
    expect(noName.code).toBe(2);
    expect(noName.stderr).toContain('--name is required');
    const badStage = await models(['stage', 'm', '1', 'Prod']);
    expect(badStage.code).toBe(2);
    expect(badStage.stderr).toContain('None, Staging, Production, Archived');
    const unknown = await models(['show', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no registered model "nope"');
    const uri = await models(['download', 'runs:/x', mkdtempSync(path.join(os.tmpdir(), 'th-dl-'))]);
    expect(uri.code).toBe(2);
    expect(uri.stderr).toContain('no models:/ URI');
    const missingAlias = await models(['download', 'models:/nope@champion', mkdtempSync(path.join(os.tmpdir(), 'th-dl-'))]);
    expect(missingAlias.code).toBe(2);
  });

  it('registers (making the model in the run\'s project), lists, shows, moves and removes an alias', async () => {
    const reg = await models(['register', run.trialId, '--name', 'cli-model']);
    expect(reg.code, reg.stderr).toBe(0);
    expect(reg.stderr).toContain('created registered model cli-model in project default');
    expect(reg.stdout).toContain('registered cli-model version 1');
    expect((await models(['register', run.trialId, '--name', 'cli-model'])).stdout).toContain('version 2');
    expect((await models(['alias', 'cli-model', 'champion', '1'])).stdout).toContain('cli-model@champion -> version 1');
    expect((await models(['alias', 'cli-model', 'champion', '2'])).stdout).toContain('-> version 2 (was 1)');
    const listed = await models(['list']);
    expect(listed.stdout).toMatch(/cli-model\s+default\s+2\s+-\s+champion:2/);
    const shown = await models(['show', 'cli-model']);
    expect(shown.stdout).toContain('aliases: champion -> 2');
    expect(shown.stdout).toContain(`lineage of version 2: run ${run.trialId}`);
    expect(shown.stdout).toMatch(/alias champion -> version 2 \(was 1\)/);
    const removed = await models(['alias', 'cli-model', 'champion', '--delete']);
    expect(removed.code, removed.stderr).toBe(0);
    expect((await call(stack.coordinator.httpUrl, 'GET', '/api/v1/models/cli-model')).body.aliases).toEqual({});
  });

  it('download refuses bytes that do not match the registry\'s SHA-256 (exit 1, no file kept) and keeps good ones', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'th-dl-'));
    const good = await models(['download', 'models:/cli-model/1', out]);
    expect(good.code, good.stderr).toBe(0);
    expect(readdirSync(out)).toEqual(['w.bin']);
    const v = (await stack.coordinator.registry.getVersion('cli-model', 2))!;
    const store = stack.coordinator.artifacts.store as FsArtifactStore;
    // Same size, other bytes: only the checksum can tell.
    writeFileSync(path.join(store.root, 'objects', registryFileKey(v.modelId, 2, 'w.bin')), Buffer.alloc(5000, 8));
    const bad = mkdtempSync(path.join(os.tmpdir(), 'th-dl-'));
    const r = await models(['download', 'models:/cli-model/2', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('checksum mismatch');
    expect(existsSync(path.join(bad, 'w.bin'))).toBe(false);
    expect(existsSync(path.join(bad, 'w.bin.part'))).toBe(false);
  });
});
