/**
 * MLflow's wire conventions, for every MLflow route Tunehive serves (tracking, artifacts proxy,
 * model registry). Facts from MLflow's REST API reference
 * (https://mlflow.org/docs/latest/rest-api.html), `mlflow/protos/service.proto`,
 * `mlflow/utils/rest_utils.py` and `mlflow/exceptions.py` (see
 * /work/shared/reference/mlflow-protocol.md):
 *
 * * every route exists under `/api/2.0/<area>/` and, for MLflow's UI, `/ajax-api/2.0/<area>/`;
 * * GET fields are query parameters (ajv coerces them), everything else a JSON body;
 * * int64 fields are JSON numbers (older clients wrote them as strings: both are read);
 * * enums travel as their names (`"FINISHED"`, `"ACTIVE_ONLY"`);
 * * errors are `{error_code, message}` with the HTTP status MLflow gives the code. The client
 *   branches on `error_code` (`get-by-name` -> RESOURCE_DOES_NOT_EXIST makes set_experiment
 *   create the experiment), so the codes must be MLflow's, never Tunehive's.
 *
 * The error mapper below is the one place MLflow errors are produced: it is the error handler
 * of the MLflow scopes (Fastify encapsulation), so the API's own `{error: {...}}` shape stays
 * as it is everywhere else, and the auth hooks' 401/403/404 reach MLflow clients as MLflow codes.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { TunehiveError, type ErrorCode } from '../../shared/errors.js';
import { CHALLENGE } from '../auth/http-auth.js';

/** MLflow's error codes and the HTTP status its server answers each with (`mlflow/exceptions.py`, ERROR_CODE_TO_HTTP_STATUS). */
export const MLFLOW_ERROR_STATUS = {
  INTERNAL_ERROR: 500,
  INVALID_STATE: 500,
  NOT_IMPLEMENTED: 501,
  TEMPORARILY_UNAVAILABLE: 503,
  REQUEST_LIMIT_EXCEEDED: 429,
  ENDPOINT_NOT_FOUND: 404,
  RESOURCE_DOES_NOT_EXIST: 404,
  PERMISSION_DENIED: 403,
  UNAUTHENTICATED: 401,
  BAD_REQUEST: 400,
  RESOURCE_ALREADY_EXISTS: 400,
  INVALID_PARAMETER_VALUE: 400,
  RESOURCE_LIMIT_EXCEEDED: 400,
} as const;
export type MlflowErrorCode = keyof typeof MLFLOW_ERROR_STATUS;

/** An error an MLflow handler raises directly (most come from the stores as TunehiveErrors and are mapped). */
export class MlflowError extends Error {
  constructor(readonly code: MlflowErrorCode, message: string) {
    super(message);
    this.name = 'MlflowError';
  }
  get status(): number {
    return MLFLOW_ERROR_STATUS[this.code];
  }
}

export const invalidParam = (field: string, reason: string) => new MlflowError('INVALID_PARAMETER_VALUE', `Invalid value for parameter '${field}': ${reason}`);
export const missingParam = (field: string) => new MlflowError('INVALID_PARAMETER_VALUE', `Missing value for required parameter '${field}'.`);
export const doesNotExist = (message: string) => new MlflowError('RESOURCE_DOES_NOT_EXIST', message);

