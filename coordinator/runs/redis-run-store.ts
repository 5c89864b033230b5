/**
 * Experiments and runs in Redis (RunStore, run-store-contract.ts). A study is an experiment: its
 * project, name and tags are read from the study record, never copied. A trial is a run: its
 * params, state, times and metric series are read from the study store; this store keeps only
 * what a run has beyond a trial (tags, note, name, provenance) in the trial's run document,
 * which also mirrors the fields search reads. Direct runs are stored whole in their document.
 * Every key of an experiment shares its hash tag, so each write is one script in one slot.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Value } from 'typebox/value';
import { TunehiveError } from '../../shared/errors.js';
import { directRunKeys, experimentKeys, keys, trialId, runArtifactKeys } from '../../shared/redis-keys.js';
import {
  EXPERIMENT_ID, newDirectRunId, parseRunId, ProvenanceSchema, RUN_LIMITS, RUN_STATUS_OF_TRIAL,
  type Provenance, type RunRef, type RunStatus, type RunView,
} from '../../shared/run-model.js';
import { DEFAULT_PROJECT, METRIC_NAME, type StudySpec } from '../../shared/study-spec.js';
import { FINAL_TRIAL_STATES, type TrialState } from '../../shared/trial.js';
import { WIRE_LIMITS } from '../../shared/wire-limits.js';
import type { RedisStudyStore, StudyRecord } from '../store/study-store.js';
import type { CreateRunInput, ExperimentRecord, RunSearch, RunStore } from './run-store-contract.js';
import { F, family, hasNul, metricExtraField, metricField, mlflowParamString, paramField, tagField } from './run-doc.js';
import { RunSearcher } from './search/run-searcher.js';
import { fitsProvenanceSchema } from './provenance-report.js';

/** Points one direct run may store (all metrics together), as a trial's default cap. */
export const DIRECT_RUN_MAX_POINTS = 100_000;
const ENDED: ReadonlySet<string> = new Set(['FINISHED', 'FAILED', 'KILLED']);
/** A study's spec tag deleted through the API: hidden, where a missing override would show the spec's value again. */
const TOMBSTONE = '\u0000';

type Op = [field: string, op: 'S' | 'D' | 'I' | 'R' | 'N' | 'C' | 'E', value: string, indexKey: string | undefined];

const invalid = (field: string, reason: string) => new TunehiveError('TH_ERR_REQUEST_INVALID', `${field}: ${reason}`, [{ field, reason }]);
const runNotFound = (id: string) => new TunehiveError('TH_ERR_RUN_NOT_FOUND', `no run with id ${JSON.stringify(id)}`, [{ field: 'params.id', reason: `no run with id ${JSON.stringify(id)}` }]);
const experimentNotFound = (id: string, field = 'params.id') =>
  new TunehiveError('TH_ERR_EXPERIMENT_NOT_FOUND', `no experiment with id ${JSON.stringify(id)}`, [{ field, reason: `no experiment with id ${JSON.stringify(id)}` }]);

export class RedisRunStore implements RunStore {
  private readonly redis: Redis;
  private readonly p: string;
  /** Spec parts a trial run needs (a study's spec never changes), bounded like the study store's objective cache. */
  private readonly specs = new Map<string, { trialTags: Record<string, string>; project: string }>();
  readonly searcher: RunSearcher;
  /**
   * What other owners keep for a direct run or a plain experiment outside Redis (artifact bytes,
   * a project's artifact accounting): told before the run's or experiment's keys go, so a delete
   * that dies halfway is finished by repeating it.
   */
  onDeleting?: { run(runId: string): Promise<void>; experiment(id: string, project: string): Promise<void> };

  constructor(private readonly studies: RedisStudyStore, private readonly random: (n: number) => Buffer = randomBytes) {
    this.redis = studies.redis;
    this.p = studies.prefix;
    this.searcher = new RunSearcher(this.studies, this);
  }

  // ---- experiments ----

  async experimentProject(experimentId: string): Promise<string | undefined> {
    if (!EXPERIMENT_ID.test(experimentId)) return undefined;
    const project = await this.redis.hget(keys.experiment(this.p, experimentId), 'project');
    return project ?? (await this.studies.studyProject(experimentId));
  }

  async createExperiment(input: { project: string; name: string; tags?: Record<string, string>; description?: string; createdBy: string }, now = Date.now()): Promise<ExperimentRecord> {
    const name = input.name.trim();
    if (name === '' || name.length > RUN_LIMITS.nameLength) throw invalid('name', `must be 1 to ${RUN_LIMITS.nameLength} characters`);
    const tags = checkTags(input.tags ?? {}, 'tags');
    const id = newExperimentId(this.random);
    const names = keys.projectExperimentNames(this.p, input.project);
    // Names are unique in a project (as in MLflow): claimed first, released if the record cannot be written.
    if ((await this.redis.hsetnx(names, name, id)) === 0) {
      const other = await this.redis.hget(names, name);
      throw new TunehiveError('TH_ERR_EXPERIMENT_EXISTS', `project ${input.project} already has an experiment named ${JSON.stringify(name)} (${other})`,
        [{ field: 'name', reason: `already used by experiment ${other}` }]);
    }
    try {
      const r = await this.studies.script('createExperiment-2', [keys.experiment(this.p, id), keys.experimentTags(this.p, id)],
        [input.project, name, input.description ?? '', String(now), input.createdBy, ...Object.entries(tags).flat()]);
      if (Number(r) !== 1) throw new TunehiveError('TH_ERR_EXPERIMENT_EXISTS', `experiment id ${id} is taken; retry`, [{ field: '(request)', reason: 'id collision' }]);
    } catch (err) {
      await this.redis.hdel(names, name);
      throw err;
    }
    await this.redis.zadd(keys.projectExperiments(this.p, input.project), String(now), id);
    return (await this.getExperiment(id))!;
  }

