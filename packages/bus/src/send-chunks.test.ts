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
