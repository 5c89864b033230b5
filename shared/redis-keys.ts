/**
 * Every Redis key name, built here and nowhere else. All keys of one study share the hash tag
 * `{<studyId>}`, so a Redis Cluster keeps them in one slot and the Lua scripts stay legal.
 */
export const keys = {
  /** zset of every study id, scored by creation time. */
  studies: (p: string) => `${p}:studies`,
  /** set of the ids of RUNNING studies: what the runner drives and reconciles. */
  activeStudies: (p: string) => `${p}:studies:active`,
  /** zset of the ids of ended studies, scored by when they ended: what the retention sweeper reads. */
  endedStudies: (p: string) => `${p}:studies:ended`,
  /** string with a TTL: the replica running the retention/clean-up sweep now (one at a time). */
  sweepLock: (p: string) => `${p}:lifecycle:sweep`,
  /**
   * set of the ids of ended studies whose wind-down (cancel queued, stop running, prune paused
   * trials) may not be finished yet: reconcile finishes it, so an interrupted endStudy heals.
   */
  endingStudies: (p: string) => `${p}:studies:ending`,
  study: (p: string, s: string) => `${p}:{${s}}:study`,
  /** set of trial numbers that are QUEUED or RUNNING. */
  pending: (p: string, s: string) => `${p}:{${s}}:pending`,
  /** set of trial numbers that are PAUSED (waiting for promotion). */
  paused: (p: string, s: string) => `${p}:{${s}}:paused`,
  /**
   * zset: every trial's number, scored by its state's rank and its number
   * (`trialStateScore`), so the trials of one state are one score range ordered by number: a
   * page of one state and its cursor cost O(log n + page). Kept by every Lua script that
   * creates a trial or changes its state; the study hash's `ixStates` says whether it is
   * complete (studies from before it are backfilled: RedisStudyStore.backfillStateIndex).
   */
  trialStates: (p: string, s: string) => `${p}:{${s}}:trials:by-state`,
  /** list of finished trials as compact JSON, in completion order: the samplers' history. */
  history: (p: string, s: string) => `${p}:{${s}}:history`,
  trial: (p: string, s: string, n: number) => `${p}:{${s}}:trial:${n}`,
  /** hash of one trial's metric names -> points stored in each name's series. */
  metricCounts: (p: string, s: string, n: number) => `${p}:{${s}}:trial:${n}:mcounts`,
  /**
   * list of one metric's points of one trial, in arrival order ("step value dt [attempt]",
   * tab-separated; see appendMetrics-3.lua). The objective's series is what stopping rules read.
   */
  metricSeries: (p: string, s: string, n: number, name: string) => `${p}:{${s}}:trial:${n}:m:${name}`,
  /** Before per-metric series: one list of every point, and the objective's points again. Only deleted. */
  legacyMetrics: (p: string, s: string, n: number) => `${p}:{${s}}:trial:${n}:metrics`,
  legacyObjective: (p: string, s: string, n: number) => `${p}:{${s}}:trial:${n}:objective`,
  /**
   * Early-stopping indexes (coordinator/stopping/stop-index.ts). Hash: per trial `c:<n>` how far
   * its reports are indexed and their running aggregates, `p:<n>` its promotion-candidate
   * member; `h` the history entries read; `v` set once the study's indexes are complete.
   */
  stopState: (p: string, s: string) => `${p}:{${s}}:stop:state`,
  /** zset (lex order): one member per trial per rung reached, "bracket:rung:value:number". */
  stopRungs: (p: string, s: string) => `${p}:{${s}}:stop:rungs`,
  /** zset (lex order): paused trials at their highest rung, members as in stopRungs. */
  stopCandidates: (p: string, s: string) => `${p}:{${s}}:stop:candidates`,
  /** zset (lex order): completed trials' running average at each evaluated step, "step:average:number". */
  stopAverages: (p: string, s: string) => `${p}:{${s}}:stop:averages`,
  /** zset: the steps at which the median rule evaluated (scored by the step). */
  stopSteps: (p: string, s: string) => `${p}:{${s}}:stop:steps`,
  /** hash: driver lease of a study (coordinator id + expiry). */
  lease: (p: string, s: string) => `${p}:{${s}}:lease`,
  /** set of worker ids that registered; each has a hash that expires unless refreshed. */
  workers: (p: string) => `${p}:workers`,
  worker: (p: string, id: string) => `${p}:worker:${id}`,
  /** hash: one credential (API token, worker join token, worker credential) by its public id; only the secret's hash. */
  credential: (p: string, id: string) => `${p}:cred:${id}`,
  /**
   * hash: one browser session (coordinator/auth/session-store.ts) by the SHA-256 of its opaque
   * cookie value: credential id, CSRF token, creation time. Owner: its own TTL (sliding, renewed
   * on use); a session of a revoked or expired credential is deleted at its next use.
   */
  session: (p: string, idHash: string) => `${p}:session:${idHash}`,
  /** zset of credential ids, scored by creation time: for listing and the sweep. */
  credentials: (p: string) => `${p}:creds`,
  /** string, SET NX: the replica that mints the first admin token (no TUNEHIVE_ADMIN_TOKEN); its value is the credential id. */
  adminBootstrap: (p: string) => `${p}:auth:bootstrap`,
  /** string: set once every study from before projects existed has been put in the "default" project. */
  projectsAdopted: (p: string) => `${p}:auth:adopted`,
  /** zset of project names, scored by creation time. */
  projects: (p: string) => `${p}:projects`,
  /** hash: one project (createdAt, createdBy, description). */
  project: (p: string, name: string) => `${p}:project:${name}`,
  /** hash: a project's members, owner -> role (viewer | editor | owner). */
  projectMembers: (p: string, name: string) => `${p}:project:${name}:members`,
  /** zset of the ids of a project's studies, scored by creation time: listing never reads other projects. */
  projectStudies: (p: string, name: string) => `${p}:project:${name}:studies`,
  /** hash: the projects one owner is a member of, project -> role (the reverse of projectMembers). */
  memberProjects: (p: string, owner: string) => `${p}:member:${owner}:projects`,
  /** stream (capped): every write through the API, newest last. */
  audit: (p: string) => `${p}:audit`,
  /** stream (capped): the writes that concern one project (what its owners may read). */
  projectAudit: (p: string, name: string) => `${p}:project:${name}:audit`,
  /** string: the credential id holding a worker id (SET NX at join, so two agents never share an id). */
  workerClaim: (p: string, id: string) => `${p}:worker-claim:${id}`,
  /**
   * zset of projects that have had trial jobs queued, scored by the last enqueue (ms): how
   * agents joined for every project find the queues to consume. Beside the queue keys (the
   * worker's Redis user reads it).
   */
  queuedProjects: (p: string) => `${p}:q:trial-projects`,
  /**
   * Artifacts of one run (coordinator/artifacts/artifact-index.ts), under its experiment's hash
   * tag. Hash: path -> "size\tsha256\tcontentType\ttimeMs"; a string of the bytes stored; a
   * zset of live upload reservations ("token:bytes:files", scored by their deadline).
   */
  runArtifacts: (p: string, e: string, runId: string) => `${p}:{${e}}:run:${runId}:artifacts`,
  runArtifactBytes: (p: string, e: string, runId: string) => `${p}:{${e}}:run:${runId}:artifacts:bytes`,
  runArtifactPending: (p: string, e: string, runId: string) => `${p}:{${e}}:run:${runId}:artifacts:pending`,
  /** string: artifact bytes stored by every run of an experiment (what its deletion gives back to the project). */
  experimentArtifactBytes: (p: string, e: string) => `${p}:{${e}}:artifact-bytes`,
  /**
   * A project's artifact accounting (`--project-artifact-bytes`): a string of the bytes its runs
   * store and a zset of live reservations ("token:bytes", scored by deadline). Own hash tag, so the
   * two stay in one slot.
   */
  projectArtifactBytes: (p: string, name: string) => `${p}:project:{${name}}:artifact-bytes`,
  projectArtifactPending: (p: string, name: string) => `${p}:project:{${name}}:artifact-pending`,
  /** BullMQ's lock of a job (its value is the token the holder got it with): read to prove a delivery. */
  jobLock: (queuePrefix: string, queueName: string, jobId: string) => `${queuePrefix}:${queueName}:${jobId}:lock`,
  // ---- runs and experiments (coordinator/runs): every key shares its experiment's hash tag {<experimentId>} ----
  /**
   * hash: an experiment's own record. A plain experiment: project, name, description, createdAt,
   * createdBy, lastActivity, directRuns. A study's experiment: only lastActivity and directRuns
   * (project and name are read from the study, never copied).
   */
  experiment: (p: string, e: string) => `${p}:{${e}}:exp`,
  /** hash: an experiment's tags (a study's: its spec `tags`, then these on top). */
  experimentTags: (p: string, e: string) => `${p}:{${e}}:exp:tags`,
  /** zset: the direct runs of an experiment, scored by creation (ms). */
  experimentDirectRuns: (p: string, e: string) => `${p}:{${e}}:exp:direct`,
  /** hash: a project's plain experiment names -> ids (HSETNX: names are unique in a project, as in MLflow). */
  projectExperimentNames: (p: string, name: string) => `${p}:project:${name}:experiment-names`,
  /** zset: the plain experiments of a project, scored by creation (studies are in projectStudies). */
  projectExperiments: (p: string, name: string) => `${p}:project:${name}:experiments`,
  /**
   * hash: a direct run, whole. Attributes `a:name a:status a:state a:start a:end a:parent
   * a:created a:by a:note`, params `p:<key>`, tags `t:<key>`, latest metrics `m:<name>` (the
   * value, what search reads) and `x:<name>` ("step<TAB>timeMs").
   */
  directRun: (p: string, e: string, suffix: string) => `${p}:{${e}}:run:${suffix}`,
  /** list: one metric series of a direct run, rows "step<TAB>value<TAB>timeMs" in arrival order. */
  directRunSeries: (p: string, e: string, suffix: string, name: string) => `${p}:{${e}}:run:${suffix}:m:${name}`,
  /** hash: provenance of a direct run, attempt -> JSON (a client's is attempt 0). */
  directRunProvenance: (p: string, e: string, suffix: string) => `${p}:{${e}}:run:${suffix}:prov`,
  /**
   * hash: what a trial's run has beyond the trial, and its search document: the same fields as a
   * direct run's hash (params stringified as MLflow does, effective tags, latest metric values,
   * status/state/start/end mirrored from the trial hash on each transition), `a:note`, `a:name`.
   */
  trialRun: (p: string, s: string, n: number) => `${p}:{${s}}:trial:${n}:run`,
  /** hash: provenance of each attempt of a trial, attempt -> JSON (a re-captured attempt replaces its own). */
  trialProvenance: (p: string, s: string, n: number) => `${p}:{${s}}:trial:${n}:prov`,
  /** zset: every run of an experiment (trial and direct), scored by creation (ms): the search universe. */
  runIndexAll: (p: string, e: string) => `${p}:{${e}}:ix:runs`,
  /** zset: runs by latest value of one metric. */
  runIndexMetric: (p: string, e: string, name: string) => `${p}:{${e}}:ix:m:${name}`,
  /** zset (lex, score 0): "<value>\0<runId>" of one param / one tag. */
  runIndexParam: (p: string, e: string, name: string) => `${p}:{${e}}:ix:p:${name}`,
  runIndexTag: (p: string, e: string, name: string) => `${p}:{${e}}:ix:t:${name}`,
  /** zset: runs by start / end time (ms); runs without one are absent. */
  runIndexStart: (p: string, e: string) => `${p}:{${e}}:ix:start`,
  runIndexEnd: (p: string, e: string) => `${p}:{${e}}:ix:end`,
  /** set: runs with one MLflow status. */
  runIndexStatus: (p: string, e: string, status: string) => `${p}:{${e}}:ix:st:${status}`,
  /** hash: the per-name indexes that exist ("m:<name>", "p:<name>", "t:<name>" -> 1), so deletion and IS NULL find them. */
  runIndexNames: (p: string, e: string) => `${p}:{${e}}:ix:names`,
  // ---- model registry (coordinator/registry): one hash tag {registry} for all of it, so a
  // change spanning the name index and a model is one Lua step (a registry is small: bounded
  // by REGISTRY_LIMITS). A model's keys are named by its internal id (rename moves no key).
  // The registry deletes its own keys (RedisModelRegistry.deleteModel) and files.
  /** hash: model name -> internal model id (names are unique in the deployment: `models:/name` needs no project). */
  registryNames: (p: string) => `${p}:{registry}:names`,
  /** hash: a registered model: id name project description createdAt updatedAt createdBy nextVersion, tags `t:<key>`. */
  registryModel: (p: string, id: string) => `${p}:{registry}:m:${id}`,
  /** hash: version number -> the version's JSON document (lineage, files, stage, tags, status). */
  registryVersions: (p: string, id: string) => `${p}:{registry}:m:${id}:versions`,
  /** hash: alias -> version number. */
  registryAliases: (p: string, id: string) => `${p}:{registry}:m:${id}:aliases`,
  /** list: the model's stage and alias changes (JSON, newest first, capped). */
  registryHistory: (p: string, id: string) => `${p}:{registry}:m:${id}:history`,
  /** pub/sub channel: "a study needs a fill", heard by whichever replica drives it. */
  kickChannel: (p: string) => `${p}:kick`,
};

