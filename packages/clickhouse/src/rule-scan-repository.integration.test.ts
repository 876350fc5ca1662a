import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { testSpan } from '@spansift/core/datasets/test-span'
import type { Span } from '@spansift/core/span-model'
import { createRuleBackfillsRepository } from './rule-backfills-repository.ts'
import {
  createRuleScanRepository,
  type ScanCondition,
  scanCountParams,
  scanCountQuery,
  scanPageParams,
  scanPageQuery,
} from './rule-scan-repository.ts'
import type { Storage } from './storage.ts'
import { tableNames } from './tables.ts'
import { openTestStorage } from './test-storage.ts'

// The scan and progress repositories on the real schema (embedded engine, or the server
// SPANSIFT_CLICKHOUSE_URL names).
let storage: Storage
const appA = '3c90c3cc-0d44-4b50-8888-8dd25736052a'
const appB = '7d1f0a2e-5b6c-4d8e-9f00-112233445566'

const NANOS_PER_MS = 1_000_000n
function monthStart(offset: number): bigint {
  const d = new Date()
  return BigInt(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + offset, 1)) * NANOS_PER_MS
}
const months = [monthStart(-3), monthStart(-2), monthStart(-1), monthStart(0)]
const monthRange = (i: number) => ({ fromUnixNano: months[i]!, toUnixNano: months[i + 1]! })
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0')

/** Span `n` of month `m`: model gpt-4o for even n, claude for odd n; trace ids spread over the key space. */
function span(m: number, n: number, overrides: Partial<Span> = {}): Span {
  const start = months[m]! + BigInt(n + 1) * 1_000_000_000n
  return testSpan({
    applicationId: appA,
    traceId: hex((n * 2654435761) % 2 ** 32, 8) + hex(m, 24),
    spanId: hex(n + 1, 16),
    startTimeUnixNano: start,
    endTimeUnixNano: start + 1_000_000n,
    attributes: { 'gen_ai.request.model': n % 2 === 0 ? 'gpt-4o' : 'claude', n },
    ...overrides,
  })
}

const gpt: ScanCondition = {
  applicationId: appA,
  sql: "JSONExtractString(attributes['gen_ai.request.model']) = {model:String}",
  params: { model: 'gpt-4o' },
}

before(async () => {
  storage = await openTestStorage('rule-scan')
  // Duplicates must stay unmerged for the dedup assertions to mean anything.
  await storage.runner.command('test', `SYSTEM STOP MERGES ${tableNames(storage.runner.database).spans}`)
  for (let m = 0; m < 3; m++) {
    await storage.spans.insert(Array.from({ length: 40 }, (_, n) => span(m, n)))
  }
  // Month 1: spans 0–9 stored a second time; another application's gpt-4o span.
  await storage.spans.insert(Array.from({ length: 10 }, (_, n) => span(1, n)))
  await storage.spans.insert([span(1, 100, { applicationId: appB })])
})
after(async () => {
  await storage.close()
})

test('count counts a span stored twice once, within the application and the range', async () => {
  const scans = createRuleScanRepository(storage.runner)
  const { spans } = tableNames(storage.runner.database)
  const [raw] = await storage.runner.select<{ n: string }>(
    'test',
    `SELECT count() AS n FROM ${spans} WHERE application_id = {a:UUID}
       AND JSONExtractString(attributes['gen_ai.request.model']) = 'gpt-4o'
       AND start_time >= fromUnixTimestamp64Nano({f:Int64}) AND start_time < fromUnixTimestamp64Nano({t:Int64})`,
    { a: appA, f: months[1]!.toString(), t: months[2]!.toString() },
  )
  assert.equal(Number(raw!.n), 25, 'the duplicates are stored') // 20 + 5 even ones of spans 0–9
  assert.equal(await scans.count(gpt, monthRange(1)), 20)
  assert.equal(await scans.count(gpt, { fromUnixNano: months[0]!, toUnixNano: months[3]! }), 60)
  assert.equal(await scans.count({ ...gpt, applicationId: appB }, monthRange(1)), 1)
  assert.equal(await scans.scannedCount(appA, monthRange(1)), 40)
  assert.equal(await scans.scannedCount(appA, { fromUnixNano: months[0]!, toUnixNano: months[3]! }), 120)
})

test('pages walk the matches once each in primary-key order, whatever the page size', async () => {
  const scans = createRuleScanRepository(storage.runner)
  const expected = Array.from({ length: 20 }, (_, i) => span(1, i * 2))
    .map((s) => `${s.traceId}:${s.spanId}`)
    .sort()
  for (const limit of [1, 3, 7, 20, 1000]) {
    const seen: string[] = []
    let afterRef: { traceId: string; spanId: string } | undefined
    let pages = 0
    for (;;) {
      const page = await scans.page(gpt, monthRange(1), afterRef, limit)
      if (page.length === 0) break
      pages++
      assert.ok(page.length <= limit)
      seen.push(...page.map((s) => `${s.traceId}:${s.spanId}`))
      afterRef = page.at(-1)
    }
    assert.deepEqual(seen, expected, `limit ${limit}`)
    assert.equal(pages, Math.ceil(20 / limit), `limit ${limit}`)
  }
  const [first] = await scans.page(gpt, monthRange(1), undefined, 1)
  assert.deepEqual(first, span(1, Number(first!.attributes['n'])), 'spans round-trip')
})

