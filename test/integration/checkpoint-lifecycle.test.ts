/**
 * Checkpoints on the coordinator over their life: deleted when their trial reaches a final
 * state unless `keepCheckpoints` keeps them (real trials on a real worker), kept while a trial
 * is PAUSED, orphans swept at start, and upload quotas enforced over real gRPC.
 */
import type * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CheckpointChunk, type CheckpointSaved } from '../../shared/proto.js';
import { fixture, startTestStack, type TestStack } from '../helpers/stack.js';
import { openStream, ScriptedFleet, type ScriptedStream } from '../helpers/scripted-worker.js';
import { waitFor } from '../helpers/env.js';

const folders = (root: string, studyId: string) => (existsSync(path.join(root, studyId)) ? readdirSync(path.join(root, studyId)).map(Number).sort((a, b) => a - b) : []);

const gridStudy = (keepCheckpoints?: string) => ({
  name: 'ckpt', objective: { metric: 'score', direction: 'maximize' },
  searchSpace: { x: { type: 'int', min: 0, max: 5 } }, algorithm: { name: 'grid' }, parallelism: 1, maxTrials: 6,
  ...(keepCheckpoints ? { keepCheckpoints } : {}),
  trial: { command: [process.execPath, fixture('checkpointer.mjs'), '--x', '${params.x}'] },
});

describe('checkpoint clean-up with real trials', () => {
  let stack: TestStack;
  let root: string;
  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'tunehive-ckpt-'));
    // Left by an earlier life of the coordinator: a study Redis does not know.
    mkdirSync(path.join(root, 'zzorphan01', '3', 'a1-s1-abcdef'), { recursive: true });
    writeFileSync(path.join(root, 'zzorphan01', '3', 'a1-s1-abcdef', 'weights.bin'), 'x');
    stack = await startTestStack('ckpt-clean', { workers: 1, slots: 1, coordinator: { checkpointDir: root } });
  });
  afterAll(async () => stack?.close());

  it('sweeps orphaned checkpoint folders at start', async () => {
    await waitFor(() => !existsSync(path.join(root, 'zzorphan01')), 10_000, 'the orphaned study folder to go');
  });

  it("keeps only the best trial's checkpoint ('best', the default); the former bests' go when the best changes", async () => {
    const id = (await stack.api('POST', '/api/v1/studies', gridStudy())).body.id as string;
    const done = await stack.waitForStudy(id);
    expect(done.state).toBe('COMPLETED');
    expect(done.best.params).toEqual({ x: 3 });
    await stack.coordinator.janitor.idle();
    // Trials 0..2 were each the best for a while and uploaded a checkpoint; only trial 3's is left.
    expect(folders(root, id)).toEqual([done.best.number]);
    const trials = (await stack.api('GET', `/api/v1/studies/${id}/trials`)).body.trials as any[];
    expect(trials.filter((t) => t.checkpoint !== null).map((t) => t.number)).toEqual([done.best.number]);
  });

  it("keeps every checkpoint with 'all' and none with 'none'", async () => {
    const all = (await stack.api('POST', '/api/v1/studies', gridStudy('all'))).body.id as string;
    await stack.waitForStudy(all);
    const none = (await stack.api('POST', '/api/v1/studies', gridStudy('none'))).body.id as string;
    await stack.waitForStudy(none);
    await stack.coordinator.janitor.idle();
    expect(folders(root, all)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(folders(root, none)).toEqual([]);
  });

  it("drops the former best's checkpoint as soon as the best changes, while the study runs", async () => {
    const id = (await stack.api('POST', '/api/v1/studies', { ...gridStudy(), trial: undefined })).body.id as string;
    const put = (n: number) => {
      mkdirSync(path.join(root, id, String(n), 'a1-s1-000000'), { recursive: true });
      writeFileSync(path.join(root, id, String(n), 'a1-s1-000000', 'w'), 'x');
    };
    const a = (await stack.api('POST', `/api/v1/studies/${id}/trials/ask`)).body.number as number;
    const b = (await stack.api('POST', `/api/v1/studies/${id}/trials/ask`)).body.number as number;
    put(a);
    put(b);
    await stack.api('POST', `/api/v1/studies/${id}/trials/${a}/tell`, { value: 1 });
    await stack.coordinator.janitor.idle();
    expect(folders(root, id)).toEqual([a, b]); // a is the best, b still runs
    await stack.api('POST', `/api/v1/studies/${id}/trials/${b}/tell`, { value: 2 });
    await stack.coordinator.janitor.idle();
    expect((await stack.api('GET', `/api/v1/studies/${id}`)).body.state).toBe('RUNNING');
    expect(folders(root, id)).toEqual([b]);
  });

  it('keeps a PAUSED trial\'s checkpoint and drops an unknown trial\'s (store level)', async () => {
    const { store } = stack.coordinator;
    // An ask/tell study drives its trials through the same store scripts.
    const id = (await stack.api('POST', '/api/v1/studies', { ...gridStudy(), trial: undefined, keepCheckpoints: 'none' })).body.id as string;
    const ask = await stack.api('POST', `/api/v1/studies/${id}/trials/ask`);
    const t = (await store.getTrial(id, ask.body.number))!;
    expect(await store.recordDecision(id, t.number, t.attempt, 'PAUSED', 'rung 1')).toBe(true);
    expect((await store.finishTrial(id, t.number, t.attempt, 'COMPLETED', { direction: 'maximize', reason: '', maxRetries: 0 })).state).toBe('PAUSED');
    for (const n of [t.number, 99]) {
      mkdirSync(path.join(root, id, String(n), 'a1-s1-000000'), { recursive: true });
      writeFileSync(path.join(root, id, String(n), 'a1-s1-000000', 'w'), 'x');
    }
    expect(await stack.coordinator.janitor.sweepStudy(id)).toBe(1);
    expect(folders(root, id)).toEqual([t.number]);
  });
});

