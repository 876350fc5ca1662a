/**
 * Embedded store insert benchmark: the same 50k-span batches of GenAI spans inserted
 * into the real `spans` table (embedded chdb) by each insert path spansift could use,
 * in interleaved rounds, on a fresh data directory. Prints rows/s per path. The
 * decisions in docs/architecture.md ("Embedded insert path") come from this.
 *
 *   node --conditions=spansift-test load-tests/store-insert-benchmark.ts [--batches=6] [--batch=50000]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { spanToRow } from '@spansift/clickhouse/span-row'
import { encodeSpansRowBinary, SPAN_ROW_BINARY_COLUMNS } from '@spansift/clickhouse/span-row-binary'
import { openStorage } from '@spansift/clickhouse/storage'
import { silentLogger } from '@spansift/core/logger'
import { decodeExportTraceRequestProtobuf } from '@spansift/core/otlp/decode-protobuf'
import { normalizeExportTraceRequest } from '@spansift/core/otlp/normalize'
import type { Span } from '@spansift/core/span-model'
import { Session } from 'chdb'
import { machineDescription } from './bench-util.ts'
import { buildGenAiRequest } from './genai-payload.ts'

const { values } = parseArgs({
  options: { batches: { type: 'string', default: '6' }, batch: { type: 'string', default: '50000' } },
})
const BATCHES = Number(values.batches)
const BATCH = Number(values.batch)
const APP = '00000000-0000-4000-8000-000000000001'

console.log(`machine: ${machineDescription()}`)
const nowNano = BigInt(Date.now()) * 1_000_000n
function batchOf(seed: number): Span[] {
  const spans: Span[] = []
  for (let i = 0; spans.length < BATCH; i++) {
    const body = buildGenAiRequest(1000, {
      seed: seed * 1000 + i,
      startTimeUnixNano: nowNano - 600_000_000_000n,
    }).protobuf
    spans.push(
      ...normalizeExportTraceRequest(decodeExportTraceRequestProtobuf(body), { applicationId: APP }).spans,
    )
  }
  return spans
}

const dataDir = mkdtempSync(join(tmpdir(), 'spansift-insert-bench-'))
const storage = await openStorage({ dataDir, logger: silentLogger, migrate: true, spanRetentionDays: 30 })
const session = new Session(dataDir)
const table = 'spansift.spans'
// The same table without the attribute-keys skip index, to price it.
const noIndex = 'spansift.spans_no_attribute_index'
await storage.runner.command('bench', `CREATE TABLE ${noIndex} AS ${table}`)
await storage.runner.command('bench', `ALTER TABLE ${noIndex} DROP INDEX IF EXISTS idx_attribute_keys`)
// The same table without span_json (migration 12), to price the column the engine writes.
const noSpanJson = 'spansift.spans_without_span_json'
await storage.runner.command('bench', `CREATE TABLE ${noSpanJson} AS ${table}`)
await storage.runner.command('bench', `ALTER TABLE ${noSpanJson} DROP COLUMN IF EXISTS span_json`)
const { runner } = storage
if (!runner.binaryInserts) throw new Error('the embedded engine should take RowBinary inserts')

type Path = { name: string; table: string; run(spans: Span[]): Promise<void> }
const paths: Path[] = [
  {
    name: 'client JSONEachRow (SET prefixes)',
    table,
    run: (spans) => runner.insert('bench', table, spans.map(spanToRow)),
  },
  {
    name: 'own session, JSONEachRow, SETTINGS',
    table,
    async run(spans) {
      const body = Buffer.from(spans.map((s) => JSON.stringify(spanToRow(s))).join('\n'))
      await session.insert({
        table,
        values: body,
        format: 'JSONEachRow',
        settings: { optimize_on_insert: 0 },
      })
    },
  },
  {
    name: 'own session, RowBinary via file(), SETTINGS',
    table,
    run: (spans) =>
      runner.insertRowBinary('bench', table, SPAN_ROW_BINARY_COLUMNS, [encodeSpansRowBinary(spans)], {
        optimize_on_insert: 0,
      }),
  },
  {
    name: 'same, table without span_json (before v12)',
    table: noSpanJson,
    run: (spans) =>
      runner.insertRowBinary('bench', noSpanJson, SPAN_ROW_BINARY_COLUMNS, [encodeSpansRowBinary(spans)], {
        optimize_on_insert: 0,
      }),
  },
  {
    name: 'same, table without idx_attribute_keys',
    table: noIndex,
    run: (spans) =>
      runner.insertRowBinary('bench', noIndex, SPAN_ROW_BINARY_COLUMNS, [encodeSpansRowBinary(spans)], {
        optimize_on_insert: 0,
      }),
  },
]

// The generator's ids repeat now and then (a 32-bit PRNG): count what is distinct.
const distinct = new Set<string>()
const rates = new Map<string, number[]>(paths.map((p) => [p.name, []]))
const encodeMs: number[] = []
for (let round = 0; round < BATCHES; round++) {
  for (const path of paths) {
    const spans = batchOf(1 + round * 10 + paths.indexOf(path))
    for (const span of spans) distinct.add(`${path.table}${span.traceId}${span.spanId}`)
    const started = performance.now()
    await path.run(spans)
    const s = (performance.now() - started) / 1000
    rates.get(path.name)?.push(BATCH / s)
  }
  const spans = batchOf(999)
  const t = performance.now()
  encodeSpansRowBinary(spans)
  encodeMs.push(performance.now() - t)
}
for (const [name, r] of rates) {
  const sorted = [...r].sort((a, b) => a - b)
  console.log(
    `${name.padEnd(42)} median ${Math.round(sorted[Math.floor(sorted.length / 2)]!)} rows/s  (min ${Math.round(sorted[0]!)}, max ${Math.round(sorted.at(-1)!)})`,
  )
}
console.log(
  `RowBinary encode of ${BATCH} spans in JS: ${Math.round(encodeMs.sort((a, b) => a - b)[Math.floor(encodeMs.length / 2)]!)} ms`,
)

// What idx_attribute_keys buys a read: the rule-scan shape `mapContains(attributes, key)`
// with the skip index used and ignored, for a key on 3 spans and a key on every span.
const rare = batchOf(777)
  .slice(0, 3)
  .map((span) => ({ ...span, attributes: { ...span.attributes, 'rare.key': 'x' } }))
await runner.insertRowBinary('bench', table, SPAN_ROW_BINARY_COLUMNS, [encodeSpansRowBinary(rare)], {})
for (const key of ['rare.key', 'gen_ai.request.model']) {
  const timings: Record<string, number[]> = { index: [], 'no index': [] }
  for (let i = 0; i < 5; i++) {
    for (const [name, use] of [
      ['index', 1],
      ['no index', 0],
    ] as const) {
      const started = performance.now()
      await runner.select(
        'bench',
        `SELECT count() FROM ${table} WHERE mapContains(attributes, {key:String}) SETTINGS use_skip_indexes = ${use}, use_query_condition_cache = 0`,
        { key },
      )
      timings[name]!.push(performance.now() - started)
    }
  }
  const estimate = async (use: number) =>
    (
      await runner.select<{ rows: string }>(
        'bench',
        `EXPLAIN ESTIMATE SELECT count() FROM ${table} WHERE mapContains(attributes, {key:String}) SETTINGS use_skip_indexes = ${use}, use_query_condition_cache = 0`,
        { key },
      )
    ).reduce((n, r) => n + Number(r.rows), 0)
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(0)
  console.log(
    `mapContains(attributes, '${key}'): with idx_attribute_keys ${med(timings.index!)} ms, ${await estimate(1)} rows to read; without ${med(timings['no index']!)} ms, ${await estimate(0)} rows`,
  )
}
const counts = await runner.select<{ n: string }>(
  'bench',
  `SELECT (SELECT uniqExact(trace_id, span_id) FROM ${table}) + (SELECT uniqExact(trace_id, span_id) FROM ${noIndex})
     + (SELECT uniqExact(trace_id, span_id) FROM ${noSpanJson}) AS n`,
)
console.log(`distinct spans stored: ${counts[0]?.n} (distinct spans inserted: ${distinct.size + 3})`)
session.close()
await storage.close()
rmSync(dataDir, { recursive: true, force: true })
