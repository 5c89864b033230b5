/**
 * Artifacts of runs, over one ArtifactStore and the Redis index: the one path every upload
 * takes (HTTP and the worker's gRPC stream alike): the run must exist, the paths must be
 * plain relative paths, the declared sizes must fit the quotas before a byte is written, each
 * file is verified while it streams and recorded only once stored.
 */
import type { Readable } from 'node:stream';
import { artifactPathProblem, contentTypeOf } from '../../shared/artifact-path.js';
import { TunehiveError } from '../../shared/errors.js';
import { keys } from '../../shared/redis-keys.js';
import { parseRunId, type RunRef } from '../../shared/run-model.js';
import { DEFAULT_TRIAL_LIMITS } from '../../shared/study-spec.js';
import { DEFAULT_PROJECT } from '../../shared/trial-job.js';
import type { RedisStudyStore } from '../store/study-store.js';
import { ArtifactIndex, type ArtifactEntry, type ArtifactQuota, type Reservation, type RunSpace } from './artifact-index.js';
import type { ArtifactStore, ByteRange } from './artifact-store.js';

export interface ArtifactServiceDeps {
  store: ArtifactStore;
  studies: RedisStudyStore;
  /** Bytes all runs of one project may store together; undefined: no limit (still counted). */
  projectMaxBytes?: number;
  /** Whether a direct run exists (the RunStore's); without it only trial runs have artifacts. */
  directRunExists?: (runId: string) => Promise<boolean>;
  /** The project of a plain experiment (the RunStore's); studies' come from the study store. */
  experimentProject?: (experimentId: string) => Promise<string | undefined>;
}

export interface RunArtifacts extends RunSpace { ref: RunRef; quota: ArtifactQuota }

/** The store key of a run's artifact (or of all of them, with no path). */
export const artifactKey = (s: RunSpace, path?: string) => `runs/${s.experimentId}/${s.runId}${path === undefined ? '' : `/${path}`}`;

export function checkArtifactPath(path: string, field = 'path'): string {
  const problem = artifactPathProblem(path);
  if (problem) throw new TunehiveError('TH_ERR_ARTIFACT_PATH', `artifact path ${JSON.stringify(path.slice(0, 200))} ${problem}`, [{ field, reason: `${JSON.stringify(path.slice(0, 200))} ${problem}` }]);
  return path;
}

export class ArtifactService {
  readonly index: ArtifactIndex;

  constructor(private readonly deps: ArtifactServiceDeps) {
    this.index = new ArtifactIndex(deps.studies, deps.projectMaxBytes);
  }

  get store(): ArtifactStore {
    return this.deps.store;
  }

  /** The run's artifact space and quota; TH_ERR_RUN_NOT_FOUND when there is no such run. */
  async run(runId: string): Promise<RunArtifacts> {
    const ref = parseRunId(runId);
    const missing = () => new TunehiveError('TH_ERR_RUN_NOT_FOUND', `no run with id ${JSON.stringify(runId.slice(0, 100))}`, [{ field: 'params.id', reason: 'no such run' }]);
    if (!ref) throw missing();
    if (ref.kind === 'trial') {
      const [study, trial] = await Promise.all([this.deps.studies.getStudy(ref.experimentId), this.deps.studies.getTrial(ref.experimentId, ref.trialNumber)]);
      if (!study || !trial) throw missing();
      const limits = { ...DEFAULT_TRIAL_LIMITS, ...study.spec.limits };
      return { ref, experimentId: ref.experimentId, runId, project: study.project ?? DEFAULT_PROJECT, quota: { maxArtifactBytes: limits.maxArtifactBytes, maxArtifactFiles: limits.maxArtifactFiles } };
    }
    if (!this.deps.directRunExists || !(await this.deps.directRunExists(runId))) throw missing();
    const project = (await this.deps.studies.studyProject(ref.experimentId)) ?? (await this.deps.experimentProject?.(ref.experimentId)) ?? DEFAULT_PROJECT;
    // Direct runs have no spec: the defaults a study gets.
    return { ref, experimentId: ref.experimentId, runId, project, quota: { maxArtifactBytes: DEFAULT_TRIAL_LIMITS.maxArtifactBytes, maxArtifactFiles: DEFAULT_TRIAL_LIMITS.maxArtifactFiles } };
  }

  /** Checks every path and size, then reserves the upload's room (TH_ERR_ARTIFACT_QUOTA when it does not fit). */
  async begin(run: RunArtifacts, files: ReadonlyArray<{ path: string; size: number }>, field = (i: number) => `files[${i}].path`): Promise<Reservation> {
    const seen = new Set<string>();
    files.forEach((f, i) => {
      checkArtifactPath(f.path, field(i));
      if (seen.has(f.path)) throw new TunehiveError('TH_ERR_ARTIFACT_PATH', `artifact path ${JSON.stringify(f.path)} is listed twice`, [{ field: field(i), reason: 'listed twice' }]);
      seen.add(f.path);
      if (!Number.isSafeInteger(f.size) || f.size < 0) throw new TunehiveError('TH_ERR_REQUEST_INVALID', `artifact ${f.path} has an invalid size (${f.size})`, [{ field: `files[${i}].size`, reason: 'must be a non-negative integer' }]);
    });
    return this.index.reserve(run, files, run.quota);
  }

