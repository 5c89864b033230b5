/**
 * GET /studies/:id/events: server-sent events that tell a dashboard when a study changed, so it
 * fetches `table` with its cursors instead of polling everything.
 *
 * One poller per study per replica, shared by every listener of that study: every 500 ms it
 * reads the study's cheap counters (one pipeline: the study hash's counts, cursor and best, the
 * history length, the experiment's last metric activity) and, only when they differ from the
 * last read, sends `event: study` and `event: changed` to all of them. So the Redis cost is per
 * watched study, not per client, and changes are coalesced to at most one message per 500 ms.
 * A poller stops with its last listener. Streams are bounded per principal and per replica
 * (429 beyond), pinged every 15 s (proxies drop silent connections), and closed when the study
 * ends or is deleted, and when the server closes; a study that has already ended gets a 204.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { RedisClient } from '../../shared/redis.js';
import { Type } from 'typebox';
import { TunehiveError } from '../../shared/errors.js';
import { keys } from '../../shared/redis-keys.js';
import type { HttpAuth } from '../auth/http-auth.js';
import { live } from '../store/credential-store.js';
import type { RedisStudyStore } from '../store/study-store.js';
import { loadStudy } from './studies-routes.js';
import { errorResponses, StudyIdParams } from './schemas.js';

export interface EventLimits { intervalMs: number; pingMs: number; perPrincipal: number; perReplica: number }
export const EVENT_LIMITS: EventLimits = { intervalMs: 500, pingMs: 15_000, perPrincipal: 20, perReplica: 1000 };
/** A client this far behind (bytes not yet sent) is cut off rather than buffered for. */
const MAX_BUFFERED = 256 * 1024;

const COUNT_FIELDS = ['queued', 'running', 'completed', 'failed', 'pruned', 'paused', 'cancelled'] as const;

/** `valid` re-checks the request's credential (a revoked token, a logged-out session): a stream
 * would otherwise outlive it for as long as the study runs. */
interface Listener { res: ServerResponse; principal: string; valid?: () => Promise<boolean>; checking?: boolean }
interface Watch { listeners: Set<Listener>; timer: NodeJS.Timeout; last: string; reading: boolean }
interface Snapshot { gone: boolean; state: string; counts: Record<string, number>; best: { number: number; value: number } | null; afterNumber: number; afterHistory: number; activity: string }

