/**
 * The periodic lifecycle pass: deletes ended studies older than the retention (when one is
 * set), at start sweeps orphaned checkpoints, and hourly deletes expired or revoked
 * credentials past their grace period. One replica at a time (a lock with a TTL in
 * Redis), and a bounded number of studies per pass, so a backlog drains over several passes
 * instead of one long one.
 */
import type { Logger } from 'pino';
import type { StudyStore } from '../store/study-store-contract.js';
import type { CheckpointJanitor } from './checkpoint-janitor.js';
import type { StudyDeleter } from './study-deletion.js';
import type { CredentialStore } from '../store/credential-store.js';

/** Expired and revoked credentials are swept at most this often (the sweep reads every record). */
const CREDENTIAL_SWEEP_MS = 3_600_000;

export interface SweeperOptions {
  store: StudyStore;
  deleter: StudyDeleter;
  janitor: CheckpointJanitor;
  log: Logger;
  /** This replica's id (the lock's owner). */
  owner: string;
  /** Ended studies older than this are deleted; undefined keeps them forever. */
  retentionMs?: number;
  intervalMs?: number;
  /** Studies deleted per pass at most. */
  maxStudiesPerPass?: number;
  /** Credentials whose expired or revoked records (and index entries) the pass deletes. */
  credentials?: CredentialStore;
}

export class RetentionSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private closed = false;
  private orphansSwept = false;
  /** Where the one-time indexing of studies that ended before the ended index existed stands. */
  private backfillOffset: number | undefined = 0;
  private credentialsSweptAt = -Infinity;

  constructor(private readonly o: SweeperOptions) {}

  /** One pass; returns what it did, or undefined when another replica holds the lock. */
  async pass(now = Date.now()): Promise<{ deleted: string[]; orphanCheckpoints: number; credentialsRemoved: number } | undefined> {
    const { store, deleter, janitor, log, owner } = this.o;
    const intervalMs = this.o.intervalMs ?? 60_000;
    // The lock outlives a pass that takes long, but not a replica that died in one.
    if (!(await store.acquireSweepLock(owner, Math.max(intervalMs, 30_000)))) return undefined;
    try {
      let orphanCheckpoints = 0;
      if (!this.orphansSwept) {
        orphanCheckpoints = await janitor.sweepAll();
        this.orphansSwept = true;
      }
      let credentialsRemoved = 0;
      if (this.o.credentials && now - this.credentialsSweptAt >= CREDENTIAL_SWEEP_MS) {
        credentialsRemoved = await this.o.credentials.sweep(now);
        this.credentialsSweptAt = now;
      }
      const deleted: string[] = [];
      if (this.o.retentionMs !== undefined) {
        if (this.backfillOffset !== undefined) this.backfillOffset = await store.indexEndedStudies(this.backfillOffset, 1000);
        for (const id of await store.endedBefore(now - this.o.retentionMs, this.o.maxStudiesPerPass ?? 10)) {
          if (this.closed) break;
          try {
            const r = await deleter.delete(id);
            deleted.push(id);
            log.info({ ...r, retentionDays: this.o.retentionMs / 86_400_000 }, 'ended study deleted (retention)');
          } catch (err) {
            // Deleted by hand meanwhile: only the index entry is left.
            if ((err as { code?: string }).code === 'TH_ERR_STUDY_NOT_FOUND') await store.unindexStudy(id);
            else throw err;
          }
        }
      }
      return { deleted, orphanCheckpoints, credentialsRemoved };
    } finally {
      await store.releaseSweepLock(owner).catch(() => undefined);
    }
  }

  start(): void {
    const tick = () => {
      if (this.closed) return;
      this.running = this.pass()
        .catch((err: unknown) => this.o.log.error({ err }, 'lifecycle sweep failed'))
        .finally(() => { if (!this.closed) this.timer = setTimeout(tick, this.o.intervalMs ?? 60_000); });
    };
    tick();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
