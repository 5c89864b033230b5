/**
 * TLS on loopback with a certificate generated in the test: the coordinator serves HTTPS and
 * gRPC over TLS, a worker that trusts the certificate runs a study's trials, and workers that
 * do not (no TLS, another CA) stop at start with a message that names the fix. With --tls-ca
 * the coordinator also requires worker client certificates. A clear-text bind beyond loopback
 * is refused unless --insecure.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startTestStack, type TestStack } from '../helpers/stack.js';
import { quietLog, redisUrl, uniquePrefix } from '../helpers/env.js';
import { exited } from '../helpers/processes.js';
import { fetchTrusting, testCertificate, type TestCert } from '../helpers/tls.js';
import { Agent } from '../../worker/agent.js';
import { startCoordinator } from '../../coordinator/main.js';
import { trialServiceClient } from '../../shared/proto.js';
import { grpcClientCredentials, isLoopbackHost } from '../../shared/tls.js';

const spec = {
  name: 'tls', objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'int', min: 0, max: 5 } },
  algorithm: { name: 'random', seed: 1 }, parallelism: 2, maxTrials: 3,
  trial: { command: [process.execPath, fixture('quadratic.mjs'), '--x', '${params.x}'] },
};
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'tunehive-tls-'));

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [path.resolve('bin/tunehive.mjs'), ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, REDIS_URL: redisUrl(), ...env } });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += String(d); });
  return exited(child).then(() => ({ code: child.exitCode, stderr }));
}

describe('TLS between the coordinator and its workers', () => {
  let cert: TestCert;
  let other: TestCert;
  let stack: TestStack;

  beforeAll(async () => {
    [cert, other] = await Promise.all([testCertificate(), testCertificate()]);
    stack = await startTestStack('tls', {
      workers: 1, coordinator: { tls: { cert: cert.cert, key: cert.key } }, agent: { tls: { ca: cert.cert } }, fetch: fetchTrusting(cert.cert),
    });
  });
  afterAll(async () => stack?.close());

  it('serves HTTPS, and a worker that trusts the certificate runs the trials', async () => {
    expect(stack.coordinator.httpUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    await expect(fetch(`${stack.coordinator.httpUrl}/healthz`)).rejects.toThrow();
    const created = await stack.api('POST', '/api/v1/studies', spec);
    expect(created.status).toBe(201);
    const done = await stack.waitForStudy(created.body.id);
    expect(done.state).toBe('COMPLETED');
  });

  it('a worker without TLS fails at start, saying the coordinator serves TLS and what to give', async () => {
    const agent = new Agent({ redisUrl: redisUrl(), prefix: uniquePrefix('tls-plain'), coordinator: stack.coordinator.grpcAddress, slots: 1, log: quietLog(), workDir: tmp(), gpus: { kind: 'none' } });
    await expect(agent.start()).rejects.toThrow(/serves TLS.*--tls-ca FILE/);
    await agent.close();
  });

  it('a worker that trusts another CA fails at start with the verification error and the fix', async () => {
    const agent = new Agent({ redisUrl: redisUrl(), prefix: uniquePrefix('tls-other'), coordinator: stack.coordinator.grpcAddress, slots: 1, log: quietLog(), workDir: tmp(), gpus: { kind: 'none' }, tls: { ca: other.cert } });
    await expect(agent.start()).rejects.toThrow(/certificate .* is not trusted: .*--tls-ca FILE/);
    await agent.close();
  });

  it('`tunehive worker --tls-ca` with the wrong CA exits 1 with that message (no stack trace)', async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'other.pem'), other.cert);
    const r = await cli(['worker', '--coordinator', stack.coordinator.grpcAddress, '--tls-ca', path.join(dir, 'other.pem'), '--work-dir', dir, '--gpus', 'none', '--prefix', uniquePrefix('tls-cli')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^tunehive: the coordinator's TLS certificate at 127\.0\.0\.1:\d+ is not trusted/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('client certificates (--tls-ca on the coordinator)', () => {
  let cert: TestCert;
  let stack: TestStack;
  beforeAll(async () => {
    cert = await testCertificate();
    stack = await startTestStack('mtls', {
      workers: 1, coordinator: { tls: { cert: cert.cert, key: cert.key, ca: cert.cert } },
      agent: { tls: { ca: cert.cert, cert: cert.clientCert, key: cert.clientKey } }, fetch: fetchTrusting(cert.cert),
    });
  });
  afterAll(async () => stack?.close());

  it('a worker with a client certificate runs trials; a gRPC client without one is refused', async () => {
    const created = await stack.api('POST', '/api/v1/studies', spec);
    expect((await stack.waitForStudy(created.body.id)).state).toBe('COMPLETED');
    const client = trialServiceClient(stack.coordinator.grpcAddress, {}, { channelCredentials: grpcClientCredentials({ ca: cert.cert }) });
    try {
      const ready = await new Promise<Error | undefined>((resolve) => client.waitForReady(Date.now() + 3000, (err) => resolve(err ?? undefined)));
      if (!ready) {
        // TLS 1.3 finishes the client's side of the handshake before the server checks the
        // certificate: the first call is where the refusal shows.
        const err = await new Promise<grpc.ServiceError | undefined>((resolve) => {
          const call = (client as any).downloadCheckpoint({ trialId: 'x.0', checkpointId: 'c' });
          call.on('error', (e: grpc.ServiceError) => resolve(e));
          call.on('end', () => resolve(undefined));
        });
        expect(err?.code).toBe(grpc.status.UNAVAILABLE);
      } else {
        expect(ready.message).toMatch(/deadline|connect/i);
      }
    } finally {
      client.close();
    }
  });
});

describe('binding beyond loopback', () => {
  it('knows which hosts are loopback', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'coordinator', '128.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('a coordinator refuses 0.0.0.0 without TLS, saying why and how to fix it', async () => {
    await expect(startCoordinator({ redisUrl: redisUrl(), host: '0.0.0.0', httpPort: 0, grpcPort: 0, prefix: uniquePrefix('bind'), log: quietLog(), checkpointDir: tmp() }))
      .rejects.toThrow(/refusing to serve HTTP and gRPC without TLS on 0\.0\.0\.0.*--tls-cert FILE --tls-key FILE.*--insecure/);
  });

  it('`tunehive coordinator --host 0.0.0.0` exits 1 with the reason; --insecure starts it', async () => {
    const r = await cli(['coordinator', '--host', '0.0.0.0', '--http-port', '0', '--grpc-port', '0', '--prefix', uniquePrefix('bind-cli'), '--checkpoint-dir', tmp()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^tunehive: refusing to serve HTTP and gRPC without TLS on 0\.0\.0\.0/m);
    const c = await startCoordinator({ redisUrl: redisUrl(), host: '0.0.0.0', insecure: true, httpPort: 0, grpcPort: 0, prefix: uniquePrefix('bind-ok'), log: quietLog(), checkpointDir: tmp() });
    await c.close();
  });
});
