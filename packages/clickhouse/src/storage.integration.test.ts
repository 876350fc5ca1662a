import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { exactInteger } from '@spansift/core/exact-integer'
import { silentLogger } from '@spansift/core/logger'
import type { Span } from '@spansift/core/span-model'
import { migrate, migrations } from './migrations.ts'
import type { Storage } from './storage.ts'
import { tableNames } from './tables.ts'
import { openTestStorage } from './test-storage.ts'

// The real schema and SQL on the embedded engine; SPANSIFT_CLICKHOUSE_URL points the
// same test at a ClickHouse server.
let storage: Storage
const appA = '3c90c3cc-0d44-4b50-8888-8dd25736052a'
const appB = '7d1f0a2e-5b6c-4d8e-9f00-112233445566'

before(async () => {
  storage = await openTestStorage('storage')
})
after(async () => {
  await storage.close()
})

const NANOS_PER_MS = 1_000_000n
const now = BigInt(Date.now()) * NANOS_PER_MS
/** Unix nanoseconds of the first instant of the month `offset` months from now (UTC). */
function monthStart(offset: number): bigint {
  const d = new Date()
  return BigInt(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + offset, 1)) * NANOS_PER_MS
}

function span(overrides: Partial<Span>): Span {
  return {
    applicationId: appA,
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    parentSpanId: '',
    traceState: '',
    name: 'chat gpt-4o',
    kind: 3,
    startTimeUnixNano: now - 3_600_000_000_000n + 123_456_789n,
    endTimeUnixNano: now - 3_599_000_000_000n + 123_456_789n,
    durationNano: 1000000000n,
    statusCode: 0,
    statusMessage: '',
    serviceName: 'support-bot',
    scopeName: 'openai',
    scopeVersion: '1.0.0',
    resourceAttributes: { 'service.name': 'support-bot' },
    attributes: {
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': 42,
      'gen_ai.prompt': [{ role: 'user', content: 'hi' }],
      // An int64 past 2^53 comes back exact and still a number; the same digits as text stay text.
      'big.int': exactInteger(9223372036854775807n),
      'big.text': '9223372036854775807',
      flag: true,
    },
    events: [
      {
        timeUnixNano: now - 3_599_500_000_000n + 1n,
        name: 'gen_ai.choice',
        attributes: { index: 0, seq: exactInteger(-9223372036854775808n) },
      },
    ],
    links: [],
    flags: 1,
    ...overrides,
  }
}

const wideRange = { fromUnixNano: now - 86_400_000_000_000n, toUnixNano: now + 86_400_000_000_000n }

test('migrations are recorded and running them again changes nothing', async () => {
  const again = await migrate(storage.runner, silentLogger)
  assert.deepEqual(again, [])
  const rows = await storage.runner.select<{ version: number }>(
    'test',
    `SELECT version FROM ${tableNames(storage.runner.database).migrations} FINAL ORDER BY version`,
  )
  assert.deepEqual(
    rows.map((r) => Number(r.version)),
    migrations.map((m) => m.version),
  )
})

test('a span round-trips exactly, attributes keep their types and structure', async () => {
  const original = span({})
  await storage.spans.insert([original])
  const [found] = await storage.spans.findTrace(appA, original.traceId, wideRange)
  assert.deepEqual(found, original)
})

test('writing the same span twice stores it once', async () => {
  const s = span({ traceId: '11111111111111111111111111111111', spanId: '2222222222222222' })
  await storage.spans.insert([s])
  await storage.spans.insert([s])
  const found = await storage.spans.findTrace(appA, s.traceId, wideRange)
  assert.equal(found.length, 1)
  const [row] = await storage.runner.select<{ n: string }>(
    'test',
    `SELECT count() AS n FROM ${tableNames(storage.runner.database).spans} FINAL WHERE trace_id = {t:FixedString(32)}`,
    { t: s.traceId },
  )
  assert.equal(Number(row!.n), 1)
})

test('lookups are scoped to the application and the time range', async () => {
  const s = span({ traceId: '33333333333333333333333333333333' })
  await storage.spans.insert([s])
  assert.equal((await storage.spans.findTrace(appB, s.traceId, wideRange)).length, 0)
  const before = { fromUnixNano: wideRange.fromUnixNano, toUnixNano: s.startTimeUnixNano } // end is exclusive
  assert.equal((await storage.spans.findTrace(appA, s.traceId, before)).length, 0)
  const exact = { fromUnixNano: s.startTimeUnixNano, toUnixNano: s.startTimeUnixNano + 1n }
  assert.equal((await storage.spans.findTrace(appA, s.traceId, exact)).length, 1)
})

