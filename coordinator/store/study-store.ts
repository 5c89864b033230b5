/**
 * Studies and trials in Redis, the system of record. Every state change that must happen
 * exactly once is one Lua script (coordinator/store/lua, key count in the file name); reads are
 * plain commands and may be a moment stale.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type RedisClient, slotMulti, spreadPipeline } from '../../shared/redis.js';
import type { Params } from '../../shared/search-space.js';
import { DEFAULT_PROJECT, type ObjectiveStrategy, type StudySpec } from '../../shared/study-spec.js';
import type { StudyState, TrialState } from '../../shared/trial.js';
import { keys, studyKeys, TRIAL_STATE_SPAN, trialId, trialKeys, trialStateScore } from '../../shared/redis-keys.js';
import { expandLuaIncludes } from './lua-includes.js';
import type { StudyStore } from './study-store-contract.js';
import { WIRE_LIMITS } from '../../shared/wire-limits.js';
import { hashSecret, secretMatches } from '../auth/token-format.js';

export interface StudyCounts { queued: number; running: number; completed: number; failed: number; pruned: number; paused: number; cancelled: number }
export interface StudyRecord {
  id: string;
  /** The project (tenant) it belongs to; studies from before projects existed are in "default". */
  project: string;
  spec: StudySpec;
  state: StudyState;
  reason?: string;
  createdAt: number;
  updatedAt: number;
  finishedAt?: number;
  /** Trials created so far (the next trial's number). */
  created: number;
  counts: StudyCounts;
  best?: { number: number; value: number };
}

export interface TrialRecord {
  id: string;
  studyId: string;
  number: number;
  state: TrialState;
  params: Params;
  attempt: number;
  value?: number;
  /** Last reported objective value and its step (while running, or of a pruned trial). */
  lastObjective?: { value: number; step: number };
  workerId?: string;
  reason?: string;
  lastReason?: string;
  exitCode?: number;
  stderrTail?: string;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  heartbeatAt?: number;
  budget?: number;
  hardware?: unknown;
  checkpoint?: { id: string; step: number };
  /** The BullMQ job that delivers the trial's current attempt. */
  jobId?: string;
  /** Milliseconds from the metric line that triggered an early-stopping decision to the program's exit. */
  stopLatencyMs?: number;
  /** Output lines the worker cut at its line cap, and the bytes dropped with them (all attempts). */
  truncatedLines?: number;
  droppedBytes?: number;
  /** An early-stopping decision made for the current attempt, repeated until the program stops. */
  stopDecision?: { state: 'PRUNED' | 'PAUSED'; reason: string };
  /** Metric points stored, and those refused past the trial's cap (spec.limits.maxMetricPoints). */
  points: number;
  pointsDropped: number;
}

/** One stored point of a metric series. */
export interface SeriesPoint { step: number; value: number; timeMs: number; attempt: number }
export interface AppendResult { status: 1 | 0 | -1 | -2; dropped: number }
/** A finished trial as the history list stores it: the samplers' compact view. */
export interface HistoryEntry { n: number; s: TrialState; p: Params; v?: number; t?: number }

/** A trial's hash as stored (field -> value), as trial-change listeners are handed it. */
export type TrialHash = Record<string, string>;

/** The hash createTrial writes, for its listener (nothing to read back). */
function createdHash(number: number, params: string, now: number): TrialHash {
  return { number: String(number), state: 'QUEUED', params, attempt: '0', createdAt: String(now), updatedAt: String(now) };
}

/** What startAttempt answers (study-store-contract.ts). */
export interface StartAnswer { attempt: number; reason: string; exhausted?: number; forbidden?: boolean; trial?: TrialRecord }

type PipelineWithScripts = Record<string, (...a: (string | number)[]) => unknown> & { hgetall(key: string): unknown };

export type FinishOutcome = 'COMPLETED' | 'FAILED' | 'PRUNED' | 'PAUSED' | 'CANCELLED' | 'RETRY';

const SCRIPT_DIR = fileURLToPath(new URL('./lua/', import.meta.url));
const SCRIPTS = ['createTrial-4', 'startAttempt-4', 'appendMetrics-3', 'finishTrial-6', 'endWaitingTrial-6', 'endStudy-1', 'commitCheckpoint-1',
  'acquireLease-1', 'releaseLease-1', 'recordDecision-1', 'resumeTrial-8', 'indexReports-4', 'recordPause-3', 'heartbeat-2', 'indexTrialStates-2',
  'reserveArtifacts-3', 'commitArtifact-4', 'deleteArtifacts-3', 'reserveProjectArtifacts-2', 'commitProjectArtifact-2',
  // Runs and experiments (coordinator/runs/redis-run-store.ts calls them through `script`).
  'writeRun-12', 'deleteRun-12', 'createExperiment-2', 'searchRuns-3', 'setExperimentTags-1',
  // Model registry (coordinator/registry/redis-model-registry.ts).
  'registryCreateModel-2', 'registryPatchModel-1', 'registryRename-2', 'registryDeleteModel-5', 'registryCreateVersion-3',
  'registryPatchVersion-2', 'registryTransition-3', 'registrySetAlias-4', 'registryDeleteAlias-3', 'registryDeleteVersion-4'] as const;
/** Scripts that take further keys after their fixed ones (the count in the name): one per metric name. */
const VARIADIC: ReadonlySet<ScriptName> = new Set(['appendMetrics-3', 'writeRun-12', 'deleteRun-12', 'searchRuns-3', 'indexTrialStates-2']);
export type ScriptName = (typeof SCRIPTS)[number];

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

const num = (v: string | undefined): number | undefined => (v === undefined || v === '' ? undefined : Number(v));

export class RedisStudyStore implements StudyStore {
  private readonly scripts = new Map<ScriptName, ScriptFn>();
  /** Called (on this replica) when a trial of the study reached a final state or the study ended: checkpoint clean-up listens. */
  onTrialsEnded?: (studyId: string) => void;
  /**
   * Called (awaited) after a transition changed a trial's state, start or end: the run store
   * re-indexes the trial's run from the trial hash (idempotent). Its failure never fails the
   * transition, which has applied: the run is re-indexed at its next transition.
   */
  onTrialChanged?: (studyId: string, number: number, trial?: TrialHash) => Promise<void>;
  /** Failed onTrialChanged calls (exported as a metric by whoever sets the hook). */
  trialIndexFailures = 0;
  private readonly objectives = new Map<string, string>();
  /** Parsed specs by study id (immutable once created; see getStudy). */
  private readonly specs = new Map<string, StudySpec>();
  /** Studies whose state index is complete: it stays so (new trials are indexed as they are made). */
  private readonly stateIndexed = new Set<string>();

