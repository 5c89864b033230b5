import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * Fields that hold a secret wherever they appear (one level of nesting: pino's redaction paths
 * have no deep wildcard). Values are replaced, the keys stay so a reader sees what was there.
 */
const SECRET_FIELDS = ['token', 'password', 'secret', 'authorization', 'cookie', 'env', 'redisUrl', 'joinToken', 'adminToken', 'workerToken', 'attemptSecret', 'credential', 'mlflowTrackingToken'];
/**
 * Whether a variable or field name names a secret: the one definition the log redaction and
 * the recorded environment of a run (worker/provenance) share. Matched case-insensitively as
 * a part of the name (`WANDB_API_KEY`, `AWS_SECRET_ACCESS_KEY`, `DB_PASSWORD`, `HF_TOKEN`).
 */
const SECRET_NAME = /token|passw(or)?d|secret|authorization|cookie|credential|api_?key|access_?key|private_?key|redis_?url|join_?token|session_?key/i;
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name) || SECRET_FIELDS.some((f) => f !== 'env' && name.toLowerCase() === f.toLowerCase());
}

export const REDACT_PATHS = [
  ...SECRET_FIELDS, ...SECRET_FIELDS.map((f) => `*.${f}`),
  'headers.authorization', 'headers.cookie', 'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-tunehive-token"]',
  'metadata.authorization', '*.metadata.authorization',
];

const CENSOR = '[redacted]';
// A URL's password (redis://user:PASSWORD@host), a Tunehive token's secret part
// (thk_<id>_SECRET: the id stays, it is public), and a bearer/basic credential in a string.
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]+@/gi;
// thr_ is a trial's MLflow run token (coordinator/mlflow/run-tokens.ts): its program may print it.
const TOKEN_SECRET = /\b(th[kjwr]_[0-9a-f]{16}_)[A-Za-z0-9_-]+/g;
const AUTH_VALUE = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g;

/** A string with any credential it quotes replaced (error messages can quote URLs and headers). */
export function scrubSecrets(s: string): string {
  if (!s.includes('://') && !s.includes('th') && !/Bearer|Basic/.test(s)) return s;
  return s.replace(URL_PASSWORD, `$1${CENSOR}@`).replace(TOKEN_SECRET, `$1${CENSOR}`).replace(AUTH_VALUE, `$1 ${CENSOR}`);
}

function scrubValue(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return scrubSecrets(v);
  if (depth <= 0 || v === null || typeof v !== 'object') return v;
  if (v instanceof Error) return { type: v.name, message: scrubSecrets(v.message), ...(v.stack ? { stack: scrubSecrets(v.stack) } : {}) };
  if (Array.isArray(v)) return v.map((x) => scrubValue(x, depth - 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = scrubValue(x, depth - 1);
  return out;
}

/**
 * One pino logger per process, written to stderr so that stdout stays free for command output.
 * Children carry studyId / trialId / workerId. Secrets never reach the log: fields named like
 * one are redacted by path, and any string (the message included) has quoted URL passwords,
 * token secrets and Authorization values replaced.
 */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  return pino(
    {
      name, level,
      redact: { paths: REDACT_PATHS, censor: CENSOR },
      formatters: { log: (obj) => scrubValue(obj, 4) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrubSecrets(a) : a)) as Parameters<typeof method>;
          return method.apply(this, scrubbed);
        },
      },
    },
    destination ?? pino.destination({ fd: 2, sync: false }),
  );
}

export type { Logger };
