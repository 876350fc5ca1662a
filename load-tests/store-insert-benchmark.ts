/**
 * Embedded store insert benchmark: the same 50k-span batches of GenAI spans inserted
 * into the real `spans` table (embedded chdb) by each insert path spansift could use,
 * in interleaved rounds, on a fresh data directory. Prints rows/s per path. The
 * decisions in docs/architecture.md ("Embedded insert path") come from this.
 *
 *   node load-tests/store-insert-benchmark.ts [--batches=6] [--batch=50000]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { spanToRow } from '@spansift/clickhouse/span-row'
import {
  encodeSpansRowBinary,
  SPAN_ROW_BINARY_COLUMNS,
  SPAN_ROW_BINARY_STRUCTURE,
} from '@spansift/clickhouse/span-row-binary'
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
const settings = 'optimize_on_insert = 0'

type Path = { name: string; run(spans: Span[], round: number): Promise<void> }
const paths: Path[] = [
  {
    name: 'client JSONEachRow (SET prefixes)',
    run: (spans) => storage.runner.insert('bench', table, spans.map(spanToRow)),
  },
  {
    name: 'session raw JSONEachRow + SETTINGS',
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
    name: 'session RowBinary via file() + SETTINGS',
    async run(spans, round) {
      const file = join(dataDir, `batch-${round}.rowbinary`)
      writeFileSync(file, encodeSpansRowBinary(spans))
      await session.queryAsync(
        `INSERT INTO ${table} (${SPAN_ROW_BINARY_COLUMNS}) SETTINGS ${settings} SELECT * FROM file('${file}', 'RowBinary', '${SPAN_ROW_BINARY_STRUCTURE.replaceAll("'", "\\'")}')`,
      )
      rmSync(file)
    },
  },
]

const rates = new Map<string, number[]>(paths.map((p) => [p.name, []]))
const encodeMs: number[] = []
for (let round = 0; round < BATCHES; round++) {
  for (const path of paths) {
    const spans = batchOf(round * 10 + paths.indexOf(path))
    const started = performance.now()
    await path.run(spans, round)
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
const [{ n }] = JSON.parse(`[${session.query(`SELECT count() AS n FROM ${table}`, 'JSONEachRow').trim()}]`)
console.log(`rows stored: ${n} (expected ${BATCH * BATCHES * paths.length})`)
session.close()
await storage.close()
rmSync(dataDir, { recursive: true, force: true })
