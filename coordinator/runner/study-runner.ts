/**
 * Drives studies: keeps `parallelism` trials in flight, and ends a study at maxTrials, at
 * maxFailedTrials, when the goal is reached or the search space is exhausted. All state is
 * in Redis; `fill` re-derives what to do from it, so a restarted coordinator simply calls
 * `reconcile` and goes on.
 */
import { CoalescingRuns } from '../../shared/coalescing-runs.js';
import type { Logger } from 'pino';
import type { StudySpec } from '../../shared/study-spec.js';
import type { Params } from '../../shared/search-space.js';
import type { TrialJob } from '../../shared/trial-job.js';
import type { FrozenTrial, StudyState } from '../../shared/trial.js';
import { trialId } from '../../shared/redis-keys.js';
import type { StudyRecord, TrialRecord } from '../store/study-store.js';
import type { StudyStore } from '../store/study-store-contract.js';
import type { TrialQueue } from '../queue/trial-queue.js';
import type { SuggestionService } from '../search/suggest.js';
import { samplerFactory } from '../search/registry.js';
import { nextStep } from './fill-policy.js';
import { HistoryCache } from './history-cache.js';
import { PendingParams } from './pending-params.js';
import { StudyLeases } from './leases.js';
import { StoppingDecider } from '../stopping/decider.js';
import { createStoppingRule } from '../stopping/registry.js';
import type { StoppingRule } from '../stopping/rule.js';
import type { TrialCommands } from './trial-commands.js';

export interface RunnerDeps {
  store: StudyStore;
  queue: TrialQueue;
  suggestions: SuggestionService;
  commands: TrialCommands;
  log: Logger;
  /** This replica's id: studies are driven by whichever replica holds their lease. */
  coordinatorId: string;
  /** Publishes a study id on the kick channel, so the replica that drives it fills it now. */
  publishKick?: (studyId: string) => void;
  leaseMs?: number;
  /** A RUNNING trial silent this long, whose queue job is gone, is given another attempt. */
  staleTrialMs?: number;
  /** Observes how long each suggestion took (for /metrics). */
  onSuggest?: (algorithm: string, seconds: number) => void;
}

export { goalReached, nextStep } from './fill-policy.js';

/** Most trials one fill step creates at once (one suggestion each, then one round trip for all). */
const FILL_BATCH = 64;
/** How long a fill step keeps asking the sampler before it creates what it has. */
const FILL_BATCH_MS = 50;

type QueuedTrial = { number: number; params: Params; attempt: number; budget?: number; jobId?: string };

export class StudyRunner {
  private readonly history: HistoryCache;
  private readonly pending: PendingParams;
  /** Per study: the fill in progress, and whether another was asked for meanwhile. */
  /** Per study: one fill at a time; kicks meanwhile make one more. */
  private readonly fills = new CoalescingRuns<string>(
    (studyId) => this.fillOrForward(studyId),
    (studyId, err) => this.deps.log.error({ err, studyId }, 'study fill failed'),
    () => this.closed,
  );
  /** Kicks that came from another replica's publish: not published again (no ping-pong). */
  private readonly localKicks = new Set<string>();
  /** Studies whose sampler said the space is exhausted (re-derived after a restart by asking again). */
  private readonly exhausted = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private reconciling: Promise<void> | undefined;
  private closed = false;

  /** Early-stopping decisions from the rung indexes; the gRPC service and ask/tell decide through it too. */
  readonly decider: StoppingDecider;

  constructor(private readonly deps: RunnerDeps) {
    this.history = new HistoryCache(deps.store);
    this.pending = new PendingParams(deps.store);
    this.decider = new StoppingDecider(deps.store);
    this.leases = new StudyLeases(deps.store, deps.coordinatorId, deps.leaseMs ?? 15_000);
  }

  private readonly leases: StudyLeases;