  async getExperiment(id: string): Promise<ExperimentRecord | undefined> {
    if (!EXPERIMENT_ID.test(id)) return undefined;
    const [[, h], [, tags]] = (await this.redis.pipeline().hgetall(keys.experiment(this.p, id)).hgetall(keys.experimentTags(this.p, id)).exec()) as
      [[unknown, Record<string, string>], [unknown, Record<string, string>]];
    if (h.kind === 'plain') return plainExperiment(id, h, tags);
    const study = await this.studies.getStudy(id);
    return study ? studyExperiment(study, h, tags) : undefined;
  }

  /** The study record behind a study's experiment (the routes show its progress). */
  study(id: string): Promise<StudyRecord | undefined> {
    return this.studies.getStudy(id);
  }

  async listExperiments(projects: readonly string[] | undefined, o: { offset: number; limit: number; nameContains?: string }): Promise<{ total: number; experiments: ExperimentRecord[] }> {
    const names = projects ? [...projects] : await this.redis.zrange(keys.projects(this.p), "0", "-1");
    if (projects === undefined && !names.includes(DEFAULT_PROJECT)) names.push(DEFAULT_PROJECT);
    const pipe = this.redis.pipeline();
    for (const name of names) pipe.zrange(keys.projectExperiments(this.p, name), "0", "-1").zrange(keys.projectStudies(this.p, name), "0", "-1");
    const ids = [...new Set(((await pipe.exec()) ?? []).flatMap(([, v]) => v as string[]))];
    const all: ExperimentRecord[] = [];
    // Bounded batches: a project with many studies is read 500 records per round trip.
    for (let i = 0; i < ids.length; i += 500) {
      const recs = await Promise.all(ids.slice(i, i + 500).map((id) => this.getExperiment(id)));
      for (const r of recs) if (r) all.push(r);
    }
    const needle = o.nameContains?.toLowerCase();
    const hits = needle ? all.filter((e) => e.name.toLowerCase().includes(needle)) : all;
    hits.sort((a, b) => b.lastActivity - a.lastActivity || (a.id < b.id ? -1 : 1));
    return { total: hits.length, experiments: hits.slice(o.offset, o.offset + o.limit) };
  }

  async setExperimentTags(id: string, tags: Record<string, string | null>): Promise<void> {
    const exp = await this.getExperiment(id);
    if (!exp) throw experimentNotFound(id);
    checkTags(tags, 'tags');
    const specTags = exp.kind === 'study' ? ((await this.studies.getStudy(id))?.spec.tags ?? {}) : {};
    const args: string[] = [];
    for (const [key, v] of Object.entries(tags)) {
      if (v !== null) args.push(key, 'S', v);
      else args.push(key, Object.hasOwn(specTags, key) ? 'T' : 'D', '');
    }
    if (args.length === 0) return;
    // checkTags bounds one call; the experiment's total is bounded in the script, across calls.
    const r = await this.studies.script('setExperimentTags-1', [keys.experimentTags(this.p, id)], [RUN_LIMITS.tagsPerRun, TOMBSTONE, ...args]);
    if (Number(r) !== 1) throw invalid('tags', `an experiment has at most ${RUN_LIMITS.tagsPerRun} tags`);
  }

  async updateExperiment(id: string, patch: { name?: string; description?: string }): Promise<ExperimentRecord> {
    const exp = await this.getExperiment(id);
    if (!exp) throw experimentNotFound(id);
    if (exp.kind === 'study' && patch.name !== undefined) throw invalid('name', "a study's experiment is named by its study's spec");
    const k = keys.experiment(this.p, id);
    if (patch.name !== undefined && patch.name.trim() !== exp.name) {
      const name = patch.name.trim();
      if (name === '' || name.length > RUN_LIMITS.nameLength) throw invalid('name', `must be 1 to ${RUN_LIMITS.nameLength} characters`);
      const names = keys.projectExperimentNames(this.p, exp.project);
      if ((await this.redis.hsetnx(names, name, id)) === 0) throw new TunehiveError('TH_ERR_EXPERIMENT_EXISTS', `name ${JSON.stringify(name)} is taken in ${exp.project}`, [{ field: 'name', reason: 'already used in the project' }]);
      await this.redis.hset(k, 'name', name);
      await this.redis.hdel(names, exp.name);
    }
    if (patch.description !== undefined) await this.redis.hset(k, 'description', patch.description);
    return (await this.getExperiment(id))!;
  }

  /**
   * Every key of an experiment's runs data beyond its fixed keys: its direct runs' keys and its
   * per-name indexes. A study's deletion unlinks these before the study's own keys.
   */
  async experimentDataKeys(id: string): Promise<string[]> {
    const p = this.p;
    const out: string[] = [];
    const names = await this.redis.hkeys(keys.runIndexNames(p, id));
    for (const n of names) out.push(indexKeyOf(p, id, n.slice(0, 2), n.slice(2)));
    for (let from = 0; ; from += 1000) {
      const runs = await this.redis.zrange(keys.experimentDirectRuns(p, id), String(from), String(from + 999));
      if (runs.length === 0) break;
      const pipe = this.redis.pipeline();
      for (const r of runs) pipe.hkeys(keys.directRun(p, id, suffixOf(r)));
      const rows = (await pipe.exec()) ?? [];
      runs.forEach((r, i) => {
        const fields = (rows[i]?.[1] ?? []) as string[];
        out.push(...directRunKeys(p, id, suffixOf(r), fields.filter((f) => f.startsWith('x:')).map((f) => f.slice(2))), ...runArtifactKeys(p, id, r));
      });
    }
    return out;
  }