  constructor(
    readonly redis: RedisClient,
    /** Key prefix: lets several deployments (or test files) share one Redis. */
    readonly prefix = 'th',
  ) {
    for (const name of SCRIPTS) {
      const [cmd, count] = name.split('-') as [string, string];
      const lua = expandLuaIncludes(readFileSync(`${SCRIPT_DIR}${name}.lua`, 'utf8'), name);
      // defineCommand sends EVALSHA and falls back to EVAL after a Redis restart flushed the script cache.
      redis.defineCommand(`th_${cmd}`, VARIADIC.has(name) ? { lua } : { numberOfKeys: Number(count), lua });
      const fn = (redis as unknown as Record<string, ScriptFn>)[`th_${cmd}`]!.bind(redis);
      this.scripts.set(name, fn);
    }
  }

  /** Runs one of the registered scripts (the run store's too: one registry of Lua scripts). */
  script(name: ScriptName, keyList: string[], args: (string | number)[]): Promise<unknown> {
    return this.run(name, keyList, args);
  }

  private async trialChanged(studyId: string, number: number, trial?: TrialHash): Promise<void> {
    if (!this.onTrialChanged) return;
    try {
      await this.onTrialChanged(studyId, number, trial);
    } catch {
      this.trialIndexFailures++;
    }
  }

  private run(name: ScriptName, keyList: string[], args: (string | number)[]): Promise<unknown> {
    const fn = this.scripts.get(name)!;
    return VARIADIC.has(name) ? fn(keyList.length, ...keyList, ...args) : fn(...keyList, ...args);
  }

  // ---- studies ----

  async createStudy(spec: StudySpec, now = Date.now()): Promise<StudyRecord> {
    const id = newStudyId();
    const p = this.prefix;
    const project = spec.project ?? DEFAULT_PROJECT;
    // Per hash tag on a Cluster: the study's hash first, then the global indexes that point at it.
    await slotMulti(this.redis)
      .hset(keys.study(p, id), {
        spec: JSON.stringify(spec), name: spec.name, project, state: 'RUNNING', createdAt: now, updatedAt: now, nextNumber: 0,
        queued: 0, running: 0, completed: 0, failed: 0, pruned: 0, paused: 0, cancelled: 0,
        // Indexed from its first trial on: nothing to backfill.
        ixStates: 'done',
      })
      .zadd(keys.studies(p), now, id)
      .zadd(keys.projectStudies(p, project), now, id)
      .sadd(keys.activeStudies(p), id)
      .exec();
    return (await this.getStudy(id))!;
  }

  /** The project of a study (one field, not the spec), or undefined for an unknown study. */
  async studyProject(id: string): Promise<string | undefined> {
    const [project, state] = await this.redis.hmget(keys.study(this.prefix, id), 'project', 'state');
    return state === null ? undefined : (project ?? DEFAULT_PROJECT);
  }

  /**
   * Studies of the given projects, newest first: each project's own index, merged, so a caller
   * never pays for (or sees) another project's studies. `undefined` lists every project (admins).
   */
  async listStudiesIn(projects: readonly string[] | undefined, offset: number, limit: number): Promise<{ total: number; studies: StudyRecord[] }> {
    if (projects === undefined) return this.listStudies(offset, limit);
    const p = this.prefix;
    if (projects.length === 0) return { total: 0, studies: [] };
    const pipe = spreadPipeline(this.redis);
    for (const name of projects) pipe.zcard(keys.projectStudies(p, name)).zrevrange(keys.projectStudies(p, name), 0, offset + limit - 1, 'WITHSCORES');
    const rows = (await pipe.exec()) ?? [];
    let total = 0;
    const merged: Array<{ id: string; score: number }> = [];
    for (let i = 0; i < rows.length; i += 2) {
      total += Number(rows[i]?.[1] ?? 0);
      const flat = (rows[i + 1]?.[1] ?? []) as string[];
      for (let j = 0; j < flat.length; j += 2) merged.push({ id: flat[j]!, score: Number(flat[j + 1]) });
    }
    merged.sort((a, b) => b.score - a.score || (a.id < b.id ? 1 : -1));
    return { total, studies: await this.readStudies(merged.slice(offset, offset + limit).map((r) => r.id)) };
  }

  /**
   * Studies from before projects existed belong to "default": they get the field and a place in
   * its index, 1,000 per round trip, once per deployment (a marker key says it is done).
   */
  async adoptLegacyStudies(batch = 1000): Promise<number> {
    const p = this.prefix;
    if (await this.redis.exists(keys.projectsAdopted(p))) return 0;
    let adopted = 0;
    for (let offset = 0; ; offset += batch) {
      const flat = await this.redis.zrange(keys.studies(p), String(offset), String(offset + batch - 1), 'WITHSCORES');
      if (flat.length === 0) break;
      const read = spreadPipeline(this.redis);
      for (let i = 0; i < flat.length; i += 2) read.hmget(keys.study(p, flat[i]!), 'project', 'spec');
      const rows = (await read.exec()) ?? [];
      const write = spreadPipeline(this.redis);
      for (let i = 0; i < flat.length; i += 2) {
        const [project, spec] = (rows[i / 2]?.[1] ?? []) as Array<string | null>;
        if (project !== null || spec === null) continue;
        write.hset(keys.study(p, flat[i]!), 'project', DEFAULT_PROJECT).zadd(keys.projectStudies(p, DEFAULT_PROJECT), flat[i + 1]!, flat[i]!);
        adopted++;
      }
      await write.exec();
    }
    await this.redis.set(keys.projectsAdopted(p), String(Date.now()));
    return adopted;
  }

  private async readStudies(ids: string[]): Promise<StudyRecord[]> {
    const pipe = spreadPipeline(this.redis);
    for (const id of ids) pipe.hgetall(keys.study(this.prefix, id));
    const rows = (await pipe.exec()) ?? [];
    return ids.flatMap((id, i) => {
      const h = rows[i]?.[1] as Record<string, string> | undefined;
      return h?.spec ? [toStudy(id, h)] : [];
    });
  }

