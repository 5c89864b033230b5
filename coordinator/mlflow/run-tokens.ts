/**
 * Run tokens: the MLFLOW_TRACKING_TOKEN a trial program gets. One per attempt, minted when the
 * attempt is granted, limited to the trial's run (http-auth.ts: only routes marked `runToken`,
 * only that run and its experiment), with its project's `editor` role and no membership behind
 * it. It stops working when the attempt ends: revoked at the attempt's end on the replica that
 * saw it, and refused by the MLflow routes as soon as its attempt is no longer the trial's
 * current one or the trial has ended (checkRunToken), whichever replica serves the request. Its
 * expiry bounds the rest: the trial's timeout plus a margin, or a day without one.
 */
import type { CredentialStore } from '../store/credential-store.js';
import type { StudyStore } from '../store/study-store-contract.js';
import type { Principal } from '../auth/principal.js';
import { parseRunId } from '../../shared/run-model.js';
import { MlflowError } from './wire.js';

const MARGIN_MS = 5 * 60_000;
const NO_TIMEOUT_TTL_MS = 24 * 3_600_000;

export interface MintedRunToken { token: string; id: string }

export class RunTokens {
  /** `forget`: drops the credential from this replica's verifier cache, so a revocation applies at once here. */
  constructor(private readonly creds: CredentialStore, readonly trackingUri: string, private readonly forget: (id: string) => void = () => undefined) {}

  async mint(a: { studyId: string; number: number; attempt: number; project: string; timeoutSeconds: number }, now = Date.now()): Promise<MintedRunToken> {
    const runId = `${a.studyId}.${a.number}`;
    const { token, record } = await this.creds.create({
      kind: 'run', owner: `trial:${runId}`, project: a.project, role: 'editor', runId, attempt: a.attempt,
      description: `MLflow token of trial ${runId} attempt ${a.attempt}`,
      ttlMs: a.timeoutSeconds > 0 ? a.timeoutSeconds * 1000 + MARGIN_MS : NO_TIMEOUT_TTL_MS,
    }, now);
    return { token, id: record.id };
  }

  async revoke(id: string): Promise<boolean> {
    const revoked = await this.creds.revoke(id);
    this.forget(id);
    return revoked;
  }
}

/**
 * A run token acts only while its attempt is the trial's current, unfinished one: a lost
 * worker's program (superseded attempt) or one outliving its trial logs nothing more.
 */
export async function checkRunToken(who: Principal, store: StudyStore): Promise<void> {
  if (who.runId === undefined) return;
  const ref = parseRunId(who.runId);
  const trial = ref?.kind === 'trial' ? await store.getTrial(ref.experimentId, ref.trialNumber) : undefined;
  if (!trial || trial.attempt !== who.attempt || (trial.state !== 'RUNNING' && trial.state !== 'PAUSED')) {
    throw new MlflowError('PERMISSION_DENIED', `this run token was minted for attempt ${who.attempt} of ${who.runId}, which has ended`);
  }
}
