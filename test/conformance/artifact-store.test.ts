/**
 * Every ArtifactStore through one suite: the filesystem store and the S3 store against a real
 * S3-compatible server (s3rver) started here on 127.0.0.1. A put is visible only once its size
 * and SHA-256 matched (a failed one leaves the old object as it was and nothing else behind),
 * large objects stream (multipart on S3), ranges, listing, prefix deletion and key checks.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactStore, PutExpectation } from '../../coordinator/artifacts/artifact-store.js';
import { FsArtifactStore } from '../../coordinator/artifacts/fs-artifact-store.js';
import { PART_BYTES, S3ArtifactStore } from '../../coordinator/artifacts/s3-artifact-store.js';
import { startLocalS3, type LocalS3 } from '../helpers/local-s3.js';

let s3: LocalS3;
const roots: string[] = [];
beforeAll(async () => { s3 = await startLocalS3(); });
afterAll(async () => {
  await s3?.close();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

interface Harness { name: string; make(): ArtifactStore; /** Objects and half-written uploads the store holds. */ leftovers(store: ArtifactStore): Promise<string[]> }

function walk(dir: string, rel = ''): string[] {
  try {
    return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
      const r = rel ? `${rel}/${e.name}` : e.name;
      return e.isDirectory() ? walk(dir, r) : [r];
    });
  } catch { return []; }
}

