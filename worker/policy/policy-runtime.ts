/**
 * Any runtime behind the worker's command policy: a refused launch is a program that never
 * started (`startError` names the rule), so the trial ends FAILED with the reason through the
 * same path as a missing binary.
 */
import { PassThrough } from 'node:stream';
import type { LaunchContext, LaunchSpec, RunningProgram, Runtime } from '../runtime/runtime.js';
import type { CommandPolicy } from './command-policy.js';

export function refusedProgram(startError: string): RunningProgram {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.end();
  stderr.end();
  const exited = Promise.resolve({ code: null, signal: null, startError });
  return { stdout, stderr, exited, stop: () => exited };
}

export class PolicyRuntime implements Runtime {
  constructor(private readonly inner: Runtime, private readonly policy: CommandPolicy) {}

  get name(): string {
    return this.inner.name;
  }

  launch(spec: LaunchSpec): RunningProgram {
    const refusal = this.policy.refusal({ argv: spec.argv, image: spec.image, specEnv: spec.env });
    return refusal ? refusedProgram(refusal) : this.inner.launch(spec);
  }

  context(spec: LaunchSpec): LaunchContext {
    return this.inner.context?.(spec) ?? { env: { ...spec.env } };
  }
}
