/**
 * UploadArtifacts as a rogue or broken worker could call it (raw gRPC, a real coordinator and
 * Redis): the header's sizes are checked against the run's quota before any byte is stored,
 * bytes beyond a declared size end the upload, a wrong per-file SHA-256 stores nothing of that
 * file, a path escape is refused by name, and another worker (or a wrong attempt secret) is
 * PERMISSION_DENIED.
 */
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { openStream, ScriptedFleet, type ScriptedStream } from '../helpers/scripted-worker.js';
import type { ArtifactChunk, ArtifactsSaved } from '../../shared/proto.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Files in order: each file's data, then its checksum (`shas` overrides one). */
function upload(client: grpc.Client, head: ArtifactChunk, files: Buffer[], o: { shas?: Record<number, string> } = {}): Promise<ArtifactsSaved> {
  return new Promise((resolve, reject) => {
    const c = client as unknown as { uploadArtifacts(cb: (e: grpc.ServiceError | null, r?: ArtifactsSaved) => void): grpc.ClientWritableStream<ArtifactChunk> };
    const call = c.uploadArtifacts((err, res) => (err ? reject(err) : resolve(res!)));
    call.on('error', () => undefined);
    call.write(head);
    files.forEach((b, i) => {
      for (let at = 0; at < b.length; at += 64 * 1024) call.write({ fileIndex: i, data: b.subarray(at, at + 64 * 1024) });
      call.write({ fileIndex: i, fileSha256: o.shas?.[i] ?? sha(b) });
    });
    call.end();
  });
}

describe('UploadArtifacts over gRPC', () => {
  let stack: TestStack;
  let fleet: ScriptedFleet;
  let stream: ScriptedStream;
  let client: grpc.Client;
  let trialId: string;
  let attempt: number;
  let attemptSecret: string;
  const listed = async () => ((await stack.api('GET', `/api/v1/runs/${trialId}/artifacts`)).body.files as Array<{ path: string; size: number }>).map((f) => `${f.path}:${f.size}`);

  beforeAll(async () => {
    stack = await startTestStack('art-rpc', { workers: 0 });
    fleet = new ScriptedFleet(stack.coordinator.grpcAddress, stack.coordinator.store);
    client = await fleet.client('uploader');
    const study = await stack.api('POST', '/api/v1/studies', {
      name: 'artifact-rpc', objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'int', min: 0, max: 5 } },
      maxTrials: 5, limits: { maxArtifactFiles: 4, maxArtifactBytes: 1000 }, trial: { command: ['unused'] },
    });
    trialId = `${study.body.id}.0`;
    stream = openStream(client);
    stream.send(await fleet.started(trialId, 'uploader'));
    const reply = (await stream.next((m) => !!m.startReply)).startReply!;
    attempt = reply.attempt;
    attemptSecret = reply.attemptSecret!;
  });
  afterAll(async () => {
    stream?.end();
    fleet?.close();
    await stack?.close();
  });

  it('stores files within the quota, each with its SHA-256', async () => {
    const a = Buffer.alloc(300, 1);
    const r = await upload(client, { trialId, attempt, attemptSecret, files: [{ path: 'a.bin', size: 300 }, { path: 'empty.txt', size: 0 }] }, [a, Buffer.alloc(0)]);
    expect(r).toEqual({ accepted: true, saved: ['a.bin', 'empty.txt'], reason: '' });
    expect(await listed()).toEqual(['a.bin:300', 'empty.txt:0']);
  });

  it('refuses a header over limits.maxArtifactBytes / maxArtifactFiles before any byte is stored', async () => {
    const bytes = await upload(client, { trialId, attempt, attemptSecret, files: [{ path: 'big.bin', size: 800 }] }, [Buffer.alloc(800)]);
    expect(bytes.accepted).toBe(false);
    expect(bytes.reason).toContain('limits.maxArtifactBytes');
    const files = await upload(client, { trialId, attempt, attemptSecret, files: [{ path: 'x1', size: 1 }, { path: 'x2', size: 1 }, { path: 'x3', size: 1 }] }, [Buffer.alloc(1), Buffer.alloc(1), Buffer.alloc(1)]);
    expect(files.accepted).toBe(false);
    expect(files.reason).toContain('limits.maxArtifactFiles');
    expect(await listed()).toEqual(['a.bin:300', 'empty.txt:0']);
  });

  it('ends the upload at bytes beyond a declared size, and at a wrong SHA-256; earlier files of it stay', async () => {
    const over = await upload(client, { trialId, attempt, attemptSecret, files: [{ path: 'claimed-small.bin', size: 10 }] }, [Buffer.alloc(200_000)]);
    expect(over.accepted).toBe(false);
    expect(over.reason).toContain('more bytes arrived than the 10 declared');
    const bad = await upload(client, { trialId, attempt, attemptSecret, files: [{ path: 'ok.txt', size: 2 }, { path: 'bad.txt', size: 3 }] },
      [Buffer.from('ok'), Buffer.from('bad')], { shas: { 1: sha(Buffer.from('not it')) } });
    expect(bad.accepted).toBe(false);
    expect(bad.saved).toEqual(['ok.txt']);
    expect(bad.reason).toContain('checksum mismatch');
    expect(await listed()).toEqual(['a.bin:300', 'empty.txt:0', 'ok.txt:2']);
  });

  it('refuses a path that escapes the run, naming it', async () => {
    const r = await upload(client, { trialId, attempt, attemptSecret, files: [{ path: '../../other/run.bin', size: 1 }] }, [Buffer.alloc(1)]);
    expect(r.accepted).toBe(false);
    expect(r.reason).toContain('"../../other/run.bin"');
  });

  it('is PERMISSION_DENIED with a wrong attempt secret or from another worker', async () => {
    await expect(upload(client, { trialId, attempt, attemptSecret: 'guess', files: [{ path: 'z', size: 1 }] }, [Buffer.alloc(1)])).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    const other = await fleet.client('intruder');
    await expect(upload(other, { trialId, attempt, attemptSecret, files: [{ path: 'z', size: 1 }] }, [Buffer.alloc(1)])).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    expect(await listed()).not.toContain('z:1');
  });
});