  /** Streams one file of a reserved upload into the store and records it. */
  async put(r: Reservation, path: string, body: AsyncIterable<Buffer>, expect: { size: number; sha256?: string | (() => string | undefined) }, now = Date.now): Promise<ArtifactEntry> {
    const stored = await this.deps.store.put(artifactKey(r.space, checkArtifactPath(path)), body, expect);
    const entry: ArtifactEntry = { path, size: stored.size, sha256: stored.sha256, contentType: contentTypeOf(path), time: now() };
    await this.index.commit(r, entry);
    await this.undoIfRunGone(r.space);
    return entry;
  }

  /**
   * A run deleted while its upload streamed (its deletion already ran) would keep the entry,
   * the object and the bytes charged to its experiment and project, with no owner left to
   * delete them: the upload takes them back itself and answers that the run is gone.
   */
  private async undoIfRunGone(space: RunSpace): Promise<void> {
    try {
      await this.run(space.runId);
      return;
    } catch (err) {
      if (!(err instanceof TunehiveError && err.code === 'TH_ERR_RUN_NOT_FOUND')) throw err;
      await this.index.remove(space, '');
      await this.deps.store.deletePrefix(artifactKey(space));
      const experimentGone = !(await this.deps.studies.studyProject(space.experimentId)) && !(await this.deps.experimentProject?.(space.experimentId));
      await this.deps.studies.unlinkKeys([...this.index.keysOf(space), ...(experimentGone ? [keys.experimentArtifactBytes(this.deps.studies.prefix, space.experimentId)] : [])]);
      throw err;
    }
  }

  end(r: Reservation): Promise<void> {
    return this.index.release(r);
  }

  /** One upload of one file (the HTTP PUT). */
  async putOne(run: RunArtifacts, path: string, body: AsyncIterable<Buffer>, expect: { size: number; sha256?: string }): Promise<ArtifactEntry> {
    const r = await this.begin(run, [{ path, size: expect.size }], () => 'params.*');
    try {
      return await this.put(r, path, body, expect);
    } finally {
      await this.end(r);
    }
  }

  list(run: RunArtifacts, prefix = ''): Promise<ArtifactEntry[]> {
    return this.index.list(run, prefix);
  }

  async entry(run: RunArtifacts, path: string): Promise<ArtifactEntry> {
    const e = await this.index.get(run, checkArtifactPath(path, 'params.*'));
    if (!e) throw new TunehiveError('TH_ERR_ARTIFACT_NOT_FOUND', `run ${run.runId} has no artifact ${JSON.stringify(path.slice(0, 300))}`, [{ field: 'params.*', reason: 'no such artifact' }]);
    return e;
  }

  open(run: RunArtifacts, path: string, range?: ByteRange): Promise<Readable> {
    return this.deps.store.get(artifactKey(run, path), range);
  }

  /** Deletes the artifact at `path` and every one below it (a folder). */
  async remove(run: RunArtifacts, path: string): Promise<{ files: number; bytes: number }> {
    checkArtifactPath(path, 'params.*');
    const r = await this.index.remove(run, path);
    if (r.files === 0) throw new TunehiveError('TH_ERR_ARTIFACT_NOT_FOUND', `run ${run.runId} has no artifact at or below ${JSON.stringify(path.slice(0, 300))}`, [{ field: 'params.*', reason: 'no such artifact' }]);
    await this.deps.store.deletePrefix(artifactKey(run, path));
    return r;
  }

  /** Everything of a direct run (its bytes, entries, accounting): the run deletion calls it. Idempotent. */
  async deleteRun(runId: string): Promise<void> {
    const ref = parseRunId(runId);
    if (!ref) return;
    const project = (await this.deps.studies.studyProject(ref.experimentId)) ?? (await this.deps.experimentProject?.(ref.experimentId)) ?? DEFAULT_PROJECT;
    const space = { experimentId: ref.experimentId, runId, project };
    await this.index.remove(space, '');
    await this.deps.store.deletePrefix(artifactKey(space));
    await this.deps.studies.unlinkKeys(this.index.keysOf(space));
  }

  /**
   * The bytes of every run of an experiment, and its project's accounting (the run keys go with
   * the experiment's other keys: trialKeys/studyKeys). Called by study deletion; idempotent.
   */
  async deleteExperiment(experimentId: string, project: string): Promise<void> {
    await this.deps.store.deletePrefix(`runs/${experimentId}`);
    await this.index.releaseExperiment(experimentId, project);
  }
}
