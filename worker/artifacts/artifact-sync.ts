/**
 * Uploads what a trial program wrote into its artifact folder (TUNEHIVE_ARTIFACT_DIR) over
 * `UploadArtifacts`: streamed in chunks, each file followed by its SHA-256, sizes taken from open
 * handles (a file replaced meanwhile cannot tear the upload; links are never followed: see
 * openCheckpointFiles). Uploads run one at a time; a file already uploaded unchanged is not sent
 * again, so the upload at exit sends only what the `tunehive.artifact=` lines did not.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { listCheckpointEntries } from '../../shared/checkpoint-files.js';
import { artifactPathProblem } from '../../shared/artifact-path.js';
import type { ArtifactChunk, ArtifactsSaved } from '../../shared/proto.js';
import { CheckpointRefused, openCheckpointFiles, openInside, type OpenedFile } from '../checkpoints/checkpoint-sync.js';

type Client = { uploadArtifacts(cb: (err: grpc.ServiceError | null, res?: ArtifactsSaved) => void): grpc.ClientWritableStream<ArtifactChunk> };

export interface ArtifactQuota { maxArtifactBytes: number; maxArtifactFiles: number }
export interface ArtifactTarget { trialId: string; attempt: number; attemptSecret: string; dir: string; quota: ArtifactQuota }

/** The artifact line: `tunehive.artifact=<path relative to TUNEHIVE_ARTIFACT_DIR>`. */
const ARTIFACT_LINE = /^\s*tunehive\.artifact=(.*?)\s*$/;

/** The path a `tunehive.artifact=` line announces; undefined for any other line, a string error for a bad path. */
export function artifactLine(line: string): { path: string } | { error: string } | undefined {
  const m = ARTIFACT_LINE.exec(line);
  if (!m) return undefined;
  const problem = artifactPathProblem(m[1]!);
  return problem ? { error: `tunehive.artifact=${JSON.stringify(m[1]!.slice(0, 200))}: the path ${problem}` } : { path: m[1]! };
}

const fingerprint = (f: { size: number; mtimeMs: number; ino: number }) => `${f.size}:${f.mtimeMs}:${f.ino}`;
const CHUNK = 256 * 1024;

/** Streams the opened files as one upload; the coordinator's answer (a refusal included) is returned. */
async function send(client: grpc.Client, t: ArtifactTarget, files: OpenedFile[]): Promise<ArtifactsSaved> {
  let answered = false;
  let settle!: (v: ArtifactsSaved) => void;
  let fail!: (e: Error) => void;
  const done = new Promise<ArtifactsSaved>((resolve, reject) => { settle = resolve; fail = reject; });
  done.catch(() => undefined);
  const call = (client as unknown as Client).uploadArtifacts((err, res) => {
    answered = true;
    if (err) fail(err);
    else settle(res!);
  });
  const answeredEarly = new Error('answered before the upload ended');
  // A call already answered (refused mid-way) never drains: wait for whichever comes first.
  const write = async (m: ArtifactChunk) => {
    if (answered) throw answeredEarly;
    if (!call.write(m)) await Promise.race([once(call, 'drain'), done.then(() => undefined, () => undefined)]);
  };
  try {
    await write({ trialId: t.trialId, attempt: t.attempt, attemptSecret: t.attemptSecret, files: files.map((f) => ({ path: f.path, size: f.size })) });
    const buf = Buffer.alloc(CHUNK);
    const realDir = await realpath(t.dir);
    for (let i = 0; i < files.length; i++) {
      const f = files[i]!;
      // Handles beyond the first few dozen were closed after sizing (no EMFILE with many files):
      // re-opened here, and it must still be the same file.
      if (!f.fh) {
        const again = await openInside(t.dir, realDir, f.path);
        f.fh = again.fh;
        if (again.st.ino !== f.ino || again.st.dev !== f.dev || again.st.size < f.size) throw new CheckpointRefused(`${f.path} was replaced while the artifacts were being read`);
      }
      const hash = createHash('sha256');
      for (let pos = 0; pos < f.size;) {
        const { bytesRead } = await f.fh.read(buf, 0, Math.min(buf.length, f.size - pos), pos);
        if (bytesRead === 0) throw new CheckpointRefused(`${f.path} shrank while being uploaded`);
        const data = Buffer.from(buf.subarray(0, bytesRead));
        hash.update(data);
        await write({ fileIndex: i, data });
        pos += bytesRead;
      }
      await write({ fileIndex: i, fileSha256: hash.digest('hex') });
      if (i >= 64) {
        await f.fh.close();
        f.fh = undefined;
      }
    }
    call.end();
  } catch (err) {
    if (err !== answeredEarly) {
      call.cancel();
      throw err;
    }
  }
  return await done;
}

export class ArtifactSync {
  private readonly uploaded = new Map<string, string>();
  private chain: Promise<void> = Promise.resolve();
  /** Files stored on the run by this attempt, in upload order. */
  readonly saved: string[] = [];

  constructor(private readonly client: grpc.Client, private readonly target: ArtifactTarget, private readonly log: Logger) {}

  /** Uploads `paths` (or every file of the folder) after whatever upload runs now; never rejects. */
  request(paths?: string[]): Promise<void> {
    this.chain = this.chain.then(() => this.upload(paths)).catch((err: unknown) => {
      this.log.warn({ reason: (err as Error).message }, err instanceof CheckpointRefused ? 'artifact upload refused' : 'artifact upload failed');
    });
    return this.chain;
  }

  idle(): Promise<void> {
    return this.chain;
  }

  private async upload(paths: string[] | undefined): Promise<void> {
    const { dir, quota } = this.target;
    // One file past the quota is enough to know it does not fit: the listing stops there.
    let listed = await listCheckpointEntries(dir, quota.maxArtifactFiles);
    if (paths) {
      const wanted = new Set(paths);
      listed = listed.filter((e) => wanted.has(e.path));
      for (const p of wanted) if (!listed.some((e) => e.path === p)) this.log.warn({ path: p, dir }, 'tunehive.artifact names no regular file in the artifact folder');
    }
    const bad = listed.find((e) => artifactPathProblem(e.path));
    if (bad) throw new CheckpointRefused(`${bad.path}: the path ${artifactPathProblem(bad.path)}`);
    const fresh = listed.filter((e) => this.uploaded.get(e.path) !== fingerprint(e));
    if (fresh.length === 0) return;
    if (listed.length > quota.maxArtifactFiles) throw new CheckpointRefused(`the artifact folder has more than ${quota.maxArtifactFiles} files (limits.maxArtifactFiles)`);
    let files: OpenedFile[] = [];
    try {
      files = await openCheckpointFiles(dir, fresh);
      const bytes = files.reduce((n, f) => n + f.size, 0);
      if (bytes > quota.maxArtifactBytes) throw new CheckpointRefused(`the artifacts take ${bytes} bytes, over limits.maxArtifactBytes (${quota.maxArtifactBytes})`);
      const r = await send(this.client, this.target, files);
      for (const p of r.saved) {
        const f = files.find((x) => x.path === p);
        if (f) this.uploaded.set(p, fingerprint(f));
        this.saved.push(p);
      }
      if (!r.accepted) throw new CheckpointRefused(r.reason);
      this.log.info({ files: r.saved.length, dir: path.basename(dir) }, 'artifacts uploaded');
    } finally {
      await Promise.all(files.map((f) => f.fh?.close().catch(() => undefined)));
    }
  }
}
