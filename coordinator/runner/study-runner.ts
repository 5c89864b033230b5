/**
 * Drives studies: keeps `parallelism` trials in flight, and ends a study at maxTrials, at
 * maxFailedTrials, when the goal is reached or the search space is exhausted. All state is
 * in Redis; `fill` re-derives what to do from it, so a restarted coordinator simply calls
 * `reconcile` and goes on.
 */
import type { Logger } from 'pino';
import type { Direction, StudySpec } from '../../shared/study-spec.js';
import type { Params } from '../../shared/search-space.js';
import type { StudyState } from '../../shared/trial.js';
import { trialId } from '../store/keys.js';
import type { StudyRecord, StudyStore } from '../store/study-store.js';
import type { TrialQueue } from '../queue/trial-queue.js';
import type { SuggestionService } from '../search/suggest.js';
import { HistoryCache } from './history-cache.js';
import type { TrialCommands } from './trial-commands.js';

export interface RunnerDeps {
  store: StudyStore;
  queue: TrialQueue;
  suggestions: SuggestionService;
  commands: TrialCommands;
  log: Logger;
}

/** Whether `value` meets the objective's goal. */
export function goalReached(direction: Direction, goal: number | undefined, value: number | undefined): boolean {
  if (goal === undefined || value === undefined) return false;
  return direction === 'maximize' ? value >= goal : value <= goal;
}

/** What a study should do next, from its counters alone (pure, so the rules are tested without Redis). */
export function nextStep(study: Pick<StudyRecord, 'spec' | 'counts' | 'created' | 'best'>, exhausted: boolean):
  | { end: Exclude<StudyState, 'RUNNING'>; reason: string }
  | { launch: number } {
  const { spec, counts, created, best } = study;
  const inFlight = counts.queued + counts.running;
  if (counts.failed > spec.maxFailedTrials) {
    return { end: 'FAILED', reason: `${counts.failed} trials failed, more than maxFailedTrials (${spec.maxFailedTrials})` };
  }
  if (best && goalReached(spec.objective.direction, spec.objective.goal, best.value)) {
    const cmp = spec.objective.direction === 'maximize' ? '>=' : '<=';
    return { end: 'COMPLETED', reason: `goal reached: ${spec.objective.metric} ${best.value} ${cmp} ${spec.objective.goal} (trial ${best.number})` };
  }
  const done = created >= spec.maxTrials || exhausted;
  if (done && inFlight === 0 && counts.paused === 0) {
    if (counts.completed === 0) return { end: 'FAILED', reason: `no trial completed (${counts.failed} failed, ${counts.pruned} pruned)` };
    return { end: 'COMPLETED', reason: exhausted && created < spec.maxTrials ? `search space exhausted after ${created} trials` : `maxTrials (${spec.maxTrials}) reached` };
  }
  if (done) return { launch: 0 };
  return { launch: Math.max(0, Math.min(spec.parallelism - inFlight, spec.maxTrials - created)) };
}

