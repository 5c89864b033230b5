/**
 * StudyEventHub against a real HTTP connection and real Redis: a client that hangs up before
 * its stream is attached (it closed while the auth hooks were still reading Redis) must not
 * keep a slot: its `close` event has already fired, so nothing would ever detach it, and 20
 * such hang-ups locked the token out of events for the life of the replica (and kept a poller
 * running for the study).
 */
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { StudyEventHub } from '../../coordinator/api/study-events.js';
import { call, ensureProject, userToken } from '../helpers/auth.js';
import { redisUrl, uniquePrefix, waitFor } from '../helpers/env.js';
import { startTestStack } from '../helpers/stack.js';

describe('study event hub', () => {
  const redis = new Redis(redisUrl());
  const hub = new StudyEventHub(redis, uniquePrefix('events-hub'), { intervalMs: 50, pingMs: 60_000, perPrincipal: 1, perReplica: 10 });
  afterAll(async () => {
    hub.close();
    redis.disconnect();
  });

  it('does not count a stream whose client hung up before it was attached', async () => {
    const closed: ServerResponse[] = [];
    const server = createServer((_req, res) => {
      res.on('close', () => closed.push(res));
      res.socket?.destroy();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
      const res = await waitFor(() => closed[0], 5000, 'the response closed');
      hub.admit('tok-1');
      await hub.attach('s1', 'tok-1', res);
      expect(hub.streams).toBe(0);
      expect(() => hub.admit('tok-1')).not.toThrow();
    } finally {
      server.close();
    }
  });
});

/** Reads an SSE response until it ends; resolves to everything it sent. */
async function readAll(res: Response): Promise<string> {
  let text = '';
  const reader = res.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text;
    text += Buffer.from(value).toString('utf8');
  }
}

describe('an open event stream and its credential', () => {
  it('ends within a ping interval when its token is revoked or its session logged out', async () => {
    const stack = await startTestStack('events-revoke', { workers: 0, coordinator: { eventLimits: { pingMs: 100 } } });
    try {
      const base = stack.coordinator.httpUrl;
      await ensureProject(base, 'ev-a');
      const s = await call(base, 'POST', '/api/v1/studies', { body: { name: 'ev', project: 'ev-a', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 5 } });
      expect(s.status, s.text).toBe(201);
      const url = `${base}/api/v1/studies/${s.body.id as string}/events`;
      const vic = await userToken(base, 'vic', { 'ev-a': 'viewer' });
      const byHeader = await fetch(url, { headers: { authorization: `Bearer ${vic.token}` } });
      expect(byHeader.status).toBe(200);
      const headerDone = readAll(byHeader);
      const amy = await userToken(base, 'amy', { 'ev-a': 'viewer' });
      const login = await call(base, 'POST', '/api/v1/session', { token: null, body: { token: amy.token } });
      const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
      const byCookie = await fetch(url, { headers: { cookie } });
      expect(byCookie.status).toBe(200);
      const cookieDone = readAll(byCookie);
      expect((await call(base, 'DELETE', `/api/v1/tokens/${vic.id}`)).status).toBeLessThan(300);
      const logout = await fetch(`${base}/api/v1/session`, { method: 'DELETE', headers: { cookie, 'x-tunehive-csrf': login.body.csrf as string } });
      expect(logout.status).toBe(204);
      let ended: string[] | undefined;
      void Promise.all([headerDone, cookieDone]).then((texts) => { ended = texts; });
      await waitFor(() => ended, 5000, 'both streams ended by themselves');
      expect(ended![0]).toContain('event: revoked');
      expect(ended![1]).toContain('event: revoked');
    } finally {
      await stack.close();
    }
  });
});
