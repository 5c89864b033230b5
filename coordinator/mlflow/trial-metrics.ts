/**
 * Metrics an MLflow client logs to a trial's run: the same store transition as a worker's
 * batch (appendMetrics-3.lua, out of band: seq -1, so the worker's own numbering is untouched)
 * and the same early-stopping step after it (createReportHandler, as trial-service.ts runs it).
 * A decision reaches the program the way every decision does: on the trial's open stream when
 * it is on this replica, else in the reply to its worker's next heartbeat (the decision is
 * recorded on the attempt first).
 */
import { checkBatch, maxMetricPoints } from '../../shared/wire-limits.js';
import type { RunView } from '../../shared/run-model.js';
import { createReportHandler } from '../stopping/decider.js';
import type { MlflowDeps } from './deps.js';
import { MlflowError } from './wire.js';

export interface Point { name: string; value: number; step: number; timeMs: number }

export function trialMetricLogger(d: MlflowDeps) {
  const decide = createReportHandler({ rule: (s) => d.runner.rule(s), decider: d.runner.decider, log: d.log });
  return async (run: RunView, attempt: number | undefined, points: readonly Point[]): Promise<void> => {
    if (points.length === 0) return;
    checkBatch(points);
    const studyId = run.studyId!;
    const number = run.trialNumber!;
    const [study, trial] = await Promise.all([d.store.getStudy(studyId), d.store.getTrial(studyId, number)]);
    if (!study || !trial) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Run with id=${run.id} not found`);
    const current = attempt ?? trial.attempt;
    const r = await d.store.appendMetrics(studyId, number, current, -1, study.spec.objective.metric, points.map((p) => ({ ...p })), maxMetricPoints(study.spec));
    if (r.status === -1) {
      throw new MlflowError('INVALID_PARAMETER_VALUE', `run ${run.id} is a trial that is not running (state ${trial.state}${attempt !== undefined && attempt !== trial.attempt ? `, attempt ${trial.attempt} is current, not ${attempt}` : ''}): it takes no more metrics`);
    }
    const objective = points.filter((p) => p.name === study.spec.objective.metric).length;
    await decide({ studyId, number, trialId: run.id, attempt: current, spec: study.spec, decided: trial.stopDecision !== undefined }, objective,
      (action, reason) => void d.commands.send(run.id, action, reason));
  };
}
