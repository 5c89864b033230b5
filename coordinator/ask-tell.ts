/**
 * Ask/tell: studies without a `trial` section are evaluated by their clients (any language,
 * no worker). An ask creates a trial and starts its attempt at once; a tell records an
 * intermediate report or the final result through the same atomic store steps that worker
 * reports use, so both kinds of study obey the same rules.
 */
import { TunehiveError } from '../shared/errors.js';
import { paramsProblems } from '../shared/conditional-space.js';
import type { Params, SearchSpace } from '../shared/search-space.js';
import { trialId } from '../shared/redis-keys.js';
import { WIRE_LIMITS, checkStep, checkValue, maxMetricPoints } from '../shared/wire-limits.js';
import type { StudyRecord } from './store/study-store.js';
import type { StudyStore } from './store/study-store-contract.js';
import type { TellBody } from './api/schemas.js';
import type { StudyRunner } from './runner/study-runner.js';
import { samplerFactory } from './search/registry.js';

export const ASK_TELL_WORKER = 'ask-tell-client';

export type Tell =
  | { kind: 'intermediate'; step: number; value: number }
  | { kind: 'final'; value: number; step?: number }
  | { kind: 'failed'; reason: string }
  | { kind: 'pruned'; reason: string };

/** A tell body the route's schema has checked, as one of the four kinds of tell. */
export function parseTell(b: TellBody): Tell {
  const bad = (field: string, reason: string) => new TunehiveError('TH_ERR_REQUEST_INVALID', `${field}: ${reason}`, [{ field, reason }]);
  const reason = b.reason;
  if (reason !== undefined && Buffer.byteLength(reason) > WIRE_LIMITS.reasonBytes) throw bad('reason', `${Buffer.byteLength(reason)} bytes is more than the ${WIRE_LIMITS.reasonBytes} allowed`);
  if (b.state === 'failed') return { kind: 'failed', reason: reason ?? 'reported failed by the client' };
  if (b.state === 'pruned') return { kind: 'pruned', reason: reason ?? 'pruned by the client' };
  if (b.value === undefined) throw bad('value', 'must be a finite number (missing)');
  // The same rules as values from workers (shared/wire-limits.ts).
  const badValue = checkValue(b.value);
  if (badValue) throw bad('value', badValue);
  const badStep = b.step === undefined ? undefined : checkStep(b.step);
  if (badStep) throw bad('step', badStep);
  if (b.step !== undefined && b.state === undefined) return { kind: 'intermediate', step: b.step, value: b.value };
  return b.step !== undefined ? { kind: 'final', value: b.value, step: b.step } : { kind: 'final', value: b.value };
}


/**
 * Params sent with a tell must be the trial's active set (a client that evaluated a random
 * forest with a learning_rate has a bug worth a 400), and exactly what was asked: a trial's
 * params never change after it is created (409).
 */
export function checkToldParams(space: SearchSpace, id: string, asked: Params, told: Params): void {
  const problems = paramsProblems(space, told, 'params');
  if (problems.length > 0) throw new TunehiveError('TH_ERR_REQUEST_INVALID', `params: ${problems.map((p) => `${p.field} ${p.reason}`).join('; ')}`, problems);
  const changed = Object.keys(told).filter((k) => asked[k] !== told[k]);
  const fields = [...changed, ...Object.keys(asked).filter((k) => !Object.hasOwn(told, k))].map((k) => ({
    field: `params.${k}`, reason: `trial ${id} was asked with ${k}=${JSON.stringify(asked[k] ?? null)}, told ${JSON.stringify(told[k] ?? null)}; a trial's params cannot change`,
  }));
  if (fields.length > 0) throw new TunehiveError('TH_ERR_RUN_PARAM_CHANGED', `params differ from the asked ones: ${fields.map((f) => f.reason).join('; ')}`, fields);
}

type Asked = { id: string; number: number; params: Params };

interface Waiter { resolve: (a: Asked) => void; reject: (e: unknown) => void }

/**
 * Asks of one study taken in one pass: one read of the study, the history and the pending
 * trials, then the trials created and started in two pipelined round trips, instead of all of
 * that once per ask. Bounds the work (and the suggestions made from one snapshot) of one pass.
 */
