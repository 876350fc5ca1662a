import { ErrorCode, SpansiftError } from '../error-codes.ts'

/** Where a review-queue page ended: the version paged and the last row's sort key. */
export interface ItemCursor {
  versionId: number
  /** RFC 3339 with milliseconds (rows' created_at is a DateTime64(3)). */
  createdAt: string
  itemId: string
}

/**
 * `<version id>_<created_at ms>_<item id>`: every string of this pattern resumes somewhere
 * (an unknown version pages nothing), so the document's pattern is the whole contract.
 */
export const ITEM_CURSOR_PATTERN =
  '^[0-9]{1,15}_[0-9]{1,13}_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'

/** The cursor for the next page. */
export function encodeItemCursor(cursor: ItemCursor): string {
  return `${cursor.versionId}_${Date.parse(cursor.createdAt)}_${cursor.itemId}`
}

/** Reads a cursor back; text that does not match the pattern is a 400. */
export function decodeItemCursor(text: string): ItemCursor {
  if (!new RegExp(ITEM_CURSOR_PATTERN).test(text)) {
    throw new SpansiftError(ErrorCode.invalidArgument, 'cursor is not a cursor this API returned')
  }
  const [versionId, ms, itemId] = text.split('_') as [string, string, string]
  return { versionId: Number(versionId), createdAt: new Date(Number(ms)).toISOString(), itemId }
}
