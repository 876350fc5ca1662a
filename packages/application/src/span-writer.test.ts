import assert from 'node:assert/strict'
import { test } from 'node:test'
import { silentLogger } from '@spansift/core/logger'
import type { Span } from '@spansift/core/span-model'
import { StorageRejectedError } from '@spansift/core/storage-errors'
import { createSpanWriter } from './span-writer.ts'

const spans = (n: number, tag = 's') =>
  Array.from({ length: n }, (_, i) => ({ spanId: `${tag}${i}` }) as unknown as Span)

test('batches concurrent writes into one insert and resolves each after it is stored', async () => {
  const inserts: number[] = []
  const writer = createSpanWriter({
    insert: async (batch) => {
      inserts.push(batch.length)
    },
    maxBatchSpans: 1000,
    maxDelayMs: 20,
    logger: silentLogger,
  })
  await Promise.all([writer.write(spans(3)), writer.write(spans(4)), writer.write(spans(5))])
  assert.deepEqual(inserts, [12])
  assert.equal(writer.stats().spansWritten, 12)
})

test('flushes at once when the batch is full', async () => {
  const inserts: number[] = []
  const writer = createSpanWriter({
    insert: async (batch) => {
      inserts.push(batch.length)
    },
    maxBatchSpans: 10,
    maxDelayMs: 60_000,
    logger: silentLogger,
  })
  await writer.write(spans(10))
  assert.deepEqual(inserts, [10])
})

test('a failed insert rejects every write of that batch and the next batch still goes through', async () => {
  let fail = true
  const writer = createSpanWriter({
    insert: async () => {
      if (fail) throw new Error('ClickHouse down')
    },
    maxBatchSpans: 100,
    maxDelayMs: 5,
    logger: silentLogger,
  })
  const results = await Promise.allSettled([writer.write(spans(1)), writer.write(spans(2))])
  assert.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  )
  fail = false
  await writer.write(spans(1))
  assert.equal(writer.stats().spansWritten, 1)
})

test('writes that arrive during an insert go into the next one; shutdown drains', async () => {
  const inserts: string[][] = []
  let release!: () => void
  const writer = createSpanWriter({
    insert: async (batch) => {
      inserts.push(batch.map((s) => s.spanId))
      if (inserts.length === 1) await new Promise<void>((r) => (release = r))
    },
    maxBatchSpans: 2,
    maxDelayMs: 60_000,
    logger: silentLogger,
  })
  const first = writer.write(spans(2, 'a'))
  await new Promise((r) => setImmediate(r))
  const second = writer.write(spans(1, 'b'))
  release()
  await first
  await writer.shutdown()
  await second
  assert.deepEqual(inserts, [['a0', 'a1'], ['b0']])
})

test('storage refusing a merged batch fails only the request it refuses; the others are stored', async () => {
  const stored: string[] = []
  let inserts = 0
  const writer = createSpanWriter({
    insert: async (batch) => {
      inserts++
      // Like ClickHouse: one bad row refuses the whole insert.
      if (batch.some((s) => s.spanId.startsWith('bad')))
        throw new StorageRejectedError('Cannot parse DateTime', { code: 41 })
      stored.push(...batch.map((s) => s.spanId))
    },
    maxBatchSpans: 10_000,
    maxDelayMs: 20,
    logger: silentLogger,
  })
  const writes = [...Array.from({ length: 40 }, (_, i) => spans(2, `g${i}-`)), spans(1, 'bad')]
  writes.splice(17, 0, spans(3, 'bad2-'))
  const results = await Promise.allSettled(writes.map((w) => writer.write(w)))
  const rejected = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []))
  assert.deepEqual(rejected, [17, 41])
  for (const i of rejected)
    assert.ok((results[i] as PromiseRejectedResult).reason instanceof StorageRejectedError)
  assert.equal(stored.length, 80)
  assert.ok(inserts <= 1 + 2 * 2 * Math.ceil(Math.log2(42)), `${inserts} inserts`)
})

test('a retryable failure of a merged batch is not split: every request of it fails, to be retried', async () => {
  let inserts = 0
  const writer = createSpanWriter({
    insert: async () => {
      inserts++
      throw new Error('ECONNREFUSED')
    },
    maxBatchSpans: 10_000,
    maxDelayMs: 5,
    logger: silentLogger,
  })
  const results = await Promise.allSettled([
    writer.write(spans(1)),
    writer.write(spans(1)),
    writer.write(spans(1)),
  ])
  assert.ok(results.every((r) => r.status === 'rejected'))
  assert.equal(inserts, 1)
})