/** Tunehive's codes as MLflow's. Anything not listed: by its HTTP status (mlflowCodeOfStatus). */
const CODE_OF: Partial<Record<ErrorCode, MlflowErrorCode>> = {
  TH_ERR_AUTH_MISSING: 'UNAUTHENTICATED',
  TH_ERR_AUTH_INVALID: 'UNAUTHENTICATED',
  TH_ERR_AUTH_FORBIDDEN: 'PERMISSION_DENIED',
  TH_ERR_AUTH_RATE_LIMITED: 'REQUEST_LIMIT_EXCEEDED',
  TH_ERR_EXPERIMENT_EXISTS: 'RESOURCE_ALREADY_EXISTS',
  TH_ERR_PROJECT_EXISTS: 'RESOURCE_ALREADY_EXISTS',
  TH_ERR_MODEL_EXISTS: 'RESOURCE_ALREADY_EXISTS',
  TH_ERR_MODEL_LIMIT: 'RESOURCE_LIMIT_EXCEEDED',
  // MLflow answers a changed param with INVALID_PARAMETER_VALUE ("Changing param values is not allowed").
  TH_ERR_RUN_PARAM_CHANGED: 'INVALID_PARAMETER_VALUE',
  // MLflow itself logs to ended runs; Tunehive's direct runs refuse it: a 400 the client shows, not a 500.
  TH_ERR_RUN_ENDED: 'INVALID_PARAMETER_VALUE',
  TH_ERR_ARTIFACT_QUOTA: 'RESOURCE_LIMIT_EXCEEDED',
  TH_ERR_WIRE_TOO_LARGE: 'RESOURCE_LIMIT_EXCEEDED',
  TH_ERR_SEARCH_TIMEOUT: 'TEMPORARILY_UNAVAILABLE',
};

export function mlflowCodeOfStatus(status: number): MlflowErrorCode {
  if (status === 401) return 'UNAUTHENTICATED';
  if (status === 403) return 'PERMISSION_DENIED';
  if (status === 404) return 'RESOURCE_DOES_NOT_EXIST';
  if (status === 429) return 'REQUEST_LIMIT_EXCEEDED';
  if (status === 503) return 'TEMPORARILY_UNAVAILABLE';
  if (status >= 500) return 'INTERNAL_ERROR';
  return 'INVALID_PARAMETER_VALUE';
}

/** The MLflow answer for any error a handler or hook threw. */
export function toMlflowError(err: unknown): { status: number; body: { error_code: MlflowErrorCode; message: string }; internal: boolean } {
  if (err instanceof MlflowError) return { status: err.status, body: { error_code: err.code, message: err.message }, internal: err.status >= 500 };
  if (err instanceof TunehiveError) {
    const code = CODE_OF[err.code] ?? mlflowCodeOfStatus(err.status);
    if (MLFLOW_ERROR_STATUS[code] >= 500) return internalError();
    // The field list is folded into the message: MLflow's error body has no room for it.
    const detail = err.fields.filter((f) => !err.message.includes(f.reason)).map((f) => `${f.field}: ${f.reason}`).join('; ');
    return { status: MLFLOW_ERROR_STATUS[code], body: { error_code: code, message: detail ? `${err.message} (${detail})` : err.message }, internal: false };
  }
  const fe = err as Partial<FastifyError> & { validation?: Array<{ instancePath: string; message?: string; params?: Record<string, unknown> }>; validationContext?: string };
  if (fe.validation) {
    const first = fe.validation[0];
    const missing = first?.params?.missingProperty as string | undefined;
    const path = [first?.instancePath.split('/').filter(Boolean).join('.'), missing].filter(Boolean).join('.');
    const e = missing !== undefined ? missingParam(path) : invalidParam(path || fe.validationContext || '(body)', first?.message ?? 'is invalid');
    return { status: e.status, body: { error_code: e.code, message: e.message }, internal: false };
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 500) return internalError();
  // Fastify's own refusals: a body over the limit, a bad content type, unparsable JSON.
  // A body over the limit: MLflow's own answer to a log-batch over 1 MB is INVALID_PARAMETER_VALUE.
  const code = mlflowCodeOfStatus(status);
  return { status: MLFLOW_ERROR_STATUS[code], body: { error_code: code, message: String(fe.message ?? 'bad request').slice(0, 1000) }, internal: false };
}

function internalError() {
  return { status: 500, body: { error_code: 'INTERNAL_ERROR' as const, message: 'internal error; see the coordinator log' }, internal: true };
}

function mlflowErrorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const out = toMlflowError(err);
  if (out.internal) req.log.error({ err }, 'MLflow request failed');
  if (out.status === 401) void reply.header('www-authenticate', CHALLENGE);
  return reply.status(out.status).send(out.body);
}

