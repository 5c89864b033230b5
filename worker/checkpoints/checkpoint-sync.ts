/**
 * Moves a trial's checkpoint folder between the worker and the coordinator's checkpoint store
 * over gRPC: streamed in chunks with a SHA-256 over all bytes, so a torn upload is refused and
 * a torn download is never handed to the program.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { CheckpointFolderWriter, listCheckpointFiles } from '../../shared/checkpoint-files.js';
import type { CheckpointChunk, CheckpointRequest, CheckpointSaved } from '../../shared/proto.js';

type Client = {
  uploadCheckpoint(cb: (err: grpc.ServiceError | null, res?: CheckpointSaved) => void): grpc.ClientWritableStream<CheckpointChunk>;
  downloadCheckpoint(req: CheckpointRequest): grpc.ClientReadableStream<CheckpointChunk>;
};

/** Uploads the folder as the attempt's checkpoint at `step`. */
export async function uploadCheckpoint(client: grpc.Client, o: { trialId: string; attempt: number; step: number; dir: string }): Promise<CheckpointSaved> {
  // Open every file first and take its size from the open handle: a program that replaces a
  // file (write + rename) meanwhile cannot make the announced size and the bytes disagree.
  const handles: Array<{ path: string; size: number; fh: FileHandle }> = [];
  try {
    for (const f of await listCheckpointFiles(o.dir)) {
      try {
        const fh = await open(path.join(o.dir, f.path), 'r');
        handles.push({ path: f.path, size: (await fh.stat()).size, fh });
      } catch {
        // Deleted since the listing: not part of this checkpoint.
      }
    }
    if (handles.length === 0) return { accepted: false, checkpointId: '', reason: 'the checkpoint folder is empty' };
    const c = client as unknown as Client;
    let settle!: (v: CheckpointSaved) => void;
    let fail!: (e: Error) => void;
    const done = new Promise<CheckpointSaved>((resolve, reject) => { settle = resolve; fail = reject; });
    // Settled by the callback even when we cancel: never leave it unhandled (that would end the agent).
    done.catch(() => undefined);
    const call = c.uploadCheckpoint((err, res) => (err ? fail(err) : settle(res!)));
    const write = async (m: CheckpointChunk) => {
      if (!call.write(m)) await once(call, 'drain');
    };
    const hash = createHash('sha256');
    try {
      await write({ trialId: o.trialId, attempt: o.attempt, step: o.step, files: handles.map((h) => ({ path: h.path, size: h.size })) });
      const buf = Buffer.alloc(256 * 1024);
      for (let i = 0; i < handles.length; i++) {
        const h = handles[i]!;
        for (let pos = 0; pos < h.size;) {
          const { bytesRead } = await h.fh.read(buf, 0, Math.min(buf.length, h.size - pos), pos);
          if (bytesRead === 0) throw new Error(`${h.path} shrank while being uploaded`);
          const data = Buffer.from(buf.subarray(0, bytesRead));
          hash.update(data);
          await write({ fileIndex: i, data });
          pos += bytesRead;
        }
      }
      await write({ sha256: hash.digest('hex') });
      call.end();
    } catch (err) {
      call.cancel();
      throw err;
    }
    return await done;
  } finally {
    await Promise.all(handles.map((h) => h.fh.close()));
  }
}

/** Replaces the folder's content with checkpoint `id` of the trial (only once it arrived whole). */
export async function downloadCheckpoint(client: grpc.Client, o: { trialId: string; checkpointId: string; dir: string }): Promise<void> {
  const staging = `${o.dir}.restore`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const call = (client as unknown as Client).downloadCheckpoint({ trialId: o.trialId, checkpointId: o.checkpointId });
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
