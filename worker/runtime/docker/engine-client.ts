/**
 * A minimal Docker Engine API client on node:http (no dependency): the handful of calls the
 * container runtime makes, over the unix socket or plain TCP. Podman's Docker-compatible API
 * answers the same calls.
 */
import http from 'node:http';

export const DEFAULT_API_VERSION = 'v1.43';
export const DEFAULT_SOCKET = '/var/run/docker.sock';

export type EngineEndpoint = { socketPath: string } | { host: string; port: number };

export class EngineConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineConfigError';
  }
}

/** Reads DOCKER_HOST the way the docker CLI does, for the transports we speak. */
export function endpointFromEnv(env: Record<string, string | undefined>): EngineEndpoint {
  const raw = env.DOCKER_HOST?.trim();
  if (!raw) return { socketPath: DEFAULT_SOCKET };
  if (raw.startsWith('unix://')) {
    const socketPath = raw.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw new EngineConfigError(`DOCKER_HOST ${raw}: the socket path must be absolute`);
    return { socketPath };
  }
  const m = /^(?:tcp|http):\/\/([^/:]+|\[[0-9a-fA-F:]+\]):(\d+)\/?$/.exec(raw);
  if (m) {
    // The CLI's TLS mode needs client certificates we do not load; fail loudly rather than talk plain HTTP to a TLS port.
    if (env.DOCKER_TLS_VERIFY && env.DOCKER_TLS_VERIFY !== '0') throw new EngineConfigError('DOCKER_TLS_VERIFY is set but the container runtime speaks plain HTTP only; use the unix socket or a local tunnel');
    return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port: Number(m[2]) };
  }
  throw new EngineConfigError(`DOCKER_HOST ${raw} is not supported (use unix:///path or tcp://host:port)`);
}

export function describeEndpoint(e: EngineEndpoint): string {
  return 'socketPath' in e ? `unix://${e.socketPath}` : `tcp://${e.host}:${e.port}`;
}

/** The engine answered, with an error status. */
export class EngineError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'EngineError';
  }
}

/** The engine could not be reached at all (socket missing, connection refused, timeout). */
export class EngineUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineUnreachableError';
  }
}

export interface CallOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** 0 = no limit (wait, pull); the default limit is the client's. */
  timeoutMs?: number;
  signal?: AbortSignal | undefined;
}

export interface EngineReply {
  status: number;
  body: unknown;
}

export class DockerEngineClient {
  readonly endpoint: EngineEndpoint;
  readonly apiVersion: string;
  private readonly timeoutMs: number;

  constructor(opts: { endpoint: EngineEndpoint; apiVersion?: string; timeoutMs?: number }) {
    this.endpoint = opts.endpoint;
    this.apiVersion = opts.apiVersion ?? DEFAULT_API_VERSION;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** A whole reply, any status; JSON bodies are parsed, others kept as text. */
  async call(method: string, path: string, opts: CallOptions = {}): Promise<EngineReply> {
    const res = await this.send(method, path, opts);
    const text = await readAll(res);
    let body: unknown = text;
    if (text !== '' && (res.headers['content-type'] ?? '').includes('json')) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text; // a streamed JSON-lines body (pull progress) is not one document
      }
    }
    return { status: res.statusCode ?? 0, body };
  }

  /** A 2xx reply to read as a stream (logs); an error status becomes an EngineError. */
  async stream(method: string, path: string, opts: CallOptions = {}): Promise<http.IncomingMessage> {
    const res = await this.send(method, path, { ...opts, timeoutMs: opts.timeoutMs ?? 0 });
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return res;
    throw new EngineError(status, engineMessage(await readAll(res)) || `HTTP ${status}`);
  }

  private send(method: string, path: string, opts: CallOptions): Promise<http.IncomingMessage> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) qs.set(k, String(v));
    const fullPath = `/${this.apiVersion}${path}${qs.size > 0 ? `?${qs}` : ''}`;
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: http.OutgoingHttpHeaders = { Host: 'docker' };
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = payload.length;
    }
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const where = describeEndpoint(this.endpoint);
    return new Promise((resolve, reject) => {
      // agent: false: long waits (wait, logs) must not hold pooled sockets other calls queue behind.
      const req = http.request({ ...this.endpoint, method, path: fullPath, headers, agent: false, signal: opts.signal }, (res) => {
        req.setTimeout(0);
        resolve(res);
      });
      if (timeoutMs > 0) req.setTimeout(timeoutMs, () => req.destroy(new EngineUnreachableError(`${method} ${path}: no answer from the container engine at ${where} within ${timeoutMs} ms`)));
      req.on('error', (err) => {
        reject(err instanceof EngineUnreachableError ? err : new EngineUnreachableError(`cannot reach the container engine at ${where}: ${err.message}`));
      });
      req.end(payload);
    });
  }
}

/** Docker's error bodies are {"message": "..."}. */
export function engineMessage(body: unknown): string {
  if (typeof body === 'string') {
    try {
      return engineMessage(JSON.parse(body));
    } catch {
      return body.trim().slice(0, 500);
    }
  }
  if (typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message;
  }
  return '';
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    // Settled promises ignore later calls, so this only fires for a reply cut short.
    res.on('close', () => reject(new EngineUnreachableError('the container engine closed the connection mid-reply')));
  });
}
