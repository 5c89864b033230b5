/** Placeholder expansion in the worker: names are plain names, never members of Object.prototype. */
import { describe, expect, it } from 'vitest';
import { substitute, trialArgv } from '../../worker/command-line.js';

describe('placeholder expansion', () => {
  it('never expands ${params.toString} and friends to a built-in when no such parameter exists', () => {
    // Before: `name in params` found Object.prototype.toString and expanded to its source.
    // A parameter the trial does not have is an inactive (conditional) one: an empty value.
    for (const name of ['toString', 'constructor', 'hasOwnProperty', '__proto__', 'valueOf']) {
      expect(substitute(`--v=\${params.${name}}`, { lr: 0.1 })).toBe('--v=');
      expect(substitute(`--v=\${trial.${name}}`, { lr: 0.1 }, { id: 's.1' })).toBe(`--v=\${trial.${name}}`);
    }
  });

  it('expands parameters, Katib names and trial fields', () => {
    const argv = trialArgv({ studyId: 's', trialId: 's.3', number: 3, params: { lr: 1e-7, opt: 'adam' }, gpus: 0, command: ['t', '--lr=${params.lr}', '${trialParameters.opt}', '${trial.id}/${trial.number}'], env: {} });
    expect(argv).toEqual(['t', '--lr=1e-7', 'adam', 's.3/3']);
  });
});
