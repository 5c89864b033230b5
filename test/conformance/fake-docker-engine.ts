/**
 * A FAKE Docker Engine API (v1.43) for the runtime conformance suite: no engine runs here, so
 * this HTTP server on 127.0.0.1:0 plays one, backed by real child processes. `create` records
 * the body; `start` execs Cmd with exactly Env (no shell, as an exec-form container would) in
 * its own process group and answers only once exec has succeeded or failed, as runc does; logs
 * are served as multiplexed frames; `wait` answers at exit with 128+n for a signal (what
 * `Init: true` reports); `stop?t=` is SIGTERM then SIGKILL after t seconds; `kill` signals.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants as osConstants } from 'node:os';
import { dockerFrame } from '../../worker/runtime/docker/demux.js';

interface Container {
  id: string;
  body: { Image: string; Cmd: string[]; Env: string[] };
  child?: ChildProcess;
  status: 'created' | 'running' | 'exited';
  exitStatus: number | null;
  frames: Buffer[];
  followers: http.ServerResponse[];
  waiters: http.ServerResponse[];
  killTimer?: NodeJS.Timeout;
}

export class FakeDockerEngine {
  readonly images = new Set(['trainer:1']);
  /** What inspect says of each image: its local id and registry digests (provenance records them). */
  readonly imageIds = new Map<string, { id: string; repoDigests: string[] }>([
    ['trainer:1', { id: `sha256:${'1'.repeat(64)}`, repoDigests: [`trainer@sha256:${'d'.repeat(64)}`] }],
  ]);
  readonly requests: string[] = [];
  private readonly containers = new Map<string, Container>();
  private next = 1;
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => this.handle(req, res, Buffer.concat(chunks).toString()));
  });

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }

  /** Kills whatever still runs and closes the server. */
  async close(): Promise<void> {
    for (const c of this.containers.values()) this.signal(c, 'SIGKILL');
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  get live(): number {
    return [...this.containers.values()].filter((c) => c.status === 'running').length;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, raw: string): void {
    const url = new URL(req.url ?? '/', 'http://docker');
    const [, version, ...rest] = url.pathname.split('/');
    const path = `/${rest.join('/')}`;
    this.requests.push(`${req.method} ${path}`);
    if (version !== 'v1.43') return json(res, 400, { message: `unexpected API version ${version}` });
    const m = /^\/containers\/([0-9a-f]{12})(?:\/(\w+))?$/.exec(path);
    const c = m ? this.containers.get(m[1]!) : undefined;
    const route = `${req.method} ${m ? `/containers/:id${m[2] ? `/${m[2]}` : ''}` : path}`;
    if (route === 'POST /containers/create') {
      const body = JSON.parse(raw);
      if (!this.images.has(body.Image)) return json(res, 404, { message: `No such image: ${body.Image}` });
      const id = (this.next++).toString(16).padStart(12, 'a');
      this.containers.set(id, { id, body, status: 'created', exitStatus: null, frames: [], followers: [], waiters: [] });
      return json(res, 201, { Id: id, Warnings: [] });
    }
    if (route === 'POST /images/create') return json(res, 200, { error: 'the fake engine pulls nothing' });
    const img = /^\/images\/([^/]+)\/json$/.exec(path);
    if (req.method === 'GET' && img) {
      const name = decodeURIComponent(img[1]!);
      const found = [...this.imageIds.values()].find((i) => i.id === name) ?? this.imageIds.get(name);
      return found ? json(res, 200, { Id: found.id, RepoDigests: found.repoDigests }) : json(res, 404, { message: `No such image: ${name}` });
    }
    if (!c) return json(res, 404, { message: `No such container: ${path}` });
    switch (route) {
      case 'POST /containers/:id/start':
        return this.start(c, res);
      case 'GET /containers/:id/logs':
        res.writeHead(200, { 'Content-Type': 'application/vnd.docker.multiplexed-stream' });
        for (const f of c.frames) res.write(f);
        if (c.status === 'exited') return void res.end();
        c.followers.push(res);
        return;
      case 'POST /containers/:id/wait':
        if (c.status === 'exited') return json(res, 200, { StatusCode: c.exitStatus, Error: null });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
        c.waiters.push(res);
        return;
      case 'POST /containers/:id/stop': {
        if (c.status !== 'running') return void res.writeHead(304).end();
        const t = Number(url.searchParams.get('t') ?? 10);
        this.signal(c, 'SIGTERM');
        c.killTimer = setTimeout(() => this.signal(c, 'SIGKILL'), t * 1000);
        // Like the engine, answer once the container has stopped.
        return void c.child!.once('close', () => res.writeHead(204).end());
      }
      case 'POST /containers/:id/kill':
        if (c.status !== 'running') return json(res, 409, { message: `container ${c.id} is not running` });
        this.signal(c, (url.searchParams.get('signal') ?? 'SIGKILL') as NodeJS.Signals);
        return void res.writeHead(204).end();
      case 'GET /containers/:id/json':
        return json(res, 200, { Id: c.id, Image: this.imageIds.get(c.body.Image)?.id ?? '', State: { Status: c.status, ExitCode: c.exitStatus ?? 0, OOMKilled: false } });
      case 'DELETE /containers/:id':
        this.signal(c, 'SIGKILL');
        this.containers.delete(c.id);
        return void res.writeHead(204).end();
    }
    return json(res, 404, { message: `fake engine: no route ${route}` });
  }

  private start(c: Container, res: http.ServerResponse): void {
    if (c.status !== 'created') return void res.writeHead(304).end();
    const env = Object.fromEntries(c.body.Env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const [file, ...args] = c.body.Cmd;
    let child: ChildProcess;
    try {
      child = spawn(file!, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    } catch (e) {
      // runc's words for what exec refused (E2BIG: "argument list too long").
      const why = (e as NodeJS.ErrnoException).code === 'E2BIG' ? 'argument list too long' : (e as Error).message;
      return json(res, 500, { message: `failed to create task for container: OCI runtime create failed: exec: ${JSON.stringify(file)}: ${why}: unknown` });
    }
    child.once('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'ENOENT' ? 'no such file or directory' : e.code === 'EACCES' ? 'permission denied' : e.message;
      json(res, 400, { message: `failed to create task for container: OCI runtime create failed: exec: ${JSON.stringify(file)}: ${why}: unknown` });
    });
    child.once('spawn', () => {
      c.child = child;
      c.status = 'running';
      res.writeHead(204).end();
      const push = (stream: 1 | 2) => (data: Buffer) => {
        const f = dockerFrame(stream, data);
        c.frames.push(f);
        for (const r of c.followers) r.write(f);
      };
      child.stdout!.on('data', push(1));
      child.stderr!.on('data', push(2));
      child.once('close', (code, signal) => {
        clearTimeout(c.killTimer);
        c.status = 'exited';
        c.exitStatus = signal ? 128 + osConstants.signals[signal] : code;
        for (const r of c.followers.splice(0)) r.end();
        for (const r of c.waiters.splice(0)) r.end(JSON.stringify({ StatusCode: c.exitStatus, Error: null }));
      });
    });
  }

  private signal(c: Container, sig: NodeJS.Signals): void {
    if (c.status !== 'running' || c.child?.pid === undefined) return;
    try {
      process.kill(-c.child.pid, sig);
    } catch {
      // already gone
    }
  }
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  if (res.headersSent) return void res.end(text);
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(text);
}
