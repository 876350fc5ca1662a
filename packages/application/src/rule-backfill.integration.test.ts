import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import type { RuleScanRepository } from '@spansift/clickhouse/rule-scan-repository'
import { scanPageParams, scanPageQuery } from '@spansift/clickhouse/rule-scan-repository'
import type { TimeRange } from '@spansift/clickhouse/spans-repository'
import type { Storage } from '@spansift/clickhouse/storage'
import { tableNames } from '@spansift/clickhouse/tables'
import { openTestStorage } from '@spansift/clickhouse/test-storage'
import { candidateFromSpan } from '@spansift/core/datasets/append-candidate'
import type { DatasetCaps } from '@spansift/core/datasets/caps'
import type { DatasetKind } from '@spansift/core/datasets/dataset-model'
import { applyMapping } from '@spansift/core/datasets/mapping'
import { testSpan } from '@spansift/core/datasets/test-span'
import { silentLogger } from '@spansift/core/logger'
import { monthPartitions } from '@spansift/core/rules/month-partitions'
import type { Span } from '@spansift/core/span-model'
import { createDatasetWriter } from './dataset-writer.ts'
import {
  type BackfillableRule,
  type BackfillProgressEvent,
  backfillIdOf,
  backfillRule,
  dryRunRule,
} from './rule-backfill.ts'

// The backfill engine over the real schema and the real dataset writer: spans in three
// past months, a rule whose SQL pre-filter is broader than its JS decision.
let storage: Storage
const app = randomUUID()
const otherApp = randomUUID()

const NANOS_PER_MS = 1_000_000n
function monthStart(offset: number): bigint {
  const d = new Date()
  return BigInt(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + offset, 1)) * NANOS_PER_MS
}
const range: TimeRange = { fromUnixNano: monthStart(-3), toUnixNano: monthStart(0) }
const [p0, p1, p2] = monthPartitions(range).map((p) => p.partition) as [number, number, number]

/**
 * Span n (0–9) of month m (0–2): n % 3 = 0 is another model (the SQL leaves it out);
 * n = 4 is marked for skipping (the SQL takes it, `evaluate` refuses it). So each month
 * has 6 SQL matches and 5 rule matches.
 */
function span(m: number, n: number, overrides: Partial<Span> = {}): Span {
  const start = monthStart(m - 3) + BigInt(n + 1) * 3_600_000_000_000n + 7n
  return testSpan({
    applicationId: app,
    traceId: randomUUID().replaceAll('-', ''),
    spanId: `${m}${n}`.padStart(16, '0'),
    startTimeUnixNano: start,
    endTimeUnixNano: start + 1_000_000n,
    attributes: {
      'gen_ai.request.model': n % 3 === 0 ? 'claude' : 'gpt-4o',
      'gen_ai.request.user_message': `question ${m}-${n}`,
      'gen_ai.completion.content': `answer ${m}-${n}`,
      'review.skip': n === 4,
    },
    ...overrides,
  })
}
const stored: Span[] = []
const key = (s: { traceId: string; spanId: string }) => `${s.traceId}:${s.spanId}`
/** The (trace, span) keys a rule should take in the given months. */
const expectedIn = (...months: number[]) =>
  stored
    .filter(
      (s) =>
        s.applicationId === app &&
        s.startTimeUnixNano >= range.fromUnixNano &&
        s.startTimeUnixNano < range.toUnixNano &&
        months.includes(Number(s.spanId.at(-2))) &&
        s.attributes['gen_ai.request.model'] === 'gpt-4o' &&
        s.attributes['review.skip'] !== true,
    )
    .map(key)
    .sort()

function ruleFor(datasetId: string, params: Record<string, unknown> = { model: 'gpt-4o' }): BackfillableRule {
  const id = 'support-answers'
  return {
    id,
    applicationId: app,
    datasetId,
    condition: {
      sql: "status_code != 2 AND JSONExtractString(attributes['gen_ai.request.model']) = {model:String}",
      params,
    },
    evaluate(s) {
      if (s.attributes['review.skip'] === true) return undefined
      const row = applyMapping(s, {
        inputs: { question: 'gen_ai.request.user_message' },
        expected_outputs: { answer: 'gen_ai.completion.content' },
      })
      return candidateFromSpan(s, row, { kind: 'rule', ruleId: id })
    },
  }
}

function writerWith(caps: DatasetCaps = { eval: 1000, training: 1000 }) {
  return createDatasetWriter({
    datasets: storage.datasets,
    versions: storage.datasetVersions,
    items: storage.datasetItems,
    caps,
    logger: silentLogger,
  })
}

