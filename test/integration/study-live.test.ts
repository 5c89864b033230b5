/**
 * The dashboard's live study views on a real study run by real workers (agents running trial
 * programs): incremental `table` fetches during the run never miss a change and never resend an
 * unchanged finished trial, and an SSE client sees `changed` after a trial finishes, then the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startTestStack, type TestStack } from '../helpers/stack.js';
import { call, ensureProject, userToken } from '../helpers/auth.js';
import { redisUrl, TEST_ADMIN_TOKEN, waitFor } from '../helpers/env.js';
import { monitorRedis } from '../helpers/redis-monitor.js';
import { keys } from '../../shared/redis-keys.js';

const FINAL = new Set(['COMPLETED', 'FAILED', 'PRUNED', 'CANCELLED']);

interface SseClient { events: Array<{ event: string; data: any }>; status: number; ended: Promise<void>; close(): void }

async function openEvents(url: string, headers: Record<string, string>): Promise<SseClient> {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  const events: Array<{ event: string; data: any }> = [];
  let ended: Promise<void> = Promise.resolve();
  if (res.status === 200 && res.body) {
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    ended = (async () => {
      let buf = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buf += dec.decode(value, { stream: true });
          let i: number;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const ev = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (ev) events.push({ event: ev, data: data ? JSON.parse(data) : undefined });
            else if (block.startsWith(': ping')) events.push({ event: 'ping', data: undefined });
          }
        }
      } catch {
        // aborted by close()
      }
    })();
  } else {
    await res.text();
  }
  return { events, status: res.status, ended, close: () => abort.abort() };
}

type Table = { afterNumber: number; afterHistory: number; total: number; finished: number; sampled: boolean; paramNames: string[]; rows: any };
const rowsOf = (t: Table) => t.rows.number.map((n: number, i: number) => ({
  number: n, state: t.rows.state[i], value: t.rows.value[i], startedAt: t.rows.startedAt[i], finishedAt: t.rows.finishedAt[i],
  params: Object.fromEntries(t.paramNames.map((k) => [k, t.rows.params[k][i]])),
}));

describe('study table (incremental) and events (SSE) on a real study', () => {
  let stack: TestStack;
  let base: string;

  beforeAll(async () => {
    stack = await startTestStack('study-live', { workers: 1, slots: 2 });
    base = stack.coordinator.httpUrl;
  });
  afterAll(async () => stack?.close());

  it('incremental fetches during the run miss nothing and never resend an unchanged finished trial; SSE says changed, then end', async () => {
    const spec = {
      name: 'live', objective: { metric: 'score', direction: 'maximize' },
      searchSpace: { x: { type: 'float', min: 0, max: 5 }, y: { type: 'int', min: 0, max: 3 } }, algorithm: { name: 'random', seed: 3 }, parallelism: 2, maxTrials: 14,
      trial: { command: [process.execPath, fixture('quadratic.mjs'), '--x', '${params.x}', '--y', '${params.y}', '--sleep-ms', '60', '--steps', '3', '--fail-above', '4.6'] },
    };
    const created = await stack.api('POST', '/api/v1/studies', spec);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const sse = await openEvents(`${base}/api/v1/studies/${id}/events`, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
    expect(sse.status).toBe(200);

    const first = (await call(base, 'GET', `/api/v1/studies/${id}/table`)).body as Table;
    expect(first.sampled).toBe(false);
    const held = new Map<number, any>(rowsOf(first).map((r: any) => [r.number, r]));
    const sentFinal = new Map<number, number>();
    for (const r of held.values()) if (FINAL.has(r.state)) sentFinal.set(r.number, 1);
    let cursor = { afterNumber: first.afterNumber, afterHistory: first.afterHistory };
    let replies = 0;
    let running = true;
    while (running) {
      const state = (await call(base, 'GET', `/api/v1/studies/${id}`)).body.state;
      running = state === 'RUNNING';
      const r = await call(base, 'GET', `/api/v1/studies/${id}/table?afterNumber=${cursor.afterNumber}&afterHistory=${cursor.afterHistory}`);
      expect(r.status).toBe(200);
      const t = r.body as Table;
      replies++;
      expect(t.afterHistory).toBeGreaterThanOrEqual(cursor.afterHistory);
      expect(t.afterNumber).toBeGreaterThanOrEqual(cursor.afterNumber);
      const liveBefore = [...held.values()].filter((x) => !FINAL.has(x.state)).map((x) => x.number);
      const got = new Set<number>();
      for (const row of rowsOf(t)) {
        got.add(row.number);
        if (FINAL.has(row.state)) {
          // A finished trial is sent once: a second time would be a resend of an unchanged one.
          expect(sentFinal.get(row.number), `trial ${row.number} sent finished twice`).toBeUndefined();
          sentFinal.set(row.number, 1);
        }
        held.set(row.number, row);
      }
      // Nothing the client holds as live can vanish from an incremental reply while it has not ended
      // (the snapshot is atomic; only a QUEUED trial cancelled by the study's end has no history entry).
      for (const n of liveBefore) if (!got.has(n)) expect(state, `trial ${n} vanished`).not.toBe('RUNNING');
      cursor = { afterNumber: t.afterNumber, afterHistory: t.afterHistory };
      if (running) await new Promise((res) => setTimeout(res, 40));
    }
    const final = await call(base, 'GET', `/api/v1/studies/${id}/table?afterNumber=${cursor.afterNumber}&afterHistory=${cursor.afterHistory}`);
    for (const row of rowsOf(final.body)) held.set(row.number, row);
    expect(replies).toBeGreaterThan(3);

    // The client's incrementally built table equals a fresh full load, trial for trial.
    const fresh = (await call(base, 'GET', `/api/v1/studies/${id}/table`)).body as Table;
    expect(fresh.total).toBe(14);
    expect(fresh.finished).toBe(14);
    const freshRows = rowsOf(fresh);
    expect(freshRows).toHaveLength(14);
    for (const row of freshRows) expect(held.get(row.number), `trial ${row.number}`).toEqual(row);
    expect(freshRows.every((r: any) => FINAL.has(r.state))).toBe(true);
    // Values and params agree with the trials themselves.
    const trial0 = (await call(base, 'GET', `/api/v1/trials/${id}.0`)).body;
    const r0 = freshRows.find((r: any) => r.number === 0);
    expect(r0.params).toEqual(trial0.params);
    expect(r0.value).toBe(trial0.value);
    expect(freshRows.some((r: any) => r.state === 'FAILED' && r.value === null) || freshRows.every((r: any) => r.state === 'COMPLETED')).toBe(true);

    // An idle incremental call sends nothing.
    const idle = (await call(base, 'GET', `/api/v1/studies/${id}/table?afterNumber=${fresh.afterNumber}&afterHistory=${fresh.afterHistory}`)).body as Table;
    expect(idle.rows.number).toEqual([]);

    // SSE: a `changed` with at least one finished trial arrived during the run, and the stream ended with the study.
    await waitFor(() => sse.events.some((e) => e.event === 'end'), 10_000, 'the end event');
    await sse.ended;
    // Reconnecting to the ended study gets 204 (an EventSource then stops retrying).
    expect((await fetch(`${base}/api/v1/studies/${id}/events`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } })).status).toBe(204);
    const changed = sse.events.filter((e) => e.event === 'changed');
    expect(changed.length).toBeGreaterThan(1);
    expect(changed.some((e) => e.data.afterHistory >= 1 && e.data.afterHistory < 14)).toBe(true);
    expect(changed.at(-1)!.data).toEqual({ afterNumber: 13, afterHistory: 14 });
    const study = sse.events.filter((e) => e.event === 'study').at(-1)!.data;
    expect(study.state).toBe('COMPLETED');
    expect(study.counts.completed + study.counts.failed).toBe(14);
    // Coalesced: far fewer messages than store transitions (14 trials x create/start/metrics/finish).
    expect(changed.length).toBeLessThan(60);
    expect(stack.coordinator.app.server.listening).toBe(true);
  }, 90_000);

  it('the stream works with the session cookie, is refused past 20 per principal (429), and a study in another project is 404', async () => {
    await ensureProject(base, 'live-a');
    await ensureProject(base, 'live-b');
    const vic = await userToken(base, 'vic', { 'live-a': 'viewer' });
    const s = await call(base, 'POST', '/api/v1/studies', { body: { name: 'ask', project: 'live-a', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 5 } });
    const id = s.body.id as string;
    const login = await call(base, 'POST', '/api/v1/session', { token: null, body: { token: vic.token } });
    const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
    const streams: SseClient[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const c = await openEvents(`${base}/api/v1/studies/${id}/events`, i === 0 ? { cookie } : { authorization: `Bearer ${vic.token}` });
        expect(c.status, `stream ${i}`).toBe(200);
        streams.push(c);
      }
      await waitFor(() => streams[0]!.events.some((e) => e.event === 'changed'), 5000, 'the first changed');
      expect(streams[0]!.events.find((e) => e.event === 'study')!.data).toMatchObject({ state: 'RUNNING', best: null });
      const over = await fetch(`${base}/api/v1/studies/${id}/events`, { headers: { authorization: `Bearer ${vic.token}` } });
      expect(over.status).toBe(429);
      expect(((await over.json()) as any).error.code).toBe('TH_ERR_EVENTS_LIMIT');
      // Another principal is not counted against vic.
      const admin = await openEvents(`${base}/api/v1/studies/${id}/events`, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
      expect(admin.status).toBe(200);
      streams.push(admin);
      // An ask/tell trial finishing is seen live.
      const t = await call(base, 'POST', `/api/v1/studies/${id}/trials/ask`);
      await call(base, 'POST', `/api/v1/studies/${id}/trials/${t.body.number}/tell`, { body: { value: 0.25 } });
      await waitFor(() => streams[0]!.events.some((e) => e.event === 'changed' && e.data.afterHistory === 1), 5000, 'changed after the tell');
      expect(streams[0]!.events.filter((e) => e.event === 'study').at(-1)!.data.best).toEqual({ number: t.body.number, value: 0.25 });
      const other = await userToken(base, 'bob', { 'live-b': 'owner' });
      const hidden = await fetch(`${base}/api/v1/studies/${id}/events`, { headers: { authorization: `Bearer ${other.token}` } });
      expect(hidden.status).toBe(404);
      // Closing a stream frees its place.
      streams.shift()!.close();
      await waitFor(async () => {
        const again = await openEvents(`${base}/api/v1/studies/${id}/events`, { authorization: `Bearer ${vic.token}` });
        if (again.status === 200) { streams.push(again); return true; }
        return false;
      }, 5000, 'a freed stream place');
      // Deleting the (running) study ends its streams: stopped first (`end`), or gone (`deleted`).
      expect((await call(base, 'DELETE', `/api/v1/studies/${id}?force=true`)).status).toBeLessThan(300);
      await waitFor(() => streams.every((c) => c.events.some((e) => e.event === 'end' || e.event === 'deleted')), 10_000, 'every stream to end');
      await Promise.all(streams.map((c) => c.ended));
    } finally {
      for (const c of streams) c.close();
    }
  }, 60_000);

  it('ten listeners of one study share one poller: its counter reads come every 500 ms, not ten times as often', async () => {
    const s = await call(base, 'POST', '/api/v1/studies', { body: { name: 'shared', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 5 } });
    const id = s.body.id as string;
    const monitor = await monitorRedis(redisUrl());
    const clients: SseClient[] = [];
    try {
      // The poller's read is the HMGET of the study hash that starts with state, nextNumber (getStudy's names the project second).
      const polls = () => monitor.seen.filter((c) => c.args[0]?.toLowerCase() === 'hmget' && c.args[1] === keys.study(stack.prefix, id) && c.args[2] === 'state' && c.args[3] === 'nextNumber').length;
      for (let i = 0; i < 10; i++) clients.push(await openEvents(`${base}/api/v1/studies/${id}/events`, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }));
      await waitFor(() => clients.every((c) => c.events.some((e) => e.event === 'changed')), 5000, 'every first changed');
      const [c0, t0] = [polls(), Date.now()];
      await waitFor(() => polls() >= c0 + 4, 10_000, 'four more poller reads');
      // Four ticks of one 500 ms poller span at least 1.5 s; ten pollers would make four reads in a fraction of that.
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1200);
    } finally {
      monitor.close();
      for (const c of clients) c.close();
    }
  }, 30_000);

  it('closing the server ends the open streams (they would hold the close otherwise)', async () => {
    const s = await call(base, 'POST', '/api/v1/studies', { body: { name: 'close', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 5 } });
    const c = await openEvents(`${base}/api/v1/studies/${s.body.id}/events`, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
    expect(c.status).toBe(200);
    await waitFor(() => c.events.some((e) => e.event === 'changed'), 5000, 'the first changed');
    const t0 = Date.now();
    await stack.close();
    await c.ended;
    expect(c.events.at(-1)!.event).toBe('closing');
    // Well under Fastify's wait for connections to drain: the stream did not hold the close.
    expect(Date.now() - t0).toBeLessThan(8000);
  }, 30_000);
});

describe('event streams per replica', () => {
  it('are refused past the replica limit (429) whoever asks, and a closed one frees its place', async () => {
    const stack = await startTestStack('study-live-replica', { workers: 0, coordinator: { eventLimits: { perReplica: 2 } } });
    const streams: SseClient[] = [];
    try {
      const base = stack.coordinator.httpUrl;
      await ensureProject(base, 'rep-a');
      const s = await call(base, 'POST', '/api/v1/studies', { body: { name: 'rep', project: 'rep-a', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 5 } });
      const other = await userToken(base, 'rita', { 'rep-a': 'viewer' });
      const url = `${base}/api/v1/studies/${s.body.id}/events`;
      streams.push(await openEvents(url, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }), await openEvents(url, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }));
      expect(streams.map((c) => c.status)).toEqual([200, 200]);
      const third = await fetch(url, { headers: { authorization: `Bearer ${other.token}` } });
      expect(third.status).toBe(429);
      expect(((await third.json()) as any).error.message).toContain('at most 2 event streams');
      streams.shift()!.close();
      await waitFor(async () => {
        const again = await openEvents(url, { authorization: `Bearer ${other.token}` });
        if (again.status === 200) { streams.push(again); return true; }
        return false;
      }, 5000, 'a freed place');
    } finally {
      for (const c of streams) c.close();
      await stack.close();
    }
  }, 30_000);
});
