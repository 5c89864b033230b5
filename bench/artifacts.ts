/**
 * `npm run bench:artifacts`: a 100 MB artifact uploaded and downloaded through the HTTP API
 * (PUT with its SHA-256, GET streamed to disk and hashed), on the filesystem store and on S3
 * (s3rver on 127.0.0.1, which keeps objects on the same disk), next to a raw copy of the same
 * file on the same disk as the ceiling. Median of --rounds, MB/s (10^6 bytes).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { copyFile, rm } from 'node:fs/promises';
import { once } from 'node:events';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startLocalRedis } from '../cli/local-redis.js';
import { startCoordinator, type Coordinator } from '../coordinator/main.js';
import { startLocalS3 } from '../test/helpers/local-s3.js';

const { values } = parseArgs({ options: { mb: { type: 'string', default: '100' }, rounds: { type: 'string', default: '3' } } });
const BYTES = Number(values.mb) * 1_000_000;
const ROUNDS = Number(values.rounds);
const ADMIN = randomBytes(24).toString('hex');
const dir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-bench-art-'));
const redis = await startLocalRedis({ dataDir: path.join(dir, 'redis') });
process.on('exit', () => { redis.process.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); });
const log = pino({ level: 'silent' });

// The file, written in pieces (never whole in memory), and its SHA-256.
const source = path.join(dir, 'source.bin');
let sourceSha: string;
{
  const out = createWriteStream(source);
  const hash = createHash('sha256');
  for (let left = BYTES; left > 0;) {
    const piece = randomBytes(Math.min(left, 8 * 1024 * 1024));
    hash.update(piece);
    if (!out.write(piece)) await once(out, 'drain');
    left -= piece.length;
  }
  out.end();
  await once(out, 'close');
  sourceSha = hash.digest('hex');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mbps = (seconds: number) => BYTES / 1e6 / seconds;
async function timed(fn: () => Promise<void>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function upload(c: Coordinator, runId: string, name: string): Promise<void> {
  const u = new URL(`${c.httpUrl}/api/v1/runs/${runId}/artifacts/${name}`);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'PUT', headers: {
      authorization: `Bearer ${ADMIN}`, 'content-type': 'application/octet-stream', 'content-length': BYTES, 'x-content-sha256': sourceSha } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(`upload: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    createReadStream(source, { highWaterMark: 1024 * 1024 }).pipe(req);
  });
}

function download(c: Coordinator, runId: string, name: string, dest: string): Promise<void> {
  return new Promise((resolve, reject) => {
    http.get(`${c.httpUrl}/api/v1/runs/${runId}/artifacts/${name}`, { headers: { authorization: `Bearer ${ADMIN}` } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`download: HTTP ${res.statusCode}`));
      const hash = createHash('sha256');
      res.on('data', (d: Buffer) => hash.update(d));
      pipeline(res, createWriteStream(dest)).then(() => (hash.digest('hex') === sourceSha ? resolve() : reject(new Error('download: SHA-256 mismatch'))), reject);
    }).on('error', reject);
  });
}

async function benchStore(label: string, extra: Partial<Parameters<typeof startCoordinator>[0]>): Promise<void> {
  const c = await startCoordinator({ redisUrl: redis.url, host: '127.0.0.1', httpPort: 0, grpcPort: 0, prefix: `bench-${label}`, log, reconcileIntervalMs: 600_000,
    checkpointDir: path.join(dir, `ckpt-${label}`), adminToken: ADMIN, ...extra });
  try {
    const post = (p: string, body?: unknown) => fetch(`${c.httpUrl}${p}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined }).then((r) => r.json() as Promise<any>);
    const study = await post('/api/v1/studies', { name: 'bench-artifacts', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 10 });
    const run = (await post(`/api/v1/studies/${study.id}/trials/ask`)).id as string;
    const up: number[] = [];
    const down: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      up.push(await timed(() => upload(c, run, `r${i}.bin`)));
      const dest = path.join(dir, `down-${label}-${i}.bin`);
      down.push(await timed(() => download(c, run, `r${i}.bin`, dest)));
      await rm(dest);
    }
    console.log(`${label.padEnd(12)} upload ${mbps(median(up)).toFixed(0).padStart(5)} MB/s   download ${mbps(median(down)).toFixed(0).padStart(5)} MB/s   (median of ${ROUNDS}; SHA-256 checked both ways)`);
  } finally {
    await c.close();
  }
}

console.log(`artifact of ${(BYTES / 1e6).toFixed(0)} MB through the HTTP API, ${os.cpus().length} CPUs, files in ${os.tmpdir()}`);
const copyStream: number[] = [];
const copyKernel: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const dest = path.join(dir, `copy-${i}.bin`);
  copyStream.push(await timed(() => pipeline(createReadStream(source, { highWaterMark: 1024 * 1024 }), createWriteStream(dest))));
  await rm(dest);
  copyKernel.push(await timed(() => copyFile(source, dest)));
  await rm(dest);
}
// Every byte is hashed once on the way in (the store checks it) and once by this client on the
// way out: one core's SHA-256 rate is the other ceiling.
const shaSeconds = await timed(async () => { const h = createHash('sha256'); for await (const c of createReadStream(source, { highWaterMark: 1024 * 1024 })) h.update(c as Buffer); h.digest(); });
console.log(`${'sha-256'.padEnd(12)} ${mbps(shaSeconds).toFixed(0).padStart(5)} MB/s on one core (read + hash of the same file)`);
console.log(`${'raw copy'.padEnd(12)} stream ${mbps(median(copyStream)).toFixed(0).padStart(5)} MB/s   copyFile ${mbps(median(copyKernel)).toFixed(0).padStart(5)} MB/s   (the ceiling: read + write of the same disk)`);
await benchStore('filesystem', { artifactStore: path.join(dir, 'artifacts') });
const s3 = await startLocalS3();
try {
  await benchStore('s3 (s3rver)', { artifactStore: `s3://${s3.bucket}/bench`, s3: { endpoint: s3.endpoint, credentials: s3.credentials } });
} finally {
  await s3.close();
}
if (statSync(source).size !== BYTES) throw new Error('source changed');
await redis.stop();
