/**
 * The system of record for studies and trials: what every implementation must guarantee, and
 * what callers may rely on. `RedisStudyStore` (study-store.ts) is today's implementation; every
 * implementation runs test/conformance/study-store.test.ts.
 *
 * Atomic, and applied at most once however often or concurrently repeated (transitions): a
 * repeated call answers as if it were the first one that applied, or says it changed nothing.
 * These are what make trial completion exactly-once: createTrial(s), startAttempt, appendMetrics,
 * finishTrial, endWaitingTrial, recordDecision, resumeTrial, commitCheckpoint, endStudy,
 * acquireLease/releaseLease, heartbeat.
 *
 * Fenced by attempt: appendMetrics, finishTrial, recordDecision, commitCheckpoint and heartbeat
 * of an attempt that is not the trial's current one change nothing.
 *
 * May be a moment stale (reads): getStudy, listStudies, getTrial(s), pendingNumbers,
 * pausedNumbers, readHistory, readObjective, readSeries, metricCounts, lastPoints: each reflects
 * every transition that had applied when it started, never half of one; two reads together are
 * not a snapshot.
 *
 * Not atomic across studies: the global indexes (all studies, active, ended) are updated apart
 * from a study's own records and are only indexes; whoever reads them checks the study itself.
 */
import type { Params } from '../../shared/search-space.js';
import type { ObjectiveStrategy, StudySpec } from '../../shared/study-spec.js';
import type { StudyState } from '../../shared/trial.js';
import type { TrialState } from '../../shared/trial.js';
import type { AppendResult, FinishOutcome, HistoryEntry, SeriesPoint, StartAnswer, StudyRecord, TrialRecord } from './study-store.js';

export type StopDecision = { state: 'PRUNED' | 'PAUSED'; reason: string };
export type HeartbeatAnswer = { current: false } | { current: true; studyState: string; stopDecision?: StopDecision };

export interface StudyRecords {
  createStudy(spec: StudySpec, now?: number): Promise<StudyRecord>;
  getStudy(id: string): Promise<StudyRecord | undefined>;
  /** A study's spec, which never changes: possibly cached, even past the study's deletion (act through a transition, which checks). */
  studySpec(id: string): Promise<StudySpec | undefined>;
  /** Newest first. */
  listStudies(offset: number, limit: number): Promise<{ total: number; studies: StudyRecord[] }>;
  /** Newest first, of these projects only (undefined: every project); never reads other projects' studies. */
  listStudiesIn(projects: readonly string[] | undefined, offset: number, limit: number): Promise<{ total: number; studies: StudyRecord[] }>;
  /** The project a study belongs to (one field; undefined for an unknown study). */
  studyProject(id: string): Promise<string | undefined>;
  /** Puts studies from before projects existed into the default project, once per deployment. */
  adoptLegacyStudies(batch?: number): Promise<number>;
  countStudies(): Promise<number>;
  activeStudyIds(): Promise<string[]>;
  /**
   * Ends a RUNNING study once (false when it had already ended) and marks it ending: its
   * wind-down (cancel, stop, prune its trials) is finished by whoever calls windDownDone.
   */
  endStudy(id: string, state: Exclude<StudyState, 'RUNNING'>, reason: string, now?: number): Promise<boolean>;
  /** Studies whose wind-down may not be finished (reconcile finishes it). */
  endingStudyIds(): Promise<string[]>;
  windDownDone(id: string): Promise<void>;
}

