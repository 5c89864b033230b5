import { TunehiveError } from '../../shared/errors.js';
import type { PageQuery } from './schemas.js';

/** The `offset` and `limit` of a page (defaults 0 and 100, limit at most 1000; 0 reads as 1); the schema has checked they are digits. */
export function page(query: PageQuery): { offset: number; limit: number } {
  const read = (name: 'offset' | 'limit', def: number, min: number, max: number) => {
    const raw = query[name];
    if (raw === undefined) return def;
    const v = Number(raw);
    if (!Number.isSafeInteger(v) || v < min || v > max) {
      throw new TunehiveError('TH_ERR_REQUEST_INVALID', `query ${name} must be an integer from ${min} to ${max}`, [{ field: `query.${name}`, reason: `must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})` }]);
    }
    return v;
  };
  return { offset: read('offset', 0, 0, Number.MAX_SAFE_INTEGER), limit: Math.max(1, read('limit', 100, 0, 1000)) };
}
