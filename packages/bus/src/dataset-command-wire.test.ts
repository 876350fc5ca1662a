import assert from 'node:assert/strict'
import { test } from 'node:test'
import { exactInteger, isExactInteger } from '@spansift/core/exact-integer'
import { decodeWire, encodeWire, type WireReply } from './dataset-command-wire.ts'

// Rows cross the broker as JSON: an int64 attribute value past 2^53 keeps its digits, and
// the tagged bigints (span start times) still come back as bigints.
test('an exact integer in a row and a tagged bigint survive the trip', () => {
  const reply: WireReply = {
    request_id: 'r1',
    ok: true,
    result: {
      metadata: { request_id: exactInteger(9223372036854775807n), tokens: 412 },
      start: 1796186565594000001n,
    },
  }
  const bytes = encodeWire(reply)
  assert.match(bytes.toString(), /"request_id":9223372036854775807,"tokens":412/)
  const back = decodeWire(bytes) as {
    result: { metadata: { request_id: unknown; tokens: number }; start: bigint }
  }
  assert.ok(isExactInteger(back.result.metadata.request_id))
  assert.equal(back.result.metadata.tokens, 412)
  assert.equal(back.result.start, 1796186565594000001n)
  assert.equal(encodeWire(back as WireReply).toString(), bytes.toString())
})