  /**
   * A study's spec never changes once created, so it is read and parsed once per replica: later
   * reads fetch the other fields only (the spec is the bulk of the hash, and parsing it was the
   * bulk of a read).
   */
  async getStudy(id: string): Promise<StudyRecord | undefined> {
    const spec = this.specs.get(id);
    if (spec) {
      const row = await this.redis.hmget(keys.study(this.prefix, id), ...STUDY_FIELDS);
      if (row[0] === null) return undefined; // deleted: every field is gone
      const h: Record<string, string> = {};
      STUDY_FIELDS.forEach((f, i) => { if (row[i] !== null) h[f] = row[i]!; });
      return toStudy(id, h, spec);
    }
    const h = await this.redis.hgetall(keys.study(this.prefix, id));
    if (!h.spec) return undefined;
    const study = toStudy(id, h);
    // Bounded: a coordinator living for months sees many studies come and go.
    if (this.specs.size >= 10_000) this.specs.delete(this.specs.keys().next().value!);
    this.specs.set(id, study.spec);
    return study;
  }

  /**
   * A study's spec (it never changes): from this replica's cache when it has read the study
   * before, even if the study has been deleted since; callers act through a transition, which
   * finds out.
   */
  async studySpec(id: string): Promise<StudySpec | undefined> {
    return this.specs.get(id) ?? (await this.getStudy(id))?.spec;
  }

  async listStudies(offset: number, limit: number): Promise<{ total: number; studies: StudyRecord[] }> {
    const p = this.prefix;
    const [total, ids] = await Promise.all([this.redis.zcard(keys.studies(p)), this.redis.zrevrange(keys.studies(p), offset, offset + limit - 1)]);
    const pipe = spreadPipeline(this.redis);
    for (const id of ids) pipe.hgetall(keys.study(p, id));
    const rows = (await pipe.exec()) ?? [];
    const studies = ids.flatMap((id, i) => {
      const h = rows[i]?.[1] as Record<string, string> | undefined;
      return h?.spec ? [toStudy(id, h)] : [];
    });
    return { total, studies };
  }

  countStudies(): Promise<number> {
    return this.redis.zcard(keys.studies(this.prefix));
  }

  activeStudyIds(): Promise<string[]> {
    return this.redis.smembers(keys.activeStudies(this.prefix));
  }

  /**
   * Ends a RUNNING study once; returns false when it had already ended. The study joins the
   * ending set first, so its wind-down is finished by a later reconcile however far this gets.
   */
  async endStudy(id: string, state: Exclude<StudyState, 'RUNNING'>, reason: string, now = Date.now()): Promise<boolean> {
    // The active and ending sets are global keys (another cluster slot), so they are updated apart; they are only indexes.
    await this.redis.sadd(keys.endingStudies(this.prefix), id);
    const applied = (await this.run('endStudy-1', [keys.study(this.prefix, id)], [state, reason, now])) === 1;
    await this.redis.srem(keys.activeStudies(this.prefix), id);
    await this.markEnded(id, now);
    return applied;
  }

  /** Ended studies whose wind-down may be unfinished. */
  endingStudyIds(): Promise<string[]> {
    return this.redis.smembers(keys.endingStudies(this.prefix));
  }

  /** The study's wind-down is complete: it leaves the runner's indexes. */
  async windDownDone(id: string): Promise<void> {
    await slotMulti(this.redis).srem(keys.endingStudies(this.prefix), id).srem(keys.activeStudies(this.prefix), id).exec();
  }

  /** acquireLease for many studies in one pipeline: whether each is held by `owner` now. */
  async acquireLeases(ids: readonly string[], owner: string, ttlMs: number): Promise<boolean[]> {
    if (ids.length === 0) return [];
    const pipe = spreadPipeline(this.redis) as unknown as Record<string, (...a: (string | number)[]) => unknown> & { exec(): Promise<Array<[Error | null, unknown]> | null> };
    for (const id of ids) pipe.th_acquireLease!(keys.lease(this.prefix, id), owner, ttlMs);
    const rows = (await pipe.exec()) ?? [];
    return ids.map((_, i) => {
      const [err, v] = rows[i] ?? [new Error('no reply'), 0];
      if (err) throw err;
      return Number(v) === 1;
    });
  }

  // ---- trials ----

  /** 1 created, 0 study not running, -1 number clash (another driver), -2 maxTrials reached. */
  async createTrial(studyId: string, number: number, params: Params, maxTrials: number, budget?: number, now = Date.now()): Promise<number> {
    const p = this.prefix;
    const json = JSON.stringify(params);
    const r = Number(await this.run('createTrial-4', [keys.study(p, studyId), keys.trial(p, studyId, number), keys.pending(p, studyId), keys.trialStates(p, studyId)],
      [number, json, now, maxTrials, budget ?? '', '', '0']));
    if (r === 1) await this.trialChanged(studyId, number, createdHash(number, json, now));
    return r;
  }

  /**
   * createTrial for numbers first, first+1, ... in one round trip (each its own atomic script
   * call, in order): the answer of each, as createTrial's. Each trial after the first is created
   * only right after its predecessor in this batch (a token the script checks): when another
   * creator took a number in between, the rest answer -1, so no trial gets parameters that were
   * suggested with a different set of pending trials in mind.
   */
  async createTrials(studyId: string, first: number, trials: ReadonlyArray<{ params: Params; budget?: number }>, maxTrials: number, now = Date.now()): Promise<number[]> {
    if (trials.length === 0) return [];
    const p = this.prefix;
    const pipe = this.redis.pipeline() as unknown as PipelineWithScripts;
    const json = trials.map((t) => JSON.stringify(t.params));
    const batch = randomBytes(6).toString('hex');
    trials.forEach((t, i) => pipe.th_createTrial!(keys.study(p, studyId), keys.trial(p, studyId, first + i), keys.pending(p, studyId), keys.trialStates(p, studyId),
      first + i, json[i]!, now, maxTrials, t.budget ?? '', batch, i === 0 ? '0' : '1'));
    const answers = (await execOrThrow(pipe as unknown as ReturnType<RedisClient['pipeline']>)).map(Number);
    await Promise.all(answers.map((r, i) => (r === 1 ? this.trialChanged(studyId, first + i, createdHash(first + i, json[i]!, now)) : undefined)));
    return answers;
  }

  async getTrial(studyId: string, number: number): Promise<TrialRecord | undefined> {
    const h = await this.redis.hgetall(keys.trial(this.prefix, studyId, number));
    return h.state ? toTrial(studyId, h) : undefined;
  }

  async getTrials(studyId: string, numbers: number[]): Promise<TrialRecord[]> {
    if (numbers.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const n of numbers) pipe.hgetall(keys.trial(this.prefix, studyId, n));
    const rows = (await pipe.exec()) ?? [];
    return rows.flatMap((r) => {
      const h = r[1] as Record<string, string> | undefined;
      return h?.state ? [toTrial(studyId, h)] : [];
    });
  }

