import type { FastifyPluginAsync } from 'fastify';
import { TunehiveError } from '../../shared/errors.js';
import { parseTell, type AskTell } from '../ask-tell.js';
import { parseTrialId, STUDY_ID } from '../../shared/redis-keys.js';

export const askTellRoutes: FastifyPluginAsync<{ askTell: AskTell }> = async (app, { askTell }) => {
  const studyId = (id: string) => {
    if (!STUDY_ID.test(id)) throw new TunehiveError('TH_ERR_STUDY_NOT_FOUND', `no study with id ${JSON.stringify(id)}`);
    return id;
  };

  app.post<{ Params: { id: string } }>('/studies/:id/trials/ask', async (req, reply) => {
    return reply.status(201).send(await askTell.ask(studyId(req.params.id)));
  });

  app.post<{ Params: { id: string; trialId: string } }>('/studies/:id/trials/:trialId/tell', async (req) => {
    const id = studyId(req.params.id);
    // The trial may be named by its full id or by its number within the study.
    const number = /^\d{1,9}$/.test(req.params.trialId) ? Number(req.params.trialId) : parseTrialId(req.params.trialId)?.studyId === id ? parseTrialId(req.params.trialId)!.number : undefined;
    if (number === undefined) throw new TunehiveError('TH_ERR_TRIAL_NOT_FOUND', `no trial ${JSON.stringify(req.params.trialId)} in study ${id}`);
    return askTell.tell(id, number, parseTell(req.body));
  });
};