  /** Studies this replica holds anything in memory for (tests and ops). */
  cachedStudyIds(): string[] {
    return [...new Set([...this.history.studies(), ...this.pending.studies(), ...this.decider.studies(), ...this.rules.keys(), ...this.exhausted, ...this.leases.held()])];
  }

  /**
   * Re-reads every study this replica drives (taking leases that are free or expired, all in
   * one round trip): re-enqueues QUEUED trials (idempotent), gives trials whose worker and job
   * are both gone another attempt, and fills the study; an ended study whose wind-down was
   * interrupted gets it finished. Each study is handled on its own: one that fails (a corrupt
   * record, say) is logged and the others go on.
   */
  async reconcile(): Promise<void> {
    const { store, log } = this.deps;
    const [active, ending] = await Promise.all([store.activeStudyIds(), store.endingStudyIds()]);
    const ids = [...new Set([...active, ...ending])];
    if (this.closed) return;
    const held = await this.leases.renewAll(ids);
    // Studies that ended, or that another replica drives, leave nothing cached here.
    const live = new Set(ids);
    for (const id of this.cachedStudyIds()) {
      if (!live.has(id)) this.forget(id);
      else if (!held.has(id)) this.dropCaches(id);
    }
    for (const id of ids) {
      if (this.closed) return;
      if (!held.has(id)) continue;
      try {
        await this.reconcileStudy(id);
      } catch (err) {
        log.error({ err, studyId: id }, 'reconcile of a study failed; the other studies go on');
      }
    }
  }

  private async reconcileStudy(id: string): Promise<void> {
    const { store } = this.deps;
    const study = await store.getStudy(id);
    if (!study) {
      await store.windDownDone(id); // deleted: nothing left to drive
      return;
    }
    if (study.state !== 'RUNNING') {
      await this.windDown(study);
      return;
    }
    if (!study.spec.trial) await this.expireAskTellTrials(study);
    if (study.spec.trial) {
      const trials = await store.getTrials(id, await store.pendingNumbers(id));
      // Re-adds are no-ops for jobs that exist: one round trip for all of them.
      await this.enqueueMany(study, trials.filter((t) => t.state === 'QUEUED'));
      for (const t of trials) if (t.state === 'RUNNING') await this.recoverIfLost(study, t);
    }
    this.kick(id, { local: true });
  }

  /** A RUNNING trial silent past staleTrialMs whose queue job is gone gets another attempt (or ends, in an ended study). */
  private async recoverIfLost(study: StudyRecord, t: TrialRecord): Promise<void> {
    const { store, queue, log } = this.deps;
    if (!study.spec.trial || !t.jobId || Date.now() - (t.heartbeatAt ?? t.startedAt ?? 0) <= (this.deps.staleTrialMs ?? 60_000)) return;
    if (await queue.isLive(study.spec.trial.gpus, t.jobId)) return;
    const r = await store.finishTrial(study.id, t.number, t.attempt, 'RETRY', {
      direction: study.spec.objective.direction, reason: 'worker lost: no heartbeat and no queue job', maxRetries: study.spec.maxRetries,
    });
    log.warn({ trialId: t.id, attempt: t.attempt, state: r.state }, 'stale trial recovered');
    if (r.applied && r.state === 'QUEUED' && study.state === 'RUNNING') await this.enqueue(study, t);
  }

  /**
   * Ask/tell trials whose client went away: a trial left QUEUED by an ask that never completed
   * (the coordinator died between its two steps) is cancelled, and one with no tell for
   * `askTimeoutSeconds` fails — otherwise such a study could never finish.
   */
  private async expireAskTellTrials(study: StudyRecord): Promise<void> {
    const { store, log } = this.deps;
    const now = Date.now();
    for (const t of await store.getTrials(study.id, await store.pendingNumbers(study.id))) {
      if (t.state === 'QUEUED' && now - t.createdAt > 30_000) {
        await store.endWaitingTrial(study.id, t.number, 'CANCELLED', 'the ask that created it did not complete');
      } else if (t.state === 'RUNNING' && study.spec.askTimeoutSeconds && now - (t.heartbeatAt ?? t.startedAt ?? now) > study.spec.askTimeoutSeconds * 1000) {
        const r = await store.finishTrial(study.id, t.number, t.attempt, 'FAILED', {
          direction: study.spec.objective.direction, reason: `no tell within askTimeoutSeconds (${study.spec.askTimeoutSeconds} s)`, maxRetries: study.spec.maxRetries,
        });
        if (r.applied) log.info({ trialId: t.id }, 'ask/tell trial timed out');
      }
    }
  }