  /** Deletes a plain experiment with all its runs (a study's goes with its study: StudyDeleter). */
  async deleteExperiment(id: string): Promise<{ runs: number; keys: number }> {
    const exp = await this.getExperiment(id);
    if (!exp) throw experimentNotFound(id);
    if (exp.kind === 'study') throw new TunehiveError('TH_ERR_STUDY_MODE', `experiment ${id} is a study's: delete the study (DELETE /api/v1/studies/${id})`, [{ field: 'params.id', reason: "a study's experiment is deleted with its study" }]);
    const runs = await this.redis.zcard(keys.experimentDirectRuns(this.p, id));
    // Out of the listing first: a half-done delete is invisible and finished by repeating it.
    await this.redis.pipeline().zrem(keys.projectExperiments(this.p, exp.project), id).hdel(keys.projectExperimentNames(this.p, exp.project), exp.name).exec();
    await this.onDeleting?.experiment(id, exp.project);
    const list = [...(await this.experimentDataKeys(id)), ...experimentKeys(this.p, id)];
    return { runs, keys: await this.studies.unlinkKeys(list) };
  }

  // ---- runs ----

  async createRun(input: CreateRunInput, now = Date.now()): Promise<RunView> {
    const e = input.experimentId;
    const project = await this.experimentProject(e);
    if (!project) throw experimentNotFound(e, 'experimentId');
    if (input.parentRunId !== undefined) {
      const parent = parseRunId(input.parentRunId);
      if (!parent || (await this.experimentProject(parent.experimentId)) !== project || !(await this.exists(parent))) {
        throw invalid('parentRunId', `no run ${JSON.stringify(input.parentRunId)} in project ${project}`);
      }
    }
    const status = input.status ?? 'RUNNING';
    const name = input.name ?? '';
    if (name.length > RUN_LIMITS.nameLength || hasNul(name)) throw invalid('name', `must be at most ${RUN_LIMITS.nameLength} characters`);
    const params = checkParams(input.params ?? {});
    const tags = checkTags(input.tags ?? {}, 'tags');
    const start = input.startTime ?? now;
    const id = newDirectRunId(e, this.random);
    const ops: Op[] = [
      [F.name, 'S', name || id.slice(e.length + 1), undefined], [F.status, 'S', status, undefined], [F.state, 'S', status, undefined],
      [F.start, 'S', String(start), undefined], [F.by, 'S', input.createdBy, undefined],
    ];
    if (ENDED.has(status)) ops.push([F.end, 'S', String(now), undefined]);
    if (input.parentRunId) ops.push([F.parent, 'S', input.parentRunId, undefined]);
    for (const [k, v] of Object.entries(params)) ops.push([paramField(k), 'S', v, keys.runIndexParam(this.p, e, k)]);
    for (const [k, v] of Object.entries(tags)) ops.push([tagField(k), 'S', v, keys.runIndexTag(this.p, e, k)]);
    const r = await this.write(e, keys.directRun(this.p, e, suffixOf(id)), id, 'create', now, now, true, ops);
    if (r[0] !== 1) throw new TunehiveError('TH_ERR_STORE_REFUSED', `run id ${id} was taken; retry`);
    return (await this.getRun(id))!;
  }

  /**
   * Creates many direct runs of one experiment, whole (params, tags, status, times, one point per
   * metric), pipelined 500 script calls per round trip: imports (and the search bench) write
   * 100,000 runs in seconds instead of one request each. Returns the new run ids.
   */
  async importRuns(experimentId: string, inputs: ReadonlyArray<CreateRunInput & { endTime?: number; metrics?: Record<string, number> }>, now = Date.now()): Promise<string[]> {
    const e = experimentId;
    if (!(await this.experimentProject(e))) throw experimentNotFound(e, 'experimentId');
    const ids: string[] = [];
    for (let i = 0; i < inputs.length; i += 500) {
      const pipe = this.redis.pipeline() as unknown as Record<string, (...a: (string | number)[]) => unknown> & { exec(): Promise<Array<[Error | null, unknown]> | null> };
      for (const input of inputs.slice(i, i + 500)) {
        const id = newDirectRunId(e, this.random);
        ids.push(id);
        const status = input.status ?? 'RUNNING';
        const start = input.startTime ?? now;
        const ops: Op[] = [[F.name, 'S', input.name ?? id.slice(e.length + 1), undefined], [F.status, 'S', status, undefined], [F.state, 'S', status, undefined],
          [F.start, 'S', String(start), undefined], [F.by, 'S', input.createdBy, undefined]];
        if (input.endTime !== undefined) ops.push([F.end, 'S', String(input.endTime), undefined]);
        for (const [k, v] of Object.entries(checkParams(input.params ?? {}))) ops.push([paramField(k), 'S', v, keys.runIndexParam(this.p, e, k)]);
        for (const [k, v] of Object.entries(checkTags(input.tags ?? {}, 'tags'))) ops.push([tagField(k), 'S', v, keys.runIndexTag(this.p, e, k)]);
        const metrics = Object.entries(input.metrics ?? {});
        if (metrics.length > 0) ops.push([F.points, 'N', String(metrics.length), String(DIRECT_RUN_MAX_POINTS)]);
        for (const [k, v] of metrics) {
          if (!METRIC_NAME.test(k) || !Number.isFinite(v)) throw invalid(`metrics.${k}`, 'must be a metric name with a finite value');
          ops.push(['', 'R', `0\t${v}\t${start}`, keys.directRunSeries(this.p, e, suffixOf(id), k)],
            [metricField(k), 'S', String(v), keys.runIndexMetric(this.p, e, k)], [metricExtraField(k), 'S', `0\t${start}`, undefined]);
        }
        const { keyList, args } = this.writeArgs(e, keys.directRun(this.p, e, suffixOf(id)), id, 'create', now, start, true, ops);
        pipe.th_writeRun!(keyList.length, ...keyList, ...args);
      }
      for (const [err] of (await pipe.exec()) ?? []) if (err) throw err;
    }
    return ids;
  }

