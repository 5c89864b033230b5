/**
 * `UploadArtifacts`: the files a trial program wrote into its artifact folder, from the worker
 * running its attempt (credential + attempt secret, as for checkpoints). The header's sizes are
 * reserved in the run's and the project's quotas before any byte is stored; each file is
 * checked against its size and SHA-256 while it streams and listed on the run once stored.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ArtifactChunk, ArtifactsSaved } from '../../shared/proto.js';
import { parseTrialId } from '../../shared/redis-keys.js';
import { TunehiveError } from '../../shared/errors.js';
import type { StudyStore } from '../store/study-store-contract.js';
import type { WorkerAuth } from '../auth/worker-auth.js';
import type { ArtifactService } from '../artifacts/artifact-service.js';
import { checksumError } from '../artifacts/artifact-store.js';
import { checkOwnAttempt } from './checkpoint-service.js';
import { grpcErrorOf } from './trial-service.js';

export function createArtifactHandlers(deps: { store: StudyStore; artifacts: ArtifactService; log: Logger; auth: WorkerAuth }) {
  const { store, artifacts, log } = deps;

  const uploadArtifacts = (call: grpc.ServerReadableStream<ArtifactChunk, ArtifactsSaved>, callback: grpc.sendUnaryData<ArtifactsSaved>) => {
    const me = deps.auth.authenticate(call.metadata);
    me.catch(() => undefined);
    const iterator = call[Symbol.asyncIterator]() as AsyncIterator<ArtifactChunk>;
    const saved: string[] = [];
    const run = async (): Promise<ArtifactsSaved> => {
      const first = await iterator.next();
      if (first.done) return { accepted: false, saved, reason: 'empty upload' };
      const head = first.value;
      const ids = parseTrialId(head.trialId ?? '');
      if (!ids) return { accepted: false, saved, reason: 'unknown trial' };
      await checkOwnAttempt(store, await me, ids.studyId, ids.number, head.attempt ?? 0, head.attemptSecret ?? '');
      const files = head.files ?? [];
      if (files.length === 0) return { accepted: false, saved, reason: 'the header lists no files' };
      const target = await artifacts.run(head.trialId!);
      const reservation = await artifacts.begin(target, files);
      try {
        let pending: ArtifactChunk | undefined;
        let ended = false;
        const next = async () => {
          if (pending || ended) return;
          const n = await iterator.next();
          if (n.done) ended = true;
          else pending = n.value;
        };
        for (let i = 0; i < files.length; i++) {
          let sha: string | undefined;
          // Bytes of file i up to its checksum message; anything for another file is out of order.
          const bytes = async function* (): AsyncIterable<Buffer> {
            for (;;) {
              await next();
              if (!pending) return;
              const m = pending;
              if ((m.fileIndex ?? 0) !== i) throw checksumError(`data for file ${m.fileIndex} arrived while file ${i} (${files[i]!.path}) was not complete`);
              pending = undefined;
              if (m.data?.length) yield m.data;
              if (m.fileSha256) {
                sha = m.fileSha256;
                return;
              }
            }
          };
          await artifacts.put(reservation, files[i]!.path, bytes(), { size: files[i]!.size, sha256: () => sha });
          saved.push(files[i]!.path);
        }
        await next();
        if (pending) throw checksumError('data arrived after the last file of the header');
      } finally {
        await artifacts.end(reservation);
      }
      log.debug({ trialId: head.trialId, files: saved.length }, 'artifacts saved');
      return { accepted: true, saved, reason: '' };
    };
    // Nothing is read (let alone stored) before the caller is known.
    me.then(run).then(
      (r) => callback(null, r),
      (err: Error) => {
        log.warn({ err: err.message, saved: saved.length }, 'artifact upload refused');
        if (err instanceof TunehiveError && (err.code === 'TH_ERR_WORKER_FORBIDDEN' || err.code === 'TH_ERR_WORKER_UNAUTHENTICATED')) callback(grpcErrorOf(err));
        else callback(null, { accepted: false, saved, reason: err.message });
      },
    );
  };

  return { uploadArtifacts };
}