async function newDataset(kind: DatasetKind = 'eval', excludeDatasetId: string | null = null) {
  return (
    await writerWith().create({
      name: `backfill-${randomUUID()}`,
      applicationId: app,
      kind,
      excludeDatasetId,
    })
  ).id
}

/** The (trace, span) keys of the rows in a dataset's current version. */
async function rowsOf(datasetId: string): Promise<string[]> {
  const versions = await storage.datasetVersions.list(datasetId)
  const current = versions.at(-1)!
  const items = await storage.datasetItems.list(datasetId, current.versionId, {}, undefined, 10_000)
  return items.map((i) => key(i.source)).sort()
}

before(async () => {
  storage = await openTestStorage('rule-backfill')
  await storage.applications.create({ id: app, name: 'backfill' })
  // A span stored twice must stay two rows for the test to mean anything.
  await storage.runner.command('test', `SYSTEM STOP MERGES ${tableNames(storage.runner.database).spans}`)
  for (let m = 0; m < 3; m++) for (let n = 0; n < 10; n++) stored.push(span(m, n))
  stored.push(
    // Outside the range, on both sides: the month before it, and the first instant after it.
    span(0, 1, { spanId: 'b000000000000001', startTimeUnixNano: range.fromUnixNano - 1n }),
    span(0, 2, { spanId: 'a000000000000001', startTimeUnixNano: range.toUnixNano }),
    // Another application's span that the condition would take.
    span(1, 1, { applicationId: otherApp }),
  )
  await storage.spans.insert(stored)
  // Month 1's span 1 stored again, in another part.
  await storage.spans.insert([stored.find((s) => s.spanId === '0000000000000011')!])
})
after(async () => {
  await storage.close()
})

test('a dry run counts the SQL matches and samples the first rule matches, writing nothing', async () => {
  const datasetId = await newDataset()
  const rule = ruleFor(datasetId)
  const result = await dryRunRule({ rule, range, scans: storage.ruleScans })
  assert.equal(result.matched, 18) // 6 a month; the span stored twice counts once
  assert.equal(result.partitions, 3)
  // Month 0 holds exactly five rule matches: the samples are those, in key order.
  assert.deepEqual(result.samples.map(key), expectedIn(0))
  const sample = result.samples[0]!
  const source = stored.find((s) => key(s) === key(sample))!
  assert.deepEqual(sample.row, {
    inputs: { question: source.attributes['gen_ai.request.user_message'] },
    expected_outputs: { answer: source.attributes['gen_ai.completion.content'] },
    metadata: {},
    extras: {},
  })
  assert.deepEqual(sample.redactedFields, [])
  const more = await dryRunRule({ rule, range, scans: storage.ruleScans, sampleSize: 7 })
  assert.equal(more.samples.length, 7)
  assert.ok(more.samples.slice(5).every((s) => expectedIn(1).includes(key(s))))
  assert.equal((await dryRunRule({ rule, range, scans: storage.ruleScans, sampleSize: 0 })).samples.length, 0)

  assert.deepEqual(await rowsOf(datasetId), [])
  assert.deepEqual(await storage.ruleBackfills.partitionsDone(backfillIdOf(rule, range)), [])
})

