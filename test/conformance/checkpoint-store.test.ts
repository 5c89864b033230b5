/**
 * Every CheckpointStore implementation through one suite (today the filesystem one; an S3 one
 * adds a harness here): a checkpoint is visible only once every byte arrived and matched its
 * SHA-256 (stage, then commit), a failed write leaves nothing and never damages the checkpoint
 * it would have replaced, paths and ids cannot escape, listing and reading give back exactly
 * what was written, remove is idempotent.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../../coordinator/artifacts/fs-artifact-store.js';
import { ObjectCheckpointStore } from '../../coordinator/artifacts/object-checkpoint-store.js';
import { S3ArtifactStore } from '../../coordinator/artifacts/s3-artifact-store.js';
import { startLocalS3, type LocalS3 } from '../helpers/local-s3.js';
import { CheckpointError, FsCheckpointStore, type CheckpointStore, type IncomingChunk } from '../../coordinator/checkpoints/checkpoint-store.js';

interface Harness {
  name: string;
  make(): { store: CheckpointStore; /** Every object or file the store holds, staging included. */ everything(): string[] | Promise<string[]> };
}

function walk(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? [`${r}/`, ...walk(dir, r)] : [r];
  });
}

const tmpRoots: string[] = [];
const HARNESSES: Harness[] = [
  {
    name: 'filesystem',
    make() {
      // The store's root inside a folder of its own, so anything written beside it shows too.
      const parent = mkdtempSync(path.join(os.tmpdir(), 'tunehive-store-'));
      tmpRoots.push(parent);
      const root = path.join(parent, 'root');
      mkdirSync(root);
      return { store: new FsCheckpointStore(root), everything: () => walk(parent) };
    },
  },
  {
    // Checkpoints over an object store: S3 against a real S3-compatible server (s3rver), and the
    // same code over the filesystem object store.
    name: 'object store (s3 via s3rver)',
    make() {
      const objects = new S3ArtifactStore({ bucket: s3.bucket, prefix: `c${s3Runs++}/`, endpoint: s3.endpoint, credentials: s3.credentials });
      return { store: new ObjectCheckpointStore(objects), everything: async () => { const out: string[] = []; for await (const o of objects.list('')) out.push(o.key); return out; } };
    },
  },
  {
    name: 'object store (filesystem objects)',
    make() {
      const parent = mkdtempSync(path.join(os.tmpdir(), 'tunehive-store-'));
      tmpRoots.push(parent);
      return { store: new ObjectCheckpointStore(new FsArtifactStore(parent)), everything: () => walk(parent) };
    },
  },
];

let s3: LocalS3;
let s3Runs = 0;
beforeAll(async () => { s3 = await startLocalS3(); });
afterAll(async () => { await s3?.close(); });

type Files = Record<string, Buffer>;
const sha = (files: Files) => {
  const h = createHash('sha256');
  for (const b of Object.values(files)) h.update(b);
  return h.digest('hex');
};

interface WriteOptions {
  sha?: string | undefined;
  sizes?: Record<string, number>;
  chunkSize?: number;
  /** After the first chunk has been taken: `paused` is called, then the upload waits for `gate`. */
  gate?: Promise<void>;
  paused?: () => void;
  failAfter?: number;
}

/** Uploads `files` as the gRPC service does: announced list, chunks in file order, SHA-256 at the end. */
function write(store: CheckpointStore, study: string, n: number, id: string, files: Files, o: WriteOptions = {}): Promise<void> {
  const list = Object.entries(files).map(([p, b]) => ({ path: p, size: o.sizes?.[p] ?? b.length }));
  const digest = 'sha' in o ? o.sha : sha(files);
  async function* chunks(): AsyncIterable<IncomingChunk> {
    let sent = 0;
    for (const [i, b] of Object.values(files).entries()) {
      for (let at = 0; at < b.length; at += o.chunkSize ?? 64 * 1024) {
        if (o.failAfter !== undefined && sent === o.failAfter) throw new Error('the worker went away mid-upload');
        yield { fileIndex: i, data: b.subarray(at, at + (o.chunkSize ?? 64 * 1024)) };
        sent++;
        if (sent === 1 && o.gate) {
          o.paused?.();
          await o.gate;
        }
      }
    }
  }
  // Wrapped so that a store refusing at once (a bad id) is a rejection like any other refusal.
  return (async () => store.write(study, n, id, list, chunks(), () => digest))();
}

