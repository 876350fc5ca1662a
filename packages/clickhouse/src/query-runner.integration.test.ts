import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { isPermanentStorageError, StorageRejectedError } from '@spansift/core/storage-errors'
import { spanToRow } from './span-row.ts'
import type { Storage } from './storage.ts'
import { tableNames } from './tables.ts'
import { openTestStorage } from './test-storage.ts'

// The engine's refusals come out typed, by their numeric code: what the span writer and the
// consumers branch on to isolate bad data instead of retrying it for ever.
let storage: Storage
before(async () => {
  storage = await openTestStorage('query-runner')
})
after(async () => {
  await storage.close()
})

const recent = BigInt(Date.now() - 60_000) * 1_000_000n
const good = {
  applicationId: '3c90c3cc-0d44-4b50-8888-8dd25736052a',
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  parentSpanId: '',
  traceState: '',
  name: 'op',
  kind: 1 as const,
  startTimeUnixNano: recent,
  endTimeUnixNano: recent,
  durationNano: 0n,
  statusCode: 0 as const,
  statusMessage: '',
  serviceName: 'svc',
  scopeName: '',
  scopeVersion: '',
  resourceAttributes: {},
  attributes: {},
  events: [],
  links: [],
  flags: 0,
}

/** The engine's own answer: the JSON insert through the runner (the server path's format). */
async function refusal(overrides: object): Promise<StorageRejectedError> {
  const row = spanToRow({ ...good, ...overrides })
  const error = await storage.runner.insert('test', tableNames(storage.runner.database).spans, [row]).then(
    () => assert.fail('the insert was accepted'),
    (e: unknown) => e,
  )
  assert.ok(error instanceof StorageRejectedError, `not a StorageRejectedError: ${error}`)
  assert.ok(isPermanentStorageError(error))
  return error
}

test('an application id that is not a UUID is refused as CANNOT_PARSE_UUID (376)', async () => {
  assert.equal((await refusal({ applicationId: 'support-bot' })).code, 376)
})

test('a start time of 0 is refused as CANNOT_PARSE_DATETIME (41)', async () => {
  assert.equal((await refusal({ startTimeUnixNano: 0n })).code, 41)
})

test('a start time past 2262 is refused as DECIMAL_OVERFLOW (407)', async () => {
  assert.equal((await refusal({ startTimeUnixNano: 2n ** 63n + 1n })).code, 407)
})

test('the embedded binary insert refuses the same spans, as permanent', async () => {
  for (const overrides of [
    { applicationId: 'support-bot' },
    { startTimeUnixNano: 0n },
    { startTimeUnixNano: 2n ** 63n + 1n },
  ]) {
    const error = await storage.spans.insert([{ ...good, ...overrides }]).then(
      () =>
        assert.fail(
          `accepted ${JSON.stringify(overrides, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`,
        ),
      (e: unknown) => e,
    )
    assert.ok(isPermanentStorageError(error), `not permanent: ${error}`)
  }
})

test('a valid span is stored', async () => {
  await storage.spans.insert([good])
})