  /** Whether this replica drives the study now (a closing replica hands its studies over, never takes one). */
  private async owns(studyId: string): Promise<boolean> {
    if (this.closed) return false;
    return this.leases.owns(studyId);
  }

  /** Adds the trial's job for its next attempt and records which job delivers it. */
  private async enqueue(study: StudyRecord, t: QueuedTrial): Promise<void> {
    await this.enqueueMany(study, [t]);
  }

  /** enqueue for many trials of a study: one round trip to add the jobs, one to record them. */
  private async enqueueMany(study: StudyRecord, trials: readonly QueuedTrial[]): Promise<void> {
    if (trials.length === 0) return;
    const ids = await this.deps.queue.enqueueMany(trials.map((t) => ({ job: this.jobFor(study, t.number, t.params, t.budget), attempt: t.attempt })));
    const changed = trials.flatMap((t, i) => (t.jobId === ids[i] ? [] : [{ number: t.number, jobId: ids[i]! }]));
    await this.deps.store.setTrialJobs(study.id, changed);
  }

  /** Periodic reconcile: catches anything a lost message or a restart left behind. */
  start(intervalMs = 2000): void {
    const tick = () => {
      if (this.closed) return;
      this.reconciling = this.reconcile()
        .catch((err: unknown) => this.deps.log.error({ err }, 'reconcile failed'))
        .finally(() => { if (!this.closed) this.timer = setTimeout(tick, intervalMs); });
    };
    tick();
  }

  /** The study's early-stopping rule, built once per study (rules are pure; this only saves the parsing). */
  rule(study: { id: string; spec: StudySpec }): StoppingRule | undefined {
    if (!study.spec.earlyStopping) return undefined;
    let r = this.rules.get(study.id);
    if (!r) this.rules.set(study.id, (r = createStoppingRule(study.spec.earlyStopping)));
    return r;
  }
  private readonly rules = new Map<string, StoppingRule>();

  /**
   * Asks for a fill of the study; calls while one runs are coalesced into one more. When another
   * replica drives the study, the kick is published for it (unless it came from there: `local`).
   */
  kick(studyId: string, o: { local?: boolean } = {}): void {
    if (o.local) this.localKicks.add(studyId);
    this.fills.request(studyId);
  }

  /** One pass of a kick: fill the study if this replica drives it, else hand the kick on. */
  private async fillOrForward(studyId: string): Promise<void> {
    const local = this.localKicks.delete(studyId);
    if (await this.owns(studyId)) await this.fill(studyId);
    else {
      this.dropCaches(studyId); // another replica drives it: nothing of it is kept here
      if (!local) this.deps.publishKick?.(studyId);
    }
  }

  /** Resolves once no fill is in progress (tests and shutdown). */
  async idle(): Promise<void> {
    await this.fills.idle();
  }