  async pendingNumbers(studyId: string): Promise<number[]> {
    return (await this.redis.smembers(keys.pending(this.prefix, studyId))).map(Number).sort((a, b) => a - b);
  }

  /**
   * Numbers of the study's trials in `state`, ascending, from the state index: those after
   * `at.after` (a cursor: the last number of the previous page), or from the `at.offset`-th
   * match on; at most `limit`. Also how many trials are in the state, and how many come before
   * the first returned (its offset). O(log n + limit) however many trials the study has. Complete
   * only once `backfillStateIndex` says so (a study from before the index).
   */
  async trialNumbersInState(studyId: string, state: TrialState, at: { after?: number; offset?: number }, limit: number): Promise<{ total: number; offset: number; numbers: number[] }> {
    const k = keys.trialStates(this.prefix, studyId);
    const lo = trialStateScore(state, 0);
    const end = `(${lo + TRIAL_STATE_SPAN}`;
    if (at.after !== undefined) {
      const [total, before, flat] = await execOrThrow(this.redis.pipeline().zcount(k, lo, end).zcount(k, lo, lo + at.after)
        .zrangebyscore(k, `(${lo + at.after}`, end, 'LIMIT', 0, limit));
      return { total: Number(total), offset: Number(before), numbers: (flat as string[]).map(Number) };
    }
    // By rank, not ZRANGEBYSCORE's LIMIT offset (which walks the skipped members): the state's first rank, plus the offset.
    const [total, first] = (await execOrThrow(this.redis.pipeline().zcount(k, lo, end).zcount(k, '-inf', `(${lo}`))).map(Number) as [number, number];
    const offset = at.offset ?? 0;
    if (offset >= total) return { total, offset, numbers: [] };
    const start = first + offset;
    const members = await this.redis.zrange(k, String(start), String(start + Math.min(limit, total - offset) - 1));
    return { total, offset, numbers: members.map(Number) };
  }

  /**
   * Makes sure the study's state index is complete, backfilling at most `maxTrials` trials of a
   * study from before it (in chunks of `chunk`, each one atomic step): true once complete.
   * Bounded work per call, so a listing that asks pays for at most one budget.
   */
  async backfillStateIndex(studyId: string, maxTrials = 10_000, chunk = 1000): Promise<boolean> {
    if (this.stateIndexed.has(studyId)) return true;
    const p = this.prefix;
    let marker = await this.redis.hget(keys.study(p, studyId), 'ixStates');
    for (let done = 0; marker !== 'done' && done < maxTrials; done += chunk) {
      const from = Number(marker ?? 0);
      const created = Number((await this.redis.hget(keys.study(p, studyId), 'nextNumber')) ?? 0);
      const n = Math.max(1, Math.min(chunk, created - from));
      const out = String(await this.run('indexTrialStates-2', [keys.study(p, studyId), keys.trialStates(p, studyId),
        ...Array.from({ length: n }, (_, i) => keys.trial(p, studyId, from + i))], [from]));
      if (out === '') return false; // deleted meanwhile
      marker = out;
    }
    if (marker !== 'done') return false;
    // Bounded: a coordinator living for months sees many studies come and go.
    if (this.stateIndexed.size >= 10_000) this.stateIndexed.delete(this.stateIndexed.values().next().value!);
    this.stateIndexed.add(studyId);
    return true;
  }

  /** History entries from index `from` on, at most `count` (the runner caches what it has read). */
  async readHistory(studyId: string, from: number, count?: number): Promise<HistoryEntry[]> {
    const rows = await this.redis.lrange(keys.history(this.prefix, studyId), from, count === undefined ? -1 : from + count - 1);
    return rows.map((r) => JSON.parse(r) as HistoryEntry);
  }

  /**
   * attempt 0 means "do not run" (`exhausted` then carries the attempt whose retries ran out);
   * `forbidden` means the caller is not the attempt's worker or lacks its secret (nothing changed).
   * `deliveryId` (random per delivery of the job) makes a fresh start idempotent: repeated
   * after a lost reply it gets the same RUNNING attempt back instead of opening another.
   * `secret` is the new attempt secret (stored hashed) and `presented` the one a re-connect shows.
   */
  async startAttempt(studyId: string, number: number, workerId: string, resumeAttempt: number, hardware: string, maxRetries: number, now = Date.now(), deliveryId = '',
    // Callers that never hand the secret out (ask/tell) still store one nobody knows.
    secret: { issued: string; presented?: string } = { issued: randomBytes(32).toString('base64url') }): Promise<StartAnswer> {
    const p = this.prefix;
    const trialKey = keys.trial(p, studyId, number);
    // The trial is read in the same round trip, just after the script (what the reply carries).
    const [[attempt, reason, current], read] = (await Promise.all([
      this.run('startAttempt-4', [keys.study(p, studyId), trialKey, keys.pending(p, studyId), keys.trialStates(p, studyId)],
        [workerId, now, resumeAttempt, hardware, maxRetries, deliveryId, hashSecret(secret.issued), secret.presented ? hashSecret(secret.presented) : '']),
      this.redis.hgetall(trialKey),
    ])) as [[number, string, number?], TrialHash];
    if (Number(attempt) === -1) return { attempt: 0, reason, forbidden: true };
    // Read after the script unless it had to be re-sent (NOSCRIPT): then the read may be of before it.
    const h = Number(attempt) > 0 && read.state === 'RUNNING' && Number(read.attempt) === Number(attempt) ? read : undefined;
    if (resumeAttempt === 0 && (Number(attempt) > 0 || reason === 'study is not running')) await this.trialChanged(studyId, number, h);
    if (current !== undefined) return { attempt: Number(attempt), reason, exhausted: Number(current) };
    if (Number(attempt) <= 0) return { attempt: Number(attempt), reason };
    const trial = h ? toTrial(studyId, h) : await this.getTrial(studyId, number);
    return trial ? { attempt: Number(attempt), reason, trial } : { attempt: Number(attempt), reason };
  }

  /**
   * Whether `secret` is the secret of the trial's current attempt `attempt`, held by `workerId`
   * (checkpoint uploads and downloads; the attempt's stream proved it when it started).
   */
  async attemptOwnedBy(studyId: string, number: number, attempt: number, workerId: string, secret: string): Promise<boolean> {
    if (!secret) return false;
    const [a, w, h] = await this.redis.hmget(keys.trial(this.prefix, studyId, number), 'attempt', 'workerId', 'attemptSecret');
    return Number(a ?? 0) === attempt && attempt > 0 && w === workerId && typeof h === 'string' && secretMatches(secret, h);
  }

