import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { silentLogger } from '@spansift/core/logger'
import { StorageRejectedError, StorageUnavailableError } from '@spansift/core/storage-errors'
import { createOtlpHttpReceiver, type OtlpHttpReceiver } from './otlp-http-receiver.ts'
import { createTestAuthenticator, TEST_APP_KEY, TEST_REVOKED_KEY } from './test-authenticator.ts'

// The OTLP/HTTP translation of storage failures, with the pipeline faked: a refusal is a
// permanent 400 with the reason (the exporter drops the batch), unavailability a 503.
let failure: Error | undefined
const authenticator = createTestAuthenticator()
let receiver: OtlpHttpReceiver
before(async () => {
  receiver = createOtlpHttpReceiver({
    host: '127.0.0.1',
    port: 0,
    authenticator,
    publish: async () => {
      if (failure) throw failure
    },
    logger: silentLogger,
  })
  await receiver.start()
})
after(async () => {
  await receiver.shutdown()
})

async function exportOnce(key = TEST_APP_KEY): Promise<{
  status: number
  retryAfter: string | null
  body: { message: string }
}> {
  const now = (BigInt(Date.now()) * 1_000_000n).toString()
  const response = await fetch(`http://127.0.0.1:${receiver.port()}/v1/traces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: '5b8efff798038103d269b633813fc60c',
                  spanId: 'eee19b7ec3c1b174',
                  name: 'op',
                  startTimeUnixNano: now,
                  endTimeUnixNano: now,
                },
              ],
            },
          ],
        },
      ],
    }),
  })
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as { message: string },
  }
}

test('storage refusing the spans is 400 with the reason, no Retry-After', async () => {
  failure = new StorageRejectedError('Cannot parse DateTime', { code: 41 })
  const answer = await exportOnce()
  assert.equal(answer.status, 400)
  assert.match(answer.body.message, /storage refused the spans: Cannot parse DateTime/)
  assert.equal(answer.retryAfter, null)
})

test('storage unavailable is 503 with Retry-After', async () => {
  failure = new StorageUnavailableError('connect ECONNREFUSED')
  const answer = await exportOnce()
  assert.equal(answer.status, 503)
  assert.equal(answer.retryAfter, '2')
})

test('stored is 200', async () => {
  failure = undefined
  assert.equal((await exportOnce()).status, 200)
})

test('a revoked key is 401 saying it was revoked', async () => {
  const answer = await exportOnce(TEST_REVOKED_KEY)
  assert.equal(answer.status, 401)
  assert.match(answer.body.message, /revoked/)
})
