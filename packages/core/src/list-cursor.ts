import { ErrorCode, SpansiftError } from './error-codes.ts'

/**
 * Where a page of a list ordered by (created_at, id) ended: the last entry's sort key.
 * Applications and datasets page this way; rows of a dataset have their own cursor
 * (datasets/cursor.ts), which also pins the version.
 */
export interface ListCursor {
  /** The last entry's created_at, as the list showed it (RFC 3339 or ClickHouse's form). */
  createdAt: string
  id: string
}

/** The default and largest page of a list. */
export const DEFAULT_LIST_LIMIT = 100
export const MAX_LIST_LIMIT = 1000

/** An opaque, URL-safe cursor for the next page. */
export function encodeListCursor(cursor: ListCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id])).toString('base64url')
}

/** Reads a cursor back; anything that is not one of ours is a 400. */
export function decodeListCursor(text: string): ListCursor {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      typeof parsed[0] === 'string' &&
      /^\d{4}-\d{2}-\d{2}[T ][\d:.]+Z?$/.test(parsed[0]) &&
      typeof parsed[1] === 'string' &&
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(parsed[1])
    ) {
      return { createdAt: parsed[0], id: parsed[1] }
    }
  } catch {
    // fall through to the refusal
  }
  throw new SpansiftError(ErrorCode.invalidArgument, 'cursor is not a cursor this API returned')
}

/**
 * A page from `limit + 1` entries read after the cursor: the first `limit`, and the
 * cursor of the next page when there was one more.
 */
export function toPage<T>(
  entries: readonly T[],
  limit: number,
  keyOf: (entry: T) => ListCursor,
): { entries: T[]; nextCursor: string | null } {
  const page = entries.slice(0, limit)
  const last = page.at(-1)
  return {
    entries: page,
    nextCursor: entries.length > limit && last ? encodeListCursor(keyOf(last)) : null,
  }
}
