/**
 * A rerun from the record (issue 14): the spec of a one-trial study that runs a trial again
 * exactly as recorded, in the same project. From the original study's spec: the command,
 * environment, timeout, GPUs, limits, objective and tags; from the trial's record: its params
 * (each a one-value categorical, so no sampler chooses anything), its budget, its seed
 * (TUNEHIVE_SEED, from the latest attempt's provenance), the image pinned to the digest the
 * engine ran, and the code and data versions the worker must find before it starts (`rerun`).
 */
import { TunehiveError } from '../../shared/errors.js';
import { parseRunId, type Provenance } from '../../shared/run-model.js';
import type { ParamValue } from '../../shared/search-space.js';
import { trialSeed } from '../../shared/seed.js';
import type { StudySpec } from '../../shared/study-spec.js';
import type { StudyRecord, TrialRecord } from '../store/study-store.js';
import type { StudyStore } from '../store/study-store-contract.js';

/** The tag a rerun's run carries (and its spec: the run view's `rerunOf` comes from there) and the original's reverse reference. */
export const RERUN_OF_TAG = 'tunehive.rerunOf';
/** On a forced rerun: what differed from the record (set by the coordinator from the stored provenance). */
export const RERUN_DIFFERENCES_TAG = 'tunehive.rerun.differences';
export const RERUNS_TAG = 'tunehive.reruns';

const unsupported = (why: string) => new TunehiveError('TH_ERR_RERUN_UNSUPPORTED', why, [{ field: 'params.id', reason: why }]);

export interface RerunSource { study: StudyRecord; trial: TrialRecord; provenance: Provenance | undefined }

/** Loads what a rerun is made from; a run that is not a started worker trial is refused, saying why. */
export async function rerunSource(store: StudyStore, provenanceOf: (runId: string) => Promise<Provenance[]>, runId: string): Promise<RerunSource> {
  const ref = parseRunId(runId);
  const notFound = () => new TunehiveError('TH_ERR_RUN_NOT_FOUND', `no run with id ${JSON.stringify(runId.slice(0, 80))}`, [{ field: 'params.id', reason: 'no such run' }]);
  if (!ref) throw notFound();
  if (ref.kind === 'direct') throw unsupported(`run ${runId} was logged by a client, not run by Tunehive: there is no command to run again`);
  const study = await store.getStudy(ref.experimentId);
  const trial = study && (await store.getTrial(ref.experimentId, ref.trialNumber));
  if (!study || !trial) throw notFound();
  if (!study.spec.trial) throw unsupported(`trial ${runId} belongs to an ask/tell study: its client evaluated it, so there is no command to run again`);
  if (trial.attempt === 0) throw unsupported(`trial ${runId} never started (it is ${trial.state}): there is no record to run it from`);
  const all = await provenanceOf(runId);
  return { study, trial, provenance: all.at(-1) };
}

export function rerunSpec(src: RerunSource, force: boolean): StudySpec {
  const { study, trial, provenance: p } = src;
  const orig = study.spec;
  const t = orig.trial!;
  const runId = trial.id;
  const searchSpace: StudySpec['searchSpace'] = {};
  for (const [k, v] of Object.entries(trial.params)) searchSpace[k] = { type: 'categorical', values: [v as ParamValue] };
  // A parameter the trial did not have (inactive in a conditional space) is not in the pinned
  // space: its placeholders become the empty string here, as the worker made them for the original.
  const absent = (arg: string) => arg.replace(/\$\{(?:params|trialParameters)\.([A-Za-z0-9_.-]+)\}/g, (whole, name: string) => (Object.hasOwn(trial.params, name) ? whole : ''));
  const trialTemplate: NonNullable<StudySpec['trial']> = {
    ...t, env: Object.fromEntries(Object.entries(t.env).map(([k, v]) => [k, absent(v)])), command: t.command.map(absent), tags: { ...t.tags, [RERUN_OF_TAG]: runId },
  };
  const pinned = p?.image?.pinned;
  if (pinned && t.image) trialTemplate.image = pinned;
  const expect: NonNullable<StudySpec['rerun']>['expect'] = {};
  if (p?.code.source === 'git' && p.code.commit) {
    expect.commit = p.code.commit;
    expect.dirty = p.code.dirty ?? false;
  } else if (p?.code.version) expect.codeVersion = p.code.version;
  if (p?.data.version) {
    expect.dataVersion = p.data.version;
    expect.dataSource = p.data.source;
  }
  const name = `rerun of ${runId} (${orig.name})`.slice(0, 200);
  const spec: StudySpec = {
    name, project: orig.project, limits: { ...orig.limits }, keepCheckpoints: orig.keepCheckpoints, objective: { ...orig.objective },
    searchSpace,
    algorithm: { name: 'random', seed: orig.algorithm.seed, settings: {} },
    parallelism: 1, maxTrials: 1, maxFailedTrials: 1, maxRetries: orig.maxRetries,
    trial: trialTemplate,
    rerun: {
      of: runId, seed: p?.seed ?? trialSeed(orig.algorithm.seed, trial.number), force, expect,
      ...(trial.budget !== undefined && trial.budget > 0 ? { budget: trial.budget } : {}),
    },
  };
  if (orig.tags) spec.tags = { ...orig.tags };
  return spec;
}
