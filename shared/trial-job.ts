/**
 * What a BullMQ job carries to a worker: the ids and the per-trial parts only. The trial
 * template (command, env, image, timeout) is the same for every trial of a study and can be
 * large, so it is not copied into each job (a 0.1 MiB spec at parallelism 2000 put 82 MiB of
 * jobs into Redis): the worker reads it once per study from the study's record (see
 * worker/trial-templates.ts). The job is only the delivery and lease; the trial's state lives
 * in Redis and changes only through the coordinator.
 */
import type { Params } from './search-space.js';
import type { TrialLimits, TrialTemplate } from './study-spec.js';

export interface TrialJob {
  studyId: string;
  trialId: string;
  number: number;
  params: Params;
  /** The resource class (queue) the job is in. */
  gpus: number;
  /** Resource budget (epochs/steps) for multi-fidelity rules; passed as TUNEHIVE_BUDGET. */
  budget?: number;
}

/** A job with its study's trial template: everything needed to run one trial. */
export type TrialRun = TrialJob & Pick<TrialTemplate, 'command' | 'env' | 'timeoutSeconds' | 'image'> & {
  /** The study's per-trial quotas (spec `limits`); absent for studies created before they existed. */
  limits?: Partial<TrialLimits>;
};

/**
 * One queue per resource class (the GPU count a trial needs), so a 1-GPU trial never waits
 * behind an 8-GPU one at the head of a shared queue; each agent consumes the classes it fits.
 */
export const trialQueueName = (gpus: number) => `trials-g${gpus}`;

/** BullMQ prefix for a key prefix, so queue keys sit beside the store's keys. */
export const queuePrefix = (prefix: string) => `${prefix}:q`;