  private async fill(studyId: string): Promise<void> {
    const { store, log } = this.deps;
    let study = await store.getStudy(studyId);
    if (!study || study.state !== 'RUNNING') return;
    for (;;) {
      const step = nextStep(study, this.exhausted.has(studyId));
      if ('end' in step) {
        await this.endStudy(study, step.end, step.reason);
        return;
      }
      // Ask/tell studies are driven by their client's asks, not by the runner.
      if (step.launch === 0 || !study.spec.trial) return;
      const rule = this.rule(study);
      let budget: number | undefined;
      if (rule?.nextWork) {
        const work = await this.decider.nextWork(study, rule, { nextTrialNumber: study.created, canStartNew: step.canStartNew });
        if (work.kind === 'promote') {
          const trial = await store.getTrial(studyId, work.trialNumber);
          if (!trial) return;
          const resumed = await store.resumeTrial(studyId, work.trialNumber, work.budget, this.deps.coordinatorId);
          if (resumed === 'not-lease-holder') {
            // Another replica drives the study now: stop filling it, and hold nothing cached for it.
            log.warn({ studyId }, 'lease lost while promoting; the promotion was refused');
            this.forget(studyId);
            return;
          }
          if (resumed !== 'resumed') return;
          await this.enqueue(study, { ...trial, budget: work.budget });
          log.info({ trialId: trial.id, budget: work.budget, fromRung: work.fromRung }, 'paused trial promoted');
        } else if (work.kind === 'none') {
          if (study.counts.queued + study.counts.running > 0) return;
          // Nothing runs and nothing can be promoted: the paused trials stay where they are.
          await this.endStudy(study, study.counts.completed > 0 ? 'COMPLETED' : 'FAILED',
            study.counts.completed > 0 ? `maxTrials (${study.spec.maxTrials}) reached` : 'no trial completed');
          return;
        } else {
          budget = work.budget;
        }
      }
      if (budget !== undefined || !rule?.nextWork) {
        if (!step.canStartNew) return;
        // Without a budget every free slot gets a new trial at once: suggested one after the other
        // (each sees the earlier ones pending), created and enqueued in one round trip each.
        const { params: suggested, exhausted } = await this.suggestMany(study, budget === undefined ? Math.min(step.launch, FILL_BATCH) : 1);
        if (exhausted) this.exhausted.add(studyId);
        if (suggested.length > 0) {
          const first = study.created;
          const answers = await store.createTrials(studyId, first, suggested.map((params) => (budget !== undefined ? { params, budget } : { params })), study.spec.maxTrials);
          const created: QueuedTrial[] = [];
          answers.forEach((r, i) => {
            if (r === 1) created.push({ number: first + i, params: suggested[i]!, attempt: 0, ...(budget !== undefined ? { budget } : {}) });
          });
          for (const t of created) this.pending.add(studyId, t.number, t.params);
          await this.enqueueMany(study, created);
          if (created.length < answers.length) {
            log.warn({ studyId, first, answers }, 'trials not created (study changed underneath)');
            return;
          }
          log.debug({ studyId, first: trialId(studyId, first), count: created.length, budget }, 'trials queued');
        }
      }
      const next = await store.getStudy(studyId);
      if (!next || next.state !== 'RUNNING') return;
      study = next;
    }
  }

  /** Suggests the parameters of the study's next trial number (ask/tell uses this too). */
  async suggest(study: StudyRecord): Promise<Params | null> {
    return (await this.suggestMany(study, 1)).params[0] ?? null;
  }

