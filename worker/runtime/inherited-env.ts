/**
 * What a trial program inherits from the agent's own environment: an allow-list, never "the
 * agent's environment minus what looks secret". The agent's environment holds its credentials
 * (REDIS_URL, TUNEHIVE_JOIN_TOKEN, TUNEHIVE_TOKEN, TUNEHIVE_ADMIN_TOKEN, whatever *_PASSWORD a
 * deployment sets); a deny-list misses the next one, an allow-list cannot. Operators add names
 * with `--pass-env PATTERN`. The trial's own variables come from its spec (policy-checked).
 */
import { firstMatch } from '../policy/glob.js';

/** Locale, paths, terminal and the GPU stack's variables; nothing that carries a credential. */
export const INHERITED_ENV: readonly string[] = [
  'PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'LC_*', 'TZ', 'TMPDIR', 'TERM', 'HOSTNAME', 'NODE_NAME',
  'LD_LIBRARY_PATH', 'CUDA_HOME', 'CUDA_PATH', 'CUDA_*', 'NVIDIA_*', 'NCCL_*', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS',
];

export function inheritedEnvironment(from: NodeJS.ProcessEnv, passEnv: readonly string[] = []): Record<string, string> {
  const allowed = [...INHERITED_ENV, ...passEnv];
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(from)) {
    if (v !== undefined && firstMatch(allowed, k) !== undefined) out[k] = v;
  }
  return out;
}