  /**
   * Stores a batch once, each point in its metric's series; points past `maxPoints` per trial
   * (or of new names past the names cap) are counted as dropped. Status: 1 appended,
   * 0 duplicate (already stored), -1 stale attempt, -2 gap (replay from the missing batch).
   */
  async appendMetrics(studyId: string, number: number, attempt: number, seq: number, objectiveMetric: string, points: Array<{ name: string; step: number; value: number; timeMs: number }>, maxPoints: number, now = Date.now(), objectiveStrategy: ObjectiveStrategy = 'latest'): Promise<AppendResult> {
    const p = this.prefix;
    const index = new Map<string, number>([[objectiveMetric, 1]]);
    for (const pt of points) if (!index.has(pt.name)) index.set(pt.name, index.size + 1);
    const names = [...index.keys()];
    // The run's search index is kept in the same step (coordinator/runs: latest value per name).
    const args: (string | number)[] = [attempt, seq, now, maxPoints, WIRE_LIMITS.metricNamesPerTrial, names.length, objectiveStrategy, ...names, trialId(studyId, number)];
    // One packed argument (appendMetrics-3.lua): numbers as String() writes them, as before.
    let packed = '';
    for (const pt of points) packed += `${index.get(pt.name)!}\t${pt.step}\t${pt.value}\t${pt.timeMs}\n`;
    args.push(packed);
    const keyList = [keys.trial(p, studyId, number), keys.metricCounts(p, studyId, number), ...names.map((m) => keys.metricSeries(p, studyId, number, m)),
      keys.trialRun(p, studyId, number), keys.runIndexNames(p, studyId), ...names.map((m) => keys.runIndexMetric(p, studyId, m)), keys.experiment(p, studyId)];
    const [status, dropped] = (await this.run('appendMetrics-3', keyList, args)) as [number, number];
    return { status: status as AppendResult['status'], dropped: Number(dropped) };
  }

  async finishTrial(studyId: string, number: number, attempt: number, outcome: FinishOutcome, o: { direction: string; reason: string; exitCode?: number; stderrTail?: string; maxRetries: number; stopLatencyMs?: number; truncatedLines?: number; droppedBytes?: number; programStartedAt?: number; programExitedAt?: number; now?: number }): Promise<{ state: string; applied: boolean }> {
    const p = this.prefix;
    const trialKey = keys.trial(p, studyId, number);
    // With a listener, the trial is read in the same round trip, just after the script (what it is handed).
    const [[state, applied], read] = (await Promise.all([
      this.run('finishTrial-6', [keys.study(p, studyId), trialKey, keys.pending(p, studyId), keys.history(p, studyId), keys.paused(p, studyId), keys.trialStates(p, studyId)],
        [attempt, outcome, o.now ?? Date.now(), o.direction, o.reason, o.exitCode ?? '', o.stderrTail ?? '', o.maxRetries, o.stopLatencyMs ?? '', o.truncatedLines ?? 0, o.droppedBytes ?? 0, o.programStartedAt ?? '', o.programExitedAt ?? '']),
      this.onTrialChanged ? this.redis.hgetall(trialKey) : undefined,
    ])) as [[string, number], TrialHash | undefined];
    // Read after the script unless it had to be re-sent (NOSCRIPT): then the listener reads for itself.
    if (applied === 1) await this.trialChanged(studyId, number, read?.state === state ? read : undefined);
    if (applied === 1 && state !== 'QUEUED' && state !== 'PAUSED') this.onTrialsEnded?.(studyId);
    return { state, applied: applied === 1 };
  }

  /** Ends a QUEUED trial (CANCELLED) or a PAUSED one (PRUNED); false when it was neither. */
  async endWaitingTrial(studyId: string, number: number, state: 'CANCELLED' | 'PRUNED', reason: string, now = Date.now()): Promise<boolean> {
    const p = this.prefix;
    const applied = (await this.run('endWaitingTrial-6',
      [keys.study(p, studyId), keys.trial(p, studyId, number), keys.pending(p, studyId), keys.paused(p, studyId), keys.history(p, studyId), keys.trialStates(p, studyId)],
      [now, reason, state])) === 1;
    if (applied) await this.trialChanged(studyId, number);
    if (applied) this.onTrialsEnded?.(studyId);
    return applied;
  }

  /** Records an early-stopping decision on the current attempt; false if one was already made. */
  async recordDecision(studyId: string, number: number, attempt: number, state: 'PRUNED' | 'PAUSED', reason: string): Promise<boolean> {
    return (await this.run('recordDecision-1', [keys.trial(this.prefix, studyId, number)], [attempt, state, reason])) === 1;
  }

  /**
   * Promotes a PAUSED trial back to QUEUED with a bigger budget, if `owner` holds the study's
   * lease: 'resumed', 'not-paused' (or the study is not RUNNING), or 'not-lease-holder'.
   */
  async resumeTrial(studyId: string, number: number, budget: number, owner: string, now = Date.now()): Promise<'resumed' | 'not-paused' | 'not-lease-holder'> {
    const p = this.prefix;
    const r = Number(await this.run('resumeTrial-8', [keys.study(p, studyId), keys.trial(p, studyId, number), keys.pending(p, studyId), keys.paused(p, studyId),
      keys.lease(p, studyId), keys.stopState(p, studyId), keys.stopCandidates(p, studyId), keys.trialStates(p, studyId)], [budget, now, owner]));
    if (r === 1) await this.trialChanged(studyId, number);
    return r === 1 ? 'resumed' : r === -1 ? 'not-lease-holder' : 'not-paused';
  }

  // ---- early-stopping indexes (coordinator/stopping/stop-index.ts lays out the members) ----

  /** A field of the study's stop-index state hash (`c:<n>`, `p:<n>`, `h`, `v`). */
  async stopField(studyId: string, field: string): Promise<string | undefined> {
    return (await this.redis.hget(keys.stopState(this.prefix, studyId), field)) ?? undefined;
  }

  async setStopField(studyId: string, field: string, value: string): Promise<void> {
    await this.redis.hset(keys.stopState(this.prefix, studyId), field, value);
  }

