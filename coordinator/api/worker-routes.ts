/**
 * `DELETE /api/v1/workers/:id`: revokes a worker. Its credential dies at once (its next call is
 * UNAUTHENTICATED; its open trial streams are told to stop at their next heartbeat and their
 * trials handed back), and it leaves the fleet listing. The join token it used stays valid:
 * revoke that too to keep the machine out.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TunehiveError } from '../../shared/errors.js';
import type { WorkerAuth } from '../auth/worker-auth.js';
import type { WorkerDirectory } from '../store/worker-directory.js';

export const WorkerParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', description: 'a worker id' }) });
const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), fields: Type.Array(Type.Object({ field: Type.String(), reason: Type.String() })) }),
});
export const RevokeWorkerReply = Type.Object({
  revoked: Type.Literal(true),
  workerId: Type.String(),
  credentials: Type.Integer({ description: 'live credentials of the worker that were revoked' }),
});

export const workerRoutes: FastifyPluginAsync<{ auth: WorkerAuth; workers: WorkerDirectory }> = async (app, { auth, workers }) => {
  app.withTypeProvider<TypeBoxTypeProvider>().delete('/workers/:id', {
    config: { auth: { admin: true } },
    schema: {
      summary: 'Revoke a worker: its credential stops working, its running trials are handed back',
      params: WorkerParams,
      response: { 200: RevokeWorkerReply, 404: ErrorBody },
    },
  }, async (req) => {
    const id = req.params.id;
    const credentials = await auth.revokeWorker(id);
    const registered = await workers.forget(id);
    if (credentials === 0 && !registered) {
      throw new TunehiveError('TH_ERR_WORKER_NOT_FOUND', `no worker ${JSON.stringify(id)} with a live credential or registration`,
        [{ field: 'params.id', reason: 'no such worker (never joined, or already revoked)' }]);
    }
    req.log.info({ workerId: id, credentials }, 'worker revoked');
    return { revoked: true as const, workerId: id, credentials };
  });
};