/**
 * Every key that belongs to one trial / one study (all in the study's hash slot). Deleting a
 * study deletes exactly these: a new per-trial or per-study key must be added here too. A trial's
 * metric series are named by its metric names (the keys of `metricCounts`): pass them in.
 */
export function trialKeys(p: string, s: string, n: number, metricNames: readonly string[] = []): string[] {
  return [keys.trial(p, s, n), keys.metricCounts(p, s, n), ...metricNames.map((m) => keys.metricSeries(p, s, n, m)),
    keys.legacyMetrics(p, s, n), keys.legacyObjective(p, s, n), keys.trialRun(p, s, n), keys.trialProvenance(p, s, n), ...runArtifactKeys(p, s, trialId(s, n))];
}
/** The artifact keys of one run (a trial's are in trialKeys; a direct run's in RedisRunStore.experimentDataKeys and ArtifactService.deleteRun). */
export function runArtifactKeys(p: string, e: string, runId: string): string[] {
  return [keys.runArtifacts(p, e, runId), keys.runArtifactBytes(p, e, runId), keys.runArtifactPending(p, e, runId)];
}
export function studyKeys(p: string, s: string): string[] {
  return [keys.study(p, s), keys.pending(p, s), keys.paused(p, s), keys.trialStates(p, s), keys.history(p, s), keys.lease(p, s),
    keys.stopState(p, s), keys.stopRungs(p, s), keys.stopCandidates(p, s), keys.stopAverages(p, s), keys.stopSteps(p, s),
    ...experimentKeys(p, s)];
}

