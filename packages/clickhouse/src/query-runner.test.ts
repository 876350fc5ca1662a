import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ClickHouseClient } from '@clickhouse/client'
import { ClickHouseError } from '@clickhouse/client'
import { silentLogger } from '@spansift/core/logger'
import { StorageRejectedError, StorageUnavailableError } from '@spansift/core/storage-errors'
import { classifyStorageError, clickHouseErrorCode, createQueryRunner } from './query-runner.ts'

/** A client whose queries fail with `failures` in turn, then answer one row. */
function failingClient(failures: unknown[]) {
  let calls = 0
  const client = {
    async query() {
      calls++
      const failure = failures.shift()
      if (failure) throw failure
      return { json: async () => [{ ok: 1 }] }
    },
  } as unknown as ClickHouseClient
  return { client, calls: () => calls }
}

const networkError = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })

test('a network error is retried with backoff, within the attempts', async () => {
  const { client, calls } = failingClient([networkError(), networkError()])
  const runner = createQueryRunner({ client, database: 'db', logger: silentLogger, retryDelayMs: 1 })
  assert.deepEqual(await runner.select('t', 'SELECT 1'), [{ ok: 1 }])
  assert.equal(calls(), 3)
})

test('after the last attempt the network error goes up', async () => {
  const { client, calls } = failingClient([networkError(), networkError(), networkError()])
  const runner = createQueryRunner({ client, database: 'db', logger: silentLogger, retryDelayMs: 1 })
  await assert.rejects(runner.select('t', 'SELECT 1'), /ECONNREFUSED/)
  assert.equal(calls(), 3)
})

test('any other error is not retried', async () => {
  const refused = Object.assign(new Error('Cannot parse UUID'), { code: '27' })
  const { client, calls } = failingClient([refused])
  const runner = createQueryRunner({ client, database: 'db', logger: silentLogger, retryDelayMs: 1 })
  await assert.rejects(runner.select('t', 'SELECT 1'), /Cannot parse UUID/)
  assert.equal(calls(), 1)
})

const clickHouseError = (code: string, type: string) =>
  new ClickHouseError({ message: `Code: ${code}. DB::Exception: whatever (${type})`, code, type })

test('a refused value is a StorageRejectedError carrying its ClickHouse code', () => {
  const error = classifyStorageError(clickHouseError('376', 'CANNOT_PARSE_UUID'))
  assert.ok(error instanceof StorageRejectedError)
  assert.equal(error.code, 376)
})

test('an unreachable or busy server is a StorageUnavailableError', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' })
  assert.ok(classifyStorageError(refused) instanceof StorageUnavailableError)
  assert.ok(classifyStorageError(clickHouseError('252', 'TOO_MANY_PARTS')) instanceof StorageUnavailableError)
})

test('the code decides, never the message: a bug stays what it was', () => {
  // A syntax error whose text mentions parsing a UUID is still not the data's fault.
  const bug = new ClickHouseError({ message: 'Cannot parse UUID', code: '62', type: 'SYNTAX_ERROR' })
  assert.equal(classifyStorageError(bug), bug)
  const plain = new Error('Cannot parse UUID from String')
  assert.equal(classifyStorageError(plain), plain)
})

test("chdb's native error code is read from the cause chain", () => {
  const native = Object.assign(new Error('x'), { code: 'CHDB_QUERY', clickhouseCode: 41 })
  assert.equal(clickHouseErrorCode(new Error('wrapped', { cause: native })), 41)
})
