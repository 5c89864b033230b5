/**
 * Artifacts over HTTP against real Redis and both real stores (a folder, and S3 via s3rver on
 * 127.0.0.1): round trips with checksums (a body far past the 1 MiB JSON limit, multipart on
 * S3), Range, content type and download headers, run and project quotas, path escapes, a wrong
 * checksum stored nowhere, deletion of one file, a folder and a whole study.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { authHeaders } from '../helpers/env.js';
import { startLocalS3, type LocalS3 } from '../helpers/local-s3.js';
import { keys } from '../../shared/redis-keys.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const spec = (over: Record<string, unknown> = {}) => ({
  name: 'artifacts', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } },
  algorithm: { name: 'random', seed: 1 }, maxTrials: 5, ...over,
});

let s3: LocalS3;
beforeAll(async () => { s3 = await startLocalS3(); });
afterAll(async () => { await s3?.close(); });

async function askRun(stack: TestStack, over: Record<string, unknown> = {}): Promise<{ studyId: string; runId: string }> {
  const { body: study } = await stack.api('POST', '/api/v1/studies', spec(over));
  const { body: trial } = await stack.api('POST', `/api/v1/studies/${study.id}/trials/ask`);
  return { studyId: study.id, runId: trial.id };
}

function client(stack: TestStack) {
  const url = (runId: string, path = '') => `${stack.coordinator.httpUrl}/api/v1/runs/${runId}/artifacts${path ? `/${path}` : ''}`;
  return {
    put: async (runId: string, path: string, body: Buffer, headers: Record<string, string> = {}) => {
      const res = await fetch(url(runId, path), { method: 'PUT', headers: authHeaders({ 'content-type': 'application/octet-stream', ...headers }), body: body as Uint8Array<ArrayBuffer> });
      return { status: res.status, body: (await res.json()) as any };
    },
    get: async (runId: string, path: string, headers: Record<string, string> = {}) => {
      const res = await fetch(url(runId, path), { headers: authHeaders(headers) });
      return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
    },
    list: async (runId: string, prefix?: string) => (await stack.api('GET', `/api/v1/runs/${runId}/artifacts${prefix !== undefined ? `?prefix=${encodeURIComponent(prefix)}` : ''}`)),
    del: (runId: string, path: string) => stack.api('DELETE', `/api/v1/runs/${runId}/artifacts/${path}`),
  };
}

describe.each([['filesystem'], ['s3 (s3rver)']])('artifacts over HTTP on the %s store', (kind) => {
  let stack: TestStack;
  let c: ReturnType<typeof client>;
  beforeAll(async () => {
    stack = await startTestStack(`art-${kind.slice(0, 2)}`, {
      workers: 0,
      coordinator: kind === 'filesystem' ? {} : { artifactStore: `s3://${s3.bucket}/http`, s3: { endpoint: s3.endpoint, credentials: s3.credentials } },
    });
    c = client(stack);
  });
  afterAll(async () => stack?.close());

  it('round-trips a 12 MiB upload (past the 1 MiB JSON limit; multipart on S3) with its SHA-256, lists it, and streams it back', async () => {
    const { runId } = await askRun(stack);
    const body = randomBytes(12 * 1024 * 1024);
    const put = await c.put(runId, 'model/weights.bin', body, { 'x-content-sha256': sha(body) });
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({ path: 'model/weights.bin', size: body.length, sha256: sha(body), contentType: 'application/octet-stream' });
    await c.put(runId, 'confusion.csv', Buffer.from('a,b\n1,2\n'));
    const listed = await c.list(runId);
    expect(listed.status).toBe(200);
    expect(listed.body.files.map((f: any) => [f.path, f.size, f.sha256])).toEqual([
      ['confusion.csv', 8, sha(Buffer.from('a,b\n1,2\n'))], ['model/weights.bin', body.length, sha(body)]]);
    expect((await c.list(runId, 'model/')).body.files.map((f: any) => f.path)).toEqual(['model/weights.bin']);
    const got = await c.get(runId, 'model/weights.bin');
    expect(got.status).toBe(200);
    expect(sha(got.bytes)).toBe(sha(body));
    expect(got.headers.get('content-length')).toBe(String(body.length));
    expect(got.headers.get('etag')).toBe(`"${sha(body)}"`);
  });

  it('serves one byte range with 206, a suffix range, and 416 outside; content type, disposition and nosniff', async () => {
    const { runId } = await askRun(stack);
    const body = Buffer.from('step,loss\n1,0.9\n2,0.5\n3,0.25\n');
    await c.put(runId, 'curves/loss.csv', body);
    const part = await c.get(runId, 'curves/loss.csv', { range: 'bytes=10-14' });
    expect(part.status).toBe(206);
    expect(part.bytes.toString()).toBe(body.subarray(10, 15).toString());
    expect(part.headers.get('content-range')).toBe(`bytes 10-14/${body.length}`);
    const tail = await c.get(runId, 'curves/loss.csv', { range: 'bytes=-5' });
    expect([tail.status, tail.bytes.toString()]).toEqual([206, body.subarray(body.length - 5).toString()]);
    const open = await c.get(runId, 'curves/loss.csv', { range: 'bytes=20-' });
    expect([open.status, open.bytes.toString()]).toEqual([206, body.subarray(20).toString()]);
    const outside = await c.get(runId, 'curves/loss.csv', { range: `bytes=${body.length}-` });
    expect(outside.status).toBe(416);
    expect(outside.headers.get('content-range')).toBe(`bytes */${body.length}`);
    const whole = await c.get(runId, 'curves/loss.csv');
    expect(whole.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(whole.headers.get('content-disposition')).toBe('attachment; filename="loss.csv"; filename*=UTF-8\'\'loss.csv');
    expect(whole.headers.get('x-content-type-options')).toBe('nosniff');
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
  });

  it('refuses a wrong x-content-sha256 with 400 and stores nothing (listing and store), keeping the earlier version', async () => {
    const { runId, studyId } = await askRun(stack);
    await c.put(runId, 'a.txt', Buffer.from('first'));
    const bad = await c.put(runId, 'a.txt', Buffer.from('second'), { 'x-content-sha256': sha(Buffer.from('something else')) });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('TH_ERR_ARTIFACT_CHECKSUM');
    const fresh = await c.put(runId, 'b.txt', Buffer.from('second'), { 'x-content-sha256': '0'.repeat(64) });
    expect(fresh.status).toBe(400);
    expect((await c.list(runId)).body.files.map((f: any) => f.path)).toEqual(['a.txt']);
    expect((await c.get(runId, 'a.txt')).bytes.toString()).toBe('first');
    expect((await c.get(runId, 'b.txt')).status).toBe(404);
    expect(await stack.coordinator.artifacts.store.stat(`runs/${studyId}/${runId}/b.txt`)).toBeUndefined();
    // Nothing of the refused uploads is still reserved: the run's quota is whole again.
    const usage = await stack.coordinator.artifacts.index.usage({ experimentId: studyId, runId, project: 'default' });
    expect(usage.bytes).toBe(5);
    expect(await stack.coordinator.store.redis.zcard(keys.runArtifactPending(stack.prefix, studyId, runId))).toBe(0);
  });

  it.each([
    ['a/..%2F..%2F..%2Fescape.txt', 'a/../../../escape.txt'],
    ['..%2Fother-run%2Fx', '../other-run/x'],
    ['%2Fetc%2Fpasswd', '/etc/passwd'],
    ['a%5C..%5Cb', 'a\\..\\b'],
    ['a%00b', 'a\0b'],
    ['a//b', 'a//b'],
  ])('refuses the path %s with 400 naming it', async (raw, decoded) => {
    const { runId } = await askRun(stack);
    const r = await c.put(runId, raw, Buffer.from('x'));
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('TH_ERR_ARTIFACT_PATH');
    expect(r.body.error.fields[0].reason).toContain(JSON.stringify(decoded));
    expect((await c.get(runId, raw)).status).toBe(400);
    expect((await c.list(runId)).body.files).toEqual([]);
  });

  it('enforces limits.maxArtifactBytes and maxArtifactFiles per run before storing (413 naming the limit); a replacement counts once', async () => {
    const { runId } = await askRun(stack, { limits: { maxArtifactBytes: 1000, maxArtifactFiles: 2 } });
    expect((await c.put(runId, 'a.bin', Buffer.alloc(600))).status).toBe(201);
    const over = await c.put(runId, 'b.bin', Buffer.alloc(600));
    expect(over.status).toBe(413);
    expect(over.body.error.fields[0].field).toBe('limits.maxArtifactBytes');
    expect((await c.put(runId, 'a.bin', Buffer.alloc(900))).status).toBe(201);
    expect((await c.put(runId, 'b.bin', Buffer.alloc(100))).status).toBe(201);
    const files = await c.put(runId, 'c.bin', Buffer.alloc(0));
    expect(files.status).toBe(413);
    expect(files.body.error.fields[0].field).toBe('limits.maxArtifactFiles');
    expect((await c.list(runId)).body.files.map((f: any) => [f.path, f.size])).toEqual([['a.bin', 900], ['b.bin', 100]]);
  });

  it('deletes one artifact, then a folder; unknown runs and files are 404', async () => {
    const { runId } = await askRun(stack);
    for (const p of ['keep.txt', 'plots/a.png', 'plots/b.png', 'plotsx.txt']) await c.put(runId, p, Buffer.from(p));
    expect((await c.del(runId, 'keep.txt')).body).toEqual({ deleted: 1, bytes: 8 });
    expect((await c.get(runId, 'keep.txt')).status).toBe(404);
    expect((await c.del(runId, 'plots')).body).toEqual({ deleted: 2, bytes: 22 });
    expect((await c.list(runId)).body.files.map((f: any) => f.path)).toEqual(['plotsx.txt']);
    expect((await c.del(runId, 'plots')).status).toBe(404);
    expect((await c.get(runId, 'plotsx.txt')).bytes.toString()).toBe('plotsx.txt');
    const [exp] = runId.split('.');
    expect((await c.list(`${exp}.999`)).status).toBe(404);
    expect((await c.put(`${exp}.999`, 'x.txt', Buffer.from('x'))).status).toBe(404);
    expect((await c.list('nosuchexperiment.1')).status).toBe(404);
  });

  it('refuses an upload without Content-Length (a chunked body) with 400 naming the header', async () => {
    const { runId } = await askRun(stack);
    const u = new URL(`${stack.coordinator.httpUrl}/api/v1/runs/${runId}/artifacts/chunked.bin`);
    const r = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'PUT', headers: authHeaders({ 'transfer-encoding': 'chunked' }) }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(parts).toString()) }));
      });
      req.on('error', reject);
      req.write('some bytes');
      req.end();
    });
    expect(r.status).toBe(400);
    expect(r.body.error.fields[0].field).toBe('headers.content-length');
  });

  it('deleting a study deletes its runs\' artifacts: bytes, entries and the project\'s accounting', async () => {
    const { runId, studyId } = await askRun(stack);
    await c.put(runId, 'w.bin', Buffer.alloc(1234));
    const redis = stack.coordinator.store.redis;
    const before = Number(await redis.get(keys.projectArtifactBytes(stack.prefix, 'default')));
    await stack.api('POST', `/api/v1/studies/${studyId}/stop`);
    expect((await stack.api('DELETE', `/api/v1/studies/${studyId}?force=true`)).status).toBe(200);
    expect(await stack.coordinator.artifacts.store.stat(`runs/${studyId}/${runId}/w.bin`)).toBeUndefined();
    expect(await redis.exists(keys.runArtifacts(stack.prefix, studyId, runId), keys.runArtifactBytes(stack.prefix, studyId, runId), keys.experimentArtifactBytes(stack.prefix, studyId))).toBe(0);
    expect(Number(await redis.get(keys.projectArtifactBytes(stack.prefix, 'default')))).toBe(before - 1234);
  });
});

describe('project artifact quota (--project-artifact-bytes)', () => {
  let stack: TestStack;
  beforeAll(async () => { stack = await startTestStack('art-proj', { workers: 0, coordinator: { projectArtifactBytes: 3000 } }); });
  afterAll(async () => stack?.close());

  it('counts every run of the project together; deleting a file or a study gives the bytes back', async () => {
    const c = client(stack);
    const a = await askRun(stack);
    const b = await askRun(stack);
    expect((await c.put(a.runId, 'x.bin', Buffer.alloc(2000))).status).toBe(201);
    const over = await c.put(b.runId, 'y.bin', Buffer.alloc(1500));
    expect(over.status).toBe(413);
    expect(over.body.error.message).toContain('project default');
    expect(over.body.error.fields[0].field).toBe('project');
    expect((await c.put(b.runId, 'y.bin', Buffer.alloc(1000))).status).toBe(201);
    expect((await c.del(a.runId, 'x.bin')).status).toBe(200);
    expect((await c.put(b.runId, 'z.bin', Buffer.alloc(1900))).status).toBe(201);
    expect((await c.put(a.runId, 'w.bin', Buffer.alloc(200))).status).toBe(413);
    await stack.api('DELETE', `/api/v1/studies/${b.studyId}?force=true`);
    expect((await c.put(a.runId, 'w.bin', Buffer.alloc(2900))).status).toBe(201);
  });
});

describe('artifacts of direct runs (RunStore)', () => {
  let stack: TestStack;
  beforeAll(async () => { stack = await startTestStack('art-direct', { workers: 0, coordinator: { projectArtifactBytes: 10_000 } }); });
  afterAll(async () => stack?.close());

  it('a direct run of a plain experiment takes uploads under the default quotas; deleting the run removes bytes, entries and accounting', async () => {
    const c = client(stack);
    const runs = stack.coordinator.runs;
    const exp = await runs.createExperiment({ project: 'default', name: 'direct-artifacts', createdBy: 'test' });
    const run = await runs.createRun({ experimentId: exp.id, createdBy: 'test' });
    const body = Buffer.from('direct run weights');
    expect((await c.put(run.id, 'weights.bin', body, { 'x-content-sha256': sha(body) })).status).toBe(201);
    expect((await c.list(run.id)).body.files.map((f: any) => [f.path, f.sha256])).toEqual([['weights.bin', sha(body)]]);
    expect(sha((await c.get(run.id, 'weights.bin')).bytes)).toBe(sha(body));
    // The project quota covers direct runs too.
    expect((await c.put(run.id, 'big.bin', Buffer.alloc(10_000))).status).toBe(413);
    const redis = stack.coordinator.store.redis;
    expect(Number(await redis.get(keys.projectArtifactBytes(stack.prefix, 'default')))).toBe(body.length);
    await stack.coordinator.artifacts.deleteRun(run.id);
    expect(await stack.coordinator.artifacts.store.stat(`runs/${exp.id}/${run.id}/weights.bin`)).toBeUndefined();
    expect(await redis.exists(keys.runArtifacts(stack.prefix, exp.id, run.id))).toBe(0);
    expect(Number(await redis.get(keys.projectArtifactBytes(stack.prefix, 'default')))).toBe(0);
    // A direct run id that was never created is unknown.
    expect((await c.list(`${exp.id}.r000000000000`)).status).toBe(404);
  });

  it('DELETE /api/v1/runs/:id and DELETE /api/v1/experiments/:id remove the artifact bytes and give the project its bytes back', async () => {
    const c = client(stack);
    const runs = stack.coordinator.runs;
    const redis = stack.coordinator.store.redis;
    const exp = await runs.createExperiment({ project: 'default', name: 'deleted-with-artifacts', createdBy: 'test' });
    const [a, b] = [await runs.createRun({ experimentId: exp.id, createdBy: 'test' }), await runs.createRun({ experimentId: exp.id, createdBy: 'test' })];
    const before = Number((await redis.get(keys.projectArtifactBytes(stack.prefix, 'default'))) ?? 0);
    expect((await c.put(a.id, 'a.bin', Buffer.from('aaaa'))).status).toBe(201);
    expect((await c.put(b.id, 'b.bin', Buffer.from('bbbbbb'))).status).toBe(201);
    const del = (url: string) => fetch(`${stack.coordinator.httpUrl}${url}`, { method: 'DELETE', headers: authHeaders() });
    expect((await del(`/api/v1/runs/${a.id}`)).status).toBe(200);
    expect(await stack.coordinator.artifacts.store.stat(`runs/${exp.id}/${a.id}/a.bin`)).toBeUndefined();
    expect(Number(await redis.get(keys.projectArtifactBytes(stack.prefix, 'default')))).toBe(before + 6);
    expect((await del(`/api/v1/experiments/${exp.id}`)).status).toBe(200);
    expect(await stack.coordinator.artifacts.store.stat(`runs/${exp.id}/${b.id}/b.bin`)).toBeUndefined();
    expect(Number(await redis.get(keys.projectArtifactBytes(stack.prefix, 'default')))).toBe(before);
  });
});
