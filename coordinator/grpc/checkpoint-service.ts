/**
 * Checkpoint upload and download over gRPC. An upload is written to the store's staging area,
 * checked, then committed in Redis as the trial's latest only if it comes from the current
 * attempt; older checkpoints beyond `keep` are pruned.
 */
import type * as grpc from '@grpc/grpc-js';
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { CheckpointChunk, CheckpointRequest, CheckpointSaved } from '../../shared/proto.js';
import type { CheckpointStore, IncomingChunk } from '../checkpoints/checkpoint-store.js';
import { failStream } from './trial-service.js';
import { parseTrialId } from '../../shared/redis-keys.js';
import type { StudyStore } from '../store/study-store.js';

const CHUNK = 256 * 1024;

export function createCheckpointHandlers(deps: { store: StudyStore; checkpoints: CheckpointStore; log: Logger; keep: number }) {
  const { store, checkpoints, log } = deps;

  const uploadCheckpoint = (call: grpc.ServerReadableStream<CheckpointChunk, CheckpointSaved>, callback: grpc.sendUnaryData<CheckpointSaved>) => {
    const iterator = call[Symbol.asyncIterator]() as AsyncIterator<CheckpointChunk>;
    let sha: string | undefined;
    const run = async (): Promise<CheckpointSaved> => {
      const first = await iterator.next();
      if (first.done) return { accepted: false, checkpointId: '', reason: 'empty upload' };
      const head = first.value;
      const ids = parseTrialId(head.trialId ?? '');
      if (!ids) return { accepted: false, checkpointId: '', reason: 'unknown trial' };
      const trial = await store.getTrial(ids.studyId, ids.number);
      if (!trial || trial.attempt !== head.attempt) return { accepted: false, checkpointId: '', reason: 'not the current attempt' };
      const id = `a${head.attempt}-s${head.step ?? 0}-${randomBytes(3).toString('hex')}`;
      const files = head.files ?? [];
      async function* chunks(): AsyncIterable<IncomingChunk> {
        if (head.data?.length) yield { fileIndex: head.fileIndex ?? 0, data: head.data };
        for (;;) {
          const n = await iterator.next();
          if (n.done) return;
          if (n.value.sha256) sha = n.value.sha256;
          if (n.value.data?.length) yield { fileIndex: n.value.fileIndex ?? 0, data: n.value.data };
        }
      }
      if (head.sha256) sha = head.sha256;
      await checkpoints.write(ids.studyId, ids.number, id, files, chunks(), () => sha);
      const r = await store.commitCheckpoint(ids.studyId, ids.number, head.attempt ?? 0, id, head.step ?? 0, deps.keep);
      if (!r.accepted) {
        await checkpoints.remove(ids.studyId, ids.number, id);
        return { accepted: false, checkpointId: '', reason: r.reason };
      }
      for (const old of r.prune) await checkpoints.remove(ids.studyId, ids.number, old);
      log.debug({ trialId: head.trialId, checkpointId: id, step: head.step, files: files.length }, 'checkpoint saved');
      return { accepted: true, checkpointId: id, reason: '' };
    };
    run().then(
      (saved) => callback(null, saved),
      (err: Error) => {
        log.warn({ err: err.message }, 'checkpoint upload rejected');
        callback(null, { accepted: false, checkpointId: '', reason: err.message });
      },
    );
  };

  const downloadCheckpoint = (call: grpc.ServerWritableStream<CheckpointRequest, CheckpointChunk>) => {
    const run = async () => {
      const ids = parseTrialId(call.request.trialId);
      if (!ids) throw new Error('unknown trial');
      const id = call.request.checkpointId;
      const files = await checkpoints.files(ids.studyId, ids.number, id);
      const hash = createHash('sha256');
      call.write({ trialId: call.request.trialId, checkpointId: id, files });
      for (let i = 0; i < files.length; i++) {
        for await (const buf of checkpoints.read(ids.studyId, ids.number, id, files[i]!.path) as AsyncIterable<Buffer>) {
          for (let off = 0; off < buf.length; off += CHUNK) {
            const data = buf.subarray(off, off + CHUNK);
            hash.update(data);
            if (call.cancelled) throw new Error('download cancelled by the worker');
            // A cancelled call never drains: wait for whichever comes first.
            if (!call.write({ fileIndex: i, data })) await new Promise((r) => { call.once('drain', r); call.once('cancelled', r); call.once('close', r); });
          }
        }
      }
      call.write({ sha256: hash.digest('hex') });
      call.end();
    };
    run().catch((err: Error) => {
      log.warn({ err: err.message, trialId: call.request.trialId }, 'checkpoint download failed');
      failStream(call, err);
    });
  };

  return { uploadCheckpoint, downloadCheckpoint };
}
