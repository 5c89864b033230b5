/**
 * A rerun's check (issue 14): what the worker found against what the original run recorded —
 * on the worker before the program starts (refusal), and on the coordinator from the provenance
 * it stores (the `tunehive.rerun.differences` tag of a forced rerun, which no worker may set). Each difference is one line a user can act on, e.g.
 *   code: recorded commit 1a2b3c4d5e6f, working directory at 4d5e6f7a8b9c (dirty)
 * Nothing recorded is nothing to compare; a program-reported data version cannot be known
 * before the program runs, so it is compared by nobody here (the run records its new one).
 */
import type { Provenance } from './run-model.js';

/** What the original run recorded ('' : not recorded): the worker gets it as StartReply.rerun_check. */
export interface RerunExpectation { of: string; commit: string; dirty: boolean; codeVersion: string; dataVersion: string; dataSource: string }

const short = (c: string) => c.slice(0, 12);

export function rerunDifferences(check: RerunExpectation, code: Provenance['code'], data: Provenance['data']): string[] {
  const out: string[] = [];
  if (check.commit) {
    const here = code.source === 'git' ? `working directory at ${short(code.commit ?? '')}${code.dirty ? ' (dirty)' : ''}` : code.workdir ? `working directory ${code.workdir} is not a git checkout` : 'no git checkout here';
    if (code.source !== 'git' || code.commit !== check.commit) out.push(`code: recorded commit ${short(check.commit)}${check.dirty ? ' (dirty)' : ''}, ${here}`);
    // A clean record promises exactly that commit; uncommitted changes break the promise.
    else if (!check.dirty && code.dirty) out.push(`code: recorded commit ${short(check.commit)} (clean), working directory at ${short(code.commit ?? '')} with uncommitted changes (dirty)`);
  } else if (check.codeVersion && code.version !== check.codeVersion && code.source !== 'git') {
    out.push(`code: recorded version ${JSON.stringify(check.codeVersion)}, the spec now says ${code.version === undefined ? 'nothing' : JSON.stringify(code.version)}`);
  }
  if (check.dataVersion && check.dataSource !== 'program' && data.version !== check.dataVersion) {
    const broken = data.files.filter((f) => f.error).map((f) => `${f.path} ${f.error}`);
    const detail = broken.length > 0 ? ` (${broken.slice(0, 5).join('; ')}${broken.length > 5 ? `; ${broken.length - 5} more` : ''})` : '';
    out.push(`data: recorded ${check.dataSource || 'data'} version ${short(check.dataVersion.replace(/^sha256:/, ''))}, found ${data.version ? `${data.source} version ${short(data.version.replace(/^sha256:/, ''))}` : 'no data version'}${detail}`);
  }
  return out;
}