test('a backfill adds exactly the rule matches of the range, page by page; a second run adds nothing', async () => {
  const datasetId = await newDataset()
  const rule = ruleFor(datasetId)
  const events: BackfillProgressEvent[] = []
  const summary = await backfillRule({
    rule,
    range,
    scans: storage.ruleScans,
    progress: storage.ruleBackfills,
    writer: writerWith(),
    pageSize: 2,
    onProgress: (e) => events.push(e),
    logger: silentLogger,
  })
  const all = expectedIn(0, 1, 2)
  assert.equal(all.length, 15)
  assert.deepEqual(await rowsOf(datasetId), all)
  assert.deepEqual(summary.partitions, [
    { partition: p0, scanned: 10, matched: 5, added: 5, skipped: false },
    { partition: p1, scanned: 10, matched: 5, added: 5, skipped: false },
    { partition: p2, scanned: 10, matched: 5, added: 5, skipped: false },
  ])
  assert.equal(summary.backfillId, backfillIdOf(rule, range))
  assert.deepEqual(
    { ...summary, partitions: undefined, backfillId: undefined },
    {
      partitions: undefined,
      backfillId: undefined,
      scanned: 30,
      matched: 15,
      added: 15,
      alreadyPresent: 0,
      droppedForCap: 0,
      excluded: 0,
      datasetFull: false,
    },
  )
  // Six SQL matches a month in pages of two: three pages a month, one event each.
  assert.equal(events.length, 9)
  assert.deepEqual(
    events.map((e) => [e.partition, e.partitionsDone, e.partitionDone, e.done]),
    [
      [p0, 0, 2, 2],
      [p0, 0, 4, 4],
      [p0, 0, 6, 6],
      [p1, 1, 2, 8],
      [p1, 1, 4, 10],
      [p1, 1, 6, 12],
      [p2, 2, 2, 14],
      [p2, 2, 4, 16],
      [p2, 2, 6, 18],
    ],
  )
  assert.ok(events.every((e) => e.total === 18 && e.partitionTotal === 6 && e.partitionsTotal === 3))
  assert.deepEqual(events.at(-1)!, { ...events.at(-1)!, scanned: 30, matched: 15, added: 15 })
  assert.deepEqual(
    (await storage.ruleBackfills.partitionsDone(summary.backfillId)).map((p) => p.partition),
    [p0, p1, p2],
  )

  const again = await backfillRule({
    rule,
    range,
    scans: storage.ruleScans,
    progress: storage.ruleBackfills,
    writer: writerWith(),
    onProgress: () => assert.fail('nothing is read again'),
    logger: silentLogger,
  })
  assert.equal(again.backfillId, summary.backfillId)
  assert.equal(again.added, 0)
  assert.equal(again.matched, 0)
  assert.equal(again.resumedFrom, undefined) // nothing was left to resume
  assert.deepEqual(
    again.partitions,
    summary.partitions.map((p) => ({ ...p, skipped: true })),
  )
  assert.deepEqual(await rowsOf(datasetId), all)

  // Another condition is another backfill: it reads everything again and adds nothing,
  // because a span's row id in a dataset is fixed.
  const other = ruleFor(datasetId, { model: 'gpt-4o', unused: 1 })
  assert.notEqual(backfillIdOf(other, range), summary.backfillId)
  const replay = await backfillRule({
    rule: other,
    range,
    scans: storage.ruleScans,
    progress: storage.ruleBackfills,
    writer: writerWith(),
    logger: silentLogger,
  })
  assert.deepEqual([replay.matched, replay.added, replay.alreadyPresent], [15, 0, 15])
  assert.deepEqual(await rowsOf(datasetId), all)
})

test('an aborted backfill keeps its completed partitions and the next run resumes after them', async () => {
  const datasetId = await newDataset()
  const rule = ruleFor(datasetId)
  const controller = new AbortController()
  let addedBeforeAbort = 0
  await assert.rejects(
    backfillRule({
      rule,
      range,
      scans: storage.ruleScans,
      progress: storage.ruleBackfills,
      writer: writerWith(),
      pageSize: 4,
      signal: controller.signal,
      onProgress: (e) => {
        addedBeforeAbort = e.added
        if (e.partition === p1) controller.abort()
      },
      logger: silentLogger,
    }),
    { name: 'AbortError' },
  )
  assert.deepEqual(
    (await storage.ruleBackfills.partitionsDone(backfillIdOf(rule, range))).map((p) => p.partition),
    [p0],
  )
  const partial = await rowsOf(datasetId)
  assert.equal(partial.length, addedBeforeAbort)
  assert.ok(addedBeforeAbort > 5 && addedBeforeAbort < 10, `month 1 was cut short (${addedBeforeAbort})`)

  const resumed = await backfillRule({
    rule,
    range,
    scans: storage.ruleScans,
    progress: storage.ruleBackfills,
    writer: writerWith(),
    pageSize: 4,
    logger: silentLogger,
  })
  assert.equal(resumed.resumedFrom, p1)
  assert.deepEqual(
    resumed.partitions.map((p) => [p.partition, p.skipped]),
    [
      [p0, true],
      [p1, false],
      [p2, false],
    ],
  )
  // The part of month 1 done before the abort is read again and found already there.
  assert.equal(resumed.alreadyPresent, addedBeforeAbort - 5)
  assert.equal(resumed.added, 15 - addedBeforeAbort)
  assert.deepEqual(await rowsOf(datasetId), expectedIn(0, 1, 2))
})