  async getRun(runId: string): Promise<RunView | undefined> {
    return (await this.getRuns([runId]))[0];
  }

  async getRuns(runIds: readonly string[]): Promise<Array<RunView | undefined>> {
    const refs = runIds.map((id) => parseRunId(id));
    // Direct runs: their documents and provenance in one pipeline, each experiment's project once.
    const direct = refs.flatMap((r, i) => (r?.kind === 'direct' ? [{ r, i }] : []));
    const projects = new Map<string, Promise<string | undefined>>();
    const projectOf = (e: string) => {
      let p = projects.get(e);
      if (!p) projects.set(e, (p = this.experimentProject(e)));
      return p;
    };
    const out: Array<RunView | undefined> = new Array(runIds.length).fill(undefined);
    const pipe = this.redis.pipeline();
    for (const { r } of direct) pipe.hgetall(this.docKey(r)).hgetall(this.provenanceKey(r));
    const rows = direct.length > 0 ? ((await pipe.exec()) ?? []) : [];
    await Promise.all([
      ...direct.map(async ({ r, i }, j) => {
        const project = await projectOf(r.experimentId);
        const h = rows[2 * j]?.[1] as Record<string, string> | undefined;
        if (project && h) out[i] = directViewOf(r, project, h, (rows[2 * j + 1]?.[1] ?? {}) as Record<string, string>);
      }),
      ...refs.map(async (r, i) => {
        if (r?.kind === 'trial') out[i] = await this.trialView(r);
      }),
    ]);
    return out;
  }

  async updateRun(runId: string, patch: { name?: string; status?: RunStatus; endTime?: number; note?: string }, now = Date.now()): Promise<RunView> {
    const ref = parseRunId(runId);
    if (!ref || !(await this.exists(ref))) throw runNotFound(runId);
    const ops: Op[] = [];
    if (patch.name !== undefined) {
      if (patch.name.length > RUN_LIMITS.nameLength || hasNul(patch.name)) throw invalid('name', `must be at most ${RUN_LIMITS.nameLength} characters`);
      ops.push([F.name, 'S', patch.name, undefined]);
    }
    if (patch.note !== undefined) {
      if (Buffer.byteLength(patch.note) > RUN_LIMITS.noteBytes) throw invalid('note', `must be at most ${RUN_LIMITS.noteBytes} bytes`);
      ops.push([F.note, 'S', patch.note, undefined]);
    }
    if (patch.status !== undefined || patch.endTime !== undefined) {
      if (ref.kind === 'trial') throw invalid(patch.status !== undefined ? 'status' : 'endTime', "a trial run's status and times follow its trial (stop the trial instead)");
      if (patch.status !== undefined) ops.push([F.status, 'S', patch.status, undefined], [F.state, 'S', patch.status, undefined]);
      // MLflow's terminate: an ending status without an end time ends it now.
      const end = patch.endTime ?? (patch.status && ENDED.has(patch.status) ? now : undefined);
      if (end !== undefined) ops.push([F.end, 'S', String(end), undefined]);
      else if (patch.status !== undefined) ops.push([F.end, 'D', '', undefined]);
    }
    if (ops.length > 0) {
      if (ref.kind === 'trial') await this.ensureTrialDoc(ref);
      const r = await this.write(ref.experimentId, this.docKey(ref), runId, 'update', now, now, false, ops);
      if (r[0] !== 1) throw runNotFound(runId);
    }
    return (await this.getRun(runId))!;
  }

  async setTags(runId: string, tags: Record<string, string | null>, now = Date.now()): Promise<void> {
    const ref = parseRunId(runId);
    if (!ref || !(await this.exists(ref))) throw runNotFound(runId);
    checkTags(tags, 'tags');
    if (ref.kind === 'trial') await this.ensureTrialDoc(ref);
    const docKey = this.docKey(ref);
    const ops: Op[] = Object.entries(tags).map(([k, v]) => [tagField(k), v === null ? 'D' : 'S', v ?? '', keys.runIndexTag(this.p, ref.experimentId, k)]);
    if (ops.length === 0) return;
    // The cap is counted by the script: a count read here first let concurrent calls each pass it.
    ops.push(['t:', 'C', String(RUN_LIMITS.tagsPerRun), undefined]);
    const r = await this.write(ref.experimentId, docKey, runId, 'update', now, now, false, ops);
    if (r[0] === -3) throw invalid('tags', `a run has at most ${RUN_LIMITS.tagsPerRun} tags`);
    if (r[0] !== 1) throw runNotFound(runId);
  }

  async logParams(runId: string, params: Record<string, string>): Promise<void> {
    const ref = parseRunId(runId);
    if (!ref) throw runNotFound(runId);
    if (ref.kind === 'trial') throw invalid('params.id', "a trial run's params come from its study's sampler");
    const checked = checkParams(params);
    const docKey = this.docKey(ref);
    const status = await this.redis.hget(docKey, F.status);
    if (status === null) throw runNotFound(runId);
    if (ENDED.has(status)) throw new TunehiveError('TH_ERR_RUN_ENDED', `run ${runId} is ${status}: it takes no more params`, [{ field: 'params.id', reason: `the run is ${status}` }]);
    const ops: Op[] = Object.entries(checked).map(([k, v]) => [paramField(k), 'S', v, keys.runIndexParam(this.p, ref.experimentId, k)]);
    if (ops.length === 0) return;
    // checkParams bounds one call; the run's total is bounded here, across calls.
    ops.push(['p:', 'C', String(RUN_LIMITS.paramsPerRun), undefined]);
    const r = await this.write(ref.experimentId, docKey, runId, 'params', Date.now(), Date.now(), false, ops);
    if (r[0] === -1) throw runNotFound(runId);
    if (r[0] === -3) throw invalid('params', `a run has at most ${RUN_LIMITS.paramsPerRun} params`);
    if (r[0] === 0) {
      const key = String(r[1]).slice(2);
      throw new TunehiveError('TH_ERR_RUN_PARAM_CHANGED', `param ${JSON.stringify(key)} of run ${runId} is ${JSON.stringify(r[2])}; it cannot be changed to ${JSON.stringify(r[3])} (params are set once; nothing of this call was applied)`,
        [{ field: `params.${key}`, reason: `already set to ${JSON.stringify(r[2])}, cannot become ${JSON.stringify(r[3])}` }]);
    }
  }

