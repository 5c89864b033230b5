/**
 * A SuggestionService that keeps heavy samplers (model fitting: factory.heavy) off the event
 * loop by running them in worker threads, while light ones (random, grid) stay inline where a
 * thread hop would cost more than the suggestion itself.
 *
 * Every request has a deadline (queueing included): past it, the request fails with
 * TH_ERR_SEARCH_TIMEOUT and the thread running it is terminated (a sampler cannot be interrupted
 * any other way), so one pathological fit can neither block the coordinator nor hold a slot.
 *
 * Requests wait in one FIFO queue and go to the first idle thread. A thread that dies (an
 * uncaught error, out of memory, terminated) fails the request it was running with an error that
 * says so, and a fresh thread takes its place for the next request. Threads start on first use
 * and are unref'd while idle, so a service that is never closed does not hold the process open.
 */
import { Worker } from 'node:worker_threads';
import { TunehiveError } from '../../shared/errors.js';
import type { Params } from '../../shared/search-space.js';
import { samplerFactory } from './registry.js';
import { suggestNow, type SuggestRequest, type SuggestionService } from './suggest.js';

/** Message to a suggestion thread. */
export interface ThreadRequest { id: number; req: SuggestRequest }
/** A suggestion thread's answer. */
export type ThreadReply = { id: number; ok: true; params: Params | null } | { id: number; ok: false; error: string };

export interface ThreadSuggestionOptions {
  /** Worker threads for heavy samplers (default 1: suggestions of one coordinator rarely overlap, and each thread holds its own heap). */
  threads?: number;
  /** Longest an ask may take, queueing included, before it fails (default 60 s). */
  deadlineMs?: number;
}

interface Job {
  id: number;
  req: SuggestRequest;
  resolve: (params: Params | null) => void;
  reject: (err: Error) => void;
  timer?: NodeJS.Timeout;
}

interface Slot {
  worker: Worker;
  job: Job | null;
  /** Set by the 'error' event, which precedes 'exit' when the thread dies of an exception. */
  error?: Error;
}

export class ThreadSuggestionService implements SuggestionService {
  private readonly size: number;
  private readonly deadlineMs: number;
  private readonly slots = new Set<Slot>();
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closing: Promise<void> | null = null;

  constructor(opts: ThreadSuggestionOptions = {}) {
    const threads = opts.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer (got ${threads})`);
    this.size = threads;
    const deadline = opts.deadlineMs ?? 60_000;
    if (!(deadline > 0)) throw new Error(`deadlineMs must be positive (got ${deadline})`);
    this.deadlineMs = deadline;
  }

  async suggest(req: SuggestRequest): Promise<Params | null> {
    if (this.closing) throw new Error('suggestion service is closed');
    const factory = samplerFactory(req.algorithm.name);
    // Unknown algorithms fall through to suggestNow, which throws the usual error.
    if (!factory?.heavy) return suggestNow(req);
    return new Promise<Params | null>((resolve, reject) => {
      const job: Job = { id: this.nextId++, req, resolve, reject };
      const settle = <A extends unknown[]>(f: (...a: A) => void) => (...a: A) => { clearTimeout(job.timer); f(...a); };
      job.resolve = settle(resolve);
      job.reject = settle(reject);
      job.timer = setTimeout(() => this.expire(job), this.deadlineMs);
      job.timer.unref();
      this.queue.push(job);
      this.pump();
    });
  }

  /** Terminates the threads; queued and running requests are rejected. Safe to call more than once. */
  close(): Promise<void> {
    if (!this.closing) {
      const closed = new Error('suggestion service closed');
      for (const job of this.queue.splice(0)) job.reject(closed);
      const workers: Worker[] = [];
      for (const slot of this.slots) {
        slot.job?.reject(closed);
        slot.job = null;
        workers.push(slot.worker);
      }
      this.slots.clear();
      this.closing = Promise.all(workers.map((w) => w.terminate())).then(() => undefined);
    }
    return this.closing;
  }

  /** The job ran past its deadline: it fails, and a thread still working on it is replaced. */
  private expire(job: Job): void {
    const err = new TunehiveError('TH_ERR_SEARCH_TIMEOUT',
      `suggesting trial ${job.req.trialNumber} (${job.req.algorithm.name}) took longer than ${this.deadlineMs} ms; the suggestion was abandoned`);
    const queued = this.queue.indexOf(job);
    if (queued !== -1) this.queue.splice(queued, 1);
    for (const slot of this.slots) {
      if (slot.job !== job) continue;
      slot.job = null;
      this.slots.delete(slot); // its exit must not fail or re-pump anything
      void slot.worker.terminate().catch(() => undefined);
    }
    job.reject(err);
    this.pump();
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.closing) {
      let slot = [...this.slots].find((s) => s.job === null);
      if (!slot && this.slots.size < this.size) slot = this.spawn();
      if (!slot) return;
      const job = this.queue.shift()!;
      slot.job = job;
      slot.worker.ref();
      try {
        slot.worker.postMessage({ id: job.id, req: job.req } satisfies ThreadRequest);
      } catch (err) {
        // Not structured-cloneable (a function or class instance in the request): the caller's bug.
        slot.job = null;
        slot.worker.unref();
        job.reject(new Error(`suggestion request could not be sent to the suggestion thread: ${(err as Error).message}`));
      }
    }
  }

  private spawn(): Slot {
    const entry = threadEntry();
    const worker = new Worker(entry.source, { eval: entry.eval });
    const slot: Slot = { worker, job: null };
    worker.unref();
    worker.on('message', (reply: ThreadReply) => {
      const job = slot.job;
      if (!job || job.id !== reply.id) return;
      slot.job = null;
      worker.unref();
      if (reply.ok) job.resolve(reply.params);
      else job.reject(new Error(reply.error));
      this.pump();
    });
    worker.on('error', (err) => {
      slot.error = err;
    });
    worker.on('exit', (code) => {
      if (!this.slots.delete(slot)) return; // closed: already settled
      const job = slot.job;
      slot.job = null;
      if (job) {
        const why = slot.error ? slot.error.message : `exit code ${code}`;
        job.reject(new Error(`suggestion thread crashed while suggesting trial ${job.req.trialNumber} (${job.req.algorithm.name}): ${why}`));
      }
      // A replacement thread starts when the next request needs one.
      this.pump();
    });
    this.slots.add(slot);
    return slot;
  }
}

/**
 * How to start a thread. Compiled (dist/, this module is .js): the .js file beside it. From
 * source (tsx, vitest): the .ts file beside it, behind a two-line bootstrap that registers tsx's
 * loader inside the thread first. On Node 20 a worker whose entry is .ts fails even with
 * `--import tsx` in its execArgv (the hooks are not active for the entry), and under vitest
 * there is no tsx to inherit at all. tsx is resolved from here, so the cwd does not matter.
 */
function threadEntry(): { source: URL | string; eval: boolean } {
  if (import.meta.url.endsWith('.js')) return { source: new URL('./suggestion-thread.js', import.meta.url), eval: false };
  const api = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./suggestion-thread.ts', import.meta.url).href;
  const source = `import(${JSON.stringify(api)}).then((m) => { (m.register ?? m.default.register)(); return import(${JSON.stringify(entry)}); });`;
  return { source, eval: true };
}
