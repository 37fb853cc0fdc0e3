/** Paging shared by every `find…s(filter)` method. */

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

export interface Page {
  offset?: number;
  limit?: number;
}

/** A page of results: the items and the total count matching the filter, ignoring paging. */
export interface PageResult<T> {
  items: T[];
  total: number;
}

/** Clamps paging as the original did: limit ≤ 0 → 20, > 100 → 100, negative offset → 0. */
export function normalizePage(page: Page): { offset: number; limit: number } {
  let limit = page.limit ?? DEFAULT_LIMIT;
  if (!Number.isFinite(limit) || limit <= 0) limit = DEFAULT_LIMIT;
  if (limit > MAX_LIMIT) limit = MAX_LIMIT;
  let offset = page.offset ?? 0;
  if (!Number.isFinite(offset) || offset < 0) offset = 0;
  return { offset: Math.floor(offset), limit: Math.floor(limit) };
}