let n = 0;
const HARNESSES: Harness[] = [
  {
    name: 'filesystem',
    make: () => { const d = mkdtempSync(path.join(os.tmpdir(), 'tunehive-art-')); roots.push(d); return new FsArtifactStore(d); },
    leftovers: async (store) => walk((store as FsArtifactStore).root).map((k) => k.replace(/^objects\//, '')),
  },
  {
    name: 's3 (s3rver)',
    make: () => new S3ArtifactStore({ bucket: s3.bucket, prefix: `t${n++}/`, endpoint: s3.endpoint, credentials: s3.credentials }),
    // s3rver implements neither ListMultipartUploads nor AbortMultipartUpload: an aborted
    // upload is invisible here as on S3, but its parts are not checked for.
    leftovers: async (store) => {
      const keys: string[] = [];
      for await (const o of store.list('')) keys.push(o.key);
      return keys;
    },
  },
];

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
async function* chunks(b: Buffer, size = 64 * 1024, o: { failAfter?: number } = {}): AsyncIterable<Buffer> {
  for (let at = 0, i = 0; at < b.length; at += size, i++) {
    if (o.failAfter === i) throw new Error('the client went away mid-upload');
    yield b.subarray(at, at + size);
  }
}
const readAll = async (s: AsyncIterable<Buffer> | NodeJS.ReadableStream) => {
  const parts: Buffer[] = [];
  for await (const c of s as AsyncIterable<Buffer>) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
};
const keysOf = async (store: ArtifactStore, prefix: string) => {
  const out: string[] = [];
  for await (const o of store.list(prefix)) out.push(`${o.key}:${o.size}`);
  return out;
};

describe.each(HARNESSES.map((h) => [h.name, h] as const))('artifact store %s', (_, h) => {
  it('round-trips bytes with their SHA-256, small and empty objects included', async () => {
    const store = h.make();
    const body = randomBytes(300_000);
    expect(await store.put('runs/e1/e1.1/model.bin', chunks(body), { size: body.length, sha256: sha(body) })).toEqual({ size: body.length, sha256: sha(body) });
    expect(sha(await readAll(await store.get('runs/e1/e1.1/model.bin')))).toBe(sha(body));
    expect(await store.put('runs/e1/e1.1/empty.txt', chunks(Buffer.alloc(0)), { size: 0 })).toEqual({ size: 0, sha256: sha(Buffer.alloc(0)) });
    expect((await readAll(await store.get('runs/e1/e1.1/empty.txt'))).length).toBe(0);
    expect(await store.stat('runs/e1/e1.1/model.bin')).toEqual({ size: body.length });
    expect(await store.stat('runs/e1/e1.1/nothing')).toBeUndefined();
  });

  it(`streams an object larger than a part (${(2.5 * PART_BYTES / 2 ** 20).toFixed(0)} MiB: multipart on S3) and reads byte ranges of it`, async () => {
    const store = h.make();
    const body = randomBytes(Math.floor(2.5 * PART_BYTES));
    await store.put('runs/e1/e1.2/big.bin', chunks(body, 1024 * 1024), { size: body.length, sha256: () => sha(body) });
    expect(sha(await readAll(await store.get('runs/e1/e1.2/big.bin')))).toBe(sha(body));
    const start = PART_BYTES - 10;
    expect((await readAll(await store.get('runs/e1/e1.2/big.bin', { start, end: start + 19 }))).equals(body.subarray(start, start + 20))).toBe(true);
    expect((await readAll(await store.get('runs/e1/e1.2/big.bin', { start: body.length - 1, end: body.length - 1 })))[0]).toBe(body[body.length - 1]);
    expect(await h.leftovers(store)).toEqual(['runs/e1/e1.2/big.bin']);
  });

  type Case = [string, (body: Buffer) => PutExpectation, number | undefined, (len: number) => RegExp];
  it.each([
    ['a wrong SHA-256', (b) => ({ size: b.length, sha256: 'f'.repeat(64) }), undefined, () => /checksum mismatch/],
    ['fewer bytes than declared', (b) => ({ size: b.length + 100_000 }), undefined, (len) => new RegExp(`${len} of ${len + 100_000} declared bytes`)],
    ['more bytes than declared', () => ({ size: 1000 }), undefined, () => /more bytes arrived than the 1000 declared/],
    ['a sender that fails mid-upload', (b) => ({ size: b.length }), 2, () => /went away/],
    ['no SHA-256 where one was to come at the end', (b) => ({ size: b.length, sha256: () => undefined }), undefined, () => /without its checksum/],
  ] as Case[])('refuses %s: the old object stays as it was and nothing else is left', async (_, expectation, failAfter, why) => {
    // One object below a part and one of several parts (a multipart upload on S3, to be aborted).
    for (const size of [300_000, 2 * PART_BYTES + 300_000]) {
      const store = h.make();
      const old = Buffer.from('the complete old version');
      await store.put('runs/e1/e1.3/a.bin', chunks(old), { size: old.length, sha256: sha(old) });
      const body = randomBytes(size);
      const chunkSize = size > PART_BYTES ? 1024 * 1024 : 64 * 1024;
      await expect(store.put('runs/e1/e1.3/a.bin', chunks(body, chunkSize, failAfter ? { failAfter: size > PART_BYTES ? 10 : failAfter } : {}), expectation(body)))
        .rejects.toThrow(why(size));
      expect((await readAll(await store.get('runs/e1/e1.3/a.bin'))).toString()).toBe(old.toString());
      expect(await h.leftovers(store)).toEqual(['runs/e1/e1.3/a.bin']);
    }
  });

  it.each(['../escape', 'a/../../escape', '/etc/passwd', 'a\\b', 'a//b', './a', 'a/\0b', '', 'x'.repeat(1100), `${'d/'.repeat(40)}f`])(
    'refuses the key %j everywhere, before writing anything', async (bad) => {
      const store = h.make();
      await expect(store.put(bad, chunks(Buffer.from('x')), { size: 1 })).rejects.toMatchObject({ code: 'TH_ERR_ARTIFACT_PATH' });
      await expect(store.get(bad)).rejects.toMatchObject({ code: 'TH_ERR_ARTIFACT_PATH' });
      await expect(store.stat(bad)).rejects.toMatchObject({ code: 'TH_ERR_ARTIFACT_PATH' });
      if (bad !== '') await expect(store.deletePrefix(bad)).rejects.toMatchObject({ code: 'TH_ERR_ARTIFACT_PATH' });
      expect(await h.leftovers(store)).toEqual([]);
    });

  it('a missing object is TH_ERR_ARTIFACT_NOT_FOUND', async () => {
    await expect(h.make().get('runs/e1/e1.4/none.bin')).rejects.toMatchObject({ code: 'TH_ERR_ARTIFACT_NOT_FOUND' });
  });

  it('lists by prefix in key order, names folders, and deletes an object with everything below it only', async () => {
    const store = h.make();
    for (const k of ['runs/e2/e2.1/b.txt', 'runs/e2/e2.1/a/x.txt', 'runs/e2/e2.1/a/y.txt', 'runs/e2/e2.10/a.txt', 'runs/e2/e2.2/z.txt', 'runs/e3/e3.1/q.txt']) {
      await store.put(k, chunks(Buffer.from(k)), { size: Buffer.byteLength(k) });
    }
    expect(await keysOf(store, 'runs/e2/e2.1/')).toEqual(['runs/e2/e2.1/a/x.txt:20', 'runs/e2/e2.1/a/y.txt:20', 'runs/e2/e2.1/b.txt:18']);
    expect(await keysOf(store, 'runs/e2/e2.1')).toHaveLength(4);
    expect(await keysOf(store, 'runs/e2/e2.1/a/x')).toEqual(['runs/e2/e2.1/a/x.txt:20']);
    expect(await store.folders('runs/')).toEqual(['e2', 'e3']);
    expect(await store.folders('runs/e2/')).toEqual(['e2.1', 'e2.10', 'e2.2']);
    expect(await store.folders('runs/e9/')).toEqual([]);
    expect(await store.deletePrefix('runs/e2/e2.1/a')).toBe(2);
    expect(await store.deletePrefix('runs/e2/e2.1')).toBe(1);
    expect(await keysOf(store, 'runs/e2/')).toEqual(['runs/e2/e2.10/a.txt:19', 'runs/e2/e2.2/z.txt:18']);
    expect(await store.deletePrefix('runs/e2/e2.1')).toBe(0);
    expect(await store.deletePrefix('runs/e2/e2.2/z.txt')).toBe(1);
    expect(await keysOf(store, 'runs/')).toEqual(['runs/e2/e2.10/a.txt:19', 'runs/e3/e3.1/q.txt:18']);
  });
});
