import assert from 'node:assert/strict'
import { test } from 'node:test'
import { retry } from './retry.ts'

class Permanent extends Error {}

test('retries until the operation succeeds, with growing, capped, jittered delays', async () => {
  const delays: number[] = []
  let calls = 0
  const result = await retry(
    async () => {
      calls++
      if (calls < 6) throw new Error('not yet')
      return 'done'
    },
    { minDelayMs: 10, maxDelayMs: 50, onRetry: (_error, _attempt, delay) => delays.push(delay) },
  )
  assert.equal(result, 'done')
  assert.equal(calls, 6)
  assert.equal(delays.length, 5)
  // 10·[1,2), 20·[1,2) (rounded to whole milliseconds), then the cap.
  assert.ok(delays[0]! >= 10 && delays[0]! <= 20, `first delay ${delays[0]}`)
  assert.ok(delays[1]! >= 20 && delays[1]! <= 40, `second delay ${delays[1]}`)
  for (const delay of delays) assert.ok(delay <= 50, `delay ${delay} over the cap`)
  assert.equal(delays.at(-1), 50)
})

test('stops at once, with the error itself, when shouldRetry says the failure is permanent', async () => {
  let calls = 0
  const error = new Permanent('refused')
  await assert.rejects(
    retry(
      async () => {
        calls++
        throw error
      },
      { minDelayMs: 1, maxDelayMs: 1, shouldRetry: (e) => !(e instanceof Permanent) },
    ),
    (thrown) => thrown === error,
  )
  assert.equal(calls, 1)
})

test('retries a TypeError like any other error, and gives up after the retries allowed', async () => {
  let calls = 0
  await assert.rejects(
    retry(
      async () => {
        calls++
        throw new TypeError('bad')
      },
      { retries: 3, minDelayMs: 1, maxDelayMs: 1 },
    ),
    TypeError,
  )
  assert.equal(calls, 4)
})

test('an abort ends the retries', async () => {
  const controller = new AbortController()
  let calls = 0
  const running = retry(
    async () => {
      calls++
      if (calls === 2) controller.abort(new Error('stopping'))
      throw new Error('down')
    },
    { minDelayMs: 1, maxDelayMs: 5, signal: controller.signal },
  )
  await assert.rejects(running, /stopping/)
  assert.equal(calls, 2)
})
