import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatRfc3339Nano, parseRfc3339Nano } from './time.ts'

test('formats nanoseconds as RFC 3339 with nine digits', () => {
  assert.equal(formatRfc3339Nano(1763805600123456789n), '2025-11-22T10:00:00.123456789Z')
  assert.equal(formatRfc3339Nano(0n), '1970-01-01T00:00:00.000000000Z')
})

test('parses RFC 3339 with any precision and offset, exactly', () => {
  assert.equal(parseRfc3339Nano('2025-11-22T10:00:00.123456789Z'), 1763805600123456789n)
  assert.equal(parseRfc3339Nano('2025-11-22T10:00:00Z'), 1763805600000000000n)
  assert.equal(parseRfc3339Nano('2025-11-22T11:00:00.5+01:00'), 1763805600500000000n)
  const text = '2026-02-28T23:59:59.000000001Z'
  assert.equal(formatRfc3339Nano(parseRfc3339Nano(text)!), text)
})

test('refuses what is not RFC 3339', () => {
  for (const bad of [
    '',
    'yesterday',
    '2025-11-22',
    '2025-11-22T10:00:00',
    '2025-13-40T10:00:00Z',
    '1763805600',
  ]) {
    assert.equal(parseRfc3339Nano(bad), undefined, bad)
  }
})
