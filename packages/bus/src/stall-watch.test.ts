import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createStallWatch } from './stall-watch.ts'

test('a consumer with lag that commits nothing for the stall time is stalled, until it commits', () => {
  let clock = 0
  const watch = createStallWatch({ stallMs: 1_000, now: () => clock })
  watch.lag(5)
  clock = 999
  assert.equal(watch.stalled(), false)
  clock = 1_000
  assert.equal(watch.stalled(), true)
  watch.progressed()
  assert.equal(watch.stalled(), false)
})

test('an idle consumer (no lag) is never stalled, and the clock starts when messages start waiting', () => {
  let clock = 0
  const watch = createStallWatch({ stallMs: 1_000, now: () => clock })
  clock = 60_000
  watch.lag(0)
  assert.equal(watch.stalled(), false)
  watch.lag(3)
  clock = 60_500
  assert.equal(watch.stalled(), false)
  clock = 61_000
  assert.equal(watch.stalled(), true)
})
