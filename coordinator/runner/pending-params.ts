/**
 * The parameters of a study's QUEUED and RUNNING trials, for the samplers' `pending`. Which
 * trials are pending is read from the store on every call (one SMEMBERS); a trial's parameters
 * never change, so each is read once (the runner adds the ones it creates as it creates them).
 * Only a cache: a restarted coordinator reads them again on first use.
 */
import type { Params } from '../../shared/search-space.js';
import type { StudyStore } from '../store/study-store-contract.js';

export class PendingParams {
  private readonly byStudy = new Map<string, Map<number, Params>>();

  constructor(private readonly store: Pick<StudyStore, 'pendingNumbers' | 'getTrials'>) {}

  /** In trial number order. */
  async params(studyId: string): Promise<Params[]> {
    const numbers = await this.store.pendingNumbers(studyId);
    let known = this.byStudy.get(studyId);
    if (!known) this.byStudy.set(studyId, (known = new Map()));
    const missing = numbers.filter((n) => !known.has(n));
    if (missing.length > 0) for (const t of await this.store.getTrials(studyId, missing)) known.set(t.number, t.params);
    // Bounded by the pending set: trials that ended leave.
    if (known.size > numbers.length) {
      const live = new Set(numbers);
      for (const n of known.keys()) if (!live.has(n)) known.delete(n);
    }
    return numbers.flatMap((n) => (known.has(n) ? [known.get(n)!] : []));
  }

  /** A trial just created here: its parameters need no read. */
  add(studyId: string, number: number, params: Params): void {
    this.byStudy.get(studyId)?.set(number, params);
  }

  studies(): string[] {
    return [...this.byStudy.keys()];
  }

  forget(studyId: string): void {
    this.byStudy.delete(studyId);
  }
}
