import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { defaultPartitioner } from '@platformatic/kafka'
import { keyPartitionHash } from './key-partition-hash.ts'

const clientHash = (key: Buffer) => defaultPartitioner({ topic: 't', key }, key)

test('a key hashes as the Kafka client hashes it, for every length and byte', () => {
  const keys: Buffer[] = [
    Buffer.alloc(0),
    Buffer.alloc(37, 0xff),
    Buffer.from('0af7651916cd43dd8448eb211c80319c'),
  ]
  for (let length = 0; length <= 64; length++) for (let n = 0; n < 30; n++) keys.push(randomBytes(length))
  for (const key of keys)
    assert.equal(keyPartitionHash(key), clientHash(key), `key ${key.toString('hex')} (${key.length} bytes)`)
})

test("Kafka's reference values: the murmur2 Kafka's own client computes for these keys", () => {
  // Kafka's own Utils#murmur2 test vectors (UtilsTest.testMurmur2), as unsigned 32-bit values.
  const vectors: Array<[string, number]> = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ]
  for (const [key, signed] of vectors) assert.equal(keyPartitionHash(Buffer.from(key)), signed >>> 0, key)
})
