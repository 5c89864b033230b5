/**
 * `tunehive rerun TRIAL_ID [--force] [--no-wait]` (issue 14): runs a trial again from its
 * record (POST /api/v1/runs/:id/rerun), prints the new run id at once, then waits for it and
 * prints its objective next to the original's. A refusal (the code or data differ from the
 * record) is printed with what differs and the fix.
 */
import { parseRunId } from '../shared/run-model.js';
import { commandClient, commandFlags, CommandUsageError } from './command-kit.js';
import { safeText } from './format.js';

const say = (m: string) => process.stderr.write(`${m}\n`);
const FINAL = new Set(['COMPLETED', 'FAILED', 'PRUNED', 'CANCELLED']);

/** Exit codes: 0 the rerun completed, 1 it failed or was refused, 2 bad input. */
export async function rerunCommand(args: string[], o: { pollMs?: number } = {}): Promise<number> {
  const f = commandFlags(args, { force: { type: 'boolean' }, 'no-wait': { type: 'boolean' }, timeout: { type: 'string' } }, 'rerun');
  const id = f.positionals[0];
  if (!id) throw new CommandUsageError('tunehive rerun needs a trial id: tunehive rerun TRIAL_ID [--force] [--no-wait]');
  const ref = parseRunId(id);
  if (!ref || ref.kind !== 'trial') throw new CommandUsageError(`${safeText(JSON.stringify(id.slice(0, 80)))} is not a trial id (<studyId>.<number>): only trials run by Tunehive can be re-run`);
  const timeoutS = f.values.timeout === undefined ? 24 * 3600 : Number(f.values.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new CommandUsageError(`--timeout must be a number of seconds above 0 (got ${safeText(JSON.stringify(f.values.timeout))})`);
  const c = commandClient(f.values);
  const r = await c.post<{ runId: string; studyId: string; rerunOf: string; force: boolean; expect: Record<string, string | boolean>; seed: number }>(
    `/api/v1/runs/${encodeURIComponent(id)}/rerun`, f.values.force ? { force: true } : {});
  console.log(safeText(r.runId));
  const checks = [r.expect.commit ? `commit ${safeText(String(r.expect.commit).slice(0, 12))}` : '', r.expect.codeVersion ? `code version ${safeText(r.expect.codeVersion)}` : '',
    r.expect.dataVersion ? `data ${safeText(String(r.expect.dataVersion).replace(/^sha256:/, '').slice(0, 12))}` : ''].filter(Boolean);
  say(`rerun of ${safeText(r.rerunOf)} queued as run ${safeText(r.runId)} (study ${safeText(r.studyId)}, seed ${r.seed})${checks.length ? `; the worker checks ${checks.join(' and ')} first${r.force ? ' (--force: a difference is recorded, not refused)' : ''}` : ''}`);
  if (f.values['no-wait']) return 0;

  const deadline = Date.now() + timeoutS * 1000;
  let trial: any;
  for (;;) {
    trial = await c.get(`/api/v1/trials/${encodeURIComponent(r.runId)}`);
    if (FINAL.has(trial.state)) break;
    if (Date.now() > deadline) {
      say(`the rerun is still ${safeText(trial.state)} after ${timeoutS} s; follow it with: tunehive show ${safeText(r.runId)}`);
      return 1;
    }
    await new Promise((res) => setTimeout(res, o.pollMs ?? 1000));
  }
  const [original, study] = await Promise.all([c.get(`/api/v1/trials/${encodeURIComponent(r.rerunOf)}`), c.get(`/api/v1/studies/${encodeURIComponent(r.studyId)}`)]);
  if (trial.state !== 'COMPLETED') {
    const reason = safeText(trial.reason ?? 'no reason recorded');
    say(`rerun ${safeText(r.runId)} ${safeText(trial.state)}: ${reason}`);
    if (/refused:/.test(reason) && !r.force) say(`Fix: make the working directory match the record (check out the recorded commit, restore the data), or run it anyway with: tunehive rerun ${safeText(r.rerunOf)} --force`);
    return 1;
  }
  const metric = safeText(study.objective.metric);
  const same = trial.value === original.value;
  const rv = trial.value === null ? '-' : String(trial.value);
  const ov = original.value === null ? '-' : String(original.value);
  console.log(`objective ${metric}: rerun ${safeText(rv)}, original ${safeText(ov)}: ${same ? 'identical' : `differs by ${trial.value !== null && original.value !== null ? String(trial.value - original.value) : '?'}`}`);
  // A pruned original stopped before its budget; the rerun ran to it, so the numbers may differ for that reason alone.
  if (!same && original.state !== 'COMPLETED') say(`note: the original is ${safeText(original.state)} (its value is its last report before it was stopped)`);
  return 0;
}