/** Where MLflow routes live: MLflow's clients use the first, its UI the second. */
export const MLFLOW_PREFIXES = ['/api/2.0', '/ajax-api/2.0'] as const;
export type MlflowArea = 'mlflow' | 'mlflow-artifacts';

/**
 * Registers one set of MLflow routes under both prefixes, each scope with the MLflow error
 * mapper and an MLflow 404 (ENDPOINT_NOT_FOUND) for unknown paths. `routes` is called once per
 * prefix with the scope to register on (paths relative to `/api/2.0/<area>`).
 */
export async function registerMlflowRoutes(app: FastifyInstance, area: MlflowArea, routes: (scope: FastifyInstance) => Promise<void> | void): Promise<void> {
  for (const prefix of MLFLOW_PREFIXES) {
    await app.register(async (scope) => {
      scope.setErrorHandler(mlflowErrorHandler);
      scope.setNotFoundHandler((req, reply) => reply.status(404).send({ error_code: 'ENDPOINT_NOT_FOUND', message: `no MLflow endpoint ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}` }));
      await routes(scope);
    }, { prefix: `${prefix}/${area}` });
  }
}

// ---- schemas of MLflow's common fields ----

/**
 * int64 fields: JSON numbers (MLflow's client marks them so), or the decimal strings protobuf's
 * own JSON writer and older clients send. Read them with `int64()`.
 */
export const Int64 = Type.Union([Type.Integer(), Type.String({ pattern: '^-?[0-9]{1,19}$' })], { description: 'an int64: a JSON number (or its decimal string)' });
export function int64(v: number | string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isSafeInteger(n)) throw invalidParam('(int64)', `${JSON.stringify(v)} is outside the safe integer range`);
  return n;
}

/** doubles: a JSON number, or what protobuf JSON writes for the special values. */
export const Double = Type.Union([Type.Number(), Type.Literal('NaN'), Type.Literal('Infinity'), Type.Literal('-Infinity')]);
export function double(v: number | string): number {
  return typeof v === 'number' ? v : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : -Infinity;
}

export const KeyValue = Type.Object({ key: Type.String(), value: Type.Optional(Type.String()) });

export const VIEW_TYPES = ['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL'] as const;
export type ViewType = (typeof VIEW_TYPES)[number];
export const ViewTypeSchema = Type.Enum([...VIEW_TYPES], { description: 'ACTIVE_ONLY (default), DELETED_ONLY or ALL' });

/** MLflow's error body, for every route's 4xx/5xx response schemas. */
export const MlflowErrorBody = Type.Object({ error_code: Type.String(), message: Type.String() });
export const ERROR_RESPONSES = { 400: MlflowErrorBody, 401: MlflowErrorBody, 403: MlflowErrorBody, 404: MlflowErrorBody, 500: MlflowErrorBody } as const;
/** `{}`: most write RPCs' Response messages are empty. */
export const Empty = Type.Object({});

/**
 * A request body schema: MLflow clients send fields a given server may not know (newer
 * clients' additions, the deprecated `run_uuid` beside `run_id`); MLflow's server parses with
 * protobuf's ignore_unknown_fields, so unknown fields are accepted and ignored here too.
 */
export function body<T extends Record<string, TSchema>>(props: T, required: ReadonlyArray<keyof T & string> = []) {
  const shaped = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, required.includes(k) ? v : Type.Optional(v)]));
  return Type.Object(shaped as { [K in keyof T]: T[K] }, { additionalProperties: true });
}

// ---- page tokens ----

/** Opaque to clients (MLflow's own is base64 JSON of an offset); an empty or absent token means the first page. */
export function encodePageToken(state: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

export function decodePageToken<T extends Record<string, unknown>>(token: string | undefined, check: (v: Record<string, unknown>) => v is T): T | undefined {
  if (token === undefined || token === '') return undefined;
  let v: unknown;
  try {
    v = token.length <= 4096 ? JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) : undefined;
  } catch {
    v = undefined;
  }
  if (typeof v !== 'object' || v === null || !check(v as Record<string, unknown>)) throw invalidParam('page_token', 'is not a page token this server gave out');
  return v as T;
}
