/**
 * Request validation with Fastify's own ajv compiler (@fastify/ajv-compiler, resolved from
 * Fastify itself), in two configurations: query strings, path parameters and headers are text
 * on the wire and are coerced to their declared types (`?limit=50` is an integer), bodies are
 * JSON and are not (coercion turned a told `{"value": null}` into 0). Neither removes fields a
 * schema does not know: those are errors, never silently dropped.
 */
import { createRequire } from 'node:module';
import type { FastifyServerOptions } from 'fastify';

type BuildValidator = NonNullable<NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']>;

const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
const AjvCompiler = fromFastify('@fastify/ajv-compiler') as () => BuildValidator;

const COMMON = {
  removeAdditional: false,
  // Errors carry their schema, so a reason can be the schema's own description.
  verbose: true,
} as const;

type Options = Parameters<BuildValidator>[1];
const withAjv = (options: Options, extra: Record<string, unknown>): Options =>
  ({ ...options, customOptions: { ...(options?.customOptions as Record<string, unknown> | undefined), ...COMMON, ...extra } }) as Options;

export const buildValidator: BuildValidator = (externalSchemas, options) => {
  const factory = AjvCompiler();
  const text = factory(externalSchemas, withAjv(options, { coerceTypes: 'array' }));
  const json = factory(externalSchemas, withAjv(options, { coerceTypes: false }));
  return (route) => (route.httpPart === 'body' ? json(route) : text(route));
};
