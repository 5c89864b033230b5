/**
 * The first admin and the "default" project. With TUNEHIVE_ADMIN_TOKEN the operator's secret
 * is the admin token (idempotent on every replica). Without it, the first start mints one and
 * shows it once on stderr; SET NX on one key decides which replica does, so N replicas
 * started together mint exactly one. A later start prints nothing: a lost admin token is
 * replaced by starting once with TUNEHIVE_ADMIN_TOKEN.
 */
import type { RedisClient } from '../../shared/redis.js';
import { keys } from '../../shared/redis-keys.js';
import { DEFAULT_PROJECT } from '../../shared/study-spec.js';
import type { CredentialStore, NewCredential } from '../store/credential-store.js';
import type { ProjectStore } from '../store/project-store.js';

/** The owner name of the bootstrap admin (and the owner of the "default" project). */
export const ADMIN_OWNER = 'admin';

const ADMIN: NewCredential = { kind: 'api', owner: ADMIN_OWNER, project: '*', role: 'admin', scopes: ['metrics'] };

export async function bootstrapAuth(o: {
  redis: RedisClient; prefix: string; creds: CredentialStore; projects: ProjectStore; adminToken?: string;
  /** Where a minted token is shown (once). */
  announce: (message: string) => void;
}): Promise<{ minted: boolean; credentialId?: string }> {
  const guard = keys.adminBootstrap(o.prefix);
  await o.projects.ensure(DEFAULT_PROJECT, ADMIN_OWNER, 'the default project');
  if (o.adminToken !== undefined) {
    const rec = await o.creds.ensureOperatorSecret(o.adminToken, { ...ADMIN, description: 'TUNEHIVE_ADMIN_TOKEN (operator secret)' });
    await o.redis.set(guard, rec.id, 'NX');
    return { minted: false, credentialId: rec.id };
  }
  if (await o.redis.exists(guard)) return { minted: false };
  const { token, record } = await o.creds.create({ ...ADMIN, description: 'bootstrap admin token (first start)' });
  if ((await o.redis.set(guard, record.id, 'NX')) !== 'OK') {
    // Another replica won the race: its token is the one that was shown.
    await o.creds.remove(record.id);
    return { minted: false };
  }
  o.announce([
    '',
    '================ Tunehive admin token (shown once) ================',
    token,
    'Keep it secret: it can do everything. Use it with',
    '  tunehive login            (asks for it), or TUNEHIVE_TOKEN=<token>',
    'Lost it? Restart the coordinator once with TUNEHIVE_ADMIN_TOKEN=<a secret of your own>.',
    '===================================================================',
    '',
  ].join('\n'));
  return { minted: true, credentialId: record.id };
}
