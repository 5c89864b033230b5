/**
 * Builds the program's argv and environment from the job: `${params.NAME}` (and Katib's
 * `${trialParameters.NAME}`) placeholders are replaced inside each argument. The result is an
 * argv array handed to exec without a shell, so no parameter value can run a command.
 */
import type { ParamValue, Params } from '../shared/search-space.js';
import type { TrialRun } from '../shared/trial-job.js';

/** Numbers as JavaScript prints them (full precision, `1e-7` for tiny ones), booleans as true/false. */
export const formatParam = (v: ParamValue): string => String(v);

export function substitute(arg: string, params: Params, extra: Record<string, string> = {}): string {
  return arg.replace(/\$\{(params|trialParameters|trial)\.([A-Za-z0-9_.-]+)\}/g, (whole, scope: string, name: string) => {
    if (scope === 'trial') return Object.hasOwn(extra, name) ? extra[name]! : whole;
    return Object.hasOwn(params, name) ? formatParam(params[name]!) : whole;
  });
}

export function trialEnvironment(job: TrialRun, attempt: number, checkpointDir: string, resume: boolean, artifactDir?: string): Record<string, string> {
  const env: Record<string, string> = {
    ...job.env,
    TUNEHIVE_PARAMS: JSON.stringify(job.params),
    TUNEHIVE_TRIAL_ID: job.trialId,
    TUNEHIVE_STUDY_ID: job.studyId,
    TUNEHIVE_TRIAL_NUMBER: String(job.number),
    TUNEHIVE_ATTEMPT: String(attempt),
    TUNEHIVE_CHECKPOINT_DIR: checkpointDir,
    // Asks programs that support it to print `tunehive.checkpoint=N` after each complete save.
    TUNEHIVE_CHECKPOINT_NOTIFY: '1',
  };
  // Files written here are uploaded to the run when the program exits (or at once after a
  // `tunehive.artifact=<path>` line).
  if (artifactDir) env.TUNEHIVE_ARTIFACT_DIR = artifactDir;
  if (resume) env.TUNEHIVE_RESUME = '1';
  if (job.budget !== undefined) env.TUNEHIVE_BUDGET = String(job.budget);
  return env;
}

/**
 * MLflow's own variables, so `mlflow.log_metric` in the program logs to this trial's run on the
 * coordinator (mlflow.start_run() resumes MLFLOW_RUN_ID). The spec's `trial.env` wins: a study
 * may point its programs at another MLflow server.
 */
export function mlflowEnvironment(m: { trackingUri: string; token: string; runId: string; experimentId: string } | undefined): Record<string, string> {
  if (!m) return {};
  return { MLFLOW_TRACKING_URI: m.trackingUri, MLFLOW_TRACKING_TOKEN: m.token, MLFLOW_RUN_ID: m.runId, MLFLOW_EXPERIMENT_ID: m.experimentId };
}

export function trialArgv(job: TrialRun): string[] {
  const extra: Record<string, string> = { id: job.trialId, number: String(job.number) };
  if (job.budget !== undefined) extra.budget = String(job.budget);
  return job.command.map((a) => substitute(a, job.params, extra));
}