export interface TrialTransitions {
  /** 1 created, 0 study not running, -1 number taken (another driver), -2 maxTrials reached. */
  createTrial(studyId: string, number: number, params: Params, maxTrials: number, budget?: number, now?: number): Promise<number>;
  /** createTrial of numbers first, first+1, ... (each atomic on its own, applied in order): each one's answer. */
  createTrials(studyId: string, first: number, trials: ReadonlyArray<{ params: Params; budget?: number }>, maxTrials: number, now?: number): Promise<number[]>;
  /**
   * Opens (or, for a repeated delivery id, returns) the attempt a worker runs, storing the hash
   * of its new secret; a re-join (resumeAttempt > 0) keeps the attempt only for its worker
   * presenting that secret (`forbidden` otherwise, nothing changed). Attempt 0: do not run
   * (`exhausted`: the attempt whose retries ran out). An attempt to run comes with the trial as
   * read just after it was granted (`trial`; a read, so possibly a moment stale).
   */
  startAttempt(studyId: string, number: number, workerId: string, resumeAttempt: number, hardware: string, maxRetries: number, now?: number, deliveryId?: string,
    secret?: { issued: string; presented?: string }): Promise<StartAnswer>;
  /** Whether `secret` is the secret of the trial's current attempt `attempt`, held by `workerId`. */
  attemptOwnedBy(studyId: string, number: number, attempt: number, workerId: string, secret: string): Promise<boolean>;
  /** Stores a batch once and in seq order, up to `maxPoints` per trial (the rest counted as dropped). */
  /** The trial's result is its objective report chosen by `objectiveStrategy` (default: the latest). */
  appendMetrics(studyId: string, number: number, attempt: number, seq: number, objectiveMetric: string, points: Array<{ name: string; step: number; value: number; timeMs: number }>, maxPoints: number, now?: number, objectiveStrategy?: ObjectiveStrategy): Promise<AppendResult>;
  finishTrial(studyId: string, number: number, attempt: number, outcome: FinishOutcome, o: { direction: string; reason: string; exitCode?: number; stderrTail?: string; maxRetries: number; stopLatencyMs?: number; truncatedLines?: number; droppedBytes?: number; programStartedAt?: number; programExitedAt?: number; now?: number }): Promise<{ state: string; applied: boolean }>;
  /** Ends a QUEUED trial (CANCELLED) or a PAUSED one (PRUNED); false when it was neither. */
  endWaitingTrial(studyId: string, number: number, state: 'CANCELLED' | 'PRUNED', reason: string, now?: number): Promise<boolean>;
  /** Promotes a PAUSED trial with a bigger budget, only for the holder of the study's lease (fencing). */
  resumeTrial(studyId: string, number: number, budget: number, owner: string, now?: number): Promise<'resumed' | 'not-paused' | 'not-lease-holder'>;
  /** The first early-stopping decision of an attempt stands; false when one was already made. */
  recordDecision(studyId: string, number: number, attempt: number, state: 'PRUNED' | 'PAUSED', reason: string): Promise<boolean>;
  /** Accepted only from the current attempt and never older than the latest; returns ids to prune. */
  commitCheckpoint(studyId: string, number: number, attempt: number, id: string, step: number, keep: number): Promise<{ accepted: boolean; reason: string; prune: string[] }>;
  /** One round trip: refreshes the current attempt's heartbeat and says what the stream must repeat. */
  heartbeat(studyId: string, number: number, attempt: number, now?: number): Promise<HeartbeatAnswer>;
  setTrialJob(studyId: string, number: number, jobId: string): Promise<void>;
  setTrialJobs(studyId: string, jobs: ReadonlyArray<{ number: number; jobId: string }>): Promise<void>;
}

export interface TrialReads {
  getTrial(studyId: string, number: number): Promise<TrialRecord | undefined>;
  getTrials(studyId: string, numbers: number[]): Promise<TrialRecord[]>;
  /** QUEUED or RUNNING trial numbers, ascending. */
  pendingNumbers(studyId: string): Promise<number[]>;
  pausedNumbers(studyId: string): Promise<number[]>;
  /** Finished trials in completion order, from index `from`, at most `count` (callers cache what they read). */
  readHistory(studyId: string, from: number, count?: number): Promise<HistoryEntry[]>;
  /** The objective metric's reports of a trial from index `from`, as stored. */
  readObjective(studyId: string, number: number, from: number): Promise<Array<{ step: number; value: number }>>;
  /** Points `start`..`stop` (inclusive; negative counts from the end) of one metric series. */
  readSeries(studyId: string, number: number, name: string, start: number, stop: number): Promise<SeriesPoint[]>;
  metricCounts(studyId: string, number: number): Promise<Map<string, number>>;
  lastPoints(studyId: string, number: number, names: readonly string[]): Promise<Map<string, SeriesPoint>>;
  trialStates(studyId: string, numbers: number[]): Promise<Array<TrialState | undefined>>;
  /**
   * The trials in one state, by number (after a cursor, or from an offset within the state), from
   * the per-state index every transition keeps atomically: O(log n + limit). Complete once
   * backfillStateIndex returned true (studies from before the index).
   */
  trialNumbersInState(studyId: string, state: TrialState, at: { after?: number; offset?: number }, limit: number): Promise<{ total: number; offset: number; numbers: number[] }>;
  /** Builds a bounded part of the state index of a study from before it; true once it is complete. */
  backfillStateIndex(studyId: string, maxTrials?: number, chunk?: number): Promise<boolean>;
}

