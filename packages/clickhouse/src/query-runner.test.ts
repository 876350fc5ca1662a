import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ClickHouseError } from '@clickhouse/client'
import { StorageRejectedError, StorageUnavailableError } from '@spansift/core/storage-errors'
import { classifyStorageError, clickHouseErrorCode } from './query-runner.ts'

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
