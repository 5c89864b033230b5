/**
 * Review 10: attacks on the Join RPC over real gRPC: a race of joins past a join token's
 * maxUses, a project-limited join token asking for every project, and online guessing of the
 * operator's join secret (TUNEHIVE_WORKER_JOIN_TOKEN, which may be as short as 16 characters).
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_JOIN_TOKEN } from '../helpers/env.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { clientWith, joinWith } from '../helpers/scripted-worker.js';

describe('attacks on Join (review 10)', () => {
  let stack: TestStack;
  let c: grpc.Client;
  beforeAll(async () => {
    stack = await startTestStack('join-attacks', { workers: 0, coordinator: { authFailuresPerMinute: 5 } });
    c = clientWith(stack.coordinator.grpcAddress);
  });
  afterAll(async () => {
    c?.close();
    await stack?.close();
  });

  it('maxUses race: 20 concurrent joins with a 3-use token admit exactly 3, each with the token\'s project only', async () => {
    expect((await stack.api('POST', '/api/v1/projects', { name: 'team-x' })).status).toBe(201);
    const t = await stack.api('POST', '/api/v1/tokens', { kind: 'worker-join', projects: ['team-x'], maxUses: 3 });
    expect(t.status).toBe(201);
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => joinWith(c, { joinToken: t.body.token, workerId: `race-${i}` })));
    const ok = results.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<typeof joinWith>>> => r.status === 'fulfilled');
    expect(ok).toHaveLength(3);
    for (const r of ok) expect(r.value.projects).toEqual(['team-x']);
    expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason.code === grpc.status.UNAUTHENTICATED)).toBe(true);
  });

  it('guessing the operator join secret past the failure budget: the right secret is refused unchecked (no oracle)', async () => {
    for (let i = 0; i < 5; i++) {
      await expect(joinWith(c, { joinToken: `guess-${i}-xxxxxxxxxxxxxxxx`, workerId: `g${i}` })).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    }
    await expect(joinWith(c, { joinToken: 'guess-5-xxxxxxxxxxxxxxxx', workerId: 'g5' })).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    await expect(joinWith(c, { joinToken: TEST_JOIN_TOKEN, workerId: 'g6' })).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    // A minted join token (256 random bits) is still checked: a real agent behind the address joins.
    const t = await stack.api('POST', '/api/v1/tokens', { kind: 'worker-join' });
    expect((await joinWith(c, { joinToken: t.body.token, workerId: 'real' })).workerId).toBe('real');
  });
});
