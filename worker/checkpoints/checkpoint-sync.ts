/**
 * Moves a trial's checkpoint folder between the worker and the coordinator's checkpoint store
 * over gRPC: streamed in chunks with a SHA-256 over all bytes, so a torn upload is refused and
 * a torn download is never handed to the program.
 */
import { createHash } from 'node:crypto';
import { constants, existsSync, type Stats } from 'node:fs';
import { mkdir, open, readlink, realpath, rename, rm, type FileHandle } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { CheckpointFolderWriter, listCheckpointEntries, type CheckpointFileInfo } from '../../shared/checkpoint-files.js';
import { DEFAULT_TRIAL_LIMITS } from '../../shared/study-spec.js';
import type { CheckpointChunk, CheckpointRequest, CheckpointSaved } from '../../shared/proto.js';

type Client = {
  uploadCheckpoint(cb: (err: grpc.ServiceError | null, res?: CheckpointSaved) => void): grpc.ClientWritableStream<CheckpointChunk>;
  downloadCheckpoint(req: CheckpointRequest): grpc.ClientReadableStream<CheckpointChunk>;
};

/** Per-trial quotas of one upload (spec `limits`). */
export interface CheckpointQuota { maxCheckpointBytes: number; maxCheckpointFiles: number }

/** Files opened at once while sizing a folder (a folder of 25,000 files must not hit EMFILE). */
const OPEN_AT_ONCE = 32;
/**
 * Files whose handles stay open from sizing to sending, so a program replacing them meanwhile
 * cannot tear them; later files are re-opened and must still be the same file.
 */
const KEEP_OPEN = 64;
/** The file list travels in one message: keep it well under gRPC's default 4 MiB receive limit. */
const MAX_FILE_LIST_BYTES = 3 * 1024 * 1024;
const MiB = 1024 * 1024;

/** The upload cannot be made as the folder stands: not an error of the transfer. */
export class CheckpointRefused extends Error {}

export interface OpenedFile { path: string; size: number; mtimeMs: number; ino: number; dev: number; fh: FileHandle | undefined }

const canCheckFdPath = process.platform === 'linux' && existsSync('/proc/self/fd');

/**
 * Opens one listed file without following a symbolic link, and checks that what was opened is
 * a regular file inside the folder: a file swapped for a link (or a folder swapped for a link
 * to elsewhere) after the listing must never bring outside bytes into a checkpoint.
 */
