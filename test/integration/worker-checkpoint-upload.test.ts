/**
 * Checkpoint uploads from the worker against a scripted coordinator over real gRPC, on real
 * folders: links are never followed, quotas are checked before anything is sent, an answer
 * that comes early never leaves the upload waiting for a drain, and a folder with more files
 * than the process may open is uploaded whole or not at all.
 */
import * as grpc from '@grpc/grpc-js';
import { execFile } from 'node:child_process';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { listCheckpointEntries } from '../../shared/checkpoint-files.js';
import { CheckpointRefused, openCheckpointFiles, uploadCheckpoint } from '../../worker/checkpoints/checkpoint-sync.js';
import { useScriptedCoordinator } from '../helpers/scripted-coordinator.js';

const tmp = (name: string) => mkdtempSync(path.join(os.tmpdir(), `tunehive-cu-${name}-`));
const withFiles = (name: string, files: Record<string, string | Buffer>) => {
  const dir = tmp(name);
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content);
  }
  return dir;
};
const up = { trialId: 'cu.0', attempt: 1, attemptSecret: 'secret-of-attempt-1', step: 1 };

describe('checkpoint uploads', () => {
  const fx = useScriptedCoordinator();

  it('a file swapped for a symbolic link after the listing is refused, never followed', async () => {
    const outside = withFiles('outside', { 'secret.txt': 'host secret' });
    const dir = withFiles('swap', { 'model.bin': 'weights', 'sub/opt.bin': 'momentum' });
    const listed = await listCheckpointEntries(dir);
    rmSync(path.join(dir, 'model.bin'));
    symlinkSync(path.join(outside, 'secret.txt'), path.join(dir, 'model.bin'));
    await expect(openCheckpointFiles(dir, listed)).rejects.toThrow(/model\.bin is a symbolic link/);
    await expect(openCheckpointFiles(dir, listed)).rejects.toBeInstanceOf(CheckpointRefused);
  });

  it('a file swapped for a named pipe after the listing is refused, not waited on', async () => {
    const dir = withFiles('fifo', { 'model.bin': 'weights' });
    const listed = await listCheckpointEntries(dir);
    const fifo = path.join(dir, 'model.bin');
    rmSync(fifo);
    await promisify(execFile)('mkfifo', [fifo]);
    try {
      // Opening a pipe for reading waits for a writer: one such open holds a libuv thread for ever.
      const opened = openCheckpointFiles(dir, listed);
      const outcome = await Promise.race([opened.then(() => 'opened', (e: Error) => e.message),
        new Promise<string>((r) => { const t = setTimeout(() => r('still waiting after 5 s'), 5000); t.unref(); })]);
      expect(outcome).toMatch(/model\.bin is not a regular file/);
    } finally {
      // Frees a reader still blocked on the pipe (the old behaviour), so the test process can end.
      try { closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK)); } catch { /* no reader: nothing to free */ }
    }
  });

  it('a folder swapped for a link to elsewhere after the listing is refused', async () => {
    const outside = withFiles('outside', { 'opt.bin': 'host file' });
    const dir = withFiles('swapdir', { 'model.bin': 'weights', 'sub/opt.bin': 'momentum' });
    const listed = await listCheckpointEntries(dir);
    rmSync(path.join(dir, 'sub'), { recursive: true });
    symlinkSync(outside, path.join(dir, 'sub'));
    await expect(openCheckpointFiles(dir, listed)).rejects.toThrow(/sub\/opt\.bin resolves outside the checkpoint folder/);
  });

  it('a file gone between listing and opening fails the upload instead of leaving it out', async () => {
    const dir = withFiles('gone', { 'a.bin': 'a', 'b.bin': 'b' });
    const listed = await listCheckpointEntries(dir);
    rmSync(path.join(dir, 'b.bin'));
    await expect(openCheckpointFiles(dir, listed)).rejects.toThrow(/b\.bin disappeared/);
  });

  it('quotas are checked before anything is sent, with the limit named', async () => {
    const many = withFiles('many', Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`f${i}`, 'x'])));
    const r1 = await uploadCheckpoint(fx.client, { ...up, dir: many, quota: { maxCheckpointFiles: 10, maxCheckpointBytes: 1e9 } });
    expect(r1).toMatchObject({ accepted: false, reason: expect.stringMatching(/more than 10 files \(limits\.maxCheckpointFiles\)/) });
    const big = withFiles('big', { 'a.bin': Buffer.alloc(3000), 'b.bin': Buffer.alloc(3000) });
    const r2 = await uploadCheckpoint(fx.client, { ...up, dir: big, quota: { maxCheckpointFiles: 10, maxCheckpointBytes: 5000 } });
    expect(r2).toMatchObject({ accepted: false, reason: expect.stringMatching(/limits\.maxCheckpointBytes/) });
    expect(fx.coord.uploads).toHaveLength(0);
    // Within the quotas the same folder goes through whole.
    const r3 = await uploadCheckpoint(fx.client, { ...up, dir: big, quota: { maxCheckpointFiles: 10, maxCheckpointBytes: 6000 } });
    expect(r3.accepted).toBe(true);
    expect(fx.coord.uploads[0]).toMatchObject({ bytes: 6000, complete: true });
  });

  it('19,000 files with long names end with a reason instead of hanging on a drain', async () => {
    const dir = tmp('list');
    for (let i = 0; i < 19_000; i++) writeFileSync(path.join(dir, `${String(i).padStart(6, '0')}-${'n'.repeat(200)}`), '');
    const t0 = Date.now();
    const r = await Promise.race([
      uploadCheckpoint(fx.client, { ...up, dir, quota: { maxCheckpointFiles: 100_000, maxCheckpointBytes: 1e9 } }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('upload hung')), 20_000).unref()),
    ]);
    expect(r).toMatchObject({ accepted: false, reason: expect.stringMatching(/list of 19000 file names takes 4\.0 MiB, over the 3 MiB/) });
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it('an answer before the upload ended (a refusal while data is still being written) ends it at once', async () => {
    fx.coord.script = { onUpload: () => Object.assign(new Error('quota'), { code: grpc.status.RESOURCE_EXHAUSTED, details: 'checkpoint over the quota', metadata: new grpc.Metadata() }) };
    const dir = withFiles('early', { 'big.bin': Buffer.alloc(64 * 1024 * 1024, 1) });
    const outcome = await Promise.race([
      uploadCheckpoint(fx.client, { ...up, dir }).then((r) => `answered ${r.reason}`, (e: Error) => `failed ${e.message}`),
      new Promise<string>((resolve) => setTimeout(() => resolve('hung'), 20_000).unref()),
    ]);
    expect(outcome).toMatch(/checkpoint over the quota/);
  });

  it('a folder with more files than the process may open is uploaded whole', async () => {
    const dir = tmp('fds');
    for (let i = 0; i < 2000; i++) writeFileSync(path.join(dir, `f${i}`), `content ${i}`);
    // The agent in a child whose fd limit is far below the file count.
    const { stdout } = await promisify(execFile)('sh', ['-c', `ulimit -n 200 && exec "${process.execPath}" --import tsx test/fixtures/upload-folder.ts ${fx.coord.address} ${dir}`], { timeout: 60_000 });
    const out = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(out.saved?.accepted).toBe(true);
    expect(fx.coord.uploads).toHaveLength(1);
    expect(fx.coord.uploads[0]!.head.files).toHaveLength(2000);
    expect(fx.coord.uploads[0]!.files.get('f1999')?.toString()).toBe('content 1999');
    expect(fx.coord.uploads[0]!.complete).toBe(true);
  });
});
