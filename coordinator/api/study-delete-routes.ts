/** `DELETE /api/v1/studies/:id`: a study and everything it stored, gone (see coordinator/lifecycle). */
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { StudyDeleter } from '../lifecycle/study-deletion.js';

export const DeleteStudyParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export const DeleteStudyQuery = Type.Object({
  force: Type.Optional(Type.Boolean({ description: 'also delete a RUNNING study (it is stopped first)' })),
}, { additionalProperties: false });
const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), fields: Type.Array(Type.Object({ field: Type.String(), reason: Type.String() })) }),
});
export const DeleteStudyReply = Type.Object({
  deleted: Type.Literal(true),
  studyId: Type.String(),
  state: Type.String({ description: 'the state the study was in' }),
  trials: Type.Integer({ description: 'trials deleted' }),
  keys: Type.Integer({ description: 'Redis keys removed' }),
  jobs: Type.Integer({ description: 'queue jobs removed' }),
  checkpointTrials: Type.Integer({ description: 'trials whose checkpoints were removed' }),
});

export const studyDeleteRoutes: FastifyPluginAsync<{ deleter: StudyDeleter }> = async (app, { deleter }) => {
  app.withTypeProvider<TypeBoxTypeProvider>().delete('/studies/:id', {
    schema: {
      summary: 'Delete a study: every trial, metric, queue job and checkpoint',
      params: DeleteStudyParams, querystring: DeleteStudyQuery,
      response: { 200: DeleteStudyReply, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody },
    },
    config: { auth: { study: 'owner' } },
  }, async (req) => {
    const r = await deleter.delete(req.params.id, { force: req.query.force === true });
    req.log.info(r, 'study deleted');
    return { deleted: true as const, ...r };
  });
};