  async logMetrics(runId: string, points: ReadonlyArray<{ name: string; value: number; step: number; timeMs: number }>): Promise<void> {
    const ref = parseRunId(runId);
    if (!ref) throw runNotFound(runId);
    if (ref.kind === 'trial') throw invalid('params.id', "a trial run's metrics come from its worker");
    if (points.length > WIRE_LIMITS.batchPoints) throw invalid('metrics', `at most ${WIRE_LIMITS.batchPoints} points per call`);
    points.forEach((pt, i) => {
      if (!METRIC_NAME.test(pt.name)) throw invalid(`metrics.${i}.name`, 'must be a metric name (a letter or _, then letters, digits, _ . / -; at most 100)');
      if (!Number.isFinite(pt.value)) throw invalid(`metrics.${i}.value`, 'must be a finite number');
      if (!Number.isSafeInteger(pt.step) || pt.step < 0) throw invalid(`metrics.${i}.step`, 'must be an integer >= 0');
      if (!Number.isSafeInteger(pt.timeMs) || pt.timeMs < 0) throw invalid(`metrics.${i}.timestamp`, 'must be ms since the epoch');
    });
    if (points.length === 0) return;
    const docKey = this.docKey(ref);
    const status = await this.redis.hget(docKey, F.status);
    if (status === null) throw runNotFound(runId);
    if (ENDED.has(status)) throw new TunehiveError('TH_ERR_RUN_ENDED', `run ${runId} is ${status}: it takes no more metrics`, [{ field: 'params.id', reason: `the run is ${status}` }]);
    const e = ref.experimentId;
    const s = suffixOf(runId);
    const ops: Op[] = [[F.points, 'N', String(points.length), String(DIRECT_RUN_MAX_POINTS)]];
    const last = new Map<string, { value: number; step: number; timeMs: number }>();
    for (const pt of points) {
      ops.push(['', 'R', `${pt.step}\t${pt.value}\t${pt.timeMs}`, keys.directRunSeries(this.p, e, s, pt.name)]);
      last.set(pt.name, pt);
    }
    // The latest point is the last one logged (as for a trial, whose points arrive in order).
    for (const [name, pt] of last) {
      ops.push([metricField(name), 'S', String(pt.value), keys.runIndexMetric(this.p, e, name)], [metricExtraField(name), 'S', `${pt.step}\t${pt.timeMs}`, undefined]);
    }
    const r = await this.write(e, docKey, runId, 'metrics', Date.now(), Date.now(), false, ops);
    if (r[0] === -1) throw runNotFound(runId);
    if (r[0] === -2) throw new TunehiveError('TH_ERR_WIRE_TOO_LARGE', `run ${runId} would store more than ${DIRECT_RUN_MAX_POINTS} metric points`, [{ field: 'metrics', reason: `at most ${DIRECT_RUN_MAX_POINTS} points per run` }]);
  }

  async setProvenance(runId: string, provenance: Provenance): Promise<void> {
    const ref = parseRunId(runId);
    if (!ref) throw runNotFound(runId);
    if (!fitsProvenanceSchema(provenance)) {
      if (!(await this.exists(ref))) throw runNotFound(runId);
      const first = [...Value.Errors(ProvenanceSchema, provenance)][0];
      const path = (first as { instancePath?: string; path?: string } | undefined);
      const where = (path?.instancePath ?? path?.path ?? '').split('/').filter(Boolean).join('.');
      throw invalid(where ? `provenance.${where}` : 'provenance', first?.message ?? 'does not match the provenance schema');
    }
    // Written, then the run checked, in one round trip (once per attempt on the trial path): a
    // run missing after the write (unknown, or deleted meanwhile) takes the record with it.
    const [, there] = await Promise.all([this.redis.hset(this.provenanceKey(ref), String(provenance.attempt), JSON.stringify(provenance)), this.redis.hexists(...this.existsField(ref))]);
    if (Number(there) !== 1) {
      await this.redis.unlink(this.provenanceKey(ref));
      throw runNotFound(runId);
    }
  }

  async provenanceOf(runId: string): Promise<Provenance[]> {
    const ref = parseRunId(runId);
    if (!ref) return [];
    const h = await this.redis.hgetall(this.provenanceKey(ref));
    return Object.entries(h).sort(([a], [b]) => Number(a) - Number(b)).map(([, v]) => JSON.parse(v) as Provenance);
  }