test('a trace lookup reads only the partitions of its time range', async () => {
  // One span in each of three months; a lookup bounded to one month reads one partition.
  const months = [monthStart(-2), monthStart(-1), monthStart(0)]
  await storage.spans.insert(
    months.map((start, i) =>
      span({
        traceId: '44444444444444444444444444444444',
        spanId: `000000000000000${i + 1}`,
        startTimeUnixNano: start + 1000n,
        endTimeUnixNano: start + 2000n,
      }),
    ),
  )
  const { spans } = tableNames(storage.runner.database)
  const plan = await storage.runner.select<{ explain: string }>(
    'test',
    `EXPLAIN indexes = 1 SELECT count() FROM ${spans}
     WHERE start_time >= fromUnixTimestamp64Nano({from_ns:Int64}, 'UTC') AND start_time < fromUnixTimestamp64Nano({to_ns:Int64}, 'UTC')`,
    { from_ns: months[1]!.toString(), to_ns: months[2]!.toString() },
  )
  const text = plan.map((r) => r.explain).join('\n')
  // The first index step starts from every part of the table; the read keeps one.
  const considered = /Indexes:[\s\S]*?Parts: \d+\/(\d+)/.exec(text)
  const read = /ReadFromMergeTree[\s\S]*?Parts: (\d+) \|/.exec(text)
  assert.ok(considered && read, text)
  assert.ok(Number(considered[1]) >= 3, text)
  assert.equal(Number(read[1]), 1, text)
  const found = await storage.spans.findTrace(appA, '44444444444444444444444444444444', {
    fromUnixNano: months[1]!,
    toUnixNano: months[2]!,
  })
  assert.deepEqual(
    found.map((s) => s.spanId),
    ['0000000000000002'],
  )
})

test('span retention follows the configuration and drops whole parts only', async () => {
  const { spans } = tableNames(storage.runner.database)
  const { ensureSpanRetention } = await import('./migrations.ts')
  await ensureSpanRetention(storage.runner, 7, silentLogger)
  const [row] = await storage.runner.select<{ engine_full: string }>(
    'test',
    'SELECT engine_full FROM system.tables WHERE database = {d:String} AND name = {t:String}',
    { d: storage.runner.database, t: 'spans' },
  )
  assert.match(row!.engine_full, /toIntervalDay\(7\)/)
  assert.match(row!.engine_full, /ttl_only_drop_parts = 1/)
  assert.ok(spans.endsWith('.spans')) // Content events (OTLP log records) live as long as the spans they are attached to.
  const [events] = await storage.runner.select<{ engine_full: string }>(
    'test',
    'SELECT engine_full FROM system.tables WHERE database = {d:String} AND name = {t:String}',
    { d: storage.runner.database, t: 'span_content_events' },
  )
  assert.match(events!.engine_full, /toIntervalDay\(7\)/)
})

test('content events are stored once however often written, found by span and time range, in order', async () => {
  const applicationId = '5f0c6a4e-8e0f-4d6b-9a51-3c2f1b7d9e10'
  const start = BigInt(Date.now()) * 1_000_000n
  const event = (sequence: number, name: string, spanId = '00000000000000aa') => ({
    applicationId,
    traceId: 'c'.repeat(32),
    spanId,
    timeUnixNano: start,
    sequence,
    name,
    attributes: { body: { content: name } },
  })
  const events = [
    event(1, 'gen_ai.user.message'),
    event(0, 'gen_ai.system.message'),
    event(0, 'x', 'bb'.repeat(8)),
  ]
  await storage.contentEvents.insert(events)
  await storage.contentEvents.insert(events.slice(0, 1))
  const range = { fromUnixNano: start - 1n, toUnixNano: start + 1n }
  const found = await storage.contentEvents.findForSpans(
    applicationId,
    [{ traceId: 'c'.repeat(32), spanId: '00000000000000aa' }],
    range,
  )
  assert.deepEqual(
    found.map((e) => e.name),
    ['gen_ai.system.message', 'gen_ai.user.message'],
  )
  assert.deepEqual(found[1], events[0])
  const outside = await storage.contentEvents.findForSpans(
    applicationId,
    [{ traceId: 'c'.repeat(32), spanId: '00000000000000aa' }],
    { fromUnixNano: start + 1n, toUnixNano: start + 2n },
  )
  assert.equal(outside.length, 0)
})
