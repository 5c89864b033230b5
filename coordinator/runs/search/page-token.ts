/**
 * Search page tokens: the last run's order values and id, bound to the query they were made for
 * (a fingerprint of filter, order and experiments). Opaque to clients (base64url JSON) and
 * validated on the way back in, so an edited, truncated or foreign token is a 400 naming
 * query.pageToken, never a crash. A token grants nothing: the caller's projects are checked
 * again on every page.
 */
import { createHash } from 'node:crypto';
import { TunehiveError } from '../../../shared/errors.js';
import type { Filter, OrderKey } from '../../../shared/run-filter/ast.js';
import { parseRunId } from '../../../shared/run-model.js';

export interface PageCursor { v: Array<string | null>; id: string }

const MAX_TOKEN = 24 * 1024;

/** The parts of a query a token is valid for (positions in the filter text do not count). */
export function queryFingerprint(filter: Filter | undefined, order: readonly OrderKey[], experimentIds: readonly string[] | undefined): string {
  const strip = (f: Filter | undefined): unknown => (f === undefined ? null : f.type === 'clause' ? { k: f.clause.key, o: f.clause.op, v: f.clause.value ?? null } : { t: f.type, i: f.items.map(strip) });
  const text = JSON.stringify({ f: strip(filter), o: order.map((k) => [k.key.kind, k.key.name, k.direction]), e: experimentIds ? [...new Set(experimentIds)].sort() : null });
  return createHash('sha256').update(text).digest('base64url').slice(0, 16);
}

export function encodePageToken(c: PageCursor, fingerprint: string): string {
  return Buffer.from(JSON.stringify({ q: fingerprint, v: c.v, id: c.id })).toString('base64url');
}

export function decodePageToken(token: string, fingerprint: string, orderLength: number): PageCursor {
  const bad = (reason: string) => new TunehiveError('TH_ERR_REQUEST_INVALID', `query.pageToken: ${reason}`, [{ field: 'query.pageToken', reason }]);
  if (token.length > MAX_TOKEN || !/^[A-Za-z0-9_-]+$/.test(token)) throw bad('is not a page token from this search');
  let o: unknown;
  try {
    o = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw bad('is not a page token from this search');
  }
  if (typeof o !== 'object' || o === null) throw bad('is not a page token from this search');
  const t = o as { q?: unknown; v?: unknown; id?: unknown };
  if (typeof t.id !== 'string' || !parseRunId(t.id) || !Array.isArray(t.v) || t.v.length !== orderLength
    || !t.v.every((x) => x === null || (typeof x === 'string' && x.length <= 6000))) throw bad('is not a page token from this search');
  if (t.q !== fingerprint) throw bad('belongs to another search (filter, order or experiments changed): start again without it');
  return { v: t.v as Array<string | null>, id: t.id };
}