/**
 * An experiment's fixed keys (its record, tags, direct-run list, fixed indexes). Its per-name
 * indexes (listed in runIndexNames) and its direct runs' keys are found at deletion time
 * (RedisRunStore.experimentDataKeys), before these go.
 */
export function experimentKeys(p: string, e: string): string[] {
  return [keys.experiment(p, e), keys.experimentTags(p, e), keys.experimentDirectRuns(p, e), keys.runIndexAll(p, e), keys.runIndexStart(p, e),
    keys.runIndexEnd(p, e), keys.runIndexNames(p, e), ...RUN_STATUS_NAMES.map((st) => keys.runIndexStatus(p, e, st)), keys.experimentArtifactBytes(p, e)];
}
/**
 * Trial states in the order of their ranks in `keys.trialStates` (shared/trial.ts TRIAL_STATES;
 * repeated here so this module imports nothing, and a unit test keeps the two equal).
 */
export const TRIAL_STATE_RANKS = ['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'PRUNED', 'PAUSED', 'CANCELLED'] as const;
/** Trial numbers stay below this (maxTrials is at most 1,000,000), so rank·SPAN + number orders by state, then number, exactly. */
export const TRIAL_STATE_SPAN = 1_000_000_000;
/** A trial's score in `keys.trialStates`; states of one rank fill [rank·SPAN, (rank+1)·SPAN). */
export function trialStateScore(state: string, n: number): number {
  const rank = (TRIAL_STATE_RANKS as readonly string[]).indexOf(state);
  if (rank < 0) throw new Error(`unknown trial state ${JSON.stringify(state)}`);
  return (rank + 1) * TRIAL_STATE_SPAN + n;
}

/** MLflow's run statuses (shared/run-model.ts RUN_STATUSES; repeated here so this module imports nothing). */
const RUN_STATUS_NAMES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'] as const;

/** Where a run's document lives (the search script builds a candidate's key from its run id with these). */
export function runDocKeyParts(p: string, e: string): { trialPrefix: string; trialSuffix: string; directPrefix: string } {
  return { trialPrefix: `${p}:{${e}}:trial:`, trialSuffix: ':run', directPrefix: `${p}:{${e}}:run:` };
}

/** The keys of one direct run (its series named by its metric names). */
export function directRunKeys(p: string, e: string, suffix: string, metricNames: readonly string[] = []): string[] {
  return [keys.directRun(p, e, suffix), keys.directRunProvenance(p, e, suffix), ...metricNames.map((m) => keys.directRunSeries(p, e, suffix, m))];
}

/** Trial ids are `<studyId>.<number>`: readable, and the API finds the study from the id alone. */
export function trialId(studyId: string, number: number): string {
  return `${studyId}.${number}`;
}

export function parseTrialId(id: string): { studyId: string; number: number } | undefined {
  const m = /^([a-z0-9]{4,40})\.(\d{1,9})$/.exec(id);
  return m ? { studyId: m[1]!, number: Number(m[2]) } : undefined;
}

export const STUDY_ID = /^[a-z0-9]{4,40}$/;

/** Every key of one registered model (its deletion). */
export function registryModelKeys(p: string, id: string): string[] {
  return [keys.registryModel(p, id), keys.registryVersions(p, id), keys.registryAliases(p, id), keys.registryHistory(p, id)];
}
