/**
 * Where trial checkpoints live on the coordinator side. The contract: `write` makes a
 * checkpoint visible only once every byte has arrived and matched its SHA-256 (a half upload
 * never replaces a complete one); `read` streams a complete checkpoint's files; `remove` is
 * idempotent. Which checkpoint is a trial's latest is recorded in Redis, not here.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { STUDY_ID } from '../../shared/redis-keys.js';
import { CheckpointFolderWriter, CheckpointTransferError, listCheckpointFiles, safeRelativePath, type CheckpointFileInfo } from '../../shared/checkpoint-files.js';

export type { CheckpointFileInfo };
export interface IncomingChunk { fileIndex: number; data: Buffer }

export interface CheckpointStore {
  write(studyId: string, number: number, id: string, files: CheckpointFileInfo[], chunks: AsyncIterable<IncomingChunk>, sha256: () => string | undefined): Promise<void>;
  files(studyId: string, number: number, id: string): Promise<CheckpointFileInfo[]>;
  read(studyId: string, number: number, id: string, file: string): NodeJS.ReadableStream;
  remove(studyId: string, number: number, id: string): Promise<void>;
  /** Every checkpoint of a trial (and its half-written uploads); idempotent. */
  removeTrial(studyId: string, number: number): Promise<void>;
  /** Every checkpoint of a study; idempotent. */
  removeStudy(studyId: string): Promise<void>;
  /** Studies with anything stored (for the orphan sweep at start). */
  studies(): Promise<string[]>;
  /** Trial numbers of a study with anything stored. */
  trials(studyId: string): Promise<number[]>;
}

export class CheckpointError extends Error {}

/** Checkpoints as folders under a root (a local disk or a mounted volume). */
export class FsCheckpointStore implements CheckpointStore {
  constructor(private readonly root: string) {}

  private studyDir(studyId: string): string {
    // The id becomes a path: only what a study id can be, never '..' or a separator.
    if (!STUDY_ID.test(studyId)) throw new CheckpointError(`bad study id ${JSON.stringify(studyId.slice(0, 100))}`);
    return path.join(this.root, studyId);
  }

  private trialDir(studyId: string, number: number): string {
    if (!Number.isSafeInteger(number) || number < 0) throw new CheckpointError(`bad trial number ${number}`);
    return path.join(this.studyDir(studyId), String(number));
  }

  private dir(studyId: string, number: number, id: string): string {
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(id)) throw new CheckpointError(`bad checkpoint id ${JSON.stringify(id.slice(0, 100))}`);
    return path.join(this.trialDir(studyId, number), id);
  }

  async write(studyId: string, number: number, id: string, files: CheckpointFileInfo[], chunks: AsyncIterable<IncomingChunk>, sha256: () => string | undefined): Promise<void> {
    const final = this.dir(studyId, number, id);
    const tmp = `${final}.partial-${randomBytes(4).toString('hex')}`;
    await mkdir(tmp, { recursive: true });
    let writer: CheckpointFolderWriter | undefined;
    try {
      writer = new CheckpointFolderWriter(tmp, files);
      for await (const c of chunks) await writer.write(c.fileIndex, c.data);
      await writer.finish(sha256());
      await rm(final, { recursive: true, force: true });
      await rename(tmp, final);
    } catch (err) {
      writer?.abort();
      await rm(tmp, { recursive: true, force: true });
      throw err instanceof CheckpointTransferError ? new CheckpointError(err.message) : err;
    }
  }

  files(studyId: string, number: number, id: string): Promise<CheckpointFileInfo[]> {
    return listCheckpointFiles(this.dir(studyId, number, id));
  }

  read(studyId: string, number: number, id: string, file: string): NodeJS.ReadableStream {
    const rel = safeRelativePath(file);
    if (!rel) throw new CheckpointError(`unsafe checkpoint path ${JSON.stringify(file)}`);
    return createReadStream(path.join(this.dir(studyId, number, id), rel), { highWaterMark: 256 * 1024 });
  }

  async remove(studyId: string, number: number, id: string): Promise<void> {
    await rm(this.dir(studyId, number, id), { recursive: true, force: true });
  }

  async removeTrial(studyId: string, number: number): Promise<void> {
    await rm(this.trialDir(studyId, number), { recursive: true, force: true });
  }

  async removeStudy(studyId: string): Promise<void> {
    await rm(this.studyDir(studyId), { recursive: true, force: true });
  }

  async studies(): Promise<string[]> {
    return (await subfolders(this.root)).filter((n) => STUDY_ID.test(n));
  }

  async trials(studyId: string): Promise<number[]> {
    return (await subfolders(this.studyDir(studyId))).filter((n) => /^\d{1,9}$/.test(n)).map(Number).sort((a, b) => a - b);
  }
}

async function subfolders(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
