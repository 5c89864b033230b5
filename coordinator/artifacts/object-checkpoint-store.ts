/**
 * Checkpoints in an object store (S3: coordinator replicas need no shared volume). Objects have
 * no rename, so a checkpoint is made visible by its manifest: the files go up under a fresh
 * generation (`checkpoints/<study>/<n>/<id>/<gen>/<file>`), each checked for its size, then the
 * SHA-256 over all of them, and only then is `…/<id>/manifest` written (one put: atomic) naming
 * the generation. A reader goes by the manifest alone, so a half upload is never seen and a
 * failed rewrite leaves the previous checkpoint whole; the replaced generation is deleted after.
 */
import { createHash, randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { safeRelativePath } from '../../shared/checkpoint-files.js';
import { STUDY_ID } from '../../shared/redis-keys.js';
import { TunehiveError } from '../../shared/errors.js';
import { CheckpointError, type CheckpointFileInfo, type CheckpointStore, type IncomingChunk } from '../checkpoints/checkpoint-store.js';
import type { ArtifactStore } from './artifact-store.js';

interface Manifest { gen: string; files: CheckpointFileInfo[]; sha256: string }

const asCheckpointError = (err: unknown) => (err instanceof TunehiveError ? new CheckpointError(err.message) : err);

export class ObjectCheckpointStore implements CheckpointStore {
  constructor(private readonly objects: ArtifactStore) {}

  private studyKey(studyId: string): string {
    if (!STUDY_ID.test(studyId)) throw new CheckpointError(`bad study id ${JSON.stringify(studyId.slice(0, 100))}`);
    return `checkpoints/${studyId}`;
  }

  private trialKey(studyId: string, number: number): string {
    if (!Number.isSafeInteger(number) || number < 0) throw new CheckpointError(`bad trial number ${number}`);
    return `${this.studyKey(studyId)}/${number}`;
  }

  private key(studyId: string, number: number, id: string): string {
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(id)) throw new CheckpointError(`bad checkpoint id ${JSON.stringify(id.slice(0, 100))}`);
    return `${this.trialKey(studyId, number)}/${id}`;
  }

  private async manifest(base: string): Promise<Manifest | undefined> {
    if (!(await this.objects.stat(`${base}/manifest`))) return undefined;
    const parts: Buffer[] = [];
    try {
      for await (const c of await this.objects.get(`${base}/manifest`)) parts.push(c as Buffer);
    } catch (err) {
      if (err instanceof TunehiveError && err.code === 'TH_ERR_ARTIFACT_NOT_FOUND') return undefined;
      throw err;
    }
    return JSON.parse(Buffer.concat(parts).toString('utf8')) as Manifest;
  }

  async write(studyId: string, number: number, id: string, files: CheckpointFileInfo[], chunks: AsyncIterable<IncomingChunk>, sha256: () => string | undefined): Promise<void> {
    const base = this.key(studyId, number, id);
    for (const f of files) if (!safeRelativePath(f.path)) throw new CheckpointError(`unsafe checkpoint path ${JSON.stringify(f.path)}`);
    const gen = randomBytes(6).toString('hex');
    const hash = createHash('sha256');
    const iterator = chunks[Symbol.asyncIterator]();
    let pending: IncomingChunk | undefined;
    let ended = false;
    /** The chunks of file i, from the one stream of all files (in file order). */
    async function* fileBytes(i: number): AsyncIterable<Buffer> {
      let written = 0;
      for (;;) {
        if (!pending && !ended) {
          const n = await iterator.next();
          if (n.done) ended = true;
          else pending = n.value;
        }
        if (!pending || pending.fileIndex > i) break;
        if (pending.fileIndex < i || pending.fileIndex >= files.length) throw new CheckpointError(`chunk for file ${pending.fileIndex} out of order`);
        const data = pending.data;
        pending = undefined;
        written += data.length;
        if (written > files[i]!.size) throw new CheckpointError(`file ${files[i]!.path} is larger than announced`);
        hash.update(data);
        yield data;
      }
      if (written !== files[i]!.size) throw new CheckpointError(`file ${files[i]!.path}: ${written} of ${files[i]!.size} bytes arrived`);
    }
    try {
      for (let i = 0; i < files.length; i++) await this.objects.put(`${base}/${gen}/${files[i]!.path}`, fileBytes(i), { size: files[i]!.size });
      if (!ended && (pending || !(await iterator.next()).done)) throw new CheckpointError('chunks arrived after the last announced file');
      const expected = sha256();
      if (!expected) throw new CheckpointError('the transfer ended without its checksum');
      const actual = hash.digest('hex');
      if (actual !== expected) throw new CheckpointError(`checksum mismatch (got ${actual.slice(0, 12)}…, expected ${expected.slice(0, 12)}…)`);
      const previous = await this.manifest(base);
      const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map((f) => ({ path: f.path, size: f.size }));
      const body = Buffer.from(JSON.stringify({ gen, files: sorted, sha256: actual } satisfies Manifest));
      await this.objects.put(`${base}/manifest`, (async function* () { yield body; })(), { size: body.length });
      if (previous && previous.gen !== gen) await this.objects.deletePrefix(`${base}/${previous.gen}`);
    } catch (err) {
      await this.objects.deletePrefix(`${base}/${gen}`).catch(() => undefined);
      throw asCheckpointError(err);
    }
  }

  async files(studyId: string, number: number, id: string): Promise<CheckpointFileInfo[]> {
    const m = await this.manifest(this.key(studyId, number, id));
    if (!m) throw new CheckpointError(`no checkpoint ${id} of trial ${studyId}.${number}`);
    return m.files;
  }

  read(studyId: string, number: number, id: string, file: string): NodeJS.ReadableStream {
    const base = this.key(studyId, number, id);
    if (!safeRelativePath(file)) throw new CheckpointError(`unsafe checkpoint path ${JSON.stringify(file)}`);
    const out = new PassThrough({ highWaterMark: 256 * 1024 });
    void (async () => {
      const m = await this.manifest(base);
      if (!m || !m.files.some((f) => f.path === file)) throw new CheckpointError(`checkpoint ${id} has no file ${JSON.stringify(file)}`);
      const source = await this.objects.get(`${base}/${m.gen}/${file}`);
      source.on('error', (err) => out.destroy(err));
      source.pipe(out);
    })().catch((err: unknown) => out.destroy(asCheckpointError(err) as Error));
    return out;
  }

  async remove(studyId: string, number: number, id: string): Promise<void> {
    const base = this.key(studyId, number, id);
    // The manifest first: from then on the checkpoint is gone for every reader.
    await this.objects.deletePrefix(`${base}/manifest`);
    await this.objects.deletePrefix(base);
  }

  async removeTrial(studyId: string, number: number): Promise<void> {
    await this.objects.deletePrefix(this.trialKey(studyId, number));
  }

  async removeStudy(studyId: string): Promise<void> {
    await this.objects.deletePrefix(this.studyKey(studyId));
  }

  async studies(): Promise<string[]> {
    return (await this.objects.folders('checkpoints/')).filter((n) => STUDY_ID.test(n));
  }

  async trials(studyId: string): Promise<number[]> {
    return (await this.objects.folders(`${this.studyKey(studyId)}/`)).filter((n) => /^\d{1,9}$/.test(n)).map(Number).sort((a, b) => a - b);
  }
}
