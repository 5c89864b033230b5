/**
 * Where trial checkpoints live on the coordinator side. The contract: `write` makes a
 * checkpoint visible only once every byte has arrived and matched its SHA-256 (a half upload
 * never replaces a complete one); `read` streams a complete checkpoint's files; `remove` is
 * idempotent. Which checkpoint is a trial's latest is recorded in Redis, not here.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { safeRelativePath } from '../../shared/checkpoint-files.js';

export interface CheckpointFileInfo { path: string; size: number }
export interface IncomingChunk { fileIndex: number; data: Buffer }

export interface CheckpointStore {
  write(studyId: string, number: number, id: string, files: CheckpointFileInfo[], chunks: AsyncIterable<IncomingChunk>, sha256: () => string | undefined): Promise<void>;
  files(studyId: string, number: number, id: string): Promise<CheckpointFileInfo[]>;
  read(studyId: string, number: number, id: string, file: string): NodeJS.ReadableStream;
  remove(studyId: string, number: number, id: string): Promise<void>;
}

export class CheckpointError extends Error {}

/** Checkpoints as folders under a root (a local disk or a mounted volume). */
export class FsCheckpointStore implements CheckpointStore {
  constructor(private readonly root: string) {}

  private dir(studyId: string, number: number, id: string): string {
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(id)) throw new CheckpointError(`bad checkpoint id ${JSON.stringify(id)}`);
    return path.join(this.root, studyId, String(number), id);
  }

  async write(studyId: string, number: number, id: string, files: CheckpointFileInfo[], chunks: AsyncIterable<IncomingChunk>, sha256: () => string | undefined): Promise<void> {
    const final = this.dir(studyId, number, id);
    const tmp = `${final}.partial-${randomBytes(4).toString('hex')}`;
    const rels = files.map((f) => {
      const rel = safeRelativePath(f.path);
      if (!rel) throw new CheckpointError(`unsafe checkpoint path ${JSON.stringify(f.path)}`);
      return rel;
    });
    await mkdir(tmp, { recursive: true });
    let out: ReturnType<typeof createWriteStream> | undefined;
    try {
      const hash = createHash('sha256');
      const written = files.map(() => 0);
      let current = -1;
      const closeOut = async () => {
        if (out) {
          out.end();
          await once(out, 'close');
          out = undefined;
        }
      };
      const openFile = async (i: number) => {
        await closeOut();
        const target = path.join(tmp, rels[i]!);
        await mkdir(path.dirname(target), { recursive: true });
        out = createWriteStream(target);
        current = i;
      };
      for await (const c of chunks) {
        if (c.fileIndex < current || c.fileIndex >= files.length) throw new CheckpointError(`chunk for file ${c.fileIndex} out of order`);
        // Files with no bytes get no chunks: create every file up to this one.
        while (current < c.fileIndex) await openFile(current + 1);
        written[c.fileIndex]! += c.data.length;
        if (written[c.fileIndex]! > files[c.fileIndex]!.size) throw new CheckpointError(`file ${files[c.fileIndex]!.path} is larger than announced`);
        hash.update(c.data);
        if (!out!.write(c.data)) await once(out!, 'drain');
      }
      while (current < files.length - 1) await openFile(current + 1);
      await closeOut();
      const expected = sha256();
      if (!expected) throw new CheckpointError('upload ended without its checksum');
      files.forEach((f, i) => {
        if (written[i] !== f.size) throw new CheckpointError(`file ${f.path}: ${written[i]} of ${f.size} bytes arrived`);
      });
      const actual = hash.digest('hex');
      if (actual !== expected) throw new CheckpointError(`checksum mismatch (got ${actual.slice(0, 12)}…, expected ${expected.slice(0, 12)}…)`);
      await rm(final, { recursive: true, force: true });
      await rename(tmp, final);
    } catch (err) {
      out?.destroy();
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  async files(studyId: string, number: number, id: string): Promise<CheckpointFileInfo[]> {
    const root = this.dir(studyId, number, id);
    const out: CheckpointFileInfo[] = [];
    const { readdir } = await import('node:fs/promises');
    const walk = async (rel: string) => {
      for (const e of await readdir(path.join(root, rel), { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(r);
        else if (e.isFile()) out.push({ path: r, size: (await stat(path.join(root, r))).size });
      }
    };
    await walk('');
    return out.sort((a, b) => a.path.localeCompare(b.path));
  }

  read(studyId: string, number: number, id: string, file: string): NodeJS.ReadableStream {
    const rel = safeRelativePath(file);
    if (!rel) throw new CheckpointError(`unsafe checkpoint path ${JSON.stringify(file)}`);
    return createReadStream(path.join(this.dir(studyId, number, id), rel), { highWaterMark: 256 * 1024 });
  }

  async remove(studyId: string, number: number, id: string): Promise<void> {
    await rm(this.dir(studyId, number, id), { recursive: true, force: true });
  }
}