  /**
   * Suggests up to `count` parameter sets for the study's next trial numbers, each with the
   * earlier ones pending; fewer when the sampler says the space is exhausted (`exhausted`), or
   * once FILL_BATCH_MS have passed (a slow sampler's first trials are not held back for the rest).
   */
  async suggestMany(study: StudyRecord, count: number): Promise<{ params: Params[]; exhausted: boolean }> {
    const { suggestions } = this.deps;
    const [trials, pending] = await Promise.all([
      // Only the part of the history the sampler reads (its window), so a long study's ask stays bounded.
      this.history.trials(study.id, study.spec.objective.direction, samplerFactory(study.spec.algorithm.name)?.historyWindow?.(study.spec.algorithm.settings)),
      this.pending.params(study.id),
    ]);
    const out: Params[] = [];
    const started = performance.now();
    const history = trials as FrozenTrial[];
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      const params = await suggestions.suggest({
        algorithm: { name: study.spec.algorithm.name, settings: study.spec.algorithm.settings },
        space: study.spec.searchSpace,
        seed: study.spec.algorithm.seed,
        trialNumber: study.created + i,
        trials: history,
        pending: [...pending, ...out],
      });
      this.deps.onSuggest?.(study.spec.algorithm.name, (performance.now() - t0) / 1000);
      if (params === null) return { params: out, exhausted: true };
      out.push(params);
      if (performance.now() - started > FILL_BATCH_MS) break;
    }
    return { params: out, exhausted: false };
  }

  jobFor(study: { id: string; spec: StudySpec }, number: number, params: Params, budget?: number): TrialJob {
    // The trial template stays in the study's record: workers read it once per study.
    const job: TrialJob = { studyId: study.id, trialId: trialId(study.id, number), number, params, gpus: study.spec.trial!.gpus };
    if (budget !== undefined) job.budget = budget;
    // The worker enforces the checkpoint quotas before uploading (the store enforces them again).
    return job;
  }

  /** A trial handed back (worker shutdown) is queued again as a new job for its next attempt. */
  async enqueueRetry(study: StudyRecord, trial: { number: number; params: Params; attempt: number; budget?: number }): Promise<void> {
    await this.enqueue(study, trial);
  }

  /** Ends the study and winds down its trials. */
  async endStudy(study: StudyRecord, state: Exclude<StudyState, 'RUNNING'>, reason: string): Promise<void> {
    const { store, log } = this.deps;
    const applied = await store.endStudy(study.id, state, reason);
    if (applied) log.info({ studyId: study.id, state, reason }, 'study ended');
    const ended = await store.getStudy(study.id);
    await this.windDown(ended ?? { ...study, state, reason });
  }

  /**
   * The second half of ending a study, safe to repeat: queued trials are cancelled, running ones
   * stopped (ask/tell ones, which no program ends, are cancelled), paused ones pruned. The study
   * leaves the runner's indexes only once none of its trials waits or runs, so an interrupted
   * wind-down is finished by the next reconcile, and a running trial whose worker is lost meanwhile
   * is still recovered (it ends CANCELLED).
   */
  private async windDown(study: StudyRecord): Promise<void> {
    const { store, queue, commands } = this.deps;
    const state = study.state.toLowerCase();
    const why = study.reason ? `study ${state}: ${study.reason}` : `study ${state}`;
    for (const t of await store.getTrials(study.id, await store.pendingNumbers(study.id))) {
      if (t.state === 'QUEUED') {
        await store.endWaitingTrial(study.id, t.number, 'CANCELLED', why);
        await queue.remove(study.spec.trial?.gpus ?? 0, t.id, t.attempt);
      } else if (t.state === 'RUNNING' && !study.spec.trial) {
        await store.finishTrial(study.id, t.number, t.attempt, 'CANCELLED', { direction: study.spec.objective.direction, reason: why, maxRetries: study.spec.maxRetries });
      } else if (t.state === 'RUNNING') {
        commands.send(t.id, 'ACTION_STOP', `study ${state}`);
        await this.recoverIfLost(study, t);
      }
    }
    for (const n of await store.pausedNumbers(study.id)) {
      await store.endWaitingTrial(study.id, n, 'PRUNED', `not promoted before the study ended (${state})`);
    }
    this.dropCaches(study.id);
    if ((await store.pendingNumbers(study.id)).length === 0 && (await store.pausedNumbers(study.id)).length === 0) {
      await store.windDownDone(study.id);
      // A renewal may have re-taken the lease between the end and now.
      await this.leases.release(study.id);
    }
  }

  private dropCaches(studyId: string): void {
    this.history.forget(studyId);
    this.pending.forget(studyId);
    this.decider.forget(studyId);
    this.rules.delete(studyId);
    this.exhausted.delete(studyId);
  }

  private forget(studyId: string): void {
    this.dropCaches(studyId);
    this.leases.drop(studyId);
  }

  /** Stops driving studies and hands their leases over at once. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.reconciling?.catch(() => undefined);
    await this.idle();
    await this.leases.releaseAll();
  }
}
