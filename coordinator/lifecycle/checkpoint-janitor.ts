/**
 * Checkpoint clean-up on the coordinator. A trial in a final state (COMPLETED, FAILED, PRUNED,
 * CANCELLED) needs no checkpoint to resume, so its folder is deleted unless the study's
 * `keepCheckpoints` keeps it: 'best' keeps the best trial's (and so drops the former best's
 * when the best changes), 'all' keeps every one, 'none' keeps none. PAUSED, QUEUED and RUNNING
 * trials keep theirs: they resume from it. A folder whose study or trial is unknown is an orphan.
 *
 * The rule is applied per study, from what is on disk and in Redis, never from the event that
 * triggered it: a missed or repeated trigger only delays or repeats an idempotent sweep.
 */
import { CoalescingRuns } from '../../shared/coalescing-runs.js';
import type { Logger } from 'pino';
import type { TrialState } from '../../shared/trial.js';
import type { CheckpointStore } from '../checkpoints/checkpoint-store.js';
import type { StudyStore } from '../store/study-store-contract.js';

/** Least time between two sweeps of one study triggered by its trials' ends. */
const SWEEP_GAP_MS = 1000;

export const FINAL_TRIAL_STATES: ReadonlySet<TrialState> = new Set<TrialState>(['COMPLETED', 'FAILED', 'PRUNED', 'CANCELLED']);

export class CheckpointJanitor {
  private closed = false;
  /** Per study: one sweep at a time; triggers meanwhile make one more. */
  private readonly sweeps = new CoalescingRuns<string>(
    async (studyId) => { await this.sweepStudy(studyId); },
    (studyId, err) => this.deps.log.warn({ err: (err as Error).message, studyId }, 'checkpoint clean-up failed; retried at the next trigger or start'),
    () => this.closed,
  );

  constructor(private readonly deps: { store: StudyStore; checkpoints: CheckpointStore; log: Logger }) {}

  /** When each study's last sweep was asked for, and the sweeps held back (see trialEnded). */
  private readonly lastSweep = new Map<string, number>();
  private readonly heldBack = new Map<string, NodeJS.Timeout>();

  /**
   * Asks for a sweep of one study (a trial of it ended); calls while one runs coalesce into one
   * more. At most one a second per study: a study finishing thousands of trials a second would
   * otherwise read its checkpoint folder after every one. The last trigger's sweep always runs.
   */
  trialEnded(studyId: string): void {
    // After close the store's connection is going away; the sweep at the next start catches up.
    if (this.closed || this.heldBack.has(studyId)) return;
    const wait = SWEEP_GAP_MS - (Date.now() - (this.lastSweep.get(studyId) ?? 0));
    if (wait <= 0) return this.sweepNow(studyId);
    const timer = setTimeout(() => this.sweepNow(studyId), wait);
    timer.unref();
    this.heldBack.set(studyId, timer);
  }

  private sweepNow(studyId: string): void {
    clearTimeout(this.heldBack.get(studyId));
    this.heldBack.delete(studyId);
    // Bounded: one entry per study that ended a trial lately.
    if (this.lastSweep.size >= 10_000) this.lastSweep.delete(this.lastSweep.keys().next().value!);
    this.lastSweep.delete(studyId);
    this.lastSweep.set(studyId, Date.now());
    this.sweeps.request(studyId);
  }

  /** Deletes what the rule does not keep in one study; returns the trials whose checkpoints went. */
  async sweepStudy(studyId: string): Promise<number> {
    const { store, checkpoints, log } = this.deps;
    const numbers = await checkpoints.trials(studyId);
    if (numbers.length === 0) return 0;
    // Trials before the study: finishTrial sets a trial's state and the study's best in one
    // step, so a trial read as COMPLETED here is seen as best below if it is.
    const states = await store.trialStates(studyId, numbers);
    const study = await store.getStudy(studyId);
    if (!study) {
      await checkpoints.removeStudy(studyId);
      log.info({ studyId, trials: numbers.length }, 'orphaned checkpoints removed (unknown study)');
      return numbers.length;
    }
    const keep = study.spec.keepCheckpoints ?? 'best';
    if (keep === 'all') return 0;
    let removed = 0;
    for (const [i, n] of numbers.entries()) {
      const state = states[i];
      const kept = state !== undefined && (!FINAL_TRIAL_STATES.has(state) || (keep === 'best' && study.best?.number === n));
      if (kept) continue;
      await checkpoints.removeTrial(studyId, n);
      if (state) await store.clearCheckpoints(studyId, n);
      removed++;
    }
    if (removed > 0) log.debug({ studyId, removed, keep }, 'checkpoints of finished trials removed');
    return removed;
  }

  /** The sweep at start: every study with checkpoints on disk, orphans included. */
  async sweepAll(): Promise<number> {
    let removed = 0;
    for (const studyId of await this.deps.checkpoints.studies()) removed += await this.sweepStudy(studyId);
    return removed;
  }

  async close(): Promise<void> {
    for (const t of this.heldBack.values()) clearTimeout(t);
    this.heldBack.clear();
    this.closed = true;
    await this.idle();
  }

  /** Resolves once no triggered sweep is running or held back (tests and shutdown): held-back ones run now. */
  async idle(): Promise<void> {
    for (const studyId of [...this.heldBack.keys()]) this.sweepNow(studyId);
    await this.sweeps.idle();
  }
}
