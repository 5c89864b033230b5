/** Trial and study states, and the frozen trial snapshots that samplers and stopping rules read. */
import type { Params } from './search-space.js';

export const TRIAL_STATES = ['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'PRUNED', 'PAUSED', 'CANCELLED'] as const;
export type TrialState = (typeof TRIAL_STATES)[number];
export const FINAL_TRIAL_STATES: readonly TrialState[] = ['COMPLETED', 'FAILED', 'PRUNED', 'CANCELLED'];

export const STUDY_STATES = ['RUNNING', 'COMPLETED', 'FAILED', 'STOPPED'] as const;
export type StudyState = (typeof STUDY_STATES)[number];

/** One intermediate report of the objective metric; `value` is as reported (not sign-flipped). */
export interface IntermediateValue { step: number; value: number }

/**
 * What a sampler sees of a finished trial. `loss` is the objective turned into "lower is better"
 * (negated for maximize), so no algorithm handles direction itself. Snapshots are never mutated.
 */
export interface FrozenTrial {
  number: number;
  params: Params;
  state: 'COMPLETED' | 'PRUNED' | 'FAILED';
  /** Final objective as a loss; absent for FAILED trials, and for PRUNED ones that never reported. */
  loss?: number;
  /** Intermediate objective values as losses, in step order (PRUNED trials and multi-fidelity samplers use them). */
  intermediate?: IntermediateValue[];
}
