/** The JSON shapes the API returns (their schemas are in schemas.ts), built from store records in one place. */
import { trialId } from '../../shared/redis-keys.js';
import type { MetricRow, StudyRecord, TrialRecord } from '../store/study-store.js';
import type { StudyView, TrialView } from './schemas.js';

export function studyView(s: StudyRecord, best?: TrialRecord): StudyView {
  return {
    id: s.id,
    name: s.spec.name,
    state: s.state,
    reason: s.reason ?? null,
    mode: s.spec.trial ? 'workers' : 'ask-tell',
    objective: s.spec.objective,
    algorithm: s.spec.algorithm,
    parallelism: s.spec.parallelism,
    maxTrials: s.spec.maxTrials,
    created: s.created,
    counts: s.counts,
    best: s.best ? { trialId: trialId(s.id, s.best.number), number: s.best.number, value: s.best.value, params: best?.params ?? null } : null,
    createdAt: new Date(s.createdAt).toISOString(),
    finishedAt: s.finishedAt ? new Date(s.finishedAt).toISOString() : null,
  };
}

export function trialView(t: TrialRecord): TrialView {
  return {
    id: t.id,
    studyId: t.studyId,
    number: t.number,
    state: t.state,
    params: t.params,
    value: t.value ?? null,
    lastObjective: t.lastObjective ?? null,
    attempt: t.attempt,
    workerId: t.workerId ?? null,
    reason: t.reason ?? null,
    exitCode: t.exitCode ?? null,
    stderrTail: t.stderrTail ?? null,
    budget: t.budget ?? null,
    checkpoint: t.checkpoint ?? null,
    stopLatencyMs: t.stopLatencyMs ?? null,
    createdAt: new Date(t.createdAt).toISOString(),
    startedAt: t.startedAt ? new Date(t.startedAt).toISOString() : null,
    finishedAt: t.finishedAt ? new Date(t.finishedAt).toISOString() : null,
  };
}

/** Metric rows grouped into one series per metric name: {name: [{step, value, attempt, time}]}. */
export function metricSeries(rows: MetricRow[]) {
  // No prototype: a metric may well be called "constructor".
  const out: Record<string, Array<{ step: number; value: number; attempt: number; time: string }>> = Object.create(null);
  for (const r of rows) (out[r.name] ??= []).push({ step: r.step, value: r.value, attempt: r.attempt, time: new Date(r.timeMs).toISOString() });
  return out;
}
