import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCode } from '@spansift/core/error-codes'
import { silentLogger } from '@spansift/core/logger'
import { type BackfillableRule, backfillIdOf, backfillRule, dryRunRule } from './rule-backfill.ts'

const rule: BackfillableRule = {
  id: 'r1',
  applicationId: '3c90c3cc-0d44-4b50-8888-8dd25736052a',
  datasetId: '11111111-2222-4333-8444-555555555555',
  condition: { sql: 'status_code != 2', params: { a: 1, b: ['x', 'y'], c: 10n } },
  evaluate: () => undefined,
}
const range = { fromUnixNano: 1_000n, toUnixNano: 2_000n }

test('a backfill id is the same for the same rule, dataset, range and condition, whatever the key order', () => {
  const id = backfillIdOf(rule, range)
  assert.match(id, /^[0-9a-f]{32}$/)
  assert.equal(
    backfillIdOf(
      { ...rule, condition: { ...rule.condition, params: { c: 10n, b: ['x', 'y'], a: 1 } } },
      range,
    ),
    id,
  )
  const changed = [
    backfillIdOf({ ...rule, id: 'r2' }, range),
    backfillIdOf({ ...rule, datasetId: '11111111-2222-4333-8444-555555555556' }, range),
    backfillIdOf(rule, { ...range, fromUnixNano: 999n }),
    backfillIdOf(rule, { ...range, toUnixNano: 2_001n }),
    backfillIdOf({ ...rule, condition: { ...rule.condition, sql: 'status_code = 2' } }, range),
    backfillIdOf(
      { ...rule, condition: { ...rule.condition, params: { ...rule.condition.params, c: '10' } } },
      range,
    ),
    backfillIdOf(
      { ...rule, condition: { ...rule.condition, params: { ...rule.condition.params, b: ['y', 'x'] } } },
      range,
    ),
  ]
  assert.equal(new Set([id, ...changed]).size, changed.length + 1)
})

const unused = new Proxy({} as never, {
  get: () => assert.fail('storage must not be touched'),
})

test('an empty range is refused before anything is read', async () => {
  const empty = { fromUnixNano: 2_000n, toUnixNano: 2_000n }
  await assert.rejects(dryRunRule({ rule, range: empty, scans: unused }), { code: ErrorCode.invalidArgument })
  await assert.rejects(
    backfillRule({
      rule,
      range: empty,
      scans: unused,
      progress: unused,
      writer: unused,
      logger: silentLogger,
    }),
    { code: ErrorCode.invalidArgument },
  )
})

test('a page size or sample size that is not a whole positive number is refused', async () => {
  await assert.rejects(dryRunRule({ rule, range, scans: unused, sampleSize: -1 }), /invalid sample size/)
  for (const pageSize of [0, 1.5]) {
    await assert.rejects(
      backfillRule({
        rule,
        range,
        scans: unused,
        progress: unused,
        writer: unused,
        pageSize,
        logger: silentLogger,
      }),
      /invalid page size/,
    )
  }
})

test('a dry run stops looking for samples after a bounded number of spans', async () => {
  let read = 0
  const result = await dryRunRule({
    rule,
    range,
    sampleSize: 3,
    scans: {
      count: async () => 1_000_000,
      page: async (_c, _r, _after, limit) => {
        read += limit
        return Array.from(
          { length: limit },
          (_, i) => ({ traceId: 'f'.repeat(32), spanId: String(read + i).padStart(16, '0') }) as never,
        )
      },
    },
  })
  assert.deepEqual(result, { matched: 1_000_000, partitions: 1, samples: [] })
  assert.ok(read >= 1_000 && read < 1_100, `read ${read}`)
})