/** A raw upload: the header as given, then `data` as chunks of file 0, then a checksum over it. */
function upload(client: grpc.Client, head: CheckpointChunk, data: Buffer[]): Promise<CheckpointSaved> {
  return new Promise((resolve, reject) => {
    const c = client as unknown as { uploadCheckpoint(cb: (e: grpc.ServiceError | null, r?: CheckpointSaved) => void): grpc.ClientWritableStream<CheckpointChunk> };
    const call = c.uploadCheckpoint((err, res) => (err ? reject(err) : resolve(res!)));
    call.on('error', () => undefined);
    const hash = createHash('sha256');
    call.write(head);
    for (const d of data) { hash.update(d); call.write({ fileIndex: 0, data: d }); }
    call.write({ sha256: hash.digest('hex') });
    call.end();
  });
}

describe('checkpoint upload quotas over gRPC', () => {
  let stack: TestStack;
  let client: grpc.Client;
  let trialId: string;
  let attempt: number;
  let attemptSecret: string;
  let fleet: ScriptedFleet;
  let stream: ScriptedStream;
  beforeAll(async () => {
    stack = await startTestStack('ckpt-quota', { workers: 0 });
    fleet = new ScriptedFleet(stack.coordinator.grpcAddress, stack.coordinator.store);
    client = await fleet.client('uploader');
    const study = await stack.api('POST', '/api/v1/studies', {
      name: 'quota', objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'int', min: 0, max: 5 } },
      maxTrials: 5, limits: { maxCheckpointFiles: 2, maxCheckpointBytes: 1000 }, trial: { command: ['unused'] },
    });
    trialId = `${study.body.id}.0`;
    // A running attempt of this worker: only its secret lets checkpoints in.
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

  it('accepts an upload within the quotas', async () => {
    const r = await upload(client, { trialId, attempt, attemptSecret, step: 1, files: [{ path: 'w.bin', size: 600 }] }, [Buffer.alloc(600, 1)]);
    expect(r).toMatchObject({ accepted: true, reason: '' });
  });

  it('refuses more files than limits.maxCheckpointFiles, naming the limit', async () => {
    const files = [{ path: 'a', size: 1 }, { path: 'b', size: 1 }, { path: 'c', size: 1 }];
    const r = await upload(client, { trialId, attempt, attemptSecret, step: 2, files }, [Buffer.alloc(1)]);
    expect(r.accepted).toBe(false);
    expect(r.reason).toBe('checkpoint has 3 files, more than limits.maxCheckpointFiles (2)');
  });

  it('refuses more declared bytes than limits.maxCheckpointBytes', async () => {
    const r = await upload(client, { trialId, attempt, attemptSecret, step: 2, files: [{ path: 'a', size: 1001 }] }, [Buffer.alloc(1001)]);
    expect(r.accepted).toBe(false);
    expect(r.reason).toBe('checkpoint has 1001 bytes, more than limits.maxCheckpointBytes (1000)');
  });

  it('never trusts the header: bytes beyond the declared sizes end the upload', async () => {
    // 10 declared, 1 MiB sent in 64 KiB chunks.
    const r = await upload(client, { trialId, attempt, attemptSecret, step: 2, files: [{ path: 'a', size: 10 }] }, Array.from({ length: 16 }, () => Buffer.alloc(64 * 1024)));
    expect(r.accepted).toBe(false);
    expect(r.reason).toMatch(/more bytes arrived than the 10 declared|larger than announced/);
    // The refused upload left nothing behind; the accepted one is still the latest.
    const t = (await stack.api('GET', `/api/v1/trials/${trialId}`)).body;
    expect(t.checkpoint.step).toBe(1);
  });
});