export interface Leases {
  /** Takes or renews `owner`'s lease on driving a study; false while another owner holds it. */
  acquireLease(studyId: string, owner: string, ttlMs: number): Promise<boolean>;
  releaseLease(studyId: string, owner: string): Promise<void>;
  /** Renews many leases in one round trip; each answer as acquireLease's. */
  acquireLeases(ids: readonly string[], owner: string, ttlMs: number): Promise<boolean[]>;
}

/**
 * The early-stopping indexes (coordinator/stopping/stop-index.ts owns their meaning): rung
 * memberships written once per trial and rung, promotion candidates, completed trials' running
 * averages. `indexReports` is atomic and guarded by a cursor (`expected` -> `next`), so two
 * replicas never count the same reports twice, and writes nothing once the study is deleted
 * (a batch may be indexed just after); the other writes are idempotent.
 */
export interface StopIndexes {
  stopField(studyId: string, field: string): Promise<string | undefined>;
  setStopField(studyId: string, field: string, value: string): Promise<void>;
  indexReports(studyId: string, number: number, expected: string, next: string, rungs: Array<{ member: string; lo: string; hi: string }>): Promise<Array<{ place: number; size: number }> | undefined>;
  recordPause(studyId: string, number: number, attempt: number, reason: string, member: string): Promise<boolean>;
  addCandidate(studyId: string, number: number, member: string): Promise<void>;
  dropCandidate(studyId: string, number: number, member: string): Promise<void>;
  promotionCandidates(studyId: string, groups: Array<{ lo: string; hi: string; below: string }>, limit: number): Promise<Array<{ members: string[]; before: number; size: number }>>;
  rungRanks(studyId: string, members: string[]): Promise<Array<number | undefined>>;
  addAverages(studyId: string, members: string[]): Promise<void>;
  averagesAt(studyId: string, range: { lo: string; hi: string; below: string }, at: (count: number) => number[]): Promise<{ count: number; members: string[] }>;
  addStopStep(studyId: string, step: number): Promise<boolean>;
  stopSteps(studyId: string): Promise<number[]>;
}

/** Deletion and retention: who owns stored data and removes it. */
export interface StudyLifecycle {
  /** Every stored key of one trial (its metric series included). */
  trialDataKeys(studyId: string, number: number): Promise<string[]>;
  /** The study's own keys; deleted last, so an interrupted delete can be repeated. */
  studyDataKeys(studyId: string): string[];
  trialJobIds(studyId: string, numbers: number[]): Promise<Array<string | undefined>>;
  unlinkKeys(list: string[], batch?: number): Promise<number>;
  unindexStudy(studyId: string): Promise<void>;
  markEnded(studyId: string, endedAt: number): Promise<void>;
  indexEndedStudies(offset: number, limit: number): Promise<number | undefined>;
  endedBefore(cutoff: number, limit: number): Promise<string[]>;
  acquireSweepLock(owner: string, ttlMs: number): Promise<boolean>;
  releaseSweepLock(owner: string): Promise<void>;
  clearCheckpoints(studyId: string, number: number): Promise<void>;
}

export interface StudyStore extends StudyRecords, TrialTransitions, TrialReads, Leases, StopIndexes, StudyLifecycle {
  /** Told (on this replica) when a trial of the study reached a final state or the study ended. */
  onTrialsEnded?: (studyId: string) => void;
}