  /**
   * Advances trial `number`'s index state from `expected` to `next` and adds it to the rungs it
   * reached (indexReports-4.lua). Its place and the size of each of those rungs, in order, or
   * undefined when the state was not `expected` any more (or the study is gone: nothing written).
   */
  async indexReports(studyId: string, number: number, expected: string, next: string, rungs: Array<{ member: string; lo: string; hi: string }>): Promise<Array<{ place: number; size: number }> | undefined> {
    const p = this.prefix;
    const args: (string | number)[] = [number, expected, next];
    for (const r of rungs) args.push(r.member, r.lo, r.hi);
    const out = (await this.run('indexReports-4', [keys.stopState(p, studyId), keys.stopRungs(p, studyId), keys.stopCandidates(p, studyId), keys.study(p, studyId)], args)) as number[];
    if (Number(out[0]) !== 1) return undefined;
    return rungs.map((_, i) => ({ place: Number(out[1 + 2 * i]), size: Number(out[2 + 2 * i]) }));
  }

  /** Records a PAUSE decision and makes the trial a promotion candidate (`member`) in one step. */
  async recordPause(studyId: string, number: number, attempt: number, reason: string, member: string): Promise<boolean> {
    const p = this.prefix;
    return (await this.run('recordPause-3', [keys.trial(p, studyId, number), keys.stopState(p, studyId), keys.stopCandidates(p, studyId)], [attempt, reason, number, member])) === 1;
  }

  /** Makes a trial a promotion candidate (rebuilding the index of a study that had none). */
  async addCandidate(studyId: string, number: number, member: string): Promise<void> {
    const p = this.prefix;
    await this.redis.multi().zadd(keys.stopCandidates(p, studyId), '0', member).hset(keys.stopState(p, studyId), `p:${number}`, member).exec();
  }

  /** Drops a candidate that can no longer be promoted (its trial ended); an index only. */
  async dropCandidate(studyId: string, number: number, member: string): Promise<void> {
    const p = this.prefix;
    await this.redis.multi().zrem(keys.stopCandidates(p, studyId), member).hdel(keys.stopState(p, studyId), `p:${number}`).exec();
  }

  /**
   * Per rung group (lex range of one rung): its first `limit` promotion candidates, how many
   * rung members sort before the group (to turn a ZRANK into a place) and the rung's size.
   */
  async promotionCandidates(studyId: string, groups: Array<{ lo: string; hi: string; below: string }>, limit: number): Promise<Array<{ members: string[]; before: number; size: number }>> {
    const p = this.prefix;
    if (groups.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const g of groups) {
      pipe.zrangebylex(keys.stopCandidates(p, studyId), g.lo, g.hi, 'LIMIT', 0, limit);
      pipe.zlexcount(keys.stopRungs(p, studyId), '-', g.below);
      pipe.zlexcount(keys.stopRungs(p, studyId), g.lo, g.hi);
    }
    const rows = await execOrThrow(pipe);
    return groups.map((_, i) => ({ members: rows[3 * i] as string[], before: Number(rows[3 * i + 1]), size: Number(rows[3 * i + 2]) }));
  }

  /** ZRANK of each member in the rungs index (undefined when absent). */
  async rungRanks(studyId: string, members: string[]): Promise<Array<number | undefined>> {
    if (members.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const m of members) pipe.zrank(keys.stopRungs(this.prefix, studyId), m);
    return (await execOrThrow(pipe)).map((r) => (r === null ? undefined : Number(r)));
  }

  /** Adds members to the completed trials' running-average index. */
  async addAverages(studyId: string, members: string[]): Promise<void> {
    for (let i = 0; i < members.length; i += 1000) {
      await this.redis.zadd(keys.stopAverages(this.prefix, studyId), ...members.slice(i, i + 1000).flatMap((m) => ['0', m]));
    }
  }

  /**
   * The running averages at one step (lex range lo..hi; `below` = just under it): how many, and
   * the members at the 0-based positions `at` within the range.
   */
  async averagesAt(studyId: string, range: { lo: string; hi: string; below: string }, at: (count: number) => number[]): Promise<{ count: number; members: string[] }> {
    const k = keys.stopAverages(this.prefix, studyId);
    const [count, before] = (await execOrThrow(this.redis.pipeline().zlexcount(k, range.lo, range.hi).zlexcount(k, '-', range.below))).map(Number) as [number, number];
    const positions = at(count);
    if (positions.length === 0) return { count, members: [] };
    const pipe = this.redis.pipeline();
    for (const i of positions) pipe.zrange(k, String(before + i), String(before + i));
    return { count, members: (await execOrThrow(pipe)).map((r) => (r as string[])[0]!) };
  }

  /** Registers a step the median rule evaluates at; true when it was new. */
  async addStopStep(studyId: string, step: number): Promise<boolean> {
    return (await this.redis.zadd(keys.stopSteps(this.prefix, studyId), 'NX', step, String(step))) === 1;
  }

  async stopSteps(studyId: string): Promise<number[]> {
    return (await this.redis.zrange(keys.stopSteps(this.prefix, studyId), '0', '-1')).map(Number);
  }

  async pausedNumbers(studyId: string): Promise<number[]> {
    return (await this.redis.smembers(keys.paused(this.prefix, studyId))).map(Number).sort((a, b) => a - b);
  }

  /** Objective reports of a trial from index `from` on: [step, value] as reported. */
  async readObjective(studyId: string, number: number, from: number): Promise<Array<{ step: number; value: number }>> {
    const metric = await this.objectiveMetric(studyId);
    if (metric === undefined) return [];
    return (await this.readSeries(studyId, number, metric, from, -1)).map(({ step, value }) => ({ step, value }));
  }

  /** A study's objective metric never changes, so it is read (and its spec parsed) once. */
  private async objectiveMetric(studyId: string): Promise<string | undefined> {
    const cached = this.objectives.get(studyId);
    if (cached !== undefined) return cached;
    const study = await this.getStudy(studyId);
    if (!study) return undefined;
    // Bounded: a coordinator living for months sees many studies come and go.
    if (this.objectives.size >= 10_000) this.objectives.delete(this.objectives.keys().next().value!);
    this.objectives.set(studyId, study.spec.objective.metric);
    return study.spec.objective.metric;
  }

  /** Makes an uploaded checkpoint the trial's latest; returns the ids of older ones to delete. */
  async commitCheckpoint(studyId: string, number: number, attempt: number, id: string, step: number, keep: number): Promise<{ accepted: boolean; reason: string; prune: string[] }> {
    const [ok, reason, ...prune] = (await this.run('commitCheckpoint-1', [keys.trial(this.prefix, studyId, number)], [attempt, id, step, keep])) as [number, string, ...string[]];
    return { accepted: ok === 1, reason, prune };
  }

