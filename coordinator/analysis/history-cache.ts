/**
 * The finished trials of recently plotted studies, held in memory and extended from the end:
 * the history list only ever grows at its tail, so a repeated plot of a 100,000-trial study reads
 * only the entries finished since (one LLEN when nothing changed) instead of the whole list.
 * Bounded: the least recently used study is dropped past `maxStudies`.
 */
import type { RedisStudyStore, HistoryEntry } from '../store/study-store.js';

export class HistoryCache {
  private readonly studies = new Map<string, { entries: HistoryEntry[]; derived: Map<string, unknown> }>();
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
    // What was derived from the entries stays valid while no entry was added.
    this.studies.set(studyId, { entries, derived: more.length > 0 || !held ? new Map() : held.derived });
    while (this.studies.size > this.maxStudies) this.studies.delete(this.studies.keys().next().value!);
    return entries;
  }

  /**
   * `compute(entries)` memoised per study and `key` until the history grows (plots of a big
   * study sort 100,000 entries; a repeated plot of an unchanged study should not).
   */
  async derive<T>(studyId: string, key: string, compute: (entries: HistoryEntry[]) => T): Promise<T> {
    const entries = await this.get(studyId);
    const held = this.studies.get(studyId);
    if (!held || held.entries !== entries) return compute(entries);
    if (held.derived.has(key)) return held.derived.get(key) as T;
    const v = compute(entries);
    if (held.derived.size >= 32) held.derived.delete(held.derived.keys().next().value!);
    held.derived.set(key, v);
    return v;
  }

  forget(studyId: string): void {
    this.studies.delete(studyId);
  }
}
