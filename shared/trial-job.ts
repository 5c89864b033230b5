/**
 * What a BullMQ job carries to a worker: the ids and the per-trial parts only. The job is only
 * the delivery and lease: what the worker runs (the study's trial template, the trial's
 * parameters and budget) comes from the coordinator in the reply to its `Started`, never from
 * the job, so whoever can write queue keys cannot change what a worker runs, and the worker
 * reads no study data from Redis. The trial's state lives in Redis and changes only through the
 * coordinator.
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
  /** The study's project: which project's queue the job is in. */
  project?: string;
}

/** A job with its study's trial template: everything needed to run one trial. */
export type TrialRun = TrialJob & Pick<TrialTemplate, 'command' | 'env' | 'timeoutSeconds' | 'image' | 'metricsCollector'> & {
  /** The study's per-trial quotas (spec `limits`); absent for studies created before they existed. */
  limits?: Partial<TrialLimits>;
  /** TUNEHIVE_SEED (shared/seed.ts), from the coordinator's start reply. */
  seed?: number;
  /** What provenance capture needs of the spec. */
  codeVersion?: string;
  dataFiles?: string[];
};

export const DEFAULT_PROJECT = 'default';
/** Project names become parts of queue and key names. */
export const PROJECT_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The project of a study (specs stored before projects existed belong to "default"). */
export function projectOf(spec: object): string {
  const p = (spec as { project?: unknown }).project ?? DEFAULT_PROJECT;
  if (typeof p !== 'string' || !PROJECT_NAME.test(p)) throw new Error(`invalid project name ${JSON.stringify(p).slice(0, 80)}`);
  return p;
}

/**
 * One queue per project and resource class (the GPU count a trial needs): an agent consumes
 * only the queues of the projects it was joined for, and a 1-GPU trial never waits behind an
 * 8-GPU one at the head of a shared queue. The name is a Redis Cluster hash tag: BullMQ's
 * scripts need every key of a queue (`<prefix>:<name>:...`) in one slot, and a tag per queue
 * (not one in the prefix) lets different queues land on different masters.
 */
export const trialQueueName = (project: string, gpus: number) => `{trials-${project}-g${gpus}}`;

/** BullMQ prefix for a key prefix, so queue keys sit beside the store's keys. */
export const queuePrefix = (prefix: string) => `${prefix}:q`;

/** Job ids are `<trialId>-r<attempt>`; a job whose id is not of this trial delivers another one. */
export const JOB_ID = /^([a-z0-9]{4,40}\.\d{1,9})-r(\d{1,9})$/;
export function jobIdFor(trialId: string, attempt: number): string {
  return `${trialId}-r${attempt}`;
}
