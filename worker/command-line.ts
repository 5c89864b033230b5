/**
 * Builds the program's argv and environment from the job: `${params.NAME}` (and Katib's
 * `${trialParameters.NAME}`) placeholders are replaced inside each argument. The result is an
 * argv array handed to exec without a shell, so no parameter value can run a command.
 *
 * Conditional parameters: a trial's params hold only its active parameters, and the spec's
 * validation has made sure every placeholder names a parameter of the space, so a name missing
 * from the params is an inactive parameter: its placeholder becomes the empty string (an
 * argument of its own stays in argv as "", `--lr=${params.lr}` becomes `--lr=`), never the
 * literal placeholder text, which a program would take for a value. TUNEHIVE_PARAMS is the
 * params as they are, so inactive parameters are absent from it.
 */
import type { ParamValue, Params } from '../shared/search-space.js';
import type { TrialRun } from '../shared/trial-job.js';

/** Numbers as JavaScript prints them (full precision, `1e-7` for tiny ones), booleans as true/false. */
export const formatParam = (v: ParamValue): string => String(v);

export function substitute(arg: string, params: Params, extra: Record<string, string> = {}): string {
  return arg.replace(/\$\{(params|trialParameters|trial)\.([A-Za-z0-9_.-]+)\}/g, (whole, scope: string, name: string) => {
    if (scope === 'trial') return Object.hasOwn(extra, name) ? extra[name]! : whole;
    return Object.hasOwn(params, name) ? formatParam(params[name]!) : '';
  });
}

/** The trial's own placeholders: `${trial.id}`, `${trial.number}`, `${trial.budget}`. */
export function trialValues(job: TrialRun): Record<string, string> {
  const extra: Record<string, string> = { id: job.trialId, number: String(job.number) };
  if (job.budget !== undefined) extra.budget = String(job.budget);
  return extra;
}

export function trialEnvironment(job: TrialRun, attempt: number, checkpointDir: string, resume: boolean, artifactDir?: string): Record<string, string> {
  const extra = trialValues(job);
  // Placeholders in values too: Katib templates pass parameters as `env: [{value: ${trialParameters.lr}}]`.
  const own = Object.fromEntries(Object.entries(job.env).map(([k, v]) => [k, substitute(v, job.params, extra)]));
  const env: Record<string, string> = {
    ...own,
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
  if (job.seed !== undefined) env.TUNEHIVE_SEED = String(job.seed);
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
  const extra = trialValues(job);
  return job.command.map((a) => substitute(a, job.params, extra));
}
