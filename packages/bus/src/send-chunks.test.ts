import assert from 'node:assert/strict'
import { test } from 'node:test'
import { chunkBySize } from './send-chunks.ts'

const message = (bytes: number) => ({ key: Buffer.alloc(0), value: Buffer.alloc(bytes) })

test('messages are split, in order, into runs under the byte limit', () => {
  const messages = [message(400), message(400), message(400), message(100), message(900), message(50)]
  const chunks = chunkBySize(messages, 1000)
  assert.deepEqual(
    chunks.map((c) => c.map((m) => m.value.byteLength)),
    [
      [400, 400],
      [400, 100],
      [900, 50],
    ],
  )
  assert.deepEqual(chunks.flat(), messages)
})

test('a message larger than the limit travels alone; nothing is empty', () => {
  const chunks = chunkBySize([message(10), message(5000), message(10)], 1000)
  assert.deepEqual(
    chunks.map((c) => c.map((m) => m.value.byteLength)),
    [[10], [5000], [10]],
  )
  assert.deepEqual(chunkBySize([], 1000), [])
})

test('with partitions, the bound holds per partition: a run carries up to the limit for each', () => {
  const keyed = (partition: number, bytes: number) => ({ ...message(bytes), partition })
  const messages = [keyed(0, 600), keyed(1, 600), keyed(2, 600), keyed(1, 300), keyed(1, 200), keyed(0, 100)]
  const chunks = chunkBySize(messages, 1000, (m) => m.partition)
  assert.deepEqual(
    chunks.map((c) => c.map((m) => `${m.partition}:${m.value.byteLength}`)),
    [
      ['0:600', '1:600', '2:600', '1:300'],
      ['1:200', '0:100'],
    ],
  )
  assert.deepEqual(chunks.flat(), messages)
})