const ASK_BATCH = 64;
/**
 * For samplers that fit a model (factory.heavy), and for a study's first pass: a batch is one
 * request to the suggestion thread, and its deadline covers all of it; each ask of the batch
 * waits for the whole batch.
 */
const ASK_BATCH_HEAVY = 8;

export class AskTell {
  /**
   * Asks of one study wait here while a pass runs (the store's number check guards across
   * replicas). Each waiter is an HTTP request in flight, so the server's connections bound them.
   */
  private readonly waiting = new Map<string, Waiter[]>();
  private readonly draining = new Set<string>();

  constructor(private readonly store: StudyStore, private readonly runner: StudyRunner) {}

  private requireAskTell(study: StudyRecord): void {
    if (study.spec.trial) throw new TunehiveError('TH_ERR_STUDY_MODE', `study ${study.id} runs its trials on workers; ask/tell is for studies created without a "trial" section`);
    if (study.state !== 'RUNNING') throw new TunehiveError('TH_ERR_STUDY_NOT_RUNNING', `study ${study.id} is ${study.state}${study.reason ? ` (${study.reason})` : ''}`);
  }

  ask(studyId: string): Promise<Asked> {
    return new Promise<Asked>((resolve, reject) => {
      let queue = this.waiting.get(studyId);
      if (!queue) this.waiting.set(studyId, (queue = []));
      queue.push({ resolve, reject });
      if (!this.draining.has(studyId)) void this.drain(studyId);
    });
  }

  /** Serves the study's waiting asks, a batch per pass, until none waits. */
  private async drain(studyId: string): Promise<void> {
    this.draining.add(studyId);
    let size = ASK_BATCH_HEAVY;
    try {
      for (;;) {
        const queue = this.waiting.get(studyId);
        if (!queue || queue.length === 0) {
          this.waiting.delete(studyId);
          return;
        }
        const batch = queue.splice(0, size);
        let results: Array<Asked | Error>;
        try {
          const r = await this.askBatch(studyId, batch.length);
          results = r.results;
          size = r.heavy ? ASK_BATCH_HEAVY : ASK_BATCH;
        } catch (err) {
          for (const w of batch) w.reject(err);
          continue;
        }
        batch.forEach((w, i) => {
          const r = results[i]!;
          if (r instanceof Error) w.reject(r);
          else w.resolve(r);
        });
      }
    } finally {
      this.draining.delete(studyId);
    }
  }

  /** `count` asks of one study: a trial each, or the error that ask gets, in order. */
  private async askBatch(studyId: string, count: number): Promise<{ results: Array<Asked | Error>; heavy: boolean }> {
    const out: Array<Asked | Error> = [];
    let heavy = true;
    // Passes end early on a number clash or the runner's time budget; only clashes are limited.
    for (let clashes = 0; clashes < 5 && out.length < count;) {
      const study = await this.store.getStudy(studyId);
      if (!study) throw new TunehiveError('TH_ERR_STUDY_NOT_FOUND', `no study with id ${JSON.stringify(studyId)}`);
      this.requireAskTell(study);
      heavy = samplerFactory(study.spec.algorithm.name)?.heavy ?? true;
      const exhausted = () => new TunehiveError('TH_ERR_SEARCH_EXHAUSTED', `study ${studyId} has created all of its maxTrials (${study.spec.maxTrials}) trials`);
      const room = study.spec.maxTrials - study.created;
      if (room <= 0) {
        while (out.length < count) out.push(exhausted());
        return { results: out, heavy };
      }
      const want = Math.min(count - out.length, room);
      const { params: suggested, exhausted: spaceExhausted } = await this.runner.suggestMany(study, want);
      // One pipeline, run in order: number n+1 after n.
      const created = await this.store.createTrials(studyId, study.created, suggested.map((params) => ({ params })), study.spec.maxTrials);
      const mine = suggested.map((params, i) => ({ number: study.created + i, params })).filter((_, i) => created[i] === 1);
      if (mine.length < suggested.length) clashes++;
      const started = await Promise.all(mine.map((t) => this.store.startAttempt(studyId, t.number, ASK_TELL_WORKER, 0, '', study.spec.maxRetries)));
      mine.forEach((t, i) => {
        const s = started[i]!;
        out.push(s.attempt === 1 ? { id: trialId(studyId, t.number), ...t } : new Error(`ask-tell trial could not start: ${s.reason}`));
      });
      if (spaceExhausted) {
        // The search space is exhausted: the asks beyond what it still had get that answer.
        const none = new TunehiveError('TH_ERR_SEARCH_EXHAUSTED', `the search space of study ${studyId} is exhausted`);
        while (out.length < count) out.push(none);
        return { results: out, heavy };
      }
      // Numbers another replica took (-1) or past maxTrials (-2), and asks the runner's time budget
      // for one pass of suggestions left out, are asked again with a fresh read.
    }
    const busy = new TunehiveError('TH_ERR_STUDY_NOT_RUNNING', `study ${studyId} is changing too fast to ask; try again`);
    while (out.length < count) out.push(busy);
    return { results: out, heavy };
  }

