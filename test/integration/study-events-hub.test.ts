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
import { redisUrl, uniquePrefix, waitFor } from '../helpers/env.js';

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
