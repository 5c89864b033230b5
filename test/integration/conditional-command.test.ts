/**
 * Inactive conditional parameters on a real child process, through the worker's own argv and
 * environment builders and the process runtime: the placeholder of an inactive parameter is an
 * empty argument (never the literal `${params.X}`), and TUNEHIVE_PARAMS omits it.
 */
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { trialArgv, trialEnvironment } from '../../worker/command-line.js';
import { ProcessRuntime } from '../../worker/runtime/process-runtime.js';
import type { TrialRun } from '../../shared/trial-job.js';

const node = process.execPath;

function collect(r: Readable): Promise<string> {
  let text = '';
  r.setEncoding('utf8');
  r.on('data', (d: string) => (text += d));
  return new Promise((resolve) => r.on('end', () => resolve(text)));
}

async function runJob(params: TrialRun['params']) {
  const job: TrialRun = {
    studyId: 'cond', trialId: 'cond.4', number: 4, gpus: 0, env: {}, params,
    command: [node, path.resolve('test/fixtures/echo-argv-params.mjs'),
      '--model=${params.model_type}', '${params.learning_rate}', '--depth=${params.max_depth}', 'x${trialParameters.max_depth}y'],
  };
  const program = new ProcessRuntime().launch({ trialId: job.trialId, argv: trialArgv(job), env: trialEnvironment(job, 1, os.tmpdir(), false), checkpointDir: os.tmpdir(), gpus: [] });
  const out = collect(program.stdout);
  expect(await program.exited).toEqual({ code: 0, signal: null });
  return JSON.parse(await out) as { argv: string[]; params: Record<string, unknown> };
}

describe('inactive parameters reach the program as empty arguments', () => {
  it('a random-forest trial: learning_rate is an empty argument and absent from TUNEHIVE_PARAMS', async () => {
    const seen = await runJob({ model_type: 'random_forest', max_depth: 7 });
    // The empty argument keeps its place in argv: positional parsers see a value "", not a shift.
    expect(seen.argv).toEqual(['--model=random_forest', '', '--depth=7', 'x7y']);
    expect(seen.params).toEqual({ model_type: 'random_forest', max_depth: 7 });
    expect(Object.hasOwn(seen.params, 'learning_rate')).toBe(false);
  });

  it('a gradient-boosting trial: max_depth is empty inside its argument, Katib form too', async () => {
    const seen = await runJob({ model_type: 'gradient_boosting', learning_rate: 0.05 });
    expect(seen.argv).toEqual(['--model=gradient_boosting', '0.05', '--depth=', 'xy']);
    expect(seen.params).toEqual({ model_type: 'gradient_boosting', learning_rate: 0.05 });
  });
});
