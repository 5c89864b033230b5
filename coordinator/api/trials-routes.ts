import type { FastifyPluginAsync } from 'fastify';
import { TunehiveError } from '../../shared/errors.js';
import { parseTrialId } from '../../shared/redis-keys.js';
import type { RouteOptions } from './studies-routes.js';
import { metricSeries, trialView } from './views.js';

export const trialRoutes: FastifyPluginAsync<RouteOptions> = async (app, { store }) => {
  app.get<{ Params: { id: string } }>('/trials/:id', async (req) => {
    const ids = parseTrialId(req.params.id);
    const trial = ids && (await store.getTrial(ids.studyId, ids.number));
    if (!ids || !trial) throw new TunehiveError('TH_ERR_TRIAL_NOT_FOUND', `no trial with id ${JSON.stringify(req.params.id)} (trial ids look like <studyId>.<number>)`);
    return { ...trialView(trial), hardware: trial.hardware ?? null, lastReason: trial.lastReason ?? null, metrics: metricSeries(await store.readMetrics(ids.studyId, ids.number)) };
  });
};