  /** Takes or renews this replica's lease on driving a study. */
  async acquireLease(studyId: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.run('acquireLease-1', [keys.lease(this.prefix, studyId)], [owner, ttlMs])) === 1;
  }

  async releaseLease(studyId: string, owner: string): Promise<void> {
    await this.run('releaseLease-1', [keys.lease(this.prefix, studyId)], [owner]);
  }

  async setTrialJob(studyId: string, number: number, jobId: string): Promise<void> {
    await this.redis.hset(keys.trial(this.prefix, studyId, number), 'jobId', jobId);
  }

  /** setTrialJob for many trials in one round trip. */
  async setTrialJobs(studyId: string, jobs: ReadonlyArray<{ number: number; jobId: string }>): Promise<void> {
    if (jobs.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const j of jobs) pipe.hset(keys.trial(this.prefix, studyId, j.number), 'jobId', j.jobId);
    await execOrThrow(pipe);
  }

  /**
   * One round trip: refreshes the heartbeat if `attempt` is still the trial's current RUNNING
   * attempt, and returns what the stream must repeat (the study's state, a stop decision).
   */
  async heartbeat(studyId: string, number: number, attempt: number, now = Date.now()): Promise<{ current: false } | { current: true; studyState: string; stopDecision?: { state: 'PRUNED' | 'PAUSED'; reason: string } }> {
    const p = this.prefix;
    const [ok, studyState, decision, reason] = (await this.run('heartbeat-2', [keys.trial(p, studyId, number), keys.study(p, studyId)], [attempt, now])) as [number, string?, string?, string?];
    if (ok !== 1) return { current: false };
    return decision ? { current: true, studyState: studyState!, stopDecision: { state: decision as 'PRUNED' | 'PAUSED', reason: reason ?? '' } } : { current: true, studyState: studyState! };
  }

  /** Metric names of a trial with the number of points stored in each. */
  async metricCounts(studyId: string, number: number): Promise<Map<string, number>> {
    const h = await this.redis.hgetall(keys.metricCounts(this.prefix, studyId, number));
    return new Map(Object.entries(h).map(([k, v]) => [k, Number(v)]));
  }

  // ---- lifecycle: deletion, retention, checkpoint clean-up ----

  /** The study's own keys (hash, sets, history, lease): deleted last, so an interrupted delete can be repeated. */
  studyDataKeys(studyId: string): string[] {
    return studyKeys(this.prefix, studyId);
  }

  /** The BullMQ job id recorded on each trial (undefined where none), in the order asked. */
  async trialJobIds(studyId: string, numbers: number[]): Promise<Array<string | undefined>> {
    if (numbers.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const n of numbers) pipe.hget(keys.trial(this.prefix, studyId, n), 'jobId');
    return ((await pipe.exec()) ?? []).map((r) => (r[1] as string | null) ?? undefined);
  }

  /**
   * UNLINKs keys in pipelines of `batch`: Redis frees the memory in a background thread and
   * other clients' commands interleave between the pipelines. Returns how many existed.
   */
  async unlinkKeys(list: string[], batch = 500): Promise<number> {
    let removed = 0;
    for (let i = 0; i < list.length; i += batch) {
      const pipe = spreadPipeline(this.redis);
      // One UNLINK per key: in a Redis Cluster a multi-key command must stay in one slot.
      for (const k of list.slice(i, i + batch)) pipe.unlink(k);
      for (const [err, n] of (await pipe.exec()) ?? []) {
        if (err) throw err;
        removed += Number(n);
      }
    }
    return removed;
  }

  /** Takes the study out of the global indexes (they live in other slots, so apart from its keys). */
  async unindexStudy(studyId: string): Promise<void> {
    const p = this.prefix;
    const project = (await this.studyProject(studyId)) ?? DEFAULT_PROJECT;
    await spreadPipeline(this.redis).zrem(keys.projectStudies(p, project), studyId).zrem(keys.studies(p), studyId).srem(keys.activeStudies(p), studyId).zrem(keys.endedStudies(p), studyId)
      .srem(keys.endingStudies(p), studyId).exec();
  }

  /** Records when a study ended (the retention index); its lease is of no use any more. */
  async markEnded(studyId: string, endedAt: number): Promise<void> {
    const p = this.prefix;
    const finishedAt = await this.redis.hget(keys.study(p, studyId), 'finishedAt');
    // A study deleted meanwhile must not come back into an index.
    if (finishedAt === null) return;
    await spreadPipeline(this.redis).zadd(keys.endedStudies(p), 'NX', Number(finishedAt || endedAt), studyId).unlink(keys.lease(p, studyId)).exec();
    this.onTrialsEnded?.(studyId);
  }

  /**
   * Adds ended studies from `offset` of the studies index (newest first) to the ended index,
   * `limit` at a time: studies that ended before the index existed. Returns the next offset, or
   * undefined when the whole index has been read.
   */
  async indexEndedStudies(offset: number, limit: number): Promise<number | undefined> {
    const p = this.prefix;
    const ids = await this.redis.zrevrange(keys.studies(p), offset, offset + limit - 1);
    if (ids.length === 0) return undefined;
    const read = spreadPipeline(this.redis);
    for (const id of ids) read.hmget(keys.study(p, id), 'state', 'finishedAt');
    const rows = (await read.exec()) ?? [];
    const add = spreadPipeline(this.redis);
    ids.forEach((id, i) => {
      const [state, finishedAt] = (rows[i]?.[1] ?? []) as Array<string | null>;
      if (state && state !== 'RUNNING' && finishedAt) add.zadd(keys.endedStudies(p), 'NX', Number(finishedAt), id);
    });
    await add.exec();
    return ids.length < limit ? undefined : offset + ids.length;
  }

  /** Ids of studies that ended at or before `cutoff` (ms), oldest first, at most `limit`. */
  endedBefore(cutoff: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(keys.endedStudies(this.prefix), '-inf', cutoff, 'LIMIT', 0, limit);
  }

  /** One replica at a time runs the lifecycle sweeps (the lease script, on a global key). */
  async acquireSweepLock(owner: string, ttlMs: number): Promise<boolean> {
    return (await this.run('acquireLease-1', [keys.sweepLock(this.prefix)], [owner, ttlMs])) === 1;
  }

  async releaseSweepLock(owner: string): Promise<void> {
    await this.run('releaseLease-1', [keys.sweepLock(this.prefix)], [owner]);
  }

  /** Each trial's state (undefined for an unknown trial), in the order asked: one field, not the whole hash. */
  async trialStates(studyId: string, numbers: number[]): Promise<Array<TrialState | undefined>> {
    if (numbers.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const n of numbers) pipe.hget(keys.trial(this.prefix, studyId, n), 'state');
    return ((await pipe.exec()) ?? []).map((r) => (r[1] as TrialState | null) ?? undefined);
  }

  /** Forgets a trial's checkpoints once their folders are deleted, so no one asks for them. */
  async clearCheckpoints(studyId: string, number: number): Promise<void> {
    await this.redis.hdel(keys.trial(this.prefix, studyId, number), 'checkpointId', 'checkpointStep', 'checkpoints');
  }

  /** The last point of each named series (pipelined: one round trip). */
  async lastPoints(studyId: string, number: number, names: readonly string[]): Promise<Map<string, SeriesPoint>> {
    if (names.length === 0) return new Map();
    const pipe = this.redis.pipeline().hget(keys.trial(this.prefix, studyId, number), 'createdAt');
    for (const m of names) pipe.lindex(keys.metricSeries(this.prefix, studyId, number, m), -1);
    const [base, ...rows] = (await pipe.exec()) ?? [];
    const out = new Map<string, SeriesPoint>();
    names.forEach((m, i) => {
      const row = rows[i]?.[1];
      if (typeof row === 'string') out.set(m, parsePoint(row, Number(base?.[1] ?? 0)));
    });
    return out;
  }

  /** Points `start` to `stop` (inclusive, LRANGE indexes) of one metric series of a trial. */
  async readSeries(studyId: string, number: number, name: string, start: number, stop: number): Promise<SeriesPoint[]> {
    // Rows carry times relative to the trial's creation: both in one round trip.
    const [base, rows] = (await this.redis.pipeline()
      .hget(keys.trial(this.prefix, studyId, number), 'createdAt')
      .lrange(keys.metricSeries(this.prefix, studyId, number, name), start, stop)
      .exec()) ?? [];
    const t0 = Number(base?.[1] ?? 0);
    return ((rows?.[1] ?? []) as string[]).map((r) => parsePoint(r, t0));
  }

  /** Every Redis key of one trial (its metric series included), for deleting a study. */
  async trialDataKeys(studyId: string, number: number): Promise<string[]> {
    const names = await this.redis.hkeys(keys.metricCounts(this.prefix, studyId, number));
    return trialKeys(this.prefix, studyId, number, names);
  }
}

