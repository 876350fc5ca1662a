import assert from 'node:assert/strict'
import { test } from 'node:test'
import { monthPartitions } from './month-partitions.ts'

const ns = (iso: string) => BigInt(Date.parse(iso)) * 1_000_000n

test('a range inside one month is one partition, the range itself', () => {
  const range = { fromUnixNano: ns('2026-11-03T10:00:00Z') + 7n, toUnixNano: ns('2026-11-20T00:00:00Z') }
  assert.deepEqual(monthPartitions(range), [{ partition: 202611, ...range }])
})

test('a range over several months is cut at each first instant of a month (UTC), clipped at both ends', () => {
  const from = ns('2026-09-15T12:00:00Z') + 123n
  const to = ns('2026-11-02T00:00:00Z') + 1n
  assert.deepEqual(monthPartitions({ fromUnixNano: from, toUnixNano: to }), [
    { partition: 202609, fromUnixNano: from, toUnixNano: ns('2026-10-01T00:00:00Z') },
    { partition: 202610, fromUnixNano: ns('2026-10-01T00:00:00Z'), toUnixNano: ns('2026-11-01T00:00:00Z') },
    { partition: 202611, fromUnixNano: ns('2026-11-01T00:00:00Z'), toUnixNano: to },
  ])
})

test('a range across the new year goes from December to January of the next year', () => {
  const from = ns('2026-12-31T23:59:59.999Z')
  const to = ns('2027-01-01T00:00:00Z') + 1n
  assert.deepEqual(monthPartitions({ fromUnixNano: from, toUnixNano: to }), [
    { partition: 202612, fromUnixNano: from, toUnixNano: ns('2027-01-01T00:00:00Z') },
    { partition: 202701, fromUnixNano: ns('2027-01-01T00:00:00Z'), toUnixNano: to },
  ])
})

test('a range ending exactly at the start of a month does not touch that month (the end is exclusive)', () => {
  const range = { fromUnixNano: ns('2027-01-01T00:00:00Z'), toUnixNano: ns('2027-03-01T00:00:00Z') }
  assert.deepEqual(
    monthPartitions(range).map((p) => p.partition),
    [202701, 202702],
  )
})

test('February of a leap year ends on the 29th', () => {
  const [feb, march] = monthPartitions({
    fromUnixNano: ns('2028-02-10T00:00:00Z'),
    toUnixNano: ns('2028-03-10T00:00:00Z'),
  })
  assert.equal(feb!.toUnixNano, ns('2028-03-01T00:00:00Z'))
  assert.equal(march!.partition, 202803)
})

test('a year and more in one range: consecutive, contiguous, in order', () => {
  const range = { fromUnixNano: ns('2025-06-05T00:00:00Z'), toUnixNano: ns('2026-08-05T00:00:00Z') }
  const parts = monthPartitions(range)
  assert.equal(parts.length, 15)
  assert.equal(parts[0]!.fromUnixNano, range.fromUnixNano)
  assert.equal(parts.at(-1)!.toUnixNano, range.toUnixNano)
  for (let i = 1; i < parts.length; i++) assert.equal(parts[i]!.fromUnixNano, parts[i - 1]!.toUnixNano)
  assert.deepEqual(
    parts.slice(5, 9).map((p) => p.partition),
    [202511, 202512, 202601, 202602],
  )
})

test('an instant before 1970 falls in its own month', () => {
  const from = ns('1969-12-31T23:59:59Z') + 1n
  assert.deepEqual(
    monthPartitions({ fromUnixNano: from, toUnixNano: ns('1970-01-01T00:00:01Z') }).map((p) => p.partition),
    [196912, 197001],
  )
})

test('an empty or inverted range has no partitions', () => {
  const t = ns('2026-11-03T10:00:00Z')
  assert.deepEqual(monthPartitions({ fromUnixNano: t, toUnixNano: t }), [])
  assert.deepEqual(monthPartitions({ fromUnixNano: t, toUnixNano: t - 1n }), [])
})