export async function openInside(dir: string, realDir: string, rel: string): Promise<{ fh: FileHandle; st: Stats }> {
  let fh: FileHandle;
  try {
    // O_NONBLOCK: a file swapped for a named pipe would otherwise hold the open (and a libuv
    // thread) until some writer came; for a regular file it changes nothing.
    fh = await open(path.join(dir, rel), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new CheckpointRefused(`${rel} is a symbolic link; a checkpoint holds regular files only`);
    if (code === 'ENOENT') throw new CheckpointRefused(`${rel} disappeared while the checkpoint was being read (was the folder still being written?)`);
    throw new Error(`cannot open ${rel}: ${(err as Error).message}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new CheckpointRefused(`${rel} is not a regular file`);
    if (canCheckFdPath) {
      const real = await readlink(`/proc/self/fd/${fh.fd}`);
      if (!real.startsWith(realDir + path.sep)) throw new CheckpointRefused(`${rel} resolves outside the checkpoint folder (a linked folder?)`);
    }
    return { fh, st };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/**
 * Opens and sizes the listed files, at most OPEN_AT_ONCE at a time; any failure fails the whole
 * set (every handle closed), never a checkpoint with a file missing.
 */
export async function openCheckpointFiles(dir: string, entries: CheckpointFileInfo[]): Promise<OpenedFile[]> {
  const realDir = await realpath(dir);
  const out: OpenedFile[] = new Array(entries.length);
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (failure === undefined && next < entries.length) {
      const i = next++;
      const rel = entries[i]!.path;
      try {
        const { fh, st } = await openInside(dir, realDir, rel);
        const keep = i < KEEP_OPEN;
        out[i] = { path: rel, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, dev: st.dev, fh: keep ? fh : undefined };
        if (!keep) await fh.close();
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(OPEN_AT_ONCE, entries.length) }, worker));
  if (failure !== undefined) {
    await closeAll(out);
    throw failure;
  }
  return out;
}

async function closeAll(files: Array<OpenedFile | undefined>): Promise<void> {
  await Promise.all(files.map((f) => f?.fh?.close().catch(() => undefined)));
}

const refused = (reason: string): CheckpointSaved => ({ accepted: false, checkpointId: '', reason });

/** Why the folder cannot be uploaded under the quotas, or undefined. */
function overQuota(files: Array<{ path: string; size: number }>, quota: CheckpointQuota): string | undefined {
  if (files.length > quota.maxCheckpointFiles) return `the checkpoint has more than ${quota.maxCheckpointFiles} files (limits.maxCheckpointFiles)`;
  const bytes = files.reduce((n, f) => n + f.size, 0);
  if (bytes > quota.maxCheckpointBytes) return `the checkpoint has ${(bytes / MiB).toFixed(1)} MiB, over limits.maxCheckpointBytes (${(quota.maxCheckpointBytes / MiB).toFixed(1)} MiB)`;
  const listBytes = files.reduce((n, f) => n + Buffer.byteLength(f.path) + 16, 0);
  if (listBytes > MAX_FILE_LIST_BYTES) {
    return `the list of ${files.length} file names takes ${(listBytes / MiB).toFixed(1)} MiB, over the ${MAX_FILE_LIST_BYTES / MiB} MiB one message may carry (fewer files or shorter names)`;
  }
  return undefined;
}

/** Uploads the folder as the attempt's checkpoint at `step`; a refusal is an answer, not a throw. */
export async function uploadCheckpoint(client: grpc.Client, o: { trialId: string; attempt: number; attemptSecret: string; step: number; dir: string; quota?: CheckpointQuota }): Promise<CheckpointSaved> {
  const quota = o.quota ?? DEFAULT_TRIAL_LIMITS;
  let files: OpenedFile[] = [];
  try {
    const listed = await listCheckpointEntries(o.dir, quota.maxCheckpointFiles);
    if (listed.length === 0) return refused('the checkpoint folder is empty');
    // Checked on the listing first, so an over-quota folder is never opened or sent.
    const before = overQuota(listed, quota);
    if (before) return refused(before);
    // Sizes come from the open handles: a program replacing a file (write + rename) meanwhile
    // cannot make the announced size and the bytes disagree.
    files = await openCheckpointFiles(o.dir, listed);
    const after = overQuota(files, quota);
    if (after) return refused(after);
    return await send(client, o, files);
  } catch (err) {
    if (err instanceof CheckpointRefused) return refused(err.message);
    throw err;
  } finally {
    await closeAll(files);
  }
}

async function send(client: grpc.Client, o: { trialId: string; attempt: number; attemptSecret: string; step: number; dir: string }, files: OpenedFile[]): Promise<CheckpointSaved> {
  const c = client as unknown as Client;
  let answered = false;
  let settle!: (v: CheckpointSaved) => void;
  let fail!: (e: Error) => void;
  const done = new Promise<CheckpointSaved>((resolve, reject) => { settle = resolve; fail = reject; });
  // Settled by the callback even when we cancel: never leave it unhandled (that would end the agent).
  done.catch(() => undefined);
  const call = c.uploadCheckpoint((err, res) => {
    answered = true;
    if (err) fail(err);
    else settle(res!);
  });
  const answeredEarly = new Error('answered before the upload ended');
  // A call the coordinator has already answered (refused, or failed: a message over its limit)
  // never drains: wait for whichever comes first.
  const write = async (m: CheckpointChunk) => {
    if (answered) throw answeredEarly;
    if (!call.write(m)) await Promise.race([once(call, 'drain'), done.then(() => undefined, () => undefined)]);
  };
  const hash = createHash('sha256');
  try {
    await write({ trialId: o.trialId, attempt: o.attempt, attemptSecret: o.attemptSecret, step: o.step, files: files.map((f) => ({ path: f.path, size: f.size })) });
    const realDir = await realpath(o.dir);
    const buf = Buffer.alloc(256 * 1024);
    for (let i = 0; i < files.length; i++) {
      const f = files[i]!;
      let fh = f.fh;
      if (!fh) {
        const again = await openInside(o.dir, realDir, f.path);
        fh = again.fh;
        f.fh = fh;
        if (again.st.ino !== f.ino || again.st.dev !== f.dev || again.st.size < f.size) throw new CheckpointRefused(`${f.path} was replaced while the checkpoint was being read`);
      }
      for (let pos = 0; pos < f.size;) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, f.size - pos), pos);
        if (bytesRead === 0) throw new CheckpointRefused(`${f.path} shrank while being uploaded`);
        const data = Buffer.from(buf.subarray(0, bytesRead));
        hash.update(data);
        await write({ fileIndex: i, data });
        pos += bytesRead;
      }
      if (i >= KEEP_OPEN) {
        f.fh = undefined;
        await fh.close();
      }
    }
    await write({ sha256: hash.digest('hex') });
    call.end();
  } catch (err) {
    if (err !== answeredEarly) {
      call.cancel();
      throw err;
    }
  }
  return await done;
}

/** Replaces the folder's content with checkpoint `id` of the trial (only once it arrived whole). */
/** `attempt` and its secret: the current attempt that restores it (the coordinator checks both). */
export async function downloadCheckpoint(client: grpc.Client, o: { trialId: string; checkpointId: string; attempt: number; attemptSecret: string; dir: string }): Promise<void> {
  const staging = `${o.dir}.restore`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const call = (client as unknown as Client).downloadCheckpoint({ trialId: o.trialId, checkpointId: o.checkpointId, attempt: o.attempt, attemptSecret: o.attemptSecret });
  let writer: CheckpointFolderWriter | undefined;
  let expected: string | undefined;
  try {
    for await (const m of call as AsyncIterable<CheckpointChunk>) {
      if (m.files?.length) writer = new CheckpointFolderWriter(staging, m.files);
      if (m.data?.length) {
        if (!writer) throw new Error('checkpoint data arrived before its file list');
        await writer.write(m.fileIndex ?? 0, m.data);
      }
      if (m.sha256) expected = m.sha256;
    }
    if (!writer) throw new Error('checkpoint download carried no files');
    await writer.finish(expected);
  } catch (err) {
    writer?.abort();
    call.cancel();
    await rm(staging, { recursive: true, force: true });
    throw new Error(`checkpoint download incomplete or corrupted: ${(err as Error).message}`);
  }
  await rm(o.dir, { recursive: true, force: true });
  await rename(staging, o.dir);
}

/**
 * Uploads on request, one at a time: a request while an upload runs is coalesced into one
 * more upload afterwards (the folder's newest state is what matters).
 */
export class CheckpointUploader {
  private running: Promise<void> | undefined;
  private pendingStep: number | undefined;
  private lastUploaded = -1;
  uploads = 0;

  /** `onError` also hears refusals (as CheckpointRefused, with the coordinator's or the quota's reason). */
  constructor(private readonly upload: (step: number) => Promise<CheckpointSaved>, private readonly onError: (err: unknown) => void) {}


  request(step: number): void {
    this.pendingStep = Math.max(step, this.pendingStep ?? -1);
    this.running ??= this.drain();
  }

  get lastStep(): number {
    return this.lastUploaded;
  }

  private async drain(): Promise<void> {
    while (this.pendingStep !== undefined) {
      const step = this.pendingStep;
      this.pendingStep = undefined;
      try {
        const r = await this.upload(step);
        if (r.accepted) {
          this.lastUploaded = step;
          this.uploads++;
        } else {
          this.onError(new CheckpointRefused(r.reason));
        }
      } catch (err) {
        this.onError(err);
      }
    }
    this.running = undefined;
  }

  /** Resolves when no upload is running or requested. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }
}
