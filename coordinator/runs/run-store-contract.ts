/**
 * The system of record for experiments and runs (issue 11), and the indexes that make search
 * fast. A study's trials are runs: their params, states, times and metrics stay in the study
 * store (one copy), and this store adds what a run has beyond a trial (tags, note, provenance)
 * and indexes both kinds alike. Direct runs (`POST /api/v1/runs`) are stored here whole.
 *
 * Every implementation runs test/conformance/run-store.test.ts.
 *
 * Atomic and applied once: createExperiment, createRun, logParams (a changed value is refused
 * with TH_ERR_RUN_PARAM_CHANGED and nothing of the call is applied), setTags, updateRun.
 * May be a moment stale: search (it reflects every write that had applied when it started; a
 * page token never repeats or skips a run that existed when the first page was read).
 */
import type { Filter, OrderKey } from '../../shared/run-filter/ast.js';
import type { Provenance, RunStatus, RunView } from '../../shared/run-model.js';

export interface ExperimentRecord {
  id: string;
  project: string;
  name: string;
  /** `study` when a search is attached (its id is the study's), `plain` otherwise. */
  kind: 'study' | 'plain';
  tags: Record<string, string>;
  description: string;
  createdAt: number;
  /** Last write to any of its runs (ms): the experiments list sorts by it. */
  lastActivity: number;
  runCount: number;
}

export interface RunSearch {
  /** Projects the caller may read; undefined: every project (admins). */
  projects: readonly string[] | undefined;
  /** Only these experiments (each also checked against `projects`). */
  experimentIds?: readonly string[];
  filter?: Filter;
  orderBy?: readonly OrderKey[];
  /** 1..1000 (MLflow's search allows up to 50,000 in one page: its adapter pages through). */
  pageSize: number;
  pageToken?: string;
}

export interface CreateRunInput {
  experimentId: string;
  name?: string;
  parentRunId?: string;
  params?: Record<string, string>;
  tags?: Record<string, string>;
  /** ms since the epoch; default now. */
  startTime?: number;
  status?: RunStatus;
  /** Who created it (the principal's owner). */
  createdBy: string;
}

export interface RunStore {
  /** The project of an experiment (plain or a study); undefined for an unknown one. */
  experimentProject(experimentId: string): Promise<string | undefined>;
  createExperiment(input: { project: string; name: string; tags?: Record<string, string>; description?: string; createdBy: string }, now?: number): Promise<ExperimentRecord>;
  getExperiment(id: string): Promise<ExperimentRecord | undefined>;
  /** Newest activity first, of these projects (undefined: all); `nameContains` filters case-insensitively. */
  listExperiments(projects: readonly string[] | undefined, o: { offset: number; limit: number; nameContains?: string }): Promise<{ total: number; experiments: ExperimentRecord[] }>;
  setExperimentTags(id: string, tags: Record<string, string | null>): Promise<void>;

  createRun(input: CreateRunInput, now?: number): Promise<RunView>;
  getRun(runId: string): Promise<RunView | undefined>;
  getRuns(runIds: readonly string[]): Promise<Array<RunView | undefined>>;
  updateRun(runId: string, patch: { name?: string; status?: RunStatus; endTime?: number; note?: string }, now?: number): Promise<RunView>;
  /** A null value deletes the tag. Works for trial runs and direct runs alike. */
  setTags(runId: string, tags: Record<string, string | null>, now?: number): Promise<void>;
  /** Direct runs only (a trial's params come from its sampler). Re-logging the same value is a no-op. */
  logParams(runId: string, params: Record<string, string>): Promise<void>;
  /** Direct runs only (a trial's metrics come from its worker); points are appended, never overwritten. */
  logMetrics(runId: string, points: ReadonlyArray<{ name: string; value: number; step: number; timeMs: number }>): Promise<void>;
  /** Stores the provenance of one attempt of a trial run (or attempt 0 of a direct run). */
  setProvenance(runId: string, provenance: Provenance): Promise<void>;
  /** Every attempt's provenance, oldest first. */
  provenanceOf(runId: string): Promise<Provenance[]>;
  /**
   * One metric's points of a run (trial or direct) in the order they were stored, from `offset`
   * (at most `limit`), and how many there are: MLflow's get-history and the compare summaries.
   */
  metricHistory(runId: string, name: string, o: { offset: number; limit: number }): Promise<{ total: number; points: Array<{ step: number; value: number; timeMs: number }> }>;
  deleteRun(runId: string): Promise<boolean>;

  search(q: RunSearch): Promise<{ runs: RunView[]; nextPageToken: string | null }>;
}
