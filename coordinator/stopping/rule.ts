/**
 * The early-stopping contract. A rule is a pure function of trial snapshots -> decision: it
 * keeps no state between calls and reads no clock, so a restarted coordinator (or another
 * replica) decides exactly what this one would have. Everything a rule needs to remember is
 * already in the trials' states and intermediate values.
 *
 * Values are losses (lower is better; the coordinator negates maximised objectives), and a
 * report's `step` is the program's own resource count (epochs, steps), which multi-fidelity
 * rules also use as the budget unit.
 */
import type { FieldError } from '../../shared/errors.js';
import type { IntermediateValue, TrialState } from '../../shared/trial.js';
import type { HalvingConfig } from './halving.js';
import type { MedianConfig } from './median.js';

/** What a rule sees of one trial, in any state (QUEUED and RUNNING ones included). */
export interface StoppingTrialView {
  readonly number: number;
  readonly state: TrialState;
  /** Every report so far as losses, in the order they were recorded (normally step order). */
  readonly intermediate: readonly IntermediateValue[];
}

export type Decision =
  | { action: 'continue' }
  /** Stop for good: the runner stops the program and marks the trial PRUNED. */
  | { action: 'prune'; reason: string }
  /**
   * Stop for now, keeping the checkpoint: the runner stops the program and marks the trial
   * PAUSED. Only `nextWork` resumes it; `resumeBudget` is the budget it will get if it is.
   */
  | { action: 'pause'; reason: string; rung: number; resumeBudget: number };

export type NextWork =
  /** Start a new trial, numbered `WorkContext.nextTrialNumber`, and let it run up to `budget`. */
  | { kind: 'new'; budget: number; bracket: number }
  /** Resume PAUSED trial `trialNumber` from its checkpoint and let it run up to `budget`. */
  | { kind: 'promote'; trialNumber: number; budget: number; bracket: number; fromRung: number }
  /** Nothing to do now (no new trials allowed and nobody promotable): wait for running trials. */
  | { kind: 'none' };

export interface WorkContext {
  /** Every trial of the study, any state. */
  trials: readonly StoppingTrialView[];
  /** The number a new trial would get; brackets are assigned by trial number. */
  nextTrialNumber: number;
  /** False once the study may start no more trials (maxTrials reached): paused trials are then drained. */
  canStartNew: boolean;
}

/**
 * What a rule reads of the other trials when it decides, so the coordinator reads only that
 * (coordinator/stopping/decider.ts, from indexes kept in Redis, O(log n) per decision):
 * - `none`: the trial's own reports alone (ASHA/Hyperband in pause mode: the pause is decided
 *   at the rung; ranking happens in `nextWork`);
 * - `rungRanks`: the trial's place among its bracket's trials at a rung it reaches, and the
 *   rung's size (ASHA/Hyperband in prune mode);
 * - `completedAverages`: the median of the COMPLETED trials' running averages at a step (median).
 */
export type PeerNeed = 'none' | 'rungRanks' | 'completedAverages';

export interface StoppingRule {
  readonly needsPeers: PeerNeed;
  /** Successive-halving rules: their geometry, which the rung indexes are laid out by. */
  readonly halving?: HalvingConfig;
  /** The median rule's settings, for the indexed decision. */
  readonly median?: MedianConfig;
  /**
   * The reference decision, a pure function of whole curves (the unit tests, and the check that
   * the indexed decider decides the same). Called once after each intermediate report of `trial`
   * is recorded (its `intermediate` ends with that report). `peers` are the study's other
   * trials; the trial itself, if also listed there, is ignored.
   */
  decide(trial: StoppingTrialView, peers: readonly StoppingTrialView[]): Decision;
  /**
   * Multi-fidelity rules only: what a free slot should run next. Rules without it leave the
   * runner to start new trials with no budget, as it would without early stopping.
   */
  nextWork?(ctx: WorkContext): NextWork;
}

export interface StoppingRuleFactory {
  name: string;
  /** One line for the API's rule listing and the README. */
  description: string;
  /** Checked once, at study creation; fields are full paths (`earlyStopping.settings.X`). */
  validate(settings: Record<string, unknown>): FieldError[];
  /** Expects settings that passed `validate`. */
  create(settings: Record<string, unknown>): StoppingRule;
}

/** Settings errors are reported under this prefix, relative to the study spec. */
export const SETTINGS_PREFIX = 'earlyStopping.settings';
