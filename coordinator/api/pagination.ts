import type { PageQuery } from './schemas.js';

/** The `offset` and `limit` of a page (the schema has checked their ranges): defaults 0 and 100, a limit of 0 reads as 1. */
export function page(query: PageQuery): { offset: number; limit: number } {
  return { offset: query.offset ?? 0, limit: Math.max(1, query.limit ?? 100) };
}
