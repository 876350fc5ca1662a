import { ErrorCode, SpansiftError } from '../error-codes.ts'

/** Where a review-queue page ended: the version paged and the last row's sort key. */
export interface ItemCursor {
  versionId: number
  createdAt: string
  itemId: string
}

/** An opaque, URL-safe cursor for the next page. */
export function encodeItemCursor(cursor: ItemCursor): string {
  return Buffer.from(JSON.stringify([cursor.versionId, cursor.createdAt, cursor.itemId])).toString(
    'base64url',
  )
}

/** Reads a cursor back; anything that is not one of ours is a 400. */
export function decodeItemCursor(text: string): ItemCursor {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
    if (
      Array.isArray(parsed) &&
      parsed.length === 3 &&
      Number.isSafeInteger(parsed[0]) &&
      typeof parsed[1] === 'string' &&
      /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/.test(parsed[1]) &&
      typeof parsed[2] === 'string' &&
      /^[0-9a-f-]{36}$/.test(parsed[2])
    ) {
      return { versionId: parsed[0], createdAt: parsed[1], itemId: parsed[2] }
    }
  } catch {
    // fall through to the refusal
  }
  throw new SpansiftError(ErrorCode.invalidArgument, 'cursor is not a cursor this API returned')
}
