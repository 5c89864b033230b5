/** The JSON shapes the API returns (their schemas are in schemas.ts), built from store records in one place. */
import { trialId } from '../../shared/redis-keys.js';
import type { SeriesPoint, StudyRecord, TrialRecord } from '../store/study-store.js';
import type { StudyView, TrialView } from './schemas.js';

export function studyView(s: StudyRecord, best?: TrialRecord): StudyView {
  return {
    id: s.id,
    name: s.spec.name,
    project: s.project,
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
    output: { truncatedLines: t.truncatedLines ?? 0, droppedBytes: t.droppedBytes ?? 0 },
    createdAt: new Date(t.createdAt).toISOString(),
    startedAt: t.startedAt ? new Date(t.startedAt).toISOString() : null,
    finishedAt: t.finishedAt ? new Date(t.finishedAt).toISOString() : null,
  };
}

/** One point of a metric series; `index` is its position in the series (a page cursor). */
export function pointView(p: SeriesPoint, index: number) {
  return { index, step: p.step, value: p.value, attempt: p.attempt, time: new Date(p.timeMs).toISOString() };
}
