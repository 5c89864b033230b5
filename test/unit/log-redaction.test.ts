/** Secrets never reach the log: by field name, and inside any string (messages, error texts). */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, scrubSecrets } from '../../shared/logger.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
  return { lines, log: createLogger('test', 'info', stream) };
}

const TOKEN = 'thk_0123456789abcdef_SeCrEtSeCrEtSeCrEtSeCrEtSeCrEtSeCrEtSeCrEt123';
const PASSWORD = 'hunter2-0f9e8d7c6b5a';

describe('log redaction', () => {
  it('redacts secret fields, URL passwords, token secrets and Authorization values everywhere', () => {
    const { lines, log } = capture();
    log.info({ token: TOKEN, password: PASSWORD, headers: { authorization: `Bearer ${TOKEN}` }, req: { headers: { authorization: `Basic ${PASSWORD}` } },
      redisUrl: `redis://tunehive-worker:${PASSWORD}@redis:6379`, env: { REDIS_URL: `redis://u:${PASSWORD}@h` },
      nested: { joinToken: TOKEN, reason: `connect to redis://tunehive-worker:${PASSWORD}@redis:6379 failed` } }, `worker joined with ${TOKEN}`);
    log.error({ err: new Error(`AUTH failed for rediss://admin:${PASSWORD}@10.0.0.1:6380 (Bearer ${TOKEN})`) }, 'store error');
    log.warn(`plain message quoting redis://:${PASSWORD}@127.0.0.1:6379`);
    const out = lines.join('');
    expect(out).not.toContain(PASSWORD);
    expect(out).not.toContain('SeCrEt');
    // What is not secret stays readable: the token's public id, the host, the message.
    expect(out).toContain('thk_0123456789abcdef_[redacted]');
    expect(out).toContain('redis:6379 failed');
    expect(out).toContain('worker joined with');
    expect(lines).toHaveLength(3);
  });

  it("redacts a trial's MLflow run token (thr_) like the others: in strings, its field and a recorded environment", async () => {
    const run = 'thr_0123456789abcdef_RuNsEcReTRuNsEcReTRuNsEcReTRuNsEcReT1234567';
    const { lines, log } = capture();
    log.info({ startReply: { mlflowTrackingToken: run }, mlflowTrackingToken: run }, `program said: export MLFLOW_TRACKING_TOKEN=${run}`);
    expect(lines.join('')).not.toContain('RuNsEcReT');
    expect(scrubSecrets(`token ${run}`)).toBe('token thr_0123456789abcdef_[redacted]');
    const { recordedEnvironment } = await import('../../worker/provenance/recorded-env.js');
    expect(JSON.stringify(recordedEnvironment({ MLFLOW_TRACKING_TOKEN: run, NOTE: `see ${run}` }))).not.toContain('RuNsEcReT');
  });

  it('leaves ordinary strings alone', () => {
    expect(scrubSecrets('trial th1234.5 finished: http://127.0.0.1:8080/api')).toBe('trial th1234.5 finished: http://127.0.0.1:8080/api');
  });
});
