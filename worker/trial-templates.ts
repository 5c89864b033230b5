/**
 * The trial template of a study, read by the worker once per study from the study's record
 * (the `spec` field of the study hash; a spec never changes after creation) and cached, so jobs
 * carry only ids and per-trial parts.
 */
import type { Redis } from 'ioredis';
import { keys } from '../shared/redis-keys.js';
import type { StudySpec, TrialLimits, TrialTemplate } from '../shared/study-spec.js';
import type { TrialJob, TrialRun } from '../shared/trial-job.js';

/** What a worker needs of a study's spec to run its trials. */
interface StudyParts { trial: TrialTemplate; limits?: TrialLimits }

/** Studies whose template is kept; an agent rarely serves more at once. */
const CACHED_STUDIES = 256;

export class TrialTemplates {
  private readonly cache = new Map<string, Promise<StudyParts | undefined>>();

  constructor(private readonly redis: Redis, private readonly prefix: string) {}

  /** The job with its template, or undefined when the study (or its template) is gone. */
  async resolve(job: TrialJob): Promise<TrialRun | undefined> {
    // A job queued by a coordinator of the previous version still carries its template.
    if (Array.isArray((job as Partial<TrialRun>).command)) return job as TrialRun;
    const parts = await this.template(job.studyId);
    if (!parts) return undefined;
    const t = parts.trial;
    const run: TrialRun = { ...job, command: t.command, env: t.env };
    if (parts.limits) run.limits = parts.limits;
    if (t.timeoutSeconds !== undefined) run.timeoutSeconds = t.timeoutSeconds;
    if (t.image !== undefined) run.image = t.image;
    return run;
  }

  private template(studyId: string): Promise<StudyParts | undefined> {
    let p = this.cache.get(studyId);
    if (!p) {
      p = this.redis.hget(keys.study(this.prefix, studyId), 'spec').then((raw) => {
        const spec = raw ? (JSON.parse(raw) as Partial<StudySpec>) : undefined;
        return spec?.trial ? { trial: spec.trial, ...(spec.limits ? { limits: spec.limits } : {}) } : undefined;
      });
      // A failed read is not cached: the next job of the study tries again.
      p.catch(() => this.cache.delete(studyId));
      this.cache.set(studyId, p);
      if (this.cache.size > CACHED_STUDIES) this.cache.delete(this.cache.keys().next().value!);
    }
    return p;
  }
}
