/**
 * Tunehive's runs and experiments as MLflow's entities (`Run`, `RunInfo`, `RunData`,
 * `Experiment` in MLflow's service.proto). A study's trials show as runs tagged with their
 * study and number; MLflow's lifecycle (`active` / `deleted`) is kept in a reserved tag that
 * MLflow clients never see as a tag.
 */
import type { RunView } from '../../shared/run-model.js';
import type { ExperimentRecord } from '../runs/run-store-contract.js';

/** Run and experiment tag holding MLflow's lifecycle stage ('deleted'; absent: active). */
export const LIFECYCLE_TAG = 'tunehive.lifecycle_stage';
/** Run tag: the datasets of runs/log-inputs (JSON list of DatasetInput). */
export const INPUTS_TAG = 'tunehive.mlflow.inputs';
/** Run tag MLflow's own server keeps the runs/log-model history in. */
export const LOG_MODEL_TAG = 'mlflow.log-model.history';
/** The tags a client never sees among a run's or an experiment's tags (shown as fields instead). */
export const HIDDEN_TAGS: ReadonlySet<string> = new Set([LIFECYCLE_TAG, INPUTS_TAG]);

export const artifactUri = (run: { experimentId: string; id: string }) => `mlflow-artifacts:/${run.experimentId}/${run.id}/artifacts`;

export function lifecycleOf(tags: Record<string, string>): 'active' | 'deleted' {
  return tags[LIFECYCLE_TAG] === 'deleted' ? 'deleted' : 'active';
}

export interface MlflowRunInfo {
  run_id: string; run_uuid: string; run_name: string; experiment_id: string; user_id: string; status: string;
  start_time?: number; end_time?: number; artifact_uri: string; lifecycle_stage: string;
}

export function runInfo(r: RunView): MlflowRunInfo {
  const info: MlflowRunInfo = {
    run_id: r.id, run_uuid: r.id, run_name: r.name, experiment_id: r.experimentId, user_id: r.tags['mlflow.user'] ?? '',
    status: r.status, artifact_uri: artifactUri(r), lifecycle_stage: lifecycleOf(r.tags),
  };
  if (r.startTime !== null) info.start_time = r.startTime;
  if (r.endTime !== null) info.end_time = r.endTime;
  return info;
}

/** The tags MLflow shows: the stored ones, and for a trial its study, number and Tunehive state. */
export function runTags(r: RunView): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.tags)) if (!HIDDEN_TAGS.has(k)) tags[k] = v;
  tags['mlflow.runName'] = r.name;
  if (r.parentRunId) tags['mlflow.parentRunId'] = r.parentRunId;
  if (r.kind === 'trial' && r.studyId !== null) {
    tags['tunehive.study_id'] = r.studyId;
    tags['tunehive.trial_number'] = String(r.trialNumber);
  }
  // PRUNED and CANCELLED are both KILLED to MLflow: the tag says which.
  tags['tunehive.state'] = r.state;
  return tags;
}

export function runJson(r: RunView) {
  return {
    info: runInfo(r),
    data: {
      metrics: Object.entries(r.metrics).map(([key, m]) => ({ key, value: m.value, timestamp: m.timestamp, step: m.step })),
      params: Object.entries(r.params).map(([key, value]) => ({ key, value })),
      tags: Object.entries(runTags(r)).map(([key, value]) => ({ key, value })),
    },
    inputs: { dataset_inputs: parseInputs(r.tags[INPUTS_TAG]) },
  };
}

export function parseInputs(text: string | undefined): unknown[] {
  if (!text) return [];
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

export function experimentJson(e: ExperimentRecord) {
  const tags = Object.entries(e.tags).filter(([k]) => !HIDDEN_TAGS.has(k)).map(([key, value]) => ({ key, value }));
  if (e.description && !Object.hasOwn(e.tags, 'mlflow.note.content')) tags.push({ key: 'mlflow.note.content', value: e.description });
  tags.push({ key: 'tunehive.project', value: e.project }, { key: 'tunehive.kind', value: e.kind });
  return {
    experiment_id: e.id, name: e.name, artifact_location: `mlflow-artifacts:/${e.id}`, lifecycle_stage: lifecycleOf(e.tags),
    last_update_time: e.lastActivity || e.createdAt, creation_time: e.createdAt, tags,
  };
}
