/**
 * What artifacts a run has, in Redis (path -> size, SHA-256, content type, time), and the
 * quotas: per run (spec `limits.maxArtifactBytes/Files`) and per project (a coordinator option).
 * An upload reserves its declared bytes in both before any byte is written; each stored file
 * moves its bytes from the reservation to the stored count; a reservation left by an upload
 * that died lapses at its deadline, so a crash never eats a quota for good.
 */
import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../../shared/redis.js';
import { keys, runArtifactKeys } from '../../shared/redis-keys.js';
import { TunehiveError } from '../../shared/errors.js';
import type { RedisStudyStore } from '../store/study-store.js';

export interface ArtifactEntry { path: string; size: number; sha256: string; contentType: string; time: number }
export interface RunSpace { experimentId: string; runId: string; project: string }
export interface ArtifactQuota { maxArtifactBytes: number; maxArtifactFiles: number }

/** An upload's room in the run's and the project's quotas, given back as files are stored. */
export interface Reservation {
  space: RunSpace;
  token: string;
  deadline: number;
  bytesLeft: number;
  filesLeft: number;
  runMember: string;
  projectMember: string;
}

/** How long an upload's reservation holds without the upload ending (a dead one lapses then). */
const RESERVATION_MS = 6 * 3600_000;
const MiB = 1024 * 1024;
const human = (n: number) => (n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : `${n} bytes`);

export class ArtifactIndex {
  private readonly redis: RedisClient;
  private readonly p: string;

  /** `projectMaxBytes`: undefined counts a project's bytes without a limit. */
  constructor(private readonly studies: RedisStudyStore, private readonly projectMaxBytes?: number) {
    this.redis = studies.redis;
    this.p = studies.prefix;
  }

  private runKeys(s: RunSpace): string[] {
    return runArtifactKeys(this.p, s.experimentId, s.runId);
  }

  /** Refuses (TH_ERR_ARTIFACT_QUOTA, naming the limit) an upload that does not fit; reserves its room otherwise. */
  async reserve(space: RunSpace, files: ReadonlyArray<{ path: string; size: number }>, quota: ArtifactQuota, now = Date.now()): Promise<Reservation> {
    const token = randomBytes(6).toString('hex');
    const deadline = now + RESERVATION_MS;
    const bytes = files.reduce((n, f) => n + f.size, 0);
    const [runKeys, runArgs] = [this.runKeys(space), [now, deadline, quota.maxArtifactBytes, quota.maxArtifactFiles, token, ...files.flatMap((f) => [f.path, f.size])]];
    const r = (await this.studies.script('reserveArtifacts-3', runKeys, runArgs)) as [number, string, string?, string?];
    if (r[0] !== 1) {
      const [, what, used, limit] = r;
      const message = what === 'bytes'
        ? `run ${space.runId} stores ${human(Number(used))} of artifacts: ${human(bytes)} more exceeds limits.maxArtifactBytes (${human(Number(limit))})`
        : `run ${space.runId} has ${used} artifacts: ${files.length} more exceeds limits.maxArtifactFiles (${limit})`;
      throw new TunehiveError('TH_ERR_ARTIFACT_QUOTA', message, [{ field: what === 'bytes' ? 'limits.maxArtifactBytes' : 'limits.maxArtifactFiles', reason: message }]);
    }
    const runMember = r[1];
    const p = await this.studies.script('reserveProjectArtifacts-2', this.projectKeys(space.project),
      [now, deadline, this.projectMaxBytes ?? -1, token, bytes]) as [number, string, string?];
    if (p[0] !== 1) {
      await this.redis.zrem(keys.runArtifactPending(this.p, space.experimentId, space.runId), runMember);
      const message = `project ${space.project} stores ${human(Number(p[1]))} of artifacts: ${human(bytes)} more exceeds its quota (--project-artifact-bytes ${p[2]})`;
      throw new TunehiveError('TH_ERR_ARTIFACT_QUOTA', message, [{ field: 'project', reason: message }]);
    }
    const newFiles = Number(runMember.split(':')[2]);
    return { space, token, deadline, bytesLeft: bytes, filesLeft: newFiles, runMember, projectMember: p[1] };
  }

  private projectKeys(project: string): string[] {
    return [keys.projectArtifactBytes(this.p, project), keys.projectArtifactPending(this.p, project)];
  }

