import { ErrorCode, SpansiftError } from './error-codes.ts'

/**
 * Cursors of the API's lists. Each is plain text with a pattern (published in
 * /openapi.json) such that every string matching it is a position the list can resume
 * from: a client may only pass back what it got, but a fuzzer generating any string of
 * the pattern gets a page (maybe empty), never a refusal the document did not announce.
 */

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'

/** Where a page of a list ordered by (created_at, id) ended: the last entry's sort key. */
export interface ListCursor {
  /** The last entry's created_at, milliseconds since the epoch (ClickHouse DateTime64(3)). */
  createdAtMs: number
  id: string
}

/** The default and largest page of a list. */
export const DEFAULT_LIST_LIMIT = 100
export const MAX_LIST_LIMIT = 1000

/** `<created_at ms>_<id>`: 13 digits reach past 2286, DateTime64's range ends in 2299. */
export const LIST_CURSOR_PATTERN = `^[0-9]{1,13}_${UUID}$`

/** An entry's created_at as the list shows it (RFC 3339, or ClickHouse's `YYYY-MM-DD hh:mm:ss.fff` in UTC). */
function toMs(createdAt: string): number {
  const iso = createdAt.includes('T') ? createdAt : `${createdAt.replace(' ', 'T')}Z`
  const ms = Date.parse(iso)
  if (Number.isNaN(ms)) throw new Error(`not a timestamp: ${createdAt}`)
  return ms
}

/** The cursor after an entry. */
export function encodeListCursor(entry: { createdAt: string; id: string }): string {
  return `${toMs(entry.createdAt)}_${entry.id}`
}

/** Reads a cursor back; text that does not match the pattern is a 400. */
export function decodeListCursor(text: string): ListCursor {
  if (!new RegExp(LIST_CURSOR_PATTERN).test(text)) {
    throw new SpansiftError(ErrorCode.invalidArgument, 'cursor is not a cursor this API returned')
  }
  const [ms, id] = text.split('_') as [string, string]
  return { createdAtMs: Number(ms), id }
}

/**
 * A page from `limit + 1` entries read after the cursor: the first `limit`, and the
 * cursor of the next page when there was one more.
 */
export function toPage<T extends { createdAt: string; id: string }>(
  entries: readonly T[],
  limit: number,
): { entries: T[]; nextCursor: string | null } {
  const page = entries.slice(0, limit)
  const last = page.at(-1)
  return { entries: page, nextCursor: entries.length > limit && last ? encodeListCursor(last) : null }
}
