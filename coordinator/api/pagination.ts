import { TunehiveError } from '../../shared/errors.js';

/** Reads `offset` and `limit` query parameters (defaults 0 and 100, limit at most 1000). */
export function page(query: Record<string, string | undefined>): { offset: number; limit: number } {
  const read = (name: 'offset' | 'limit', def: number, max: number) => {
    const raw = query[name];
    if (raw === undefined) return def;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < 0 || v > max) {
      throw new TunehiveError('TH_ERR_REQUEST_INVALID', `query ${name} must be an integer from 0 to ${max}`, [{ field: `query.${name}`, reason: `must be an integer from 0 to ${max} (got ${JSON.stringify(raw)})` }]);
    }
    return v;
  };
  return { offset: read('offset', 0, Number.MAX_SAFE_INTEGER), limit: Math.max(1, read('limit', 100, 1000)) };
}
