/**
 * The coordinator's side of provenance and program tags, driven by a scripted worker over real
 * gRPC against real Redis: the StartReply carries the trial's seed; a valid report is stored on
 * the run; a report that does not fit the schema, names another attempt, carries a bad tag key
 * or passes the per-attempt cap ends the stream non-retriably and fails the trial with why.
 */
import type * as grpc from '@grpc/grpc-js';
import { status as grpcStatus } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CoordinatorMessage, WorkerMessage } from '../../shared/proto.js';
import type { Provenance } from '../../shared/run-model.js';
import { trialSeed } from '../../shared/seed.js';
import { ScriptedFleet } from '../helpers/scripted-worker.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/env.js';

type Duplex = grpc.ClientDuplexStream<WorkerMessage, CoordinatorMessage>;

function open(client: grpc.Client) {
  const call = (client as unknown as { runTrial(): Duplex }).runTrial();
  const inbox: CoordinatorMessage[] = [];
  let error: grpc.ServiceError | undefined;
  call.on('data', (m: CoordinatorMessage) => inbox.push(m));
  call.on('error', (e: grpc.ServiceError) => { error = e; });
  return {
    send: (m: WorkerMessage) => call.write(m),
    next: async (pred: (m: CoordinatorMessage) => boolean) => waitFor(() => {
      const i = inbox.findIndex(pred);
      return i >= 0 ? inbox.splice(i, 1)[0] : undefined;
    }, 5000, 'a reply'),
    error: () => waitFor(() => error, 5000, 'the stream to end with an error'),
    end: () => call.end(),
  };
}

const record = (o: Partial<Provenance> = {}): Provenance => ({
  attempt: 1, capturedAt: Date.now(), code: { source: 'git', commit: 'a'.repeat(40), dirty: false }, data: { source: 'none', files: [], dvc: [] },
  command: ['python', 'train.py'], env: { PATH: '/usr/bin' }, seed: 5, runtime: 'process', ...o,
});

describe('provenance and tag reports at the coordinator edge', () => {
  let stack: TestStack;
  let fleet: ScriptedFleet;
  beforeAll(async () => {
    stack = await startTestStack('prov-wire', { workers: 0, coordinator: { reconcileIntervalMs: 600_000 } });
    fleet = new ScriptedFleet(stack.coordinator.grpcAddress, stack.coordinator.store);
  });
  afterAll(async () => {
    fleet?.close();
    await stack?.close();
  });

  const start = async () => {
    const { body } = await stack.api('POST', '/api/v1/studies', {
      name: 'pw', objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } },
      algorithm: { name: 'random', seed: 99 }, maxTrials: 1, parallelism: 1, trial: { command: ['unused'], codeVersion: 'v9', dataFiles: ['d.csv'] },
    });
    await waitFor(async () => (await stack.api('GET', `/api/v1/studies/${body.id}`)).body.counts.queued === 1 || undefined, 5000, 'a queued trial');
    const s = open(await fleet.client('scripted'));
    s.send(await fleet.started(`${body.id}.0`, 'scripted'));
    const reply = (await s.next((m) => !!m.startReply)).startReply!;
    return { id: body.id as string, s, reply };
  };
  const failed = (id: string) => waitFor(async () => {
    const t = (await stack.api('GET', `/api/v1/trials/${id}.0`)).body;
    return t.state === 'FAILED' ? t : undefined;
  }, 5000, 'the trial to be FAILED');

  it('sends the seed and what capture needs of the spec, and stores reports on the run (the latest wins per attempt)', async () => {
    const { id, s, reply } = await start();
    expect(reply.seed).toBe(trialSeed(99, 0));
    expect(reply.rerunCheck).toBeFalsy();
    expect(reply.template).toMatchObject({ codeVersion: 'v9', dataFiles: ['d.csv'] });
    s.send({ provenance: { attempt: 1, provenanceJson: JSON.stringify(record()) } });
    s.send({ tags: { attempt: 1, tags: { model: 'rf', 'phase 2': 'yes' } } });
    s.send({ provenance: { attempt: 1, provenanceJson: JSON.stringify(record({ data: { source: 'program', version: 'v42', files: [], dvc: [] } })) } });
    await waitFor(async () => (await stack.coordinator.runs.provenanceOf(`${id}.0`))[0]?.data.version === 'v42' || undefined, 5000, 'the provenance');
    const run = await stack.coordinator.runs.getRun(`${id}.0`);
    expect(run!.tags).toMatchObject({ model: 'rf', 'phase 2': 'yes' });
    expect(run!.provenance!.data).toEqual({ source: 'program', version: 'v42', files: [], dvc: [] });
    expect(await stack.coordinator.runs.provenanceOf(`${id}.0`)).toHaveLength(1);
    s.end();
  });

  const refusals: Array<[string, WorkerMessage, number, RegExp]> = [
    ['a provenance that is not JSON', { provenance: { attempt: 1, provenanceJson: '{nope' } }, grpcStatus.INVALID_ARGUMENT, /provenance\.provenanceJson: is not JSON/],
    ['a provenance outside the schema (a negative seed)', { provenance: { attempt: 1, provenanceJson: JSON.stringify(record({ seed: -1 })) } }, grpcStatus.INVALID_ARGUMENT, /provenance\.seed/],
    ['a provenance naming another attempt', { provenance: { attempt: 1, provenanceJson: JSON.stringify(record({ attempt: 7 })) } }, grpcStatus.INVALID_ARGUMENT, /provenance\.attempt: is 7, but this stream is attempt 1/],
    ['a tag with a bad key', { tags: { attempt: 1, tags: { 'b\u0000d': 'x' } } }, grpcStatus.INVALID_ARGUMENT, /is not a tag key/],
    ['a tag in Tunehive\'s namespace (the MLflow lifecycle stage: a program hiding its run)', { tags: { attempt: 1, tags: { 'tunehive.lifecycle_stage': 'deleted' } } }, grpcStatus.INVALID_ARGUMENT, /tags\.tunehive\.lifecycle_stage: is reserved/],
    ['a tag value past RUN_LIMITS', { tags: { attempt: 1, tags: { k: 'v'.repeat(5001) } } }, grpcStatus.INVALID_ARGUMENT, /at most 5000 characters/],
  ];
  for (const [what, msg, code, reason] of refusals) {
    it(`${what} ends the stream non-retriably and fails the trial with the reason`, async () => {
      const { id, s } = await start();
      s.send(msg);
      expect((await s.error()).code).toBe(code);
      expect((await failed(id)).reason).toMatch(reason);
      expect(await stack.coordinator.runs.provenanceOf(`${id}.0`)).toEqual([]);
    });
  }

  it('refuses a 17th provenance report of one attempt (the worker sends at most 16)', async () => {
    const { id, s } = await start();
    for (let i = 0; i < 17; i++) s.send({ provenance: { attempt: 1, provenanceJson: JSON.stringify(record({ seed: i })) } });
    expect((await s.error()).code).toBe(grpcStatus.RESOURCE_EXHAUSTED);
    expect((await failed(id)).reason).toContain('more than 16 provenance reports in one attempt');
    expect((await stack.coordinator.runs.provenanceOf(`${id}.0`))[0]!.seed).toBe(15);
  });
});
