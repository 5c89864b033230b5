/**
 * Deleting a study whole: its trials' keys, its BullMQ jobs, its checkpoints and its place in
 * the global indexes. Work is done in bounded batches, so a study of 100,000 trials never holds
 * Redis for long, and the study's own hash goes last: a delete that dies halfway is finished by
 * running it again.
 */
import { TunehiveError } from '../../shared/errors.js';
import { STUDY_ID } from '../../shared/redis-keys.js';
import type { CheckpointStore } from '../checkpoints/checkpoint-store.js';
import type { TrialQueue } from '../queue/trial-queue.js';
import type { StudyRecord } from '../store/study-store.js';
import type { StudyStore } from '../store/study-store-contract.js';

/** What a deletion removed. */
export interface DeletionReport {
  studyId: string;
  /** The study's state when it was deleted (RUNNING only with force). */
  state: string;
  trials: number;
  /** Redis keys removed (trial and study keys). */
  keys: number;
  /** BullMQ jobs removed from the study's queue. */
  jobs: number;
  /** Trials whose checkpoint folders were removed. */
  checkpointTrials: number;
}

export interface DeletionDeps {
  store: StudyStore;
  queue: TrialQueue;
  checkpoints: CheckpointStore;
  /** The runner's stop path: ends the study and tells its running trials to stop. */
  stop(study: StudyRecord, reason: string): Promise<void>;
  /**
   * The study's experiment data beyond trial and study keys (direct runs logged into it, the
   * per-name search indexes): unlinked before the study's own keys.
   */
  experimentDataKeys?: (studyId: string) => Promise<string[]>;
  /** Trials handled per round (keys of a round go in pipelines of `keyBatch`). */
  trialBatch?: number;
  keyBatch?: number;
}

export class StudyDeleter {
  constructor(private readonly deps: DeletionDeps) {}

  /**
   * Deletes the study. A RUNNING study is refused (409) unless `force`, which stops it first
   * through the ordinary stop path; reports its running programs send later are refused like
   * those of any unknown trial.
   */
  async delete(id: string, o: { force?: boolean } = {}): Promise<DeletionReport> {
    const { store, queue, checkpoints } = this.deps;
    let study = STUDY_ID.test(id) ? await store.getStudy(id) : undefined;
    if (!study) throw new TunehiveError('TH_ERR_STUDY_NOT_FOUND', `no study with id ${JSON.stringify(id)}`, [{ field: 'params.id', reason: 'no such study (never created, or already deleted)' }]);
    if (study.state === 'RUNNING') {
      if (!o.force) {
        throw new TunehiveError('TH_ERR_STUDY_RUNNING', `study ${id} is RUNNING: stop it first, or delete with ?force=true`,
          [{ field: 'query.force', reason: 'must be true to delete a RUNNING study (it is stopped first)' }]);
      }
      await this.deps.stop(study, 'deleted by request');
      // A fill that ran until the stop may have created one more trial; none can be created now.
      study = { ...((await store.getStudy(id)) ?? study), state: 'RUNNING' };
    }
    const trialBatch = this.deps.trialBatch ?? 1000;
    const gpus = study.spec.trial?.gpus;
    let keyCount = 0;
    let jobs = 0;
    for (let from = 0; from < study.created; from += trialBatch) {
      const numbers = Array.from({ length: Math.min(trialBatch, study.created - from) }, (_, i) => from + i);
      if (gpus !== undefined) {
        // Jobs of earlier attempts were removed when they completed; only the last can remain.
        const ids = (await store.trialJobIds(id, numbers)).filter((j): j is string => j !== undefined);
        jobs += await queue.removeJobs(gpus, ids);
      }
      const list = (await Promise.all(numbers.map((n) => store.trialDataKeys(id, n)))).flat();
      keyCount += await store.unlinkKeys(list, this.deps.keyBatch ?? 500);
    }
    const checkpointTrials = (await checkpoints.trials(id)).length;
    await checkpoints.removeStudy(id);
    await store.unindexStudy(id);
    if (this.deps.experimentDataKeys) keyCount += await store.unlinkKeys(await this.deps.experimentDataKeys(id), this.deps.keyBatch ?? 500);
    keyCount += await store.unlinkKeys(store.studyDataKeys(id));
    return { studyId: id, state: study.state, trials: study.created, keys: keyCount, jobs, checkpointTrials };
  }
}
