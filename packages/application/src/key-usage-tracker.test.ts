import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createJsonLogger } from '@spansift/core/logger'
import { createKeyUsageTracker } from './key-usage-tracker.ts'

const logger = createJsonLogger({ level: 'silent', sink: process.stderr })

test('many uses of a key are one row per flush, with the latest time; a failed write is retried at the next flush', async () => {
  let clock = Date.parse('2026-12-02T05:00:00.000Z')
  const writes: { keyId: string; at: string }[][] = []
  let failNext = false
  const tracker = createKeyUsageTracker({
    write: async (uses) => {
      if (failNext) {
        failNext = false
        throw new Error('storage down')
      }
      writes.push([...uses])
    },
    flushIntervalMs: 3_600_000,
    logger,
    now: () => clock,
  })
  for (let i = 0; i < 1_000; i++) {
    tracker.record('key-a')
    clock += 1
  }
  tracker.record('key-b')
  await tracker.flush()
  assert.equal(writes.length, 1)
  assert.deepEqual(
    writes[0]!.sort((a, b) => a.keyId.localeCompare(b.keyId)),
    [
      { keyId: 'key-a', at: '2026-12-02T05:00:00.999Z' },
      { keyId: 'key-b', at: '2026-12-02T05:00:01.000Z' },
    ],
  )
  await tracker.flush()
  assert.equal(writes.length, 1, 'nothing new, nothing written')
  tracker.record('key-a')
  failNext = true
  await tracker.flush()
  assert.equal(writes.length, 1)
  await tracker.close()
  assert.deepEqual(writes[1], [{ keyId: 'key-a', at: '2026-12-02T05:00:01.000Z' }])
})
