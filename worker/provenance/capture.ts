/**
 * Provenance of one attempt, captured by the worker without the user writing code (issue 11):
 * the code version (git of the working directory, else `trial.codeVersion`), the data version
 * (`trial.dataFiles` hashed, else DVC's hashes, overridden by a `tunehive.data_version=` line
 * of the program), the image and its digest, the command as run, the environment minus
 * secrets, and the seed. Code is read at once (a few git calls); data is hashed beside the
 * program, so capture never delays its start (reruns wait for it: they must check first).
 */
import type { Provenance } from '../../shared/run-model.js';
import { combinedVersion, DEFAULT_HASH_LIMITS, hashDataFiles, type HashLimits } from './data-files.js';
import { DEFAULT_DVC_LIMITS, dvcHashes, type DvcLimits } from './dvc-files.js';
import { gitCode, type GitOptions } from './git-code.js';
import { recordedEnvironment } from './recorded-env.js';

export interface CaptureInput {
  attempt: number;
  seed: number;
  /** argv after substitution. */
  command: string[];
  /** The program's whole environment (secrets are dropped here). */
  env: Record<string, string>;
  runtime: 'process' | 'container' | 'simulated';
  /** Where the program's code lives on this machine (process runtime). */
  workingDir?: string;
  codeVersion?: string;
  dataFiles?: readonly string[];
  image?: string;
  workerId?: string;
  /** When the program was started (ms). */
  startedAt?: number;
  git?: GitOptions;
  hashLimits?: HashLimits;
  dvcLimits?: DvcLimits;
}

export async function captureCode(i: Pick<CaptureInput, 'workingDir' | 'codeVersion' | 'git'>): Promise<Provenance['code']> {
  const version = i.codeVersion !== undefined ? { version: i.codeVersion.slice(0, 250) } : {};
  const workdir = i.workingDir !== undefined ? { workdir: i.workingDir.slice(0, 4096) } : {};
  const git = i.workingDir !== undefined ? await gitCode(i.workingDir, i.git) : undefined;
  if (git) return { source: 'git', ...git, ...version, ...workdir };
  if (i.codeVersion !== undefined) return { source: 'spec', ...version, ...workdir };
  return { source: 'none', ...workdir };
}

export async function captureData(i: Pick<CaptureInput, 'workingDir' | 'dataFiles' | 'hashLimits' | 'dvcLimits'>, signal?: AbortSignal): Promise<Provenance['data']> {
  const cwd = i.workingDir ?? process.cwd();
  if (i.dataFiles && i.dataFiles.length > 0) {
    const files = await hashDataFiles(i.dataFiles, cwd, i.hashLimits ?? DEFAULT_HASH_LIMITS, signal);
    const version = combinedVersion(files.map((f) => ({ path: f.path, hash: f.sha256 || `error:${f.error ?? ''}` })));
    return { source: 'files', version, files, dvc: [] };
  }
  const dvc = i.workingDir !== undefined ? await dvcHashes(i.workingDir, i.dvcLimits ?? DEFAULT_DVC_LIMITS) : [];
  if (dvc.length > 0) return { source: 'dvc', version: combinedVersion(dvc), files: [], dvc };
  return { source: 'none', files: [], dvc: [] };
}

/** The parts that need no I/O. */
export function staticParts(i: CaptureInput, capturedAt: number): Omit<Provenance, 'code' | 'data'> {
  const p: Omit<Provenance, 'code' | 'data'> = {
    attempt: i.attempt, capturedAt, command: i.command.slice(0, 1000).map((a) => a.slice(0, 8192)),
    env: recordedEnvironment(i.env), seed: i.seed >>> 0, runtime: i.runtime,
  };
  if (i.image) p.image = { reference: i.image.slice(0, 255) };
  if (i.workerId) p.workerId = i.workerId.slice(0, 200);
  if (i.startedAt !== undefined) p.startedAt = i.startedAt;
  return p;
}

/** A program's own data version wins over what the worker found (the files stay listed). */
export function withProgramDataVersion(data: Provenance['data'], version: string): Provenance['data'] {
  return { ...data, source: 'program', version: version.slice(0, 250) };
}
