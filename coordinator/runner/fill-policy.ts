/**
 * The fill policy: what a study does next, from its counters alone. Pure, so the rules are
 * tested without Redis; the runner applies it.
 */
import type { Direction } from '../../shared/study-spec.js';
import type { StudyState } from '../../shared/trial.js';
import type { StudyRecord } from '../store/study-store.js';

/** Whether `value` meets the objective's goal. */
export function goalReached(direction: Direction, goal: number | undefined, value: number | undefined): boolean {
  if (goal === undefined || value === undefined) return false;
  return direction === 'maximize' ? value >= goal : value <= goal;
}

/**
 * What a study should do next, from its counters alone (pure, so the rules are tested without
 * Redis): end, or fill `launch` free slots — with new trials while `canStartNew`, and with
 * promotions of PAUSED trials (multi-fidelity early stopping) after that.
 */
export function nextStep(study: Pick<StudyRecord, 'spec' | 'counts' | 'created' | 'best'>, exhausted: boolean):
  | { end: Exclude<StudyState, 'RUNNING'>; reason: string }
  | { launch: number; canStartNew: boolean } {
  const { spec, counts, created, best } = study;
  const inFlight = counts.queued + counts.running;
  if (counts.failed > spec.maxFailedTrials) {
    return { end: 'FAILED', reason: `${counts.failed} trials failed, more than maxFailedTrials (${spec.maxFailedTrials})` };
  }
  if (best && goalReached(spec.objective.direction, spec.objective.goal, best.value)) {
    const cmp = spec.objective.direction === 'maximize' ? '>=' : '<=';
    return { end: 'COMPLETED', reason: `goal reached: ${spec.objective.metric} ${best.value} ${cmp} ${spec.objective.goal} (trial ${best.number})` };
  }
  const done = created >= spec.maxTrials || exhausted;
  if (done && inFlight === 0 && counts.paused === 0) {
    if (counts.completed === 0) return { end: 'FAILED', reason: `no trial completed (${counts.failed} failed, ${counts.pruned} pruned)` };
    return { end: 'COMPLETED', reason: exhausted && created < spec.maxTrials ? `search space exhausted after ${created} trials` : `maxTrials (${spec.maxTrials}) reached` };
  }
  const slots = Math.max(0, spec.parallelism - inFlight);
  if (done) return { launch: counts.paused > 0 ? slots : 0, canStartNew: false };
  return { launch: Math.min(slots, spec.maxTrials - created), canStartNew: true };
}
