/**
 * Error codes (TH_ERR_<AREA>_<WHAT>) with their HTTP status. They are mapped to responses in
 * one place per transport: the Fastify error handler and the gRPC handler wrapper.
 */
export interface FieldError { field: string; reason: string }

export const ERROR_STATUS = {
  TH_ERR_SPEC_INVALID: 400,
  TH_ERR_REQUEST_INVALID: 400,
  TH_ERR_STUDY_NOT_FOUND: 404,
  TH_ERR_TRIAL_NOT_FOUND: 404,
  TH_ERR_METRIC_NOT_FOUND: 404,
  TH_ERR_STUDY_NOT_RUNNING: 409,
  TH_ERR_STUDY_RUNNING: 409,
  TH_ERR_TRIAL_NOT_PENDING: 409,
  TH_ERR_STUDY_MODE: 409,
  TH_ERR_SEARCH_EXHAUSTED: 409,
  /** A worker call without a live worker credential (gRPC UNAUTHENTICATED), or a bad join token. */
  TH_ERR_WORKER_UNAUTHENTICATED: 401,
  /** A worker acting on what is not its own: another worker's attempt, a job it does not hold, a project it was not joined for. */
  TH_ERR_WORKER_FORBIDDEN: 403,
  TH_ERR_WORKER_NOT_FOUND: 404,
  /** A worker message that breaks the wire limits (shared/wire-limits.ts). */
  TH_ERR_WIRE_INVALID: 400,
  TH_ERR_WIRE_TOO_LARGE: 413,
  /** No token, or one that is unknown, expired or revoked (401 with WWW-Authenticate). */
  TH_ERR_AUTH_MISSING: 401,
  TH_ERR_AUTH_INVALID: 401,
  /** A valid token without the role or scope the request needs (the message names it). */
  TH_ERR_AUTH_FORBIDDEN: 403,
  /** Too many failed authentications from one address. */
  TH_ERR_AUTH_RATE_LIMITED: 429,
  /** A write authenticated by the session cookie without the session's x-tunehive-csrf header. */
  TH_ERR_AUTH_CSRF: 403,
  /** Too many open event streams (per principal or per replica). */
  TH_ERR_EVENTS_LIMIT: 429,
  TH_ERR_PROJECT_NOT_FOUND: 404,
  TH_ERR_PROJECT_EXISTS: 409,
  /** Removing or demoting a project's last owner would leave nobody to manage it. */
  TH_ERR_PROJECT_LAST_OWNER: 409,
  TH_ERR_PROJECT_NOT_EMPTY: 409,
  TH_ERR_TOKEN_NOT_FOUND: 404,
  /** Redis answered a store call with a refusal that retrying cannot heal (a script error). */
  TH_ERR_STORE_REFUSED: 500,
  /** A suggestion ran past its deadline (the sampler was abandoned); the ask may be retried. */
  TH_ERR_SEARCH_TIMEOUT: 503,
  /** Start-up refusals (never sent over HTTP): a clear-text bind beyond loopback, unusable TLS files. */
  TH_ERR_CONFIG_INSECURE: 500,
  TH_ERR_CONFIG_TLS: 500,
  /** Runs, experiments and artifacts (issue 11). */
  TH_ERR_EXPERIMENT_NOT_FOUND: 404,
  TH_ERR_EXPERIMENT_EXISTS: 409,
  TH_ERR_RUN_NOT_FOUND: 404,
  /** A param is written once: logging another value for it is refused (the message names both values). */
  TH_ERR_RUN_PARAM_CHANGED: 409,
  /** A run that has ended takes no more metrics or params. */
  TH_ERR_RUN_ENDED: 409,
  /** A filter or order-by that does not parse: the message and the field give the position and what was expected. */
  TH_ERR_FILTER_INVALID: 400,
  TH_ERR_ARTIFACT_NOT_FOUND: 404,
  /** An artifact path that escapes the run's space, or is not a plain relative path. */
  TH_ERR_ARTIFACT_PATH: 400,
  /** A run's or a project's artifact quota would be exceeded. */
  TH_ERR_ARTIFACT_QUOTA: 413,
  /** Bytes that do not match the size or SHA-256 they were declared with. */
  TH_ERR_ARTIFACT_CHECKSUM: 400,
  /** A run that cannot be re-run from its record (a direct run, an ask/tell trial, one that never started: issue 14). */
  TH_ERR_RERUN_UNSUPPORTED: 409,
  /** Model registry (issue 12). */
  TH_ERR_MODEL_NOT_FOUND: 404,
  TH_ERR_MODEL_EXISTS: 409,
  TH_ERR_MODEL_VERSION_NOT_FOUND: 404,
  TH_ERR_MODEL_ALIAS_NOT_FOUND: 404,
  /** A `models:/` URI that does not parse, or a model version source that is no run artifact path. */
  TH_ERR_MODEL_URI_INVALID: 400,
  /** A model past REGISTRY_LIMITS (versions, aliases, tags). */
  TH_ERR_MODEL_LIMIT: 409,
  /** A version still registering (or whose registration failed) moved to Staging or Production, or given an alias. */
  TH_ERR_MODEL_VERSION_NOT_READY: 409,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

export class TunehiveError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fields: FieldError[] = [],
  ) {
    super(message);
    this.name = 'TunehiveError';
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export function invalidSpec(fields: FieldError[]): TunehiveError {
  const summary = fields.map((f) => `${f.field}: ${f.reason}`).join('; ');
  return new TunehiveError('TH_ERR_SPEC_INVALID', `invalid study spec: ${summary}`, fields);
}
