/**
 * MLflow runs (service.proto CreateRun, GetRun, UpdateRun, DeleteRun, RestoreRun, LogMetric,
 * LogParam, SetTag, DeleteTag, LogBatch, LogInputs, LogModel) over Tunehive's runs.
 *
 * A trial's run is the trial: its params are the sampled ones (re-logging the same value is
 * fine, as MLflow allows; another value or a new key is INVALID_PARAMETER_VALUE), its metrics
 * go through the trial's own store transition and early-stopping rules (trial-metrics.ts), and
 * its status follows the trial: `runs/update` with a status on a trial run is accepted and
 * leaves the trial alone (mlflow.start_run()/end_run() inside a trial call it), only run_name
 * is applied. delete/restore are MLflow's soft delete (the lifecycle tag, mapping.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TunehiveError } from '../../shared/errors.js';
import { RUN_LIMITS, RUN_STATUSES, type RunStatus, type RunView } from '../../shared/run-model.js';
import { loadRun, requireActive, runIdOf, who, type MlflowDeps } from './deps.js';
import { INPUTS_TAG, LIFECYCLE_TAG, LOG_MODEL_TAG, parseInputs, runInfo, runJson } from './mapping.js';
import { trialMetricLogger, type Point } from './trial-metrics.js';
import { body, double, Double, Empty, ERROR_RESPONSES, int64, Int64, KeyValue, MlflowError, missingParam } from './wire.js';

/** LogBatch limits (the `logBatch` rpc comment in service.proto). */
export const LOG_BATCH_LIMITS = { items: 1000, metrics: 1000, params: 100, tags: 100, bytes: 1024 * 1024, keyLength: 250 } as const;

const RunId = Type.String({ minLength: 1, maxLength: 64 });
const RunIds = { run_id: RunId, run_uuid: RunId };
const MetricIn = Type.Object({ key: Type.String(), value: Double, timestamp: Int64, step: Type.Optional(Int64) });
const ParamIn = Type.Object({ key: Type.String(), value: Type.String() });
const Status = Type.Enum([...RUN_STATUSES], { description: 'RUNNING, SCHEDULED, FINISHED, FAILED or KILLED' });
const KV = Type.Object({ key: Type.String(), value: Type.String() });
export const RunInfoSchema = Type.Object({
  run_id: Type.String(), run_uuid: Type.String(), run_name: Type.String(), experiment_id: Type.String(), user_id: Type.String(), status: Type.String(),
  start_time: Type.Optional(Type.Integer()), end_time: Type.Optional(Type.Integer()), artifact_uri: Type.String(), lifecycle_stage: Type.String(),
});
export const RunSchema = Type.Object({
  info: RunInfoSchema,
  data: Type.Object({
    metrics: Type.Array(Type.Object({ key: Type.String(), value: Type.Number(), timestamp: Type.Integer(), step: Type.Integer() })),
    params: Type.Array(KV), tags: Type.Array(KV),
  }),
  inputs: Type.Object({ dataset_inputs: Type.Array(Type.Unknown()) }),
});
const RunReply = Type.Object({ run: RunSchema });
const byRun = (role: 'viewer' | 'editor', from: 'query' | 'body') => ({ run: role, idIn: [`${from}.run_id`, `${from}.run_uuid`], runToken: true } as const);

function checkKey(key: string, what: string): void {
  if (key.length === 0) throw missingParam(`${what}.key`);
  if (key.length > LOG_BATCH_LIMITS.keyLength) throw new MlflowError('INVALID_PARAMETER_VALUE', `${what} key '${key.slice(0, 40)}...' had length ${key.length}, which exceeded length limit of ${LOG_BATCH_LIMITS.keyLength}`);
}

const point = (m: { key: string; value: number | string; timestamp: number | string; step?: number | string }): Point => {
  checkKey(m.key, 'Metric');
  return { name: m.key, value: double(m.value), timeMs: int64(m.timestamp)!, step: int64(m.step) ?? 0 };
};

