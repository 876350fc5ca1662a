import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatRfc3339Millis, formatRfc3339Nano, parseRfc3339Nano } from './time.ts'

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

test('formats record times as RFC 3339 UTC with exactly three fractional digits', () => {
  assert.equal(
    formatRfc3339Millis(new Date(Date.UTC(2026, 11, 2, 3, 1, 16, 410))),
    '2026-12-02T03:01:16.410Z',
  )
  // ClickHouse DateTime64 text of each stored precision, once made RFC 3339
  assert.equal(formatRfc3339Millis('2026-12-02T03:01:16Z'), '2026-12-02T03:01:16.000Z')
  assert.equal(formatRfc3339Millis('2026-12-02T03:01:16.4Z'), '2026-12-02T03:01:16.400Z')
  assert.equal(formatRfc3339Millis('2026-12-02T03:01:16.410999Z'), '2026-12-02T03:01:16.410Z')
  assert.equal(formatRfc3339Millis('2026-12-02T03:01:16.410123456Z'), '2026-12-02T03:01:16.410Z')
  // another offset comes back in UTC
  assert.equal(formatRfc3339Millis('2026-12-02T04:01:16.410+01:00'), '2026-12-02T03:01:16.410Z')
  // before 1970 the digits still round down, not toward zero
  assert.equal(formatRfc3339Millis('1969-12-31T23:59:59.999500Z'), '1969-12-31T23:59:59.999Z')
})

test('refuses to format a record time that is not RFC 3339', () => {
  for (const bad of ['2026-12-02 03:01:16.410', '', '1764644476410']) {
    assert.throws(() => formatRfc3339Millis(bad), TypeError, bad)
  }
})

test('every API time matches one pattern: RFC 3339 UTC with Z and 3 or 9 fractional digits', () => {
  const pattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.(\d{3}|\d{9})Z$/
  assert.match(formatRfc3339Nano(1764644476410123456n), pattern)
  assert.match(formatRfc3339Millis('2026-12-02T03:01:16Z'), pattern)
})
