/**
 * What a BullMQ job carries to a worker: everything needed to run one trial without another
 * round trip. The job is only the delivery and lease; the trial's state lives in Redis and
 * changes only through the coordinator.
 */
import type { Params } from './search-space.js';
import type { TrialLimits } from './study-spec.js';

export interface TrialJob {
  studyId: string;
  trialId: string;
  number: number;
  params: Params;
  command: string[];
  env: Record<string, string>;
  timeoutSeconds?: number;
  gpus: number;
  image?: string;
  /** Resource budget (epochs/steps) for multi-fidelity rules; passed as TUNEHIVE_BUDGET. */
  budget?: number;
  /** The study's per-trial quotas (spec `limits`); absent in jobs queued before they existed. */
  limits?: Partial<TrialLimits>;
}

/**
 * One queue per resource class (the GPU count a trial needs), so a 1-GPU trial never waits
 * behind an 8-GPU one at the head of a shared queue; each agent consumes the classes it fits.
 */
export const trialQueueName = (gpus: number) => `trials-g${gpus}`;

/** BullMQ prefix for a key prefix, so queue keys sit beside the store's keys. */
export const queuePrefix = (prefix: string) => `${prefix}:q`;
