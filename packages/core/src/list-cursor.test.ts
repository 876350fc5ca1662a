import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeListCursor, encodeListCursor, LIST_CURSOR_PATTERN, toPage } from './list-cursor.ts'

const id = '3c90c3cc-0d44-4b50-8888-8dd25736052a'

test('a list cursor names the last entry by created_at (either form) and id, and reads back', () => {
  const fromIso = encodeListCursor({ createdAt: '2026-01-02T03:04:05.678Z', id })
  assert.equal(fromIso, `${Date.UTC(2026, 0, 2, 3, 4, 5, 678)}_${id}`)
  assert.equal(encodeListCursor({ createdAt: '2026-01-02 03:04:05.678', id }), fromIso)
  assert.match(fromIso, new RegExp(LIST_CURSOR_PATTERN))
  assert.deepEqual(decodeListCursor(fromIso), { createdAtMs: Date.UTC(2026, 0, 2, 3, 4, 5, 678), id })
})

test('text that is not a cursor is a 400', () => {
  for (const text of ['', 'nope', `x_${id}`, '1_not-a-uuid', `${'9'.repeat(14)}_${id}`]) {
    assert.throws(
      () => decodeListCursor(text),
      (e: unknown) => (e as { code?: string }).code === 'invalid_argument',
      text,
    )
  }
})

test('a page of limit + 1 entries has a next cursor at its last kept entry; a short one has none', () => {
  const entries = [1, 2, 3].map((n) => ({ createdAt: `2026-01-0${n}T00:00:00.000Z`, id }))
  const page = toPage(entries, 2)
  assert.equal(page.entries.length, 2)
  assert.equal(page.nextCursor, encodeListCursor(entries[1]!))
  assert.equal(toPage(entries, 3).nextCursor, null)
})
