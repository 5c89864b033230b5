import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { TunehiveError } from '../../shared/errors.js';
import { parseTell, type AskTell } from '../ask-tell.js';
import { parseTrialId, STUDY_ID } from '../../shared/redis-keys.js';
import { AskReplySchema, errorResponses, StudyIdParams, TellBodySchema, TellParams, TellReplySchema } from './schemas.js';

export const askTellRoutes: FastifyPluginAsync<{ askTell: AskTell }> = async (plain, { askTell }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const studyId = (id: string) => {
    if (!STUDY_ID.test(id)) throw new TunehiveError('TH_ERR_STUDY_NOT_FOUND', `no study with id ${JSON.stringify(id)}`, [{ field: 'params.id', reason: 'no such study' }]);
    return id;
  };

  app.post('/studies/:id/trials/ask', {
    schema: { summary: 'Ask/tell: create a trial and get its parameters', params: StudyIdParams, response: { 201: AskReplySchema, ...errorResponses } },
    config: { auth: { study: 'editor' } },
  }, async (req, reply) => {
    const asked = await askTell.ask(studyId(req.params.id));
    req.auditTarget = { trialId: asked.id };
    return reply.status(201).send(asked);
  });

  app.post('/studies/:id/trials/:trialId/tell', {
    schema: {
      summary: 'Ask/tell: report an intermediate value ({step, value}), the result ({value}) or a failure ({state: "failed"})',
      params: TellParams, body: TellBodySchema, response: { 200: TellReplySchema, ...errorResponses },
    },
    config: { auth: { study: 'editor' } },
  }, async (req) => {
    const id = studyId(req.params.id);
    // The trial may be named by its full id or by its number within the study.
    const number = /^\d{1,9}$/.test(req.params.trialId) ? Number(req.params.trialId) : parseTrialId(req.params.trialId)?.studyId === id ? parseTrialId(req.params.trialId)!.number : undefined;
    if (number === undefined) throw new TunehiveError('TH_ERR_TRIAL_NOT_FOUND', `no trial ${JSON.stringify(req.params.trialId)} in study ${id}`, [{ field: 'params.trialId', reason: `no trial ${JSON.stringify(req.params.trialId)} in study ${id}` }]);
    return askTell.tell(id, number, parseTell(req.body), req.body.params, req.study);
  });
};