export class StudyRunner {
  private readonly history: HistoryCache;
  /** Per study: the fill in progress, and whether another was asked for meanwhile. */
  private readonly fills = new Map<string, { running: Promise<void>; again: boolean }>();
  /** Studies whose sampler said the space is exhausted (re-derived after a restart by asking again). */
  private readonly exhausted = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly deps: RunnerDeps) {
    this.history = new HistoryCache(deps.store);
  }

  /** Re-reads every running study: re-enqueues its QUEUED trials (idempotent) and fills it. */
  async reconcile(): Promise<void> {
    const ids = await this.deps.store.activeStudyIds();
    for (const id of ids) {
      const study = await this.deps.store.getStudy(id);
      if (!study?.spec.trial) continue;
      const pending = await this.deps.store.getTrials(id, await this.deps.store.pendingNumbers(id));
      for (const t of pending) if (t.state === 'QUEUED') await this.deps.queue.enqueue(this.jobFor(study, t.number, t.params, t.budget), t.attempt);
      this.kick(id);
    }
  }

  /** Periodic reconcile: catches anything a lost message or a restart left behind. */
  start(intervalMs = 2000): void {
    const tick = () => {
      if (this.closed) return;
      this.reconcile()
        .catch((err: unknown) => this.deps.log.error({ err }, 'reconcile failed'))
        .finally(() => { if (!this.closed) this.timer = setTimeout(tick, intervalMs); });
    };
    tick();
  }

  /** Asks for a fill of the study; calls while one runs are coalesced into one more. */
  kick(studyId: string): void {
    const current = this.fills.get(studyId);
    if (current) {
      current.again = true;
      return;
    }
    const entry = { running: Promise.resolve(), again: false };
    const loop = async () => {
      do {
        entry.again = false;
        try {
          await this.fill(studyId);
        } catch (err) {
          this.deps.log.error({ err, studyId }, 'study fill failed');
        }
      } while (entry.again && !this.closed);
      this.fills.delete(studyId);
    };
    this.fills.set(studyId, entry);
    entry.running = loop();
  }

  /** Resolves once no fill is in progress (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.fills.size > 0) await Promise.all([...this.fills.values()].map((f) => f.running));
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
      const params = await this.suggest(study);
      if (params === null) {
        this.exhausted.add(studyId);
      } else {
        const created = await store.createTrial(studyId, study.created, params, study.spec.maxTrials);
        if (created !== 1) {
          log.warn({ studyId, number: study.created, created }, 'trial not created (study changed underneath)');
          return;
        }
        await this.deps.queue.enqueue(this.jobFor(study, study.created, params), 0);
        log.debug({ studyId, trialId: trialId(studyId, study.created), params }, 'trial queued');
      }
      const next = await store.getStudy(studyId);
      if (!next || next.state !== 'RUNNING') return;
      study = next;
    }
  }

  /** Suggests the parameters of the study's next trial number (ask/tell uses this too). */
  async suggest(study: StudyRecord): Promise<Params | null> {
    const { store, suggestions } = this.deps;
    const [trials, pendingTrials] = await Promise.all([
      this.history.trials(study.id, study.spec.objective.direction),
      store.pendingNumbers(study.id).then((ns) => store.getTrials(study.id, ns)),
    ]);
    return suggestions.suggest({
      algorithm: { name: study.spec.algorithm.name, settings: study.spec.algorithm.settings },
      space: study.spec.searchSpace,
      seed: study.spec.algorithm.seed,
      trialNumber: study.created,
      trials: [...trials],
      pending: pendingTrials.map((t) => t.params),
    });
  }

  jobFor(study: { id: string; spec: StudySpec }, number: number, params: Params, budget?: number) {
    const t = study.spec.trial!;
    const job = { studyId: study.id, trialId: trialId(study.id, number), number, params, command: t.command, env: t.env, gpus: t.gpus } as import('../../shared/trial-job.js').TrialJob;
    if (t.timeoutSeconds !== undefined) job.timeoutSeconds = t.timeoutSeconds;
    if (budget !== undefined) job.budget = budget;
    return job;
  }

  /** A trial handed back (worker shutdown) is queued again as a new job for its next attempt. */
  async enqueueRetry(study: StudyRecord, trial: { number: number; params: Params; attempt: number; budget?: number }): Promise<void> {
    await this.deps.queue.enqueue(this.jobFor(study, trial.number, trial.params, trial.budget), trial.attempt);
  }

  /** Ends the study and winds down its trials: queued ones are cancelled, running ones stopped. */
  async endStudy(study: StudyRecord, state: Exclude<StudyState, 'RUNNING'>, reason: string): Promise<void> {
    const { store, queue, commands, log } = this.deps;
    const applied = await store.endStudy(study.id, state, reason);
    if (applied) log.info({ studyId: study.id, state, reason }, 'study ended');
    const pending = await store.getTrials(study.id, await store.pendingNumbers(study.id));
    for (const t of pending) {
      if (t.state === 'QUEUED') {
        await store.cancelQueuedTrial(study.id, t.number, `study ${state.toLowerCase()}: ${reason}`);
        await queue.remove(t.id, t.attempt);
      } else if (t.state === 'RUNNING') {
        commands.send(t.id, 'ACTION_STOP', `study ${state.toLowerCase()}`);
      }
    }
    this.history.forget(study.id);
    this.exhausted.delete(study.id);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.idle();
  }
}
