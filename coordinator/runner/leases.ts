/**
 * This replica's leases on driving studies (acquireLease-1.lua: free, expired or already ours).
 * Reconcile renews every lease in one pipeline; between reconciles, `owns` answers from memory
 * while less than a third of the lease has passed. The lease is also the fencing token of
 * promotions: resumeTrial-8.lua refuses a replica that no longer holds it.
 */
import type { StudyStore } from '../store/study-store-contract.js';

export class StudyLeases {
  private readonly until = new Map<string, number>();

  constructor(private readonly store: StudyStore, private readonly owner: string, private readonly ttlMs: number) {}

  /** Whether this replica drives the study now; renews the lease when a third of it has passed. */
  async owns(studyId: string): Promise<boolean> {
    if ((this.until.get(studyId) ?? 0) - Date.now() > (this.ttlMs * 2) / 3) return true;
    const t0 = Date.now();
    const held = await this.store.acquireLease(studyId, this.owner, this.ttlMs);
    this.note(studyId, held, t0);
    return held;
  }

  /** Takes or renews the leases of all `ids` in one round trip; the ids held now. */
  async renewAll(ids: readonly string[]): Promise<Set<string>> {
    const t0 = Date.now();
    const held = await this.store.acquireLeases(ids, this.owner, this.ttlMs);
    ids.forEach((id, i) => this.note(id, held[i]!, t0));
    return new Set(ids.filter((_, i) => held[i]));
  }

  held(): string[] {
    return [...this.until.keys()];
  }

  drop(studyId: string): void {
    this.until.delete(studyId);
  }

  /** Gives up a lease in Redis too: an ended study needs no driver, and its lease key must not linger. */
  async release(studyId: string): Promise<void> {
    this.until.delete(studyId);
    await this.store.releaseLease(studyId, this.owner);
  }

  /** Hands every lease over at once (shutdown). */
  async releaseAll(): Promise<void> {
    for (const id of this.until.keys()) await this.store.releaseLease(id, this.owner).catch(() => undefined);
    this.until.clear();
  }

  private note(studyId: string, held: boolean, askedAt: number): void {
    // Counted from before the request: the lease may have been set any time after that.
    if (held) this.until.set(studyId, askedAt + this.ttlMs);
    else this.until.delete(studyId);
  }
}
