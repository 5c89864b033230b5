/**
 * Checkpoint upload and download over gRPC. An upload is written to the store's staging area,
 * checked, then committed in Redis as the trial's latest only if it comes from the current
 * attempt; older checkpoints beyond `keep` are pruned.
 */
import type * as grpc from '@grpc/grpc-js';
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { CheckpointChunk, CheckpointRequest, CheckpointSaved } from '../../shared/proto.js';
import { CheckpointError, type CheckpointStore, type IncomingChunk } from '../checkpoints/checkpoint-store.js';
import { DEFAULT_TRIAL_LIMITS, type TrialLimits } from '../../shared/study-spec.js';
import { grpcErrorOf } from './trial-service.js';
import { parseTrialId } from '../../shared/redis-keys.js';
import { TunehiveError } from '../../shared/errors.js';
import type { StudyStore } from '../store/study-store-contract.js';
import type { WorkerAuth, WorkerPrincipal } from '../auth/worker-auth.js';

const CHUNK = 256 * 1024;

export function createCheckpointHandlers(deps: { store: StudyStore; checkpoints: CheckpointStore; log: Logger; keep: number; auth: WorkerAuth }) {
  const { store, checkpoints, log } = deps;

  const ownAttempt = (me: WorkerPrincipal, studyId: string, number: number, attempt: number, secret: string) => checkOwnAttempt(store, me, studyId, number, attempt, secret);

  const uploadCheckpoint = (call: grpc.ServerReadableStream<CheckpointChunk, CheckpointSaved>, callback: grpc.sendUnaryData<CheckpointSaved>) => {
    const me = deps.auth.authenticate(call.metadata);
    me.catch(() => undefined);
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
      await ownAttempt(await me, ids.studyId, ids.number, head.attempt ?? 0, head.attemptSecret ?? '');
      const files = head.files ?? [];
      const study = await store.getStudy(ids.studyId);
      const refused = quotaProblem(files, study?.spec.limits ?? DEFAULT_TRIAL_LIMITS);
      if (refused) {
        log.warn({ trialId: head.trialId, files: files.length, reason: refused }, 'checkpoint upload refused');
        return { accepted: false, checkpointId: '', reason: refused };
      }
      const id = `a${head.attempt}-s${head.step ?? 0}-${randomBytes(3).toString('hex')}`;
      const declared = files.reduce((a, f) => a + f.size, 0);
      let received = 0;
      async function* chunks(): AsyncIterable<IncomingChunk> {
        for (let m: CheckpointChunk | undefined = head; m; ) {
          if (m !== head && m.sha256) sha = m.sha256;
          if (m.data?.length) {
            // The header is a claim: bytes beyond what it declared end the upload before they are written.
            received += m.data.length;
            if (received > declared) throw new CheckpointError(`more bytes arrived than the ${declared} declared in the header`);
            yield { fileIndex: m.fileIndex ?? 0, data: m.data };
          }
          const n = await iterator.next();
          m = n.done ? undefined : n.value;
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
    // Nothing is read (let alone written) before the caller is known.
    me.then(run).then(
      (saved) => callback(null, saved),
      (err: Error) => {
        log.warn({ err: err.message }, 'checkpoint upload rejected');
        if (err instanceof TunehiveError) callback(grpcErrorOf(err));
        else callback(null, { accepted: false, checkpointId: '', reason: err.message });
      },
    );
  };

  const downloadCheckpoint = (call: grpc.ServerWritableStream<CheckpointRequest, CheckpointChunk>) => {
    const run = async () => {
      const me = await deps.auth.authenticate(call.metadata);
      const ids = parseTrialId(call.request.trialId);
      if (!ids) throw new Error('unknown trial');
      await ownAttempt(me, ids.studyId, ids.number, call.request.attempt, call.request.attemptSecret);
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
      call.emit('error', grpcErrorOf(err));
    });
  };

  return { uploadCheckpoint, downloadCheckpoint };
}

/**
 * Files of an attempt (checkpoints, artifacts) move only with its secret, from its own worker:
 * ids the API shows everyone (trial, checkpoint) open nothing by themselves.
 */
export async function checkOwnAttempt(store: StudyStore, me: WorkerPrincipal, studyId: string, number: number, attempt: number, secret: string): Promise<void> {
  if (!(await store.attemptOwnedBy(studyId, number, attempt, me.workerId, secret))) {
    throw new TunehiveError('TH_ERR_WORKER_FORBIDDEN', `attempt ${attempt} of trial ${studyId}.${number} is not a current attempt of worker ${me.workerId} with that attempt secret`);
  }
}

/** Why a header is refused before any byte is written, or undefined when it fits the study's quotas. */
export function quotaProblem(files: Array<{ path: string; size: number }>, limits: TrialLimits): string | undefined {
  if (files.length === 0) return 'the header lists no files';
  if (files.length > limits.maxCheckpointFiles) {
    return `checkpoint has ${files.length} files, more than limits.maxCheckpointFiles (${limits.maxCheckpointFiles})`;
  }
  let total = 0;
  for (const f of files) {
    if (!Number.isSafeInteger(f.size) || f.size < 0) return `file ${JSON.stringify(String(f.path).slice(0, 200))} has an invalid size (${f.size})`;
    total += f.size;
  }
  if (total > limits.maxCheckpointBytes) {
    return `checkpoint has ${total} bytes, more than limits.maxCheckpointBytes (${limits.maxCheckpointBytes})`;
  }
  return undefined;
}