/** A store's read may throw or its stream may fail: both count as refusing. */
async function readAll(open: () => NodeJS.ReadableStream): Promise<Buffer> {
  const stream = open();
  const parts: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) parts.push(c);
  return Buffer.concat(parts);
}
const readFile = (store: CheckpointStore, study: string, n: number, id: string, file: string) => readAll(() => store.read(study, n, id, file));
const listing = async (store: CheckpointStore, study: string, n: number, id: string) => store.files(study, n, id).catch(() => []);

const sample = (): Files => ({
  'model.pt': Buffer.alloc(300_000, 7),
  'optim/state.bin': Buffer.from('optimizer state'),
  'optim/deep/nested/rng.json': Buffer.from('{"seed":1}'),
  'empty.txt': Buffer.alloc(0),
});
const STUDY = 'abcd012345';

afterAll(async () => {
  const { rm } = await import('node:fs/promises');
  await Promise.all(tmpRoots.map((d) => rm(d, { recursive: true, force: true })));
});

describe.each(HARNESSES.map((h) => [h.name, h] as const))('checkpoint store %s', (_, h) => {
  it('lists and reads back exactly what was written, nested folders and empty files included', async () => {
    const { store } = h.make();
    const files = sample();
    await write(store, STUDY, 3, 'a1-s5-aaaaaa', files, { chunkSize: 100_000 });
    expect(await store.files(STUDY, 3, 'a1-s5-aaaaaa')).toEqual(
      Object.entries(files).map(([p, b]) => ({ path: p, size: b.length })).sort((a, b) => a.path.localeCompare(b.path)),
    );
    for (const [p, b] of Object.entries(files)) expect((await readFile(store, STUDY, 3, 'a1-s5-aaaaaa', p)).equals(b), p).toBe(true);
  });

  it('stage then commit: nothing is visible while the upload is in flight', async () => {
    const { store } = h.make();
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let paused!: () => void;
    const inFlight = new Promise<void>((r) => (paused = r));
    const writing = write(store, STUDY, 0, 'a1-s1-bbbbbb', sample(), { gate, paused, chunkSize: 100_000 });
    // The store has taken the first chunk: a reader must still see no checkpoint.
    await inFlight;
    expect(await listing(store, STUDY, 0, 'a1-s1-bbbbbb')).toEqual([]);
    await expect(readFile(store, STUDY, 0, 'a1-s1-bbbbbb', 'model.pt')).rejects.toThrow();
    open();
    await writing;
    expect((await store.files(STUDY, 0, 'a1-s1-bbbbbb')).length).toBe(4);
  });

  it.each([
    ['a wrong SHA-256', { sha: 'f'.repeat(64) }, /checksum mismatch/],
    ['no SHA-256 at all', { sha: undefined }, /without its checksum/],
    ['more bytes than announced', { sizes: { 'model.pt': 1000 } }, /larger than announced/],
    ['fewer bytes than announced', { sizes: { 'model.pt': 400_000 } }, /300000 of 400000 bytes/],
    ['a sender that fails mid-upload', { failAfter: 2, chunkSize: 50_000 }, /went away/],
  ] as Array<[string, WriteOptions, RegExp]>)('refuses %s, and leaves nothing behind', async (_, o, why) => {
    const { store, everything } = h.make();
    const before = await everything();
    await expect(write(store, STUDY, 1, 'a1-s2-cccccc', sample(), o)).rejects.toThrow(why);
    expect(await listing(store, STUDY, 1, 'a1-s2-cccccc')).toEqual([]);
    await expect(readFile(store, STUDY, 1, 'a1-s2-cccccc', 'optim/state.bin')).rejects.toThrow();
    // No staging left: the store holds what it held before (folders it created may stay).
    expect((await everything()).filter((p) => !p.endsWith('/'))).toEqual(before.filter((p) => !p.endsWith('/')));
  });

  it('a failed rewrite of a checkpoint leaves the complete one as it was; a good one replaces it whole', async () => {
    const { store } = h.make();
    await write(store, STUDY, 2, 'a1-s3-dddddd', sample());
    await expect(write(store, STUDY, 2, 'a1-s3-dddddd', { 'model.pt': Buffer.alloc(10, 1) }, { sha: '0'.repeat(64) })).rejects.toThrow(CheckpointError);
    expect((await readFile(store, STUDY, 2, 'a1-s3-dddddd', 'model.pt')).equals(sample()['model.pt']!)).toBe(true);
    await write(store, STUDY, 2, 'a1-s3-dddddd', { 'model.pt': Buffer.alloc(10, 1) });
    expect(await store.files(STUDY, 2, 'a1-s3-dddddd')).toEqual([{ path: 'model.pt', size: 10 }]);
  });

  it.each(['../escape.bin', '../../../escape.bin', '/tmp/escape.bin', 'a/../../escape.bin', 'a\\..\\escape.bin', '', './model.pt', 'a//b', 'a\0b'])(
    'refuses a file path that could leave the checkpoint: %j', async (bad) => {
      const { store, everything } = h.make();
      const files = { 'ok.bin': Buffer.from('fine'), [bad]: Buffer.from('escaped') };
      await expect(write(store, STUDY, 4, 'a1-s4-eeeeee', files)).rejects.toThrow(CheckpointError);
      expect((await everything()).filter((p) => !p.endsWith('/'))).toEqual([]);
    },
  );

  it('refuses to read outside a checkpoint, e.g. another checkpoint\'s files', async () => {
    const { store } = h.make();
    await write(store, STUDY, 5, 'a1-s1-ffffff', { 'model.pt': Buffer.from('mine') });
    await write(store, STUDY, 5, 'a1-s2-gggggg', { 'secret.bin': Buffer.from('not yours') });
    for (const bad of ['../a1-s2-gggggg/secret.bin', '/etc/passwd', 'x/../../a1-s2-gggggg/secret.bin', '']) {
      await expect(readFile(store, STUDY, 5, 'a1-s1-ffffff', bad), bad).rejects.toThrow(CheckpointError);
    }
  });

  it.each([
    ['a checkpoint id with a path in it', STUDY, 0, '../a1-s1-x'],
    ['an empty checkpoint id', STUDY, 0, ''],
    ['an over-long checkpoint id', STUDY, 0, 'x'.repeat(101)],
    ['a study id with a path in it', '../../etc', 0, 'a1-s1-hhhhhh'],
    ['an empty study id', '', 0, 'a1-s1-hhhhhh'],
    ['a negative trial number', STUDY, -1, 'a1-s1-hhhhhh'],
    ['a fractional trial number', STUDY, 1.5, 'a1-s1-hhhhhh'],
  ] as Array<[string, string, number, string]>)('refuses %s everywhere', async (_, study, n, id) => {
    const { store, everything } = h.make();
    await expect(write(store, study, n, id, { 'm.bin': Buffer.from('x') })).rejects.toThrow(CheckpointError);
    await expect((async () => store.files(study, n, id))()).rejects.toThrow(CheckpointError);
    await expect(readFile(store, study, n, id, 'm.bin')).rejects.toThrow(CheckpointError);
    await expect((async () => store.remove(study, n, id))()).rejects.toThrow(CheckpointError);
    expect((await everything()).filter((p) => !p.endsWith('/'))).toEqual([]);
  });

  it('remove deletes one checkpoint, leaves the trial\'s others alone, and is idempotent', async () => {
    const { store } = h.make();
    await write(store, STUDY, 6, 'a1-s1-iiiiii', sample());
    await write(store, STUDY, 6, 'a1-s2-jjjjjj', { 'model.pt': Buffer.from('second') });
    await store.remove(STUDY, 6, 'a1-s1-iiiiii');
    expect(await listing(store, STUDY, 6, 'a1-s1-iiiiii')).toEqual([]);
    await expect(readFile(store, STUDY, 6, 'a1-s1-iiiiii', 'model.pt')).rejects.toThrow();
    expect((await readFile(store, STUDY, 6, 'a1-s2-jjjjjj', 'model.pt')).toString()).toBe('second');
    await expect(store.remove(STUDY, 6, 'a1-s1-iiiiii')).resolves.toBeUndefined();
    await expect(store.remove(STUDY, 7, 'a1-s9-neverr')).resolves.toBeUndefined();
  });
});
