import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ClickHouseClient } from '@clickhouse/client'
import { silentLogger } from '@spansift/core/logger'
import { createQueryRunner } from './query-runner.ts'

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