/** A series row (see appendMetrics-3.lua): "step value dt [attempt]", dt from the trial's createdAt. */
function parsePoint(row: string, createdAt: number): SeriesPoint {
  const [step, value, dt, attempt] = row.split('\t');
  return { step: Number(step), value: Number(value), timeMs: createdAt + Number(dt), attempt: attempt === undefined ? 1 : Number(attempt) };
}

async function execOrThrow(pipe: ReturnType<RedisClient['pipeline']>): Promise<unknown[]> {
  const rows = (await pipe.exec()) ?? [];
  return rows.map(([err, v]) => {
    if (err) throw err;
    return v;
  });
}

function newStudyId(): string {
  // 10 base-36 characters: ~52 bits, short enough to type in the CLI.
  const bytes = randomBytes(10);
  return Array.from(bytes, (b) => (b % 36).toString(36)).join('');
}

/** The study hash's fields but its spec; `state` first: a study without it is gone. */
const STUDY_FIELDS = ['state', 'project', 'reason', 'createdAt', 'updatedAt', 'finishedAt', 'nextNumber',
  'queued', 'running', 'completed', 'failed', 'pruned', 'paused', 'cancelled', 'bestNumber', 'bestValue'] as const;

function toStudy(id: string, h: Record<string, string>, parsed?: StudySpec): StudyRecord {
  const n = (k: string) => Number(h[k] ?? 0);
  const spec = parsed ?? (JSON.parse(h.spec!) as StudySpec);
  const rec: StudyRecord = {
    id,
    project: h.project ?? spec.project ?? DEFAULT_PROJECT,
    spec,
    state: h.state as StudyState,
    createdAt: n('createdAt'),
    updatedAt: n('updatedAt'),
    created: n('nextNumber'),
    counts: { queued: n('queued'), running: n('running'), completed: n('completed'), failed: n('failed'), pruned: n('pruned'), paused: n('paused'), cancelled: n('cancelled') },
  };
  if (h.reason) rec.reason = h.reason;
  if (h.finishedAt) rec.finishedAt = n('finishedAt');
  if (h.bestNumber !== undefined && h.bestValue !== undefined) rec.best = { number: n('bestNumber'), value: n('bestValue') };
  return rec;
}

function toTrial(studyId: string, h: Record<string, string>): TrialRecord {
  const number = Number(h.number);
  const t: TrialRecord = {
    id: trialId(studyId, number), studyId, number, state: h.state as TrialState, params: JSON.parse(h.params ?? '{}') as Params,
    attempt: Number(h.attempt ?? 0), createdAt: Number(h.createdAt ?? 0), points: Number(h.points ?? 0), pointsDropped: Number(h.pointsDropped ?? 0),
  };
  const opt = { value: num(h.value), startedAt: num(h.startedAt), finishedAt: num(h.finishedAt), heartbeatAt: num(h.heartbeatAt), exitCode: num(h.exitCode), budget: num(h.budget) };
  for (const [k, v] of Object.entries(opt)) if (v !== undefined) (t as unknown as Record<string, unknown>)[k] = v;
  if (h.objValue !== undefined) t.lastObjective = { value: Number(h.objValue), step: Number(h.objStep ?? 0) };
  if (h.workerId) t.workerId = h.workerId;
  if (h.jobId) t.jobId = h.jobId;
  if (h.stopLatencyMs) t.stopLatencyMs = Number(h.stopLatencyMs);
  if (h.truncatedLines) { t.truncatedLines = Number(h.truncatedLines); t.droppedBytes = Number(h.droppedBytes ?? 0); }
  if (h.stopDecision) t.stopDecision = { state: h.stopDecision as 'PRUNED' | 'PAUSED', reason: h.stopReason ?? '' };
  if (h.reason) t.reason = h.reason;
  if (h.lastReason) t.lastReason = h.lastReason;
  if (h.stderrTail) t.stderrTail = h.stderrTail;
  if (h.checkpointId) t.checkpoint = { id: h.checkpointId, step: Number(h.checkpointStep ?? 0) };
  if (h.hardware) t.hardware = JSON.parse(h.hardware) as unknown;
  return t;
}