export class StudyEventHub {
  private readonly watches = new Map<string, Watch>();
  private readonly perPrincipal = new Map<string, number>();
  private open = 0;
  private readonly ping: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly redis: RedisClient, private readonly prefix: string, private readonly limits: EventLimits = EVENT_LIMITS) {
    this.ping = setInterval(() => {
      for (const w of this.watches.values()) {
        for (const l of w.listeners) {
          this.write(l, ': ping\n\n');
          void this.recheck(l);
        }
      }
    }, limits.pingMs);
    this.ping.unref();
  }

  /** Streams open on this replica (a gauge for tests and diagnostics). */
  get streams(): number {
    return this.open;
  }

  /** Refuses past the limits before anything is written (the caller answers the 429). */
  admit(principal: string): void {
    if (this.closed) throw new TunehiveError('TH_ERR_EVENTS_LIMIT', 'the server is closing', [{ field: '(request)', reason: 'the server is closing; reconnect' }]);
    if (this.open >= this.limits.perReplica) {
      const reason = `this replica serves at most ${this.limits.perReplica} event streams; retry later`;
      throw new TunehiveError('TH_ERR_EVENTS_LIMIT', reason, [{ field: '(request)', reason }]);
    }
    if ((this.perPrincipal.get(principal) ?? 0) >= this.limits.perPrincipal) {
      const reason = `at most ${this.limits.perPrincipal} event streams per token are open at once; close one (another tab?) first`;
      throw new TunehiveError('TH_ERR_EVENTS_LIMIT', reason, [{ field: 'headers.authorization', reason }]);
    }
  }

  /** Ends a stream whose credential is no longer live; a Redis hiccup keeps it (next ping retries). */
  private async recheck(l: Listener): Promise<void> {
    if (!l.valid || l.checking) return;
    l.checking = true;
    try {
      if (!(await l.valid())) this.end(l, 'event: revoked\ndata: {}\n\n');
    } catch {
      // Unknown is not revoked: the next ping checks again.
    } finally {
      l.checking = false;
    }
  }

  async attach(studyId: string, principal: string, res: ServerResponse, valid?: () => Promise<boolean>): Promise<void> {
    // A client that hung up while the auth hooks ran has had its `close` already: counted now,
    // it would never be detached (its slot and the study's poller kept for ever).
    if (res.destroyed || res.writableEnded || !res.socket || res.socket.destroyed) return;
    const l: Listener = { res, principal, ...(valid ? { valid } : {}) };
    this.open++;
    this.perPrincipal.set(principal, (this.perPrincipal.get(principal) ?? 0) + 1);
    res.on('close', () => this.detach(studyId, l));
    res.write('retry: 3000\n\n');
    let w = this.watches.get(studyId);
    if (!w) {
      const timer = setInterval(() => void this.poll(studyId), this.limits.intervalMs);
      w = { listeners: new Set(), timer, last: '', reading: false };
      this.watches.set(studyId, w);
    }
    w.listeners.add(l);
    // The newcomer gets the present state at once; the others only when it changes.
    const snap = await this.read(studyId).catch(() => undefined);
    if (snap && !res.writableEnded) this.deliver([l], snap);
  }

  private detach(studyId: string, l: Listener): void {
    const w = this.watches.get(studyId);
    if (!w || !w.listeners.delete(l)) return;
    this.open--;
    const n = (this.perPrincipal.get(l.principal) ?? 1) - 1;
    if (n <= 0) this.perPrincipal.delete(l.principal);
    else this.perPrincipal.set(l.principal, n);
    if (w.listeners.size === 0) {
      clearInterval(w.timer);
      this.watches.delete(studyId);
    }
  }

  private async read(studyId: string): Promise<Snapshot> {
    const p = this.prefix;
    const rows = (await this.redis.pipeline()
      .hmget(keys.study(p, studyId), 'state', 'nextNumber', 'bestNumber', 'bestValue', ...COUNT_FIELDS)
      .llen(keys.history(p, studyId))
      .hget(keys.experiment(p, studyId), 'lastActivity')
      .exec()) ?? [];
    for (const [err] of rows) if (err) throw err;
    const h = (rows[0]?.[1] ?? []) as Array<string | null>;
    const counts: Record<string, number> = {};
    COUNT_FIELDS.forEach((f, i) => { counts[f] = Number(h[4 + i] ?? 0); });
    return {
      gone: h[0] === null, state: h[0] ?? 'DELETED', counts,
      best: h[2] !== null && h[3] !== null ? { number: Number(h[2]), value: Number(h[3]) } : null,
      afterNumber: Number(h[1] ?? 0) - 1, afterHistory: Number(rows[1]?.[1] ?? 0), activity: String(rows[2]?.[1] ?? ''),
    };
  }

  private async poll(studyId: string): Promise<void> {
    const w = this.watches.get(studyId);
    if (!w || w.reading) return; // a slow Redis: skip the tick, never pile reads up
    w.reading = true;
    try {
      const snap = await this.read(studyId);
      const sig = JSON.stringify(snap);
      if (sig === w.last) return;
      w.last = sig;
      this.deliver([...w.listeners], snap);
    } catch {
      // Redis unreachable for a moment: the next tick retries; clients keep their stream.
    } finally {
      w.reading = false;
    }
  }

  private deliver(to: Listener[], s: Snapshot): void {
    if (s.gone) {
      for (const l of to) this.end(l, 'event: deleted\ndata: {}\n\n');
      return;
    }
    const msg = `event: study\ndata: ${JSON.stringify({ state: s.state, counts: s.counts, best: s.best })}\n\n`
      + `event: changed\ndata: ${JSON.stringify({ afterNumber: s.afterNumber, afterHistory: s.afterHistory })}\n\n`;
    for (const l of to) {
      if (s.state !== 'RUNNING') this.end(l, `${msg}event: end\ndata: ${JSON.stringify({ state: s.state })}\n\n`);
      else this.write(l, msg);
    }
  }

  private write(l: Listener, text: string): void {
    if (l.res.writableEnded || l.res.destroyed) return;
    if (l.res.writableLength > MAX_BUFFERED) {
      l.res.destroy();
      return;
    }
    l.res.write(text);
  }

  private end(l: Listener, text: string): void {
    if (l.res.writableEnded || l.res.destroyed) return;
    l.res.end(text);
  }

  /** Ends every stream and stops every poller (server close: open streams would hold it). */
  close(): void {
    this.closed = true;
    clearInterval(this.ping);
    for (const w of [...this.watches.values()]) {
      clearInterval(w.timer);
      for (const l of [...w.listeners]) this.end(l, 'event: closing\ndata: {}\n\n');
    }
    this.watches.clear();
  }
}

export const studyEventRoutes: FastifyPluginAsync<{ store: RedisStudyStore; hub: StudyEventHub; auth?: HttpAuth }> = async (plain, { store, hub, auth }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  app.addHook('preClose', async () => hub.close());
  app.get('/studies/:id/events', {
    schema: {
      summary: 'Server-sent events of a study: `study` {state, counts, best} and `changed` {afterNumber, afterHistory} (at most every 500 ms), `: ping` every 15 s; ends with `end` or `deleted`',
      params: StudyIdParams,
      response: { 200: Type.String({ description: 'text/event-stream' }), 204: Type.Null({ description: 'the study has ended: nothing to stream (an EventSource stops reconnecting)' }), ...errorResponses },
    },
    config: { auth: { study: 'viewer' } },
  }, async (req, reply) => {
    const study = req.study ?? (await loadStudy(store, req.params.id));
    // An ended study has nothing more to say: 204 is what makes an EventSource stop reconnecting
    // (a stream that just ended would be reopened every `retry` ms by an idle tab for ever).
    if (study.state !== 'RUNNING') return reply.status(204).header('cache-control', 'no-store').send(null);
    hub.admit(req.principal?.credentialId ?? req.ip);
    reply.hijack();
    const headers: Record<string, string | number | string[]> = {};
    for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = v as string;
    reply.raw.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', connection: 'keep-alive' });
    const session = req.authVia === 'cookie' ? req.session : undefined;
    const credentialId = req.principal?.credentialId;
    const valid = !auth ? undefined
      : session && auth.sessions ? async () => (await auth.sessions!.lookup(session.sid)) !== undefined
        : credentialId !== undefined ? async () => { const r = await auth.creds.get(credentialId); return r !== undefined && live(r, Date.now()); }
          : undefined;
    await hub.attach(study.id, req.principal?.credentialId ?? req.ip, reply.raw, valid);
  });
};
