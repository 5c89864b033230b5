/**
 * The finished trials of recently plotted studies, held in memory and extended from the end:
 * the history list only ever grows at its tail, so a repeated plot of a 100,000-trial study reads
 * only the entries finished since (one LLEN when nothing changed) instead of the whole list.
 * Bounded: the least recently used study is dropped past `maxStudies`.
 */
import type { RedisStudyStore, HistoryEntry } from '../store/study-store.js';

export class HistoryCache {
  private readonly studies = new Map<string, { entries: HistoryEntry[] }>();
  private readonly inflight = new Map<string, Promise<HistoryEntry[]>>();

  constructor(private readonly store: RedisStudyStore, private readonly maxStudies = 16) {}

  /** Every history entry of the study, in completion order (a shared array: do not change it). */
  get(studyId: string): Promise<HistoryEntry[]> {
    const running = this.inflight.get(studyId);
    if (running) return running;
    const p = this.refresh(studyId).finally(() => this.inflight.delete(studyId));
    this.inflight.set(studyId, p);
    return p;
  }

  private async refresh(studyId: string): Promise<HistoryEntry[]> {
    const held = this.studies.get(studyId);
    this.studies.delete(studyId); // re-inserted last: the Map's order is the LRU order
    const have = held?.entries ?? [];
    const more = await this.store.readHistory(studyId, have.length);
    const entries = more.length > 0 ? have.concat(more) : have;
    this.studies.set(studyId, { entries });
    while (this.studies.size > this.maxStudies) this.studies.delete(this.studies.keys().next().value!);
    return entries;
  }

  forget(studyId: string): void {
    this.studies.delete(studyId);
  }
}