  async metricHistory(runId: string, name: string, o: { offset: number; limit: number }): Promise<{ total: number; points: Array<{ step: number; value: number; timeMs: number }> }> {
    const ref = parseRunId(runId);
    if (!ref) throw runNotFound(runId);
    const limit = Math.max(0, o.limit);
    if (ref.kind === 'trial') {
      const total = Number((await this.redis.hget(keys.metricCounts(this.p, ref.experimentId, ref.trialNumber), name)) ?? 0);
      if (limit === 0 || o.offset >= total) return { total, points: [] };
      const pts = await this.studies.readSeries(ref.experimentId, ref.trialNumber, name, o.offset, o.offset + limit - 1);
      return { total, points: pts.map(({ step, value, timeMs }) => ({ step, value, timeMs })) };
    }
    const k = keys.directRunSeries(this.p, ref.experimentId, suffixOf(runId), name);
    const [[, total], [, rows]] = (await this.redis.pipeline().llen(k).lrange(k, o.offset, limit === 0 ? o.offset - 1 : o.offset + limit - 1).exec()) as [[unknown, number], [unknown, string[]]];
    return {
      total: Number(total),
      points: (limit === 0 ? [] : rows).map((r) => {
        const [step, value, t] = r.split('\t');
        return { step: Number(step), value: Number(value), timeMs: Number(t) };
      }),
    };
  }

  async deleteRun(runId: string): Promise<boolean> {
    const ref = parseRunId(runId);
    if (!ref) return false;
    if (ref.kind === 'trial') throw invalid('params.id', "a trial run is deleted with its study (DELETE /api/v1/studies/:id)");
    const e = ref.experimentId;
    const docKey = this.docKey(ref);
    await this.onDeleting?.run(runId);
    const fields = (await this.redis.hkeys(docKey)).filter((f) => /^[ptm]:/.test(f));
    const r = (await this.studies.script('deleteRun-12', [...this.fixedKeys(e, docKey), ...fields.map((f) => indexKeyOf(this.p, e, f.slice(0, 2), f.slice(2)))], [runId, ...fields])) as Array<string | number>;
    // The script's names, not only `fields`: a series first logged after the read above has no other owner.
    const metricNames = new Set([...fields.filter((f) => f.startsWith('m:')).map((f) => f.slice(2)), ...r.slice(1).map(String)]);
    await this.studies.unlinkKeys(directRunKeys(this.p, e, suffixOf(runId), [...metricNames]).slice(1));
    return Number(r[0]) === 1;
  }

  search(q: RunSearch): Promise<{ runs: RunView[]; nextPageToken: string | null }> {
    return this.searcher.search(q);
  }

  // ---- trial runs: the index follows the trial (RedisStudyStore.onTrialChanged) ----

  /**
   * Mirrors a trial's state, status and times into its run document and the indexes; at the
   * trial's first indexing also its params (as MLflow strings), name and spec tags. Idempotent:
   * it reads the trial hash, the source of truth (or is handed it: read by the store in the
   * transition's own round trip, just after it).
   */
  async indexTrial(studyId: string, number: number, now = Date.now(), trial?: Record<string, string>): Promise<void> {
    const [state, startedAt, finishedAt, createdAt, params] = trial
      ? [trial.state, trial.startedAt, trial.finishedAt, trial.createdAt, trial.params]
      : await this.redis.hmget(keys.trial(this.p, studyId, number), 'state', 'startedAt', 'finishedAt', 'createdAt', 'params');
    if (state === null || state === undefined) return;
    const spec = await this.specOf(studyId);
    if (!spec) return;
    const runId = trialId(studyId, number);
    const status = RUN_STATUS_OF_TRIAL[state as TrialState] ?? 'RUNNING';
    const ended = FINAL_TRIAL_STATES.includes(state as TrialState);
    const ops: Op[] = [
      [F.state, 'S', state, undefined], [F.status, 'S', status, undefined],
      startedAt ? [F.start, 'S', startedAt, undefined] : [F.start, 'D', '', undefined],
      ended && finishedAt ? [F.end, 'S', finishedAt, undefined] : [F.end, 'D', '', undefined],
      [F.name, 'I', runId, undefined],
    ];
    for (const [k, v] of Object.entries(JSON.parse(params ?? '{}') as Record<string, string | number | boolean>)) {
      ops.push([paramField(k), 'I', mlflowParamString(v), keys.runIndexParam(this.p, studyId, k)]);
    }
    for (const [k, v] of Object.entries(spec.trialTags)) ops.push([tagField(k), 'I', v, keys.runIndexTag(this.p, studyId, k)]);
    await this.write(studyId, keys.trialRun(this.p, studyId, number), runId, 'ensure', now, Number(createdAt ?? now), false, [trialExists(this.p, studyId, number), ...ops]);
  }

  /**
   * Indexes the trial runs of studies from before runs existed: a study whose experiment hash
   * was never written (every run write sets its lastActivity) gets each trial's run document,
   * latest metric values included. Bounded work per study (one trial at a time); `stop` ends it
   * early (the coordinator closing). Returns the studies indexed.
   */
  async backfillStudies(stop: () => boolean = () => false): Promise<number> {
    let done = 0;
    for (let from = 0; !stop(); from += 500) {
      const ids = await this.redis.zrange(keys.studies(this.p), String(from), String(from + 499));
      if (ids.length === 0) break;
      for (const id of ids) {
        if (stop()) break;
        if (await this.redis.hexists(keys.experiment(this.p, id), 'lastActivity')) continue;
        const created = Number((await this.redis.hget(keys.study(this.p, id), 'nextNumber')) ?? 0);
        for (let n = 0; n < created && !stop(); n++) {
          await this.indexTrial(id, n);
          await this.indexTrialMetrics(id, n);
        }
        done++;
      }
    }
    return done;
  }

  /** Writes a trial's latest metric values into its run document and the metric indexes (backfill). */
  async indexTrialMetrics(studyId: string, number: number): Promise<void> {
    const counts = await this.studies.metricCounts(studyId, number);
    if (counts.size === 0) return;
    const last = await this.studies.lastPoints(studyId, number, [...counts.keys()]);
    const ops: Op[] = [...last].map(([name, pt]) => [metricField(name), 'S', String(pt.value), keys.runIndexMetric(this.p, studyId, name)]);
    await this.write(studyId, keys.trialRun(this.p, studyId, number), trialId(studyId, number), 'ensure', Date.now(), Date.now(), false, [trialExists(this.p, studyId, number), ...ops]);
  }