export async function runRoutes(app: FastifyInstance, d: MlflowDeps): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const logTrialMetrics = trialMetricLogger(d);

  const writable = async (req: FastifyRequest, runId: string): Promise<RunView> => {
    const run = await loadRun(d, req, runId);
    requireActive(run);
    return run;
  };

  const logMetrics = async (req: FastifyRequest, run: RunView, points: Point[]) => {
    if (run.kind === 'trial') await logTrialMetrics(run, who(req).attempt, points);
    else await d.runs.logMetrics(run.id, points);
  };

  const logParams = async (run: RunView, params: Array<{ key: string; value: string }>) => {
    if (params.length === 0) return;
    const map: Record<string, string> = {};
    for (const p of params) {
      checkKey(p.key, 'Param');
      if (Object.hasOwn(map, p.key) && map[p.key] !== p.value) throw new MlflowError('INVALID_PARAMETER_VALUE', `Duplicate parameter keys have been submitted: [${p.key}]`);
      map[p.key] = p.value;
    }
    if (run.kind === 'direct') {
      try {
        return await d.runs.logParams(run.id, map);
      } catch (err) {
        // MLflow's wording first: clients and users search for it.
        if (err instanceof TunehiveError && err.code === 'TH_ERR_RUN_PARAM_CHANGED') throw new MlflowError('INVALID_PARAMETER_VALUE', `Changing param values is not allowed. ${err.message}`);
        throw err;
      }
    }
    // A trial's params are what its sampler chose: re-logging them is the common case.
    for (const [k, v] of Object.entries(map)) {
      if (!Object.hasOwn(run.params, k)) {
        throw new MlflowError('INVALID_PARAMETER_VALUE', `run ${run.id} is a Tunehive trial: its params are its search space's (${Object.keys(run.params).join(', ')}); '${k}' is not one of them (log constants as tags)`);
      }
      if (run.params[k] !== v) {
        throw new MlflowError('INVALID_PARAMETER_VALUE', `Changing param values is not allowed. Param with key='${k}' was already logged with value='${run.params[k]}' for run ID='${run.id}'. Attempted logging new value '${v}'.`);
      }
    }
  };

  const setTags = async (run: RunView, tags: Array<{ key: string; value?: string }>) => {
    if (tags.length === 0) return;
    const map: Record<string, string | null> = {};
    for (const t of tags) {
      checkKey(t.key, 'Tag');
      if (t.key === LIFECYCLE_TAG || t.key === INPUTS_TAG) throw new MlflowError('INVALID_PARAMETER_VALUE', `tag ${t.key} is reserved (runs/delete, runs/restore and runs/log-inputs set it)`);
      // Last one wins within a request (the logBatch rule).
      map[t.key] = t.value ?? '';
    }
    // mlflow.runName is the run's name (MLflow keeps the two in step).
    const name = map['mlflow.runName'];
    if (typeof name === 'string') {
      delete map['mlflow.runName'];
      await d.runs.updateRun(run.id, { name });
    }
    if (Object.keys(map).length > 0) await d.runs.setTags(run.id, map);
  };

  r.post('/runs/create', {
    schema: {
      summary: 'MLflow CreateRun',
      body: body({ experiment_id: Type.String({ minLength: 1, maxLength: 64 }), user_id: Type.String({ maxLength: 250 }), run_name: Type.String({ maxLength: RUN_LIMITS.nameLength }), start_time: Int64, tags: Type.Array(KeyValue, { maxItems: RUN_LIMITS.tagsPerRun }) }, ['experiment_id']),
      response: { 200: RunReply, ...ERROR_RESPONSES },
    },
    config: { auth: { experiment: 'editor', idIn: ['body.experiment_id'] } },
  }, async (req) => {
    const p = who(req);
    const tags: Record<string, string> = {};
    for (const t of req.body.tags ?? []) {
      checkKey(t.key, 'Tag');
      tags[t.key] = t.value ?? '';
    }
    const name = req.body.run_name || tags['mlflow.runName'];
    const parent = tags['mlflow.parentRunId'];
    delete tags['mlflow.runName'];
    delete tags['mlflow.parentRunId'];
    delete tags[LIFECYCLE_TAG];
    tags['mlflow.user'] ??= req.body.user_id || p.owner;
    const exp = await d.runs.getExperiment(req.body.experiment_id);
    if (exp && exp.tags[LIFECYCLE_TAG] === 'deleted') throw new MlflowError('INVALID_PARAMETER_VALUE', `The experiment ${exp.id} must be in the 'active' state. Current state is deleted.`);
    const start = int64(req.body.start_time);
    const run = await d.runs.createRun({
      experimentId: req.body.experiment_id, tags, createdBy: p.owner,
      ...(name ? { name } : {}), ...(parent ? { parentRunId: parent } : {}), ...(start ? { startTime: start } : {}),
    });
    req.auditTarget = { runId: run.id };
    return { run: runJson(run) };
  });

  r.get('/runs/get', {
    schema: { summary: 'MLflow GetRun (run.data.metrics: the latest value of each)', querystring: body(RunIds), response: { 200: RunReply, ...ERROR_RESPONSES } },
    config: { auth: byRun('viewer', 'query') },
  }, async (req) => ({ run: runJson(await loadRun(d, req, runIdOf(req.query))) }));

  r.post('/runs/update', {
    schema: {
      summary: "MLflow UpdateRun (a trial run: run_name only; its status follows the trial)",
      body: body({ ...RunIds, status: Status, end_time: Int64, run_name: Type.String({ maxLength: RUN_LIMITS.nameLength }) }),
      response: { 200: Type.Object({ run_info: RunInfoSchema }), ...ERROR_RESPONSES },
    },
    config: { auth: byRun('editor', 'body') },
  }, async (req) => {
    const run = await writable(req, runIdOf(req.body));
    const patch: { name?: string; status?: RunStatus; endTime?: number } = {};
    if (req.body.run_name) patch.name = req.body.run_name;
    if (run.kind === 'direct') {
      if (req.body.status) patch.status = req.body.status as RunStatus;
      const end = int64(req.body.end_time);
      // A status back to RUNNING (start_run resuming a run) clears the end time, as MLflow's does.
      if (end && req.body.status !== 'RUNNING') patch.endTime = end;
    }
    const after = Object.keys(patch).length > 0 ? await d.runs.updateRun(run.id, patch) : run;
    return { run_info: runInfo(after) };
  });

  const setLifecycle = async (req: FastifyRequest, runId: string, stage: 'deleted' | null) => {
    const run = await loadRun(d, req, runId);
    await d.runs.setTags(run.id, { [LIFECYCLE_TAG]: stage });
  };
  r.post('/runs/delete', {
    schema: { summary: 'MLflow DeleteRun (soft: restorable, found with run_view_type DELETED_ONLY)', body: body(RunIds), response: { 200: Empty, ...ERROR_RESPONSES } },
    config: { auth: { run: 'editor', idIn: ['body.run_id', 'body.run_uuid'] } },
  }, async (req) => {
    await setLifecycle(req, runIdOf(req.body), 'deleted');
    return {};
  });
  r.post('/runs/restore', {
    schema: { summary: 'MLflow RestoreRun', body: body(RunIds), response: { 200: Empty, ...ERROR_RESPONSES } },
    config: { auth: { run: 'editor', idIn: ['body.run_id', 'body.run_uuid'] } },
  }, async (req) => {
    await setLifecycle(req, runIdOf(req.body), null);
    return {};
  });

  r.post('/runs/log-metric', {
    schema: { summary: 'MLflow LogMetric (a trial run: counts for its objective and early stopping)', body: body({ ...RunIds, key: Type.String(), value: Double, timestamp: Int64, step: Int64 }, ['key', 'value', 'timestamp']), response: { 200: Empty, ...ERROR_RESPONSES } },
    config: { auth: byRun('editor', 'body') },
  }, async (req) => {
    const run = await writable(req, runIdOf(req.body));
    await logMetrics(req, run, [point(req.body)]);
    return {};
  });

  r.post('/runs/log-parameter', {
    schema: { summary: 'MLflow LogParam (write-once: the same value again is fine, another is INVALID_PARAMETER_VALUE)', body: body({ ...RunIds, key: Type.String(), value: Type.String() }, ['key', 'value']), response: { 200: Empty, ...ERROR_RESPONSES } },
    config: { auth: byRun('editor', 'body') },
  }, async (req) => {
    const run = await writable(req, runIdOf(req.body));
    await logParams(run, [{ key: req.body.key, value: req.body.value }]);
    return {};
  });

  r.post('/runs/set-tag', {
    schema: { summary: 'MLflow SetTag', body: body({ ...RunIds, key: Type.String(), value: Type.String() }, ['key', 'value']), response: { 200: Empty, ...ERROR_RESPONSES } },
    config: { auth: byRun('editor', 'body') },
  }, async (req) => {
    const run = await writable(req, runIdOf(req.body));
    await setTags(run, [{ key: req.body.key, value: req.body.value }]);
    return {};
  });

  r.post('/runs/delete-tag', {
    schema: { summary: 'MLflow DeleteTag', body: body({ ...RunIds, key: Type.String() }, ['key']), response: { 200: Empty, ...ERROR_RESPONSES } },
    config: { auth: byRun('editor', 'body') },
  }, async (req) => {
    const run = await writable(req, runIdOf(req.body));
    if (!Object.hasOwn(run.tags, req.body.key) || req.body.key === LIFECYCLE_TAG || req.body.key === INPUTS_TAG) {
      throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No tag with name: ${req.body.key} in run with id ${run.id}`);
    }
    await d.runs.setTags(run.id, { [req.body.key]: null });
    return {};
  });

  r.post('/runs/log-batch', {
    schema: {
      summary: 'MLflow LogBatch: at most 1000 items (1000 metrics, 100 params, 100 tags), 1 MB, keys of at most 250 characters; params, then metrics, then tags',
      body: body({ ...RunIds, metrics: Type.Array(MetricIn), params: Type.Array(ParamIn), tags: Type.Array(KeyValue) }),
      response: { 200: Empty, ...ERROR_RESPONSES },
    },
    config: { auth: byRun('editor', 'body'), bodyLimit: LOG_BATCH_LIMITS.bytes },
  }, async (req) => {
    const { metrics = [], params = [], tags = [] } = req.body;
    const L = LOG_BATCH_LIMITS;
    // MLflow's own messages (`_validate_batch_log_limits`).
    if (metrics.length > L.metrics) throw new MlflowError('INVALID_PARAMETER_VALUE', `A batch logging request can contain at most ${L.metrics} metrics. Got ${metrics.length} metrics. Please split up metrics across multiple requests and try again.`);
    if (params.length > L.params) throw new MlflowError('INVALID_PARAMETER_VALUE', `A batch logging request can contain at most ${L.params} params. Got ${params.length} params. Please split up params across multiple requests and try again.`);
    if (tags.length > L.tags) throw new MlflowError('INVALID_PARAMETER_VALUE', `A batch logging request can contain at most ${L.tags} tags. Got ${tags.length} tags. Please split up tags across multiple requests and try again.`);
    const total = metrics.length + params.length + tags.length;
    if (total > L.items) throw new MlflowError('INVALID_PARAMETER_VALUE', `A batch logging request can contain at most ${L.items} metrics, params, and tags in total. Got ${total} entities. Please split up data across multiple requests and try again.`);
    const pts = metrics.map(point);
    for (const t of tags) checkKey(t.key, 'Tag');
    const run = await writable(req, runIdOf(req.body));
    await logParams(run, params);
    await logMetrics(req, run, pts);
    await setTags(run, tags);
    return {};
  });

  r.post('/runs/log-inputs', {
    schema: {
      summary: 'MLflow LogInputs (datasets): stored with the run and returned in run.inputs.dataset_inputs',
      body: body({ ...RunIds, datasets: Type.Array(Type.Object({
        tags: Type.Optional(Type.Array(KeyValue)),
        dataset: Type.Object({ name: Type.String(), digest: Type.String(), source_type: Type.String(), source: Type.String(), schema: Type.Optional(Type.String()), profile: Type.Optional(Type.String()) }, { additionalProperties: true }),
      }, { additionalProperties: true }), { maxItems: 100 }) }),
      response: { 200: Empty, ...ERROR_RESPONSES },
    },
    config: { auth: byRun('editor', 'body') },
  }, async (req) => {
    const run = await writable(req, runIdOf(req.body));
    const have = parseInputs(run.tags[INPUTS_TAG]) as Array<{ dataset: { name: string; digest: string } }>;
    // One entry per dataset (name, digest), as MLflow's stores keep them; the newest tags win.
    const byId = new Map(have.map((x) => [`${x.dataset.name}\u0000${x.dataset.digest}`, x]));
    for (const x of req.body.datasets ?? []) byId.set(`${x.dataset.name}\u0000${x.dataset.digest}`, x as (typeof have)[number]);
    const json = JSON.stringify([...byId.values()]);
    if (json.length > RUN_LIMITS.tagValueLength) throw new MlflowError('RESOURCE_LIMIT_EXCEEDED', `the run's datasets would take ${json.length} characters; at most ${RUN_LIMITS.tagValueLength} are kept per run`);
    await d.runs.setTags(run.id, { [INPUTS_TAG]: json });
    return {};
  });

  r.post('/runs/log-model', {
    schema: { summary: 'MLflow LogModel: the MLmodel JSON is appended to the run tag mlflow.log-model.history, as MLflow\'s server does', body: body({ ...RunIds, model_json: Type.String({ maxLength: RUN_LIMITS.tagValueLength }) }, ['model_json']), response: { 200: Empty, ...ERROR_RESPONSES } },
    config: { auth: byRun('editor', 'body') },
  }, async (req) => {
    const run = await writable(req, runIdOf(req.body));
    let model: unknown;
    try {
      model = JSON.parse(req.body.model_json);
    } catch {
      throw new MlflowError('INVALID_PARAMETER_VALUE', "Invalid value for parameter 'model_json': not JSON");
    }
    const history = parseInputs(run.tags[LOG_MODEL_TAG]);
    history.push(model);
    const json = JSON.stringify(history);
    if (json.length > RUN_LIMITS.tagValueLength) throw new MlflowError('RESOURCE_LIMIT_EXCEEDED', `${LOG_MODEL_TAG} would take ${json.length} characters; at most ${RUN_LIMITS.tagValueLength}`);
    await d.runs.setTags(run.id, { [LOG_MODEL_TAG]: json });
    return {};
  });
}