  /** Records a stored file and moves its bytes out of the reservation. */
  async commit(r: Reservation, entry: ArtifactEntry): Promise<void> {
    r.bytesLeft = Math.max(0, r.bytesLeft - entry.size);
    r.filesLeft = Math.max(0, r.filesLeft - 1);
    const last = r.bytesLeft === 0 && r.filesLeft === 0;
    const runNext = last ? '' : `${r.token}:${r.bytesLeft}:${r.filesLeft}`;
    const projectNext = last ? '' : `${r.token}:${r.bytesLeft}`;
    const { space } = r;
    const value = `${entry.size}\t${entry.sha256}\t${entry.contentType}\t${entry.time}`;
    const delta = Number(await this.studies.script('commitArtifact-4', [...this.runKeys(space).slice(0, 3), keys.experimentArtifactBytes(this.p, space.experimentId)],
      [entry.path, value, entry.size, r.runMember, runNext, r.deadline]));
    await this.studies.script('commitProjectArtifact-2', this.projectKeys(space.project), [delta, r.projectMember, projectNext, r.deadline]);
    r.runMember = runNext;
    r.projectMember = projectNext;
  }

  /** Gives back what the upload reserved and did not store (it ended, or failed). */
  async release(r: Reservation): Promise<void> {
    const { space } = r;
    await Promise.all([
      r.runMember ? this.redis.zrem(keys.runArtifactPending(this.p, space.experimentId, space.runId), r.runMember) : undefined,
      r.projectMember ? this.redis.zrem(keys.projectArtifactPending(this.p, space.project), r.projectMember) : undefined,
    ]);
    r.runMember = '';
    r.projectMember = '';
  }

  async get(space: RunSpace, path: string): Promise<ArtifactEntry | undefined> {
    const v = await this.redis.hget(keys.runArtifacts(this.p, space.experimentId, space.runId), path);
    return v === null ? undefined : parseEntry(path, v);
  }

  /** Every entry of the run (with `prefix`: those whose path starts with it), sorted by path. */
  async list(space: RunSpace, prefix = ''): Promise<ArtifactEntry[]> {
    const key = keys.runArtifacts(this.p, space.experimentId, space.runId);
    const out: ArtifactEntry[] = [];
    let cursor = '0';
    do {
      const [next, kv] = await this.redis.hscan(key, cursor, 'COUNT', 1000);
      cursor = next;
      for (let i = 0; i < kv.length; i += 2) if (kv[i]!.startsWith(prefix)) out.push(parseEntry(kv[i]!, kv[i + 1]!));
    } while (cursor !== '0');
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** Removes the entries at `path` and below ('' : all); the bytes go back to the run, experiment and project. */
  async remove(space: RunSpace, path: string): Promise<{ files: number; bytes: number }> {
    const [files, bytes] = (await this.studies.script('deleteArtifacts-3',
      [keys.runArtifacts(this.p, space.experimentId, space.runId), keys.runArtifactBytes(this.p, space.experimentId, space.runId), keys.experimentArtifactBytes(this.p, space.experimentId)],
      [path])) as [number, number];
    if (bytes > 0) await this.redis.decrby(keys.projectArtifactBytes(this.p, space.project), bytes);
    return { files, bytes };
  }

  /** A deleted experiment's bytes go back to its project; taken once (GETDEL), so a repeated deletion gives nothing twice. */
  async releaseExperiment(experimentId: string, project: string): Promise<number> {
    const bytes = Number((await this.redis.getdel(keys.experimentArtifactBytes(this.p, experimentId))) ?? 0);
    if (bytes > 0) await this.redis.decrby(keys.projectArtifactBytes(this.p, project), bytes);
    return bytes;
  }

  async usage(space: RunSpace): Promise<{ bytes: number; files: number; projectBytes: number }> {
    const [bytes, files, projectBytes] = await Promise.all([
      this.redis.get(keys.runArtifactBytes(this.p, space.experimentId, space.runId)),
      this.redis.hlen(keys.runArtifacts(this.p, space.experimentId, space.runId)),
      this.redis.get(keys.projectArtifactBytes(this.p, space.project)),
    ]);
    return { bytes: Number(bytes ?? 0), files, projectBytes: Number(projectBytes ?? 0) };
  }

  /** The run's keys, for deleting a direct run (a trial's are in trialKeys). */
  keysOf(space: RunSpace): string[] {
    return this.runKeys(space);
  }
}

function parseEntry(path: string, v: string): ArtifactEntry {
  const [size, sha256, contentType, time] = v.split('\t');
  return { path, size: Number(size), sha256: sha256!, contentType: contentType!, time: Number(time) };
}
