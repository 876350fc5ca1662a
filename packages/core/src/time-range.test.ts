import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SpansiftError } from './error-codes.ts'
import { parseLookupRange } from './time-range.ts'

const refusal = (code: string, pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof SpansiftError)
  assert.equal(error.code, code)
  assert.match(error.message, pattern)
  return true
}

test('a valid range parses exactly, end exclusive', () => {
  assert.deepEqual(parseLookupRange('2026-11-01T00:00:00Z', '2026-11-02T00:00:00.5Z'), {
    fromUnixNano: 1793491200000000000n,
    toUnixNano: 1793577600500000000n,
  })
})

test('refuses missing, malformed, inverted, empty and unbounded ranges', () => {
  assert.throws(
    () => parseLookupRange(undefined, '2026-11-02T00:00:00Z'),
    refusal('range_not_bounded', /start_time is required/),
  )
  assert.throws(
    () => parseLookupRange('2026-11-01T00:00:00Z', ''),
    refusal('range_not_bounded', /end_time is required/),
  )
  assert.throws(
    () => parseLookupRange('last week', '2026-11-02T00:00:00Z'),
    refusal('invalid_argument', /start_time must be an RFC 3339/),
  )
  assert.throws(
    () => parseLookupRange('2026-11-02T00:00:00Z', '2026-11-01T00:00:00Z'),
    refusal('invalid_argument', /start_time must be before end_time/),
  )
  assert.throws(
    () => parseLookupRange('2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z'),
    refusal('invalid_argument', /before end_time/),
  )
  assert.throws(
    () => parseLookupRange('2025-01-01T00:00:00Z', '2026-11-01T00:00:00Z'),
    refusal('range_not_bounded', /longer than 93 days/),
  )
})
