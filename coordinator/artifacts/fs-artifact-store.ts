/**
 * Artifacts as files under a root (a local disk or a mounted volume): `objects/<key>`. A put
 * streams into `staging/` and is renamed into place only once its size and SHA-256 matched, so
 * a reader sees the old file or the new one, never a half.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { TunehiveError } from '../../shared/errors.js';
import { checkFolderPrefix, checkKey, notFound, verifiedBytes, type ArtifactStore, type ByteRange, type ObjectInfo, type PutExpectation } from './artifact-store.js';

export class FsArtifactStore implements ArtifactStore {
  private readonly objects: string;
  private readonly staging: string;

  constructor(readonly root: string) {
    this.objects = path.join(root, 'objects');
    this.staging = path.join(root, 'staging');
  }

  private file(key: string): string {
    return path.join(this.objects, ...checkKey(key).split('/'));
  }

  async put(key: string, body: AsyncIterable<Buffer>, expect: PutExpectation): Promise<{ size: number; sha256: string }> {
    const final = this.file(key);
    await mkdir(this.staging, { recursive: true });
    const tmp = path.join(this.staging, `${randomBytes(8).toString('hex')}.part`);
    const out = createWriteStream(tmp);
    let result: { size: number; sha256: string } | undefined;
    try {
      for await (const chunk of verifiedBytes(body, expect, (r) => (result = r))) {
        if (!out.write(chunk)) await once(out, 'drain');
      }
      out.end();
      await once(out, 'close');
      try {
        await mkdir(path.dirname(final), { recursive: true });
        await rename(tmp, final);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST') {
          throw new TunehiveError('TH_ERR_ARTIFACT_PATH', `${key} conflicts with an existing artifact (a file and a folder cannot share a name)`, [{ field: 'path', reason: 'a file and a folder of the same name' }]);
        }
        throw err;
      }
      return result!;
    } catch (err) {
      out.destroy();
      // Opening is asynchronous: a stream destroyed before its open completes still creates the
      // file. Remove it once the stream has closed, or a refused upload leaves a staging file behind.
      if (!out.closed) await once(out, 'close');
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const file = this.file(key);
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile()) throw notFound(key);
    return createReadStream(file, { highWaterMark: 256 * 1024, ...(range ? { start: range.start, end: range.end } : {}) });
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    const st = await stat(this.file(key)).catch(() => undefined);
    return st?.isFile() ? { size: st.size } : undefined;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // Walk only the deepest folder the prefix names in full.
    const cut = prefix.lastIndexOf('/');
    const base = cut < 0 ? '' : prefix.slice(0, cut);
    if (base) checkKey(base);
    const start = base ? path.join(this.objects, ...base.split('/')) : this.objects;
    const walk = async function* (dir: string, rel: string): AsyncIterable<ObjectInfo> {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw err;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const e of entries) {
        const key = rel ? `${rel}/${e.name}` : e.name;
        // Keys sort as strings: a folder's keys ("a/x") come where "a/" sorts.
        if (e.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) yield* walk(path.join(dir, e.name), key);
        } else if (e.isFile() && key.startsWith(prefix)) {
          yield { key, size: (await stat(path.join(dir, e.name))).size };
        }
      }
    };
    yield* walk(start, base);
  }

  async folders(prefix: string): Promise<string[]> {
    checkFolderPrefix(prefix);
    const dir = prefix ? path.join(this.objects, ...prefix.slice(0, -1).split('/')) : this.objects;
    try {
      return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
      throw err;
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    const target = prefix === '' ? this.objects : this.file(prefix);
    let n = 0;
    for await (const o of this.list(prefix === '' ? '' : prefix)) if (o.key === prefix || prefix === '' || o.key.startsWith(`${prefix}/`)) n++;
    await rm(target, { recursive: true, force: true });
    return n;
  }
}