  private async ensureTrialDoc(ref: Extract<RunRef, { kind: 'trial' }>): Promise<void> {
    if (!(await this.redis.hexists(keys.trialRun(this.p, ref.experimentId, ref.trialNumber), F.created))) await this.indexTrial(ref.experimentId, ref.trialNumber);
  }

  private async specOf(studyId: string): Promise<{ trialTags: Record<string, string>; project: string; rerunOf?: string } | undefined> {
    const hit = this.specs.get(studyId);
    if (hit) return hit;
    const [spec, project] = await this.redis.hmget(keys.study(this.p, studyId), 'spec', 'project');
    if (spec === null || spec === undefined) return undefined;
    const parsed = JSON.parse(spec) as StudySpec;
    const v = { trialTags: parsed.trial?.tags ?? {}, project: project ?? parsed.project ?? DEFAULT_PROJECT, ...(parsed.rerun ? { rerunOf: parsed.rerun.of } : {}) };
    if (this.specs.size >= 10_000) this.specs.delete(this.specs.keys().next().value!);
    this.specs.set(studyId, v);
    return v;
  }

  // ---- views ----

  private async trialView(ref: Extract<RunRef, { kind: 'trial' }>): Promise<RunView | undefined> {
    const { experimentId: s, trialNumber: n } = ref;
    const [trial, spec, counts, [[, doc], [, prov]]] = await Promise.all([
      this.studies.getTrial(s, n), this.specOf(s), this.studies.metricCounts(s, n),
      this.redis.pipeline().hgetall(keys.trialRun(this.p, s, n)).hgetall(keys.trialProvenance(this.p, s, n)).exec() as Promise<[[unknown, Record<string, string>], [unknown, Record<string, string>]]>,
    ]);
    if (!trial || !spec) return undefined;
    const last = await this.studies.lastPoints(s, n, [...counts.keys()]);
    const metrics: RunView['metrics'] = {};
    for (const [k, pt] of last) metrics[k] = { value: pt.value, step: pt.step, timestamp: pt.timeMs };
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(trial.params)) params[k] = mlflowParamString(v);
    // Before its first indexing a trial's tags are its spec's; after it the document holds the effective set.
    const tags = doc[F.created] ? family(doc, 't:') : { ...spec.trialTags, ...family(doc, 't:') };
    const ended = FINAL_TRIAL_STATES.includes(trial.state);
    return {
      id: ref.runId, experimentId: s, project: spec.project, name: doc[F.name] ?? ref.runId, kind: 'trial',
      status: RUN_STATUS_OF_TRIAL[trial.state] as ViewStatus, state: trial.state,
      startTime: trial.startedAt ?? null, endTime: ended ? (trial.finishedAt ?? null) : null, parentRunId: doc[F.parent] ?? null,
      params, metrics, tags, note: doc[F.note] ?? '', provenance: latestProvenance(prov), studyId: s, trialNumber: n, rerunOf: doc[F.rerunOf] ?? spec.rerunOf ?? null,
    };
  }

  // ---- plumbing ----

  private async exists(ref: RunRef): Promise<boolean> {
    return (await this.redis.hexists(...this.existsField(ref))) === 1;
  }

  /** The hash field whose presence says the run exists. */
  private existsField(ref: RunRef): [string, string] {
    return ref.kind === 'direct' ? [this.docKey(ref), F.created] : [keys.trial(this.p, ref.experimentId, ref.trialNumber), 'state'];
  }

  /** The run's document hash (its whole record for a direct run). */
  docKey(ref: RunRef): string {
    return ref.kind === 'trial' ? keys.trialRun(this.p, ref.experimentId, ref.trialNumber) : keys.directRun(this.p, ref.experimentId, suffixOf(ref.runId));
  }

  private provenanceKey(ref: RunRef): string {
    return ref.kind === 'trial' ? keys.trialProvenance(this.p, ref.experimentId, ref.trialNumber) : keys.directRunProvenance(this.p, ref.experimentId, suffixOf(ref.runId));
  }

  private fixedKeys(e: string, docKey: string): string[] {
    const p = this.p;
    return [docKey, keys.runIndexNames(p, e), keys.runIndexAll(p, e), keys.runIndexStart(p, e), keys.runIndexEnd(p, e),
      ...RUN_STATUSES_ORDER.map((s) => keys.runIndexStatus(p, e, s)), keys.experiment(p, e), keys.experimentDirectRuns(p, e)];
  }

  private async write(e: string, docKey: string, runId: string, mode: WriteMode, now: number, created: number, newDirect: boolean, ops: Op[]): Promise<unknown[]> {
    const { keyList, args } = this.writeArgs(e, docKey, runId, mode, now, created, newDirect, ops);
    return (await this.studies.script('writeRun-12', keyList, args)) as unknown[];
  }

  /** writeRun-12.lua's keys and arguments: per-name index keys follow the fixed ones, each once. */
  private writeArgs(e: string, docKey: string, runId: string, mode: WriteMode, now: number, created: number, newDirect: boolean, ops: Op[]): { keyList: string[]; args: (string | number)[] } {
    const extra: string[] = [];
    const pos = new Map<string, number>();
    const args: (string | number)[] = [runId, mode, now, created, newDirect ? 1 : 0];
    for (const [field, op, value, k] of ops) {
      // An 'N' op's fourth element is its cap, not an index key: it travels as the number.
      if (op === 'N') {
        args.push(field, op, value, k ?? '0');
        continue;
      }
      let at = 0;
      if (k !== undefined) {
        at = pos.get(k) ?? 0;
        if (at === 0) {
          extra.push(k);
          at = 12 + extra.length;
          pos.set(k, at);
        }
      }
      args.push(field, op, value, at);
    }
    return { keyList: [...this.fixedKeys(e, docKey), ...extra], args };
  }
}

