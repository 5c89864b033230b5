/**
 * A page of a study's trials: by number (trials are numbered densely, so a page is a range of
 * numbers), or the trials of one state from the study's state index, full pages at any depth
 * (O(log n + limit)). Pages go on from an offset or from a cursor (the last number of the
 * previous page), which stays right while trials change state between pages.
 */
import { TunehiveError } from '../../shared/errors.js';
import type { TrialState } from '../../shared/trial.js';
import type { StudyRecord, TrialRecord } from '../store/study-store.js';
import type { StudyStore } from '../store/study-store-contract.js';

export interface TrialPageQuery { offset?: number; limit: number; state?: TrialState; cursor?: string }
export interface TrialPage { total: number; offset: number; limit: number; trials: TrialRecord[]; next: string | null }

/** Numbers scanned per request, at most, while the state index of an old study is being built. */
const SCAN_PER_PAGE = 10;

export async function trialPage(store: StudyStore, study: StudyRecord, q: TrialPageQuery): Promise<TrialPage> {
  if (q.cursor !== undefined && q.offset !== undefined) {
    throw new TunehiveError('TH_ERR_REQUEST_INVALID', 'cursor goes on from a previous page: drop offset', [{ field: 'query.cursor', reason: 'cannot be combined with offset' }]);
  }
  const after = q.cursor === undefined ? undefined : Number(q.cursor);
  const { limit, state } = q;
  if (state === undefined) {
    const from = after === undefined ? (q.offset ?? 0) : after + 1;
    const numbers = Array.from({ length: Math.max(0, Math.min(limit, study.created - from)) }, (_, i) => from + i);
    const trials = await store.getTrials(study.id, numbers);
    return { total: study.created, offset: from, limit, trials, next: from + limit < study.created ? String(from + limit - 1) : null };
  }
  if (!(await store.backfillStateIndex(study.id))) return scanPage(store, study, state, q, after);
  const found = await store.trialNumbersInState(study.id, state, after === undefined ? { offset: q.offset ?? 0 } : { after }, limit);
  // A trial that changed state between the index read and its own is left out (a moment stale, never wrong).
  const trials = (await store.getTrials(study.id, found.numbers)).filter((t) => t.state === state);
  const last = found.numbers.at(-1);
  return { total: found.total, offset: found.offset, limit, trials, next: last !== undefined && found.offset + found.numbers.length < found.total ? String(last) : null };
}

/**
 * Until an old study's index is complete: scans up to SCAN_PER_PAGE pages of numbers for
 * matching trials (a page may come back short; `next` goes on where the scan stopped).
 */
async function scanPage(store: StudyStore, study: StudyRecord, state: TrialState, q: TrialPageQuery, after: number | undefined): Promise<TrialPage> {
  const from = after === undefined ? (q.offset ?? 0) : after + 1;
  const trials: TrialRecord[] = [];
  let n = from;
  for (let pages = 0; pages < SCAN_PER_PAGE && n < study.created && trials.length < q.limit; pages++) {
    const numbers = Array.from({ length: Math.min(q.limit, study.created - n) }, (_, i) => n + i);
    n = numbers.at(-1)! + 1;
    for (const t of await store.getTrials(study.id, numbers)) {
      if (t.state !== state) continue;
      trials.push(t);
      if (trials.length === q.limit) {
        n = t.number + 1;
        break;
      }
    }
  }
  const total = study.counts[state.toLowerCase() as keyof StudyRecord['counts']];
  return { total, offset: from, limit: q.limit, trials, next: n < study.created ? String(n - 1) : null };
}
