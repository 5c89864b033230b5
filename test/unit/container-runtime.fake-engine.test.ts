/**
 * The container runtime against a recording fake of the Docker Engine API (no engine runs
 * here): an HTTP server on 127.0.0.1:0 that records every request and answers with canned
 * replies, including multiplexed log frames split across chunks.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ContainerRuntime, type ContainerRuntimeOptions } from '../../worker/runtime/container-runtime.js';
import { exitFromStatusCode } from '../../worker/runtime/docker/container-run.js';
import { dockerFrame } from '../../worker/runtime/docker/demux.js';
import { endpointFromEnv } from '../../worker/runtime/docker/engine-client.js';
import { splitImageRef } from '../../worker/runtime/docker/images.js';
import type { LaunchSpec } from '../../worker/runtime/runtime.js';

interface Recorded { method: string; path: string; query: URLSearchParams; body: any; at: number }
interface FakeContainer {
  id: string;
  body: any;
  state: 'created' | 'running' | 'exited';
  exitCode: number | null;
  oomKilled: boolean;
  logs: http.ServerResponse[];
  backlog: Buffer[];
  waiters: http.ServerResponse[];
}
type Script = (c: FakeContainer, engine: FakeEngine) => void;

class FakeEngine {
  readonly requests: Recorded[] = [];
  readonly images = new Set<string>(['trainer:1']);
  readonly pullable = new Set<string>();
  readonly containers = new Map<string, FakeContainer>();
  script: Script = () => {};
  onStop: 'ignore' | 'exit' = 'ignore';
  startFailure: string | null = null;
  holdPull = false;
  private next = 1;
  private server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => this.handle(req, res, Buffer.concat(chunks).toString()));
  });

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  calls(): string[] {
    return this.requests.map((r) => `${r.method} ${r.path.replace(/[0-9a-f]{12}/, ':id')}`);
  }
  only(): FakeContainer {
    const [c] = [...this.containers.values()];
    if (!c) throw new Error('no container');
    return c;
  }

  log(c: FakeContainer, stream: 1 | 2, text: string): void {
    const frame = dockerFrame(stream, text);
    // Split each frame at an awkward place: inside the header, then inside the payload.
    const parts = [frame.subarray(0, 3), frame.subarray(3, 11), frame.subarray(11)].filter((p) => p.length > 0);
    if (c.logs.length === 0) c.backlog.push(...parts);
    for (const res of c.logs) for (const p of parts) res.write(p);
  }
  exit(c: FakeContainer, code: number, oom = false): void {
    if (c.state === 'exited') return;
    c.state = 'exited';
    c.exitCode = code;
    c.oomKilled = oom;
    for (const res of c.logs.splice(0)) res.end();
    for (const res of c.waiters.splice(0)) json(res, 200, { StatusCode: code, Error: null });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, raw: string): unknown {
    const url = new URL(req.url ?? '/', 'http://docker');
    const version = url.pathname.split('/')[1];
    const path = url.pathname.slice(version!.length + 1);
    this.requests.push({ method: req.method ?? '', path, query: url.searchParams, body: raw ? JSON.parse(raw) : undefined, at: Date.now() });
    if (version !== 'v1.43') return json(res, 400, { message: `unexpected API version ${version}` });
    const m = /^\/containers\/([0-9a-f]{12})(?:\/(\w+))?$/.exec(path);
    const c = m ? this.containers.get(m[1]!) : undefined;
    const route = `${req.method} ${m ? `/containers/:id${m[2] ? `/${m[2]}` : ''}` : path}`;
    switch (route) {
      case 'POST /containers/create': {
        const body = JSON.parse(raw);
        if (!this.images.has(body.Image)) return json(res, 404, { message: `No such image: ${body.Image}` });
        const id = (this.next++).toString(16).padStart(12, 'a');
        this.containers.set(id, { id, body, state: 'created', exitCode: null, oomKilled: false, logs: [], backlog: [], waiters: [] });
        return json(res, 201, { Id: id, Warnings: [] });
      }
      case 'POST /images/create': {
        const ref = `${url.searchParams.get('fromImage')}:${url.searchParams.get('tag')}`;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write('{"status":"Pulling from library/trainer","id":"1"}\n');
        if (this.holdPull) return; // never finishes: a huge image
        if (this.pullable.has(ref)) {
          this.images.add(ref);
          return res.end('{"status":"Status: Downloaded newer image for trainer:2"}\n');
        }
        return res.end(`{"errorDetail":{"message":"pull access denied for ${ref}, repository does not exist"},"error":"pull access denied"}\n`);
      }
      case 'GET /containers/json':
        return json(res, 200, [...this.containers.values()].map((x) => ({ Id: x.id, Labels: x.body.Labels })));
    }
    if (!c) return json(res, 404, { message: `No such container: ${path}` });
    switch (route) {
      case 'POST /containers/:id/start':
        if (this.startFailure) return json(res, 500, { message: this.startFailure });
        c.state = 'running';
        res.writeHead(204).end();
        return setImmediate(() => this.script(c, this));
      case 'GET /containers/:id/logs':
        res.writeHead(200, { 'Content-Type': 'application/vnd.docker.multiplexed-stream' });
        for (const p of c.backlog) res.write(p);
        if (c.state === 'exited') return res.end();
        c.logs.push(res);
        return;
      case 'POST /containers/:id/wait':
        if (c.state === 'exited') return json(res, 200, { StatusCode: c.exitCode, Error: null });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders(); // the engine answers headers at once and the body at exit
        c.waiters.push(res);
        return;
      case 'POST /containers/:id/stop':
        res.writeHead(204).end();
        if (this.onStop === 'exit') setTimeout(() => this.exit(c, 0), 20);
        return;
      case 'POST /containers/:id/kill':
        if (c.state === 'exited') return json(res, 409, { message: 'is not running' });
        res.writeHead(204).end();
        return this.exit(c, 137);
      case 'GET /containers/:id/json':
        return json(res, 200, { Id: c.id, State: { Status: c.state, ExitCode: c.exitCode, OOMKilled: c.oomKilled } });
      case 'DELETE /containers/:id':
        this.containers.delete(c.id);
        return void res.writeHead(204).end();
    }
    return json(res, 404, { message: `fake engine: no route ${route}` });
  }
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  if (res.headersSent) return void res.end(text);
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(text);
}

function collect(r: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = '';
    r.setEncoding('utf8');
    r.on('data', (d: string) => (s += d));
    r.on('end', () => resolve(s));
    r.on('error', reject);
  });
}

const spec = (over: Partial<LaunchSpec> = {}): LaunchSpec => ({
  trialId: 'study1-trial-0007',
  argv: ['python', 'train.py', '--lr', '0.01; rm -rf / #', '--out', '/var/lib/tunehive/ckpt/t7/model.pt'],
  env: { TUNEHIVE_TRIAL_ID: 'study1-trial-0007', TUNEHIVE_PARAMS: '{"lr":0.01}', TUNEHIVE_CHECKPOINT_DIR: '/var/lib/tunehive/ckpt/t7', CUDA_VISIBLE_DEVICES: '2,5' },
  checkpointDir: '/var/lib/tunehive/ckpt/t7',
  gpus: ['2', '5'],
  image: 'trainer:1',
  ...over,
});

let engine: FakeEngine;
let port: number;
async function setup(opts: ContainerRuntimeOptions = {}): Promise<ContainerRuntime> {
  engine = new FakeEngine();
  port = await engine.listen();
  return new ContainerRuntime({ env: { DOCKER_HOST: `tcp://127.0.0.1:${port}` }, agentId: 'node-a', memoryBytes: 8 * 2 ** 30, cpus: 4, ...opts });
}
afterEach(async () => {
  await engine?.close();
});

describe('container runtime (fake engine)', () => {
  it('creates the container from the spec: exec-form Cmd, env, exact GPUs, checkpoint mount, limits', async () => {
    const rt = await setup();
    engine.script = (c, e) => e.exit(c, 0);
    const p = rt.launch(spec());
    await p.exited;
    const create = engine.requests.find((r) => r.path === '/containers/create')!;
    expect(create.query.get('name')).toMatch(/^tunehive-study1-trial-0007-[0-9a-f]{6}$/);
    const body = create.body;
    expect(body.Image).toBe('trainer:1');
    expect(body.Cmd).toEqual(spec().argv); // verbatim: the "; rm -rf /" stays one argument
    expect(body.Entrypoint).toBeUndefined();
    expect(JSON.stringify(body)).not.toMatch(/"(\/bin\/)?(ba)?sh"|"-c"/);
    expect(body.Tty).toBe(false);
    expect(body.Env).toEqual(expect.arrayContaining([
      'TUNEHIVE_TRIAL_ID=study1-trial-0007',
      'TUNEHIVE_PARAMS={"lr":0.01}',
      'TUNEHIVE_CHECKPOINT_DIR=/var/lib/tunehive/ckpt/t7',
      'CUDA_VISIBLE_DEVICES=0,1', // renumbered inside the container
      'NVIDIA_VISIBLE_DEVICES=2,5',
    ]));
    expect(body.Env.filter((e: string) => e.startsWith('CUDA_VISIBLE_DEVICES='))).toHaveLength(1);
    expect(body.Labels).toEqual({ 'tunehive.trial-id': 'study1-trial-0007', 'tunehive.managed': 'true', 'tunehive.agent': 'node-a' });
    expect(body.HostConfig).toMatchObject({
      AutoRemove: false,
      Init: true,
      DeviceRequests: [{ Driver: 'nvidia', DeviceIDs: ['2', '5'], Capabilities: [['gpu']] }],
      Mounts: [{ Type: 'bind', Source: '/var/lib/tunehive/ckpt/t7', Target: '/var/lib/tunehive/ckpt/t7', ReadOnly: false }],
      Memory: 8 * 2 ** 30,
      MemorySwap: 8 * 2 ** 30,
      NanoCpus: 4e9,
      ShmSize: 2 ** 30,
    });
  });

  it('streams demultiplexed stdout and stderr, propagates the exit code and removes the container', async () => {
    const rt = await setup();
    engine.script = (c, e) => {
      e.log(c, 1, 'epoch=1 loss=0.50\n');
      e.log(c, 2, 'warning: slow disk\n');
      e.log(c, 1, '{"epoch":2,"loss":0.25}\n');
      setTimeout(() => {
        e.log(c, 1, 'epoch=3 loss=0.1\n');
        e.exit(c, 3);
      }, 20);
    };
    const p = rt.launch(spec());
    const [out, err, exit] = await Promise.all([collect(p.stdout), collect(p.stderr), p.exited]);
    expect(out).toBe('epoch=1 loss=0.50\n{"epoch":2,"loss":0.25}\nepoch=3 loss=0.1\n');
    expect(err).toBe('warning: slow disk\n');
    expect(exit).toEqual({ code: 3, signal: null });
    // The inspect after start reads the image digest (provenance); it runs beside the logs.
    const calls = engine.calls();
    expect(calls.filter((c) => c !== 'GET /containers/:id/json')).toEqual([
      'POST /containers/create',
      'POST /containers/:id/start',
      'GET /containers/:id/logs',
      'POST /containers/:id/wait',
      'DELETE /containers/:id',
    ]);
    expect(calls.filter((c) => c === 'GET /containers/:id/json')).toHaveLength(2);
    expect(engine.requests.find((r) => r.path.endsWith('/logs'))!.query.get('follow')).toBe('1');
    expect(engine.containers.size).toBe(0);
  });

  it('reports an OOM kill as SIGKILL with a note on stderr', async () => {
    const rt = await setup();
    engine.script = (c, e) => e.exit(c, 137, true);
    const p = rt.launch(spec());
    const [err, exit] = await Promise.all([collect(p.stderr), p.exited, collect(p.stdout)]);
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(err).toMatch(/tunehive: the container ran out of memory and was killed \(limit 8192 MiB\)/);
  });

  it('stop sends the engine stop, then kills after the grace period', async () => {
    const rt = await setup();
    engine.onStop = 'ignore'; // a program that ignores SIGTERM
    let running!: () => void;
    const started = new Promise<void>((r) => (running = r));
    engine.script = (c, e) => {
      e.log(c, 1, 'epoch=1\n');
      running();
    };
    const p = rt.launch(spec());
    void collect(p.stdout);
    await started;
    await waitFor(() => engine.calls().includes('POST /containers/:id/wait'));
    const t0 = Date.now();
    const exit = await p.stop(300);
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
    const stop = engine.requests.find((r) => r.path.endsWith('/stop'))!;
    const kill = engine.requests.find((r) => r.path.endsWith('/kill'))!;
    expect(stop.query.get('t')).toBe('1'); // whole seconds, rounded up: the engine never kills first
    expect(kill.query.get('signal')).toBe('SIGKILL');
    expect(kill.at - t0).toBeGreaterThanOrEqual(280);
    expect(engine.calls().indexOf('POST /containers/:id/stop')).toBeLessThan(engine.calls().indexOf('POST /containers/:id/kill'));
    expect(engine.calls().at(-1)).toBe('DELETE /containers/:id');
    expect(await p.stop(300)).toEqual(exit); // a second stop just waits
    expect(engine.requests.filter((r) => r.path.endsWith('/stop'))).toHaveLength(1);
  });

  it('does not kill a program that stops within the grace period', async () => {
    const rt = await setup();
    engine.onStop = 'exit';
    let running!: () => void;
    const started = new Promise<void>((r) => (running = r));
    engine.script = () => running();
    const p = rt.launch(spec());
    await started;
    await waitFor(() => engine.calls().includes('POST /containers/:id/wait'));
    expect(await p.stop(2000)).toEqual({ code: 0, signal: null });
    expect(engine.calls()).not.toContain('POST /containers/:id/kill');
  });

  it('pulls a missing image, then creates the container', async () => {
    const rt = await setup();
    engine.pullable.add('registry.local:5000/team/trainer:2');
    engine.script = (c, e) => e.exit(c, 0);
    const p = rt.launch(spec({ image: 'registry.local:5000/team/trainer:2' }));
    expect(await p.exited).toEqual({ code: 0, signal: null });
    const pull = engine.requests.find((r) => r.path === '/images/create')!;
    expect([pull.query.get('fromImage'), pull.query.get('tag')]).toEqual(['registry.local:5000/team/trainer', '2']);
    expect(engine.calls().slice(0, 4)).toEqual(['POST /containers/create', 'POST /images/create', 'POST /containers/create', 'POST /containers/:id/start']);
  });

  it('reports a missing image that cannot be pulled as a startError', async () => {
    const rt = await setup();
    const p = rt.launch(spec({ image: 'nosuch/trainer:9' }));
    const exit = await p.exited;
    expect(exit.code).toBeNull();
    expect(exit.startError).toMatch(/image nosuch\/trainer:9 is not on this node and pulling it failed: pull access denied for nosuch\/trainer:9/);
    expect(engine.calls()).toEqual(['POST /containers/create', 'POST /images/create']);
    expect(await collect(p.stdout)).toBe('');
  });

  it('does not pull when pulling is off', async () => {
    const rt = await setup({ pull: 'never' });
    const exit = await rt.launch(spec({ image: 'trainer:2' })).exited;
    expect(exit.startError).toMatch(/image trainer:2 is not on this node and pulling is off: No such image: trainer:2/);
    expect(engine.calls()).toEqual(['POST /containers/create']);
  });

  it('reports a start failure (no GPU driver) and removes the created container', async () => {
    const rt = await setup();
    engine.startFailure = 'could not select device driver "nvidia" with capabilities: [[gpu]]';
    const exit = await rt.launch(spec()).exited;
    expect(exit.startError).toMatch(/cannot start the container for trainer:1: could not select device driver "nvidia"/);
    expect(engine.calls()).toEqual(['POST /containers/create', 'POST /containers/:id/start', 'DELETE /containers/:id']);
  });

  it('gives a 0-GPU trial no devices at all', async () => {
    const rt = await setup();
    engine.script = (c, e) => e.exit(c, 0);
    await rt.launch(spec({ gpus: [], env: { CUDA_VISIBLE_DEVICES: '' } })).exited;
    const body = engine.requests[0]!.body;
    expect(body.HostConfig.DeviceRequests).toBeUndefined();
    expect(body.Env).toContain('NVIDIA_VISIBLE_DEVICES=void');
    expect(body.Env.some((e: string) => e.startsWith('CUDA_VISIBLE_DEVICES='))).toBe(false);
  });

  it('mounts at /tunehive/checkpoint in fixed mode and maps device ids to UUIDs', async () => {
    const rt = await setup({ checkpointMount: 'fixed', deviceIdMap: { '2': 'GPU-aaaa', '5': 'GPU-bbbb' } });
    engine.script = (c, e) => e.exit(c, 0);
    await rt.launch(spec()).exited;
    const body = engine.requests[0]!.body;
    expect(body.HostConfig.Mounts).toEqual([{ Type: 'bind', Source: '/var/lib/tunehive/ckpt/t7', Target: '/tunehive/checkpoint', ReadOnly: false }]);
    expect(body.Env).toContain('TUNEHIVE_CHECKPOINT_DIR=/tunehive/checkpoint');
    expect(body.Cmd.at(-1)).toBe('/tunehive/checkpoint/model.pt');
    expect(body.HostConfig.DeviceRequests[0].DeviceIDs).toEqual(['GPU-aaaa', 'GPU-bbbb']);
  });

  it('stops a trial whose image is still being pulled without starting it', async () => {
    const rt = await setup();
    engine.holdPull = true;
    const p = rt.launch(spec({ image: 'huge:1' }));
    await waitFor(() => engine.calls().includes('POST /images/create'));
    expect(await p.stop(1000)).toEqual({ code: null, signal: 'SIGTERM' });
    expect(engine.calls()).not.toContain('POST /containers/:id/start');
  });

  it('reports an unreachable engine and a spec without an image as startErrors', async () => {
    const rt = new ContainerRuntime({ env: { DOCKER_HOST: 'unix:///nonexistent/tunehive-docker.sock' } });
    const exit = await rt.launch(spec()).exited;
    expect(exit.startError).toMatch(/cannot reach the container engine at unix:\/\/\/nonexistent\/tunehive-docker.sock/);
    expect((await rt.launch(spec({ image: undefined })).exited).startError).toMatch(/needs an image/);
  });

  it('removes the containers a previous life of this agent left', async () => {
    const rt = await setup();
    engine.containers.set('0000000000ab', { id: '0000000000ab', body: {}, state: 'running', exitCode: null, oomKilled: false, logs: [], backlog: [], waiters: [] });
    expect(await rt.removeLeftovers()).toBe(1);
    const list = engine.requests[0]!;
    expect(JSON.parse(list.query.get('filters')!)).toEqual({ label: ['tunehive.managed=true', 'tunehive.agent=node-a'] });
    expect(engine.calls()).toEqual(['GET /containers/json', 'DELETE /containers/:id']);
  });
});

describe('engine settings', () => {
  it('reads DOCKER_HOST', () => {
    expect(endpointFromEnv({})).toEqual({ socketPath: '/var/run/docker.sock' });
    expect(endpointFromEnv({ DOCKER_HOST: 'unix:///run/user/1000/podman/podman.sock' })).toEqual({ socketPath: '/run/user/1000/podman/podman.sock' });
    expect(endpointFromEnv({ DOCKER_HOST: 'tcp://127.0.0.1:2375' })).toEqual({ host: '127.0.0.1', port: 2375 });
    expect(() => endpointFromEnv({ DOCKER_HOST: 'ssh://me@box' })).toThrow(/not supported/);
    expect(() => endpointFromEnv({ DOCKER_HOST: 'tcp://box:2376', DOCKER_TLS_VERIFY: '1' })).toThrow(/TLS/);
  });

  it('splits image references for a pull', () => {
    expect(splitImageRef('trainer')).toEqual({ fromImage: 'trainer', tag: 'latest' });
    expect(splitImageRef('localhost:5000/trainer')).toEqual({ fromImage: 'localhost:5000/trainer', tag: 'latest' });
    expect(splitImageRef('ghcr.io/a/b:1.2')).toEqual({ fromImage: 'ghcr.io/a/b', tag: '1.2' });
    expect(splitImageRef('a/b@sha256:abc')).toEqual({ fromImage: 'a/b@sha256:abc', tag: undefined });
  });

  it('reads 128 + n exit statuses as death by signal n', () => {
    expect(exitFromStatusCode(0)).toEqual({ code: 0, signal: null });
    expect(exitFromStatusCode(1)).toEqual({ code: 1, signal: null });
    expect(exitFromStatusCode(134)).toEqual({ code: null, signal: 'SIGABRT' });
    expect(exitFromStatusCode(143)).toEqual({ code: null, signal: 'SIGTERM' });
    expect(exitFromStatusCode(255)).toEqual({ code: 255, signal: null });
    expect(exitFromStatusCode(null)).toEqual({ code: null, signal: null });
  });

  it('rejects bad limits at construction', () => {
    expect(() => new ContainerRuntime({ cpus: 0, env: {} })).toThrow(/cpus/);
    expect(() => new ContainerRuntime({ memoryBytes: 1024, env: {} })).toThrow(/6 MiB/);
  });
});

async function waitFor(cond: () => boolean, deadlineMs = 3000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met before the deadline');
    await new Promise((r) => setTimeout(r, 5));
  }
}