type WriteMode = 'create' | 'update' | 'ensure' | 'params' | 'metrics';
/** The guard of a trial run's write: its trial still exists (a study deleted meanwhile gets no index keys back). */
const trialExists = (p: string, studyId: string, number: number): Op => ['', 'E', '', keys.trial(p, studyId, number)];

function directViewOf(ref: RunRef, project: string, h: Record<string, string>, prov: Record<string, string>): RunView | undefined {
  if (!h[F.created]) return undefined;
  const metrics: RunView['metrics'] = {};
  const extra = family(h, 'x:');
  for (const [k, v] of Object.entries(family(h, 'm:'))) {
    const [step, t] = (extra[k] ?? '0\t0').split('\t');
    metrics[k] = { value: Number(v), step: Number(step), timestamp: Number(t) };
  }
  return {
    id: ref.runId, experimentId: ref.experimentId, project, name: h[F.name] ?? '', kind: 'direct',
    status: (h[F.status] ?? 'RUNNING') as ViewStatus, state: h[F.state] ?? h[F.status] ?? 'RUNNING',
    startTime: optNum(h[F.start]), endTime: optNum(h[F.end]), parentRunId: h[F.parent] ?? null,
    params: family(h, 'p:'), metrics, tags: family(h, 't:'), note: h[F.note] ?? '', provenance: latestProvenance(prov),
    studyId: null, trialNumber: null, rerunOf: h[F.rerunOf] ?? null,
  };
}

/** RunViewSchema's status union is built from a mapped array, which TypeBox types as never: the value is a RunStatus. */
type ViewStatus = RunView['status'];

/** The status sets in the order writeRun-12.lua expects them. */
const RUN_STATUSES_ORDER = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'] as const satisfies readonly RunStatus[];

function indexKeyOf(p: string, e: string, fam: string, name: string): string {
  return fam === 'p:' ? keys.runIndexParam(p, e, name) : fam === 't:' ? keys.runIndexTag(p, e, name) : keys.runIndexMetric(p, e, name);
}

function suffixOf(runId: string): string {
  return runId.slice(runId.indexOf('.') + 1);
}

function optNum(v: string | undefined): number | null {
  return v === undefined || v === '' ? null : Number(v);
}

function latestProvenance(h: Record<string, string>): Provenance | null {
  const last = Object.keys(h).map(Number).sort((a, b) => b - a)[0];
  return last === undefined ? null : (JSON.parse(h[String(last)]!) as Provenance);
}

function checkTags<T extends string | null>(tags: Record<string, T>, field: string): Record<string, T> {
  const entries = Object.entries(tags);
  if (entries.length > RUN_LIMITS.tagsPerRun) throw invalid(field, `at most ${RUN_LIMITS.tagsPerRun} tags`);
  for (const [k, v] of entries) {
    if (k === '' || k.length > RUN_LIMITS.tagKeyLength || hasNul(k)) throw invalid(`${field}.${k}`, `a tag key must be 1 to ${RUN_LIMITS.tagKeyLength} characters`);
    if (v !== null && (typeof v !== 'string' || v.length > RUN_LIMITS.tagValueLength || hasNul(v))) throw invalid(`${field}.${k}`, `must be a string of at most ${RUN_LIMITS.tagValueLength} characters (or null to delete)`);
  }
  return tags;
}

function checkParams(params: Record<string, string>): Record<string, string> {
  const entries = Object.entries(params);
  if (entries.length > RUN_LIMITS.paramsPerRun) throw invalid('params', `at most ${RUN_LIMITS.paramsPerRun} params`);
  for (const [k, v] of entries) {
    if (k === '' || k.length > RUN_LIMITS.paramKeyLength || hasNul(k)) throw invalid(`params.${k}`, `a param key must be 1 to ${RUN_LIMITS.paramKeyLength} characters`);
    if (typeof v !== 'string' || v.length > RUN_LIMITS.paramValueLength || hasNul(v)) throw invalid(`params.${k}`, `must be a string of at most ${RUN_LIMITS.paramValueLength} characters`);
  }
  return params;
}

function plainExperiment(id: string, h: Record<string, string>, tags: Record<string, string>): ExperimentRecord {
  return {
    id, project: h.project ?? DEFAULT_PROJECT, name: h.name ?? id, kind: 'plain', tags, description: h.description ?? '',
    createdAt: Number(h.createdAt ?? 0), lastActivity: Number(h.lastActivity ?? h.createdAt ?? 0), runCount: Number(h.directRuns ?? 0),
  };
}

function studyExperiment(study: StudyRecord, h: Record<string, string>, own: Record<string, string>): ExperimentRecord {
  const tags: Record<string, string> = { ...(study.spec.tags ?? {}) };
  for (const [k, v] of Object.entries(own)) {
    if (v === TOMBSTONE) delete tags[k];
    else tags[k] = v;
  }
  return {
    id: study.id, project: study.project, name: study.spec.name, kind: 'study', tags, description: '',
    createdAt: study.createdAt, lastActivity: Math.max(study.updatedAt, Number(h.lastActivity ?? 0)), runCount: study.created + Number(h.directRuns ?? 0),
  };
}

function newExperimentId(random: (n: number) => Buffer): string {
  // 10 base-36 characters, as study ids (one id space: a study's experiment id is its study id).
  return Array.from(random(10), (b) => (b % 36).toString(36)).join('');
}