test('a condition may not bind the parameters the scan binds itself', async () => {
  const scans = createRuleScanRepository(storage.runner)
  await assert.rejects(
    scans.count({ ...gpt, params: { ...gpt.params, from_ns: '0' } }, monthRange(1)),
    /may not bind the parameter from_ns/,
  )
})

test('count and page queries bounded to one month read only that partition, and pages start at the key', async () => {
  const { spans } = tableNames(storage.runner.database)
  const [parts] = await storage.runner.select<{ total: string; in_month: string }>(
    'test',
    `SELECT count() AS total, countIf(partition = toString(toYYYYMM(fromUnixTimestamp64Nano({f:Int64}, 'UTC')))) AS in_month
     FROM system.parts WHERE database = {db:String} AND table = 'spans' AND active`,
    { db: storage.runner.database, f: months[1]!.toString() },
  )
  assert.ok(Number(parts!.total) > Number(parts!.in_month), 'other months have parts')
  const afterRef = { traceId: span(1, 4).traceId, spanId: span(1, 4).spanId }
  for (const [sql, params] of [
    [scanCountQuery(spans, gpt), scanCountParams(gpt, monthRange(1))],
    [scanPageQuery(spans, gpt, afterRef), scanPageParams(gpt, monthRange(1), afterRef, 10)],
  ] as const) {
    const plan = await storage.runner.select<{ explain: string }>(
      'test',
      `EXPLAIN indexes = 1 ${sql}`,
      params,
    )
    const text = plan.map((r) => r.explain).join('\n')
    const read = /ReadFromMergeTree[\s\S]*?Parts: (\d+) \|/.exec(text)
    const minMax = /Min-Max[\s\S]*?Parts: (\d+)\/(\d+)/.exec(text)
    assert.ok(read && minMax, text)
    // Every part is considered, the month's alone are kept (and the primary key may drop
    // some of those: another application's).
    assert.equal(Number(minMax[2]), Number(parts!.total), text)
    assert.equal(Number(minMax[1]), Number(parts!.in_month), text)
    assert.ok(Number(read[1]) >= 1 && Number(read[1]) <= Number(parts!.in_month), text)
    assert.match(text, /PrimaryKey[\s\S]*?Condition: .*application_id in/, text)
    if (sql.includes('scan_after_trace_id'))
      assert.match(text, /PrimaryKey[\s\S]*?Condition: .*trace_id in/, text)
  }
})

test('backfill progress: partitions recorded done are read back, a record made again replaces the counters', async () => {
  const progress = createRuleBackfillsRepository(storage.runner)
  const key = {
    backfillId: 'b1',
    ruleId: 'rule-1',
    datasetId: '11111111-2222-4333-8444-555555555555',
    range: { fromUnixNano: months[0]! + 123n, toUnixNano: months[3]! },
  }
  assert.deepEqual(await progress.partitionsDone('b1'), [])
  await progress.recordPartitionDone(key, {
    partition: 202611,
    spansScanned: 10,
    spansMatched: 4,
    rowsAdded: 3,
  })
  await progress.recordPartitionDone(key, {
    partition: 202610,
    spansScanned: 5,
    spansMatched: 2,
    rowsAdded: 2,
  })
  await progress.recordPartitionDone(key, {
    partition: 202611,
    spansScanned: 10,
    spansMatched: 4,
    rowsAdded: 0,
  })
  await progress.recordPartitionDone(
    { ...key, backfillId: 'b2' },
    { partition: 202612, spansScanned: 1, spansMatched: 1, rowsAdded: 1 },
  )
  assert.deepEqual(await progress.partitionsDone('b1'), [
    { partition: 202610, spansScanned: 5, spansMatched: 2, rowsAdded: 2 },
    { partition: 202611, spansScanned: 10, spansMatched: 4, rowsAdded: 0 },
  ])
  const [row] = await storage.runner.select<{ from_ns: string; rule_id: string }>(
    'test',
    `SELECT toString(toUnixTimestamp64Nano(from_time)) AS from_ns, rule_id
     FROM ${tableNames(storage.runner.database).ruleBackfills} FINAL WHERE backfill_id = 'b1' LIMIT 1`,
  )
  assert.deepEqual(row, { from_ns: (months[0]! + 123n).toString(), rule_id: 'rule-1' })
})