  /** Records a tell; for intermediate reports, answers whether the client should go on. */
  async tell(studyId: string, number: number, tell: Tell, params?: Params, read?: StudyRecord): Promise<{ state: string; decision?: 'continue' | 'prune' }> {
    // `read`: the study as the request's authorisation just read it (one read less per tell).
    const [study, trial] = await Promise.all([read?.id === studyId ? read : this.store.getStudy(studyId), this.store.getTrial(studyId, number)]);
    if (!study || !trial) throw new TunehiveError('TH_ERR_TRIAL_NOT_FOUND', `no trial ${trialId(studyId, number)}`);
    if (study.spec.trial) throw new TunehiveError('TH_ERR_STUDY_MODE', `study ${studyId} runs its trials on workers; their results come from the workers`);
    // A stopped or finished study is final: a late tell must not change its best trial.
    if (study.state !== 'RUNNING') throw new TunehiveError('TH_ERR_STUDY_NOT_RUNNING', `study ${studyId} is ${study.state}${study.reason ? ` (${study.reason})` : ''}; tells are no longer accepted`, [{ field: 'params.id', reason: `study is ${study.state}` }]);
    if (trial.state !== 'RUNNING') throw new TunehiveError('TH_ERR_TRIAL_NOT_PENDING', `trial ${trial.id} is already ${trial.state}`);
    if (params !== undefined) checkToldParams(study.spec.searchSpace, trial.id, trial.params, params);
    const metric = study.spec.objective.metric;
    const o = { direction: study.spec.objective.direction, maxRetries: study.spec.maxRetries };
    const finish = async (outcome: 'COMPLETED' | 'FAILED' | 'PRUNED', reason: string) => {
      const r = await this.store.finishTrial(studyId, number, trial.attempt, outcome, { ...o, reason });
      if (!r.applied) throw new TunehiveError('TH_ERR_TRIAL_NOT_PENDING', `trial ${trial.id} is already ${r.state}`);
      this.runner.kick(studyId);
      return { state: r.state };
    };
    switch (tell.kind) {
      case 'intermediate': {
        await this.store.appendMetrics(studyId, number, trial.attempt, 0, metric, [{ name: metric, step: tell.step, value: tell.value, timeMs: Date.now() }], maxMetricPoints(study.spec), undefined, study.spec.objective.strategy);
        // A client has no checkpoint to pause on: any stop decision is a prune, recorded now.
        const rule = this.runner.rule(study);
        if (!rule) return { state: 'RUNNING', decision: 'continue' };
        const d = await this.runner.decider.report(study, rule, number);
        if (d.action === 'continue') return { state: 'RUNNING', decision: 'continue' };
        const r = await finish('PRUNED', d.reason);
        return { ...r, decision: 'prune' };
      }
      case 'final': {
        const step = tell.step ?? (trial.lastObjective ? trial.lastObjective.step + 1 : 1);
        await this.store.appendMetrics(studyId, number, trial.attempt, 0, metric, [{ name: metric, step, value: tell.value, timeMs: Date.now() }], maxMetricPoints(study.spec));
        // The final report can reach a rung: peers are ranked against it there.
        const rule = this.runner.rule(study);
        if (rule) await this.runner.decider.report(study, rule, number, false);
        return finish('COMPLETED', '');
      }
      case 'failed':
        return finish('FAILED', tell.reason);
      case 'pruned':
        return finish('PRUNED', tell.reason);
    }
  }
}
