/**
 * The environment a run records: what the program got, minus every variable whose name names
 * a secret (shared/logger.ts isSecretName, the definition the logs use), with any credential a
 * value quotes (a URL's password, a token's secret part) scrubbed. Dropped, not masked: a
 * rerun cannot use a masked value, and the spec (the record a rerun copies) keeps the real one.
 */
import { isSecretName, scrubSecrets } from '../../shared/logger.js';

const MAX_VARS = 1000;
const MAX_VALUE = 8192;

export function recordedEnvironment(env: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(env).sort().slice(0, MAX_VARS)) {
    if (name.length > 200 || isSecretName(name)) continue;
    out[name] = scrubSecrets(env[name]!).slice(0, MAX_VALUE);
  }
  return out;
}
