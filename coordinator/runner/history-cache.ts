/**
 * The samplers' view of a study's finished trials, read incrementally from the Redis history
 * list. It is only a cache: a restarted coordinator rebuilds it from Redis on first use.
 */
import type { Direction } from '../../shared/study-spec.js';
import type { FrozenTrial } from '../../shared/trial.js';
import type { StudyStore } from '../store/study-store-contract.js';

export class HistoryCache {
  private readonly byStudy = new Map<string, { read: number; trials: FrozenTrial[] }>();

  constructor(private readonly store: StudyStore) {}

  async trials(studyId: string, direction: Direction): Promise<FrozenTrial[]> {
    let entry = this.byStudy.get(studyId);
    if (!entry) {
      entry = { read: 0, trials: [] };
      this.byStudy.set(studyId, entry);
    }
    // Refreshes of one study may overlap (ask/tell, two fills): keep the first reader's rows only.
    const from = entry.read;
    const fresh = await this.store.readHistory(studyId, from);
    if (entry.read !== from) return entry.trials;
    entry.read += fresh.length;
    const sign = direction === 'maximize' ? -1 : 1;
    for (const h of fresh) {
      if (h.s !== 'COMPLETED' && h.s !== 'FAILED' && h.s !== 'PRUNED') continue;
      const t: FrozenTrial = { number: h.n, params: h.p, state: h.s };
      if (h.s === 'COMPLETED' && h.v !== undefined) t.loss = sign * h.v;
      if (h.s === 'PRUNED' && h.v !== undefined) t.intermediate = [{ step: h.t ?? 0, value: sign * h.v }];
      entry.trials.push(t);
    }
    return entry.trials;
  }

  studies(): string[] {
    return [...this.byStudy.keys()];
  }

  forget(studyId: string): void {
    this.byStudy.delete(studyId);
  }
}