test('a backfill fills the dataset exactly to its cap, says so, and leaves the partition not done', async () => {
  const datasetId = await newDataset('eval')
  const rule = ruleFor(datasetId)
  const writer = writerWith({ eval: 7, training: 1000 })
  const backfill = () =>
    backfillRule({
      rule,
      range,
      scans: storage.ruleScans,
      progress: storage.ruleBackfills,
      writer,
      pageSize: 4,
      logger: silentLogger,
    })
  const summary = await backfill()
  assert.equal(summary.datasetFull, true)
  assert.equal(summary.added, 7)
  assert.ok(summary.droppedForCap > 0)
  assert.deepEqual(
    summary.partitions.map((p) => p.partition),
    [p0, p1],
    'the run stopped in month 1',
  )
  const rows = await rowsOf(datasetId)
  assert.equal(rows.length, 7)
  assert.ok(rows.every((r) => expectedIn(0, 1).includes(r)))
  assert.deepEqual(
    (await storage.ruleBackfills.partitionsDone(summary.backfillId)).map((p) => p.partition),
    [p0],
  )
  // Still full: the next run resumes in month 1, adds nothing and stops again.
  const again = await backfill()
  assert.deepEqual([again.resumedFrom, again.added, again.datasetFull], [p1, 0, true])
  assert.equal((await rowsOf(datasetId)).length, 7)
})

test('a training backfill whose matches all overlap the excluded eval dataset adds nothing and finishes', async () => {
  const evalId = await newDataset('eval')
  await backfillRule({
    rule: ruleFor(evalId),
    range,
    scans: storage.ruleScans,
    progress: storage.ruleBackfills,
    writer: writerWith(),
    logger: silentLogger,
  })
  const trainingId = await newDataset('training', evalId)
  const summary = await backfillRule({
    rule: ruleFor(trainingId),
    range,
    scans: storage.ruleScans,
    progress: storage.ruleBackfills,
    writer: writerWith(),
    pageSize: 3,
    logger: silentLogger,
  })
  assert.deepEqual([summary.matched, summary.added, summary.excluded], [15, 0, 15])
  assert.equal(summary.partitions.filter((p) => !p.skipped).length, 3)
  assert.deepEqual(await rowsOf(trainingId), [])
})

test('a one-month backfill reads that month partition alone, with every query', async () => {
  const datasetId = await newDataset()
  const rule = ruleFor(datasetId)
  const month1 = { fromUnixNano: monthStart(-2), toUnixNano: monthStart(-1) }
  const ranges: TimeRange[] = []
  const pageCalls: Array<Parameters<RuleScanRepository['page']>> = []
  const scans: RuleScanRepository = {
    count(condition, r) {
      ranges.push(r)
      return storage.ruleScans.count(condition, r)
    },
    page(...args) {
      ranges.push(args[1])
      pageCalls.push(args)
      return storage.ruleScans.page(...args)
    },
    scannedCount(applicationId, r) {
      ranges.push(r)
      return storage.ruleScans.scannedCount(applicationId, r)
    },
  }
  const summary = await backfillRule({
    rule,
    range: month1,
    scans,
    progress: storage.ruleBackfills,
    writer: writerWith(),
    pageSize: 4,
    logger: silentLogger,
  })
  assert.deepEqual(await rowsOf(datasetId), expectedIn(1))
  assert.deepEqual(
    summary.partitions.map((p) => p.partition),
    [p1],
  )
  assert.ok(ranges.length >= 4)
  assert.ok(ranges.every((r) => r.fromUnixNano === month1.fromUnixNano && r.toUnixNano === month1.toUnixNano))

  // The plan of the second page (a keyset bound and the rule's condition) keeps month 1's parts only.
  const { spans } = tableNames(storage.runner.database)
  const [condition, pageRange, afterRef, limit] = pageCalls[1]!
  assert.ok(afterRef)
  const [parts] = await storage.runner.select<{ total: string; in_month: string }>(
    'test',
    `SELECT count() AS total, countIf(partition = {p:String}) AS in_month
     FROM system.parts WHERE database = {db:String} AND table = 'spans' AND active`,
    { db: storage.runner.database, p: String(p1) },
  )
  const plan = await storage.runner.select<{ explain: string }>(
    'test',
    `EXPLAIN indexes = 1 ${scanPageQuery(spans, condition, afterRef)}`,
    scanPageParams(condition, pageRange, afterRef, limit),
  )
  const text = plan.map((r) => r.explain).join('\n')
  const minMax = /Min-Max[\s\S]*?Parts: (\d+)\/(\d+)/.exec(text)
  const read = /ReadFromMergeTree[\s\S]*?Parts: (\d+) \|/.exec(text)
  assert.ok(minMax && read, text)
  assert.ok(Number(parts!.total) > Number(parts!.in_month), 'other months have parts')
  assert.equal(Number(minMax[2]), Number(parts!.total), text)
  assert.equal(Number(minMax[1]), Number(parts!.in_month), text)
  assert.ok(Number(read[1]) <= Number(parts!.in_month), text)
})
