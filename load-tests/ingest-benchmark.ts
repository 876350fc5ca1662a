/**
 * Ingest benchmark: OTLP/HTTP protobuf requests of 1,000 GenAI-sized spans sent at full
 * speed to a real `spansift start` process (embedded bus, embedded ClickHouse) for a
 * bounded time. Prints stored spans/s (a 200 means stored), request latency p50/p99,
 * the server's peak RSS, and, in the same run, the decode-only rate of the same payloads
 * on one core (the ceiling). Then it opens the data directory and checks that every
 * acknowledged span is in ClickHouse.
 *
 *   node load-tests/ingest-benchmark.ts [--seconds=15] [--concurrency=4]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { openStorage } from '@spansift/clickhouse/storage'
import { silentLogger } from '@spansift/core/logger'
import { decodeExportTraceRequestProtobuf } from '@spansift/core/otlp/decode-protobuf'
import { normalizeExportTraceRequest } from '@spansift/core/otlp/normalize'
import { machineDescription, peakRssMiB, percentile, startSpansiftProcess } from './bench-util.ts'
import { buildGenAiRequest } from './genai-payload.ts'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    concurrency: { type: 'string', default: '4' },
    requests: { type: 'string', default: '120' },
  },
})
const SECONDS = Number(values.seconds)
const CONCURRENCY = Number(values.concurrency)
const DISTINCT_REQUESTS = Number(values.requests)
const SPANS_PER_REQUEST = 1000
const ADMIN_KEY = 'benchmark-admin-key-0001'

const nowNano = BigInt(Date.now()) * 1_000_000n
console.log(`machine: ${machineDescription()}`)
console.log(`building ${DISTINCT_REQUESTS} distinct requests of ${SPANS_PER_REQUEST} spans…`)
const bodies = Array.from(
  { length: DISTINCT_REQUESTS },
  (_, i) =>
    buildGenAiRequest(SPANS_PER_REQUEST, {
      seed: i + 1,
      startTimeUnixNano: nowNano - 600_000_000_000n + BigInt(i),
    }).protobuf,
)
const meanBytes = bodies.reduce((n, b) => n + b.byteLength, 0) / bodies.length
console.log(
  `request size: ${(meanBytes / 1024).toFixed(0)} KiB (${(meanBytes / SPANS_PER_REQUEST).toFixed(0)} bytes/span)`,
)

// The ceiling: decode + normalize of the same payloads on this one core.
function decodeOnlyRate(mode: 'decode' | 'decode+normalize', ms: number): number {
  let spans = 0
  let i = 0
  const started = performance.now()
  while (performance.now() - started < ms) {
    const request = decodeExportTraceRequestProtobuf(bodies[i++ % bodies.length]!)
    if (mode === 'decode+normalize')
      normalizeExportTraceRequest(request, { applicationId: '00000000-0000-4000-8000-000000000001' })
    spans += SPANS_PER_REQUEST
  }
  return spans / ((performance.now() - started) / 1000)
}
decodeOnlyRate('decode+normalize', 1000) // warm up
const decodeRate = decodeOnlyRate('decode', 2000)
const decodeNormalizeRate = decodeOnlyRate('decode+normalize', 2000)

const dataDir = mkdtempSync(join(tmpdir(), 'spansift-ingest-bench-'))
const server = await startSpansiftProcess({ SPANSIFT_DATA_DIR: dataDir, SPANSIFT_ADMIN_KEY: ADMIN_KEY })
try {
  const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }
  const app = (await (
    await fetch(`${server.apiUrl}/v1/applications`, { method: 'POST', headers, body: '{"name":"bench"}' })
  ).json()) as {
    id: string
  }
  const { key } = (await (
    await fetch(`${server.apiUrl}/v1/applications/${app.id}/keys`, { method: 'POST', headers })
  ).json()) as {
    key: string
  }

  const latencies: number[] = []
  const acknowledged = new Set<number>()
  let storedSpans = 0
  let refused = 0
  let next = 0
  const deadline = performance.now() + SECONDS * 1000
  const started = performance.now()
  async function exporter(): Promise<void> {
    while (performance.now() < deadline) {
      const index = next++ % bodies.length
      const sent = performance.now()
      const response = await fetch(server.otlpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${key}` },
        body: bodies[index]!,
      })
      await response.arrayBuffer()
      if (response.status === 200) {
        latencies.push(performance.now() - sent)
        storedSpans += SPANS_PER_REQUEST
        acknowledged.add(index)
      } else {
        refused++
        await new Promise((r) => setTimeout(r, 50))
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, exporter))
  const elapsed = (performance.now() - started) / 1000
  const rss = peakRssMiB(server.child.pid!)
  latencies.sort((a, b) => a - b)
  await server.stop()

  const storage = await openStorage({ dataDir, logger: silentLogger, migrate: false, spanRetentionDays: 30 })
  const [row] = await storage.runner.select<{ n: string }>(
    'bench',
    'SELECT count() AS n FROM spansift.spans FINAL',
  )
  await storage.close()
  const expected = acknowledged.size * SPANS_PER_REQUEST

  const storedRate = storedSpans / elapsed
  console.log('')
  console.log(`ingest, OTLP/HTTP protobuf, ${CONCURRENCY} concurrent exporters, ${SECONDS} s:`)
  console.log(
    `  stored:            ${Math.round(storedRate).toLocaleString('en-US')} spans/s (${storedSpans.toLocaleString('en-US')} spans in ${latencies.length} requests; ${refused} refused as retryable)`,
  )
  console.log(
    `  request latency:   p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`,
  )
  console.log(`  server peak RSS:   ${rss.toFixed(0)} MiB`)
  console.log(`  decode-only:       ${Math.round(decodeRate).toLocaleString('en-US')} spans/s (one core)`)
  console.log(
    `  decode+normalize:  ${Math.round(decodeNormalizeRate).toLocaleString('en-US')} spans/s (one core)`,
  )
  console.log(`  stored / decode-only: ${(storedRate / decodeRate).toFixed(2)} (target ≥ 0.5)`)
  console.log(
    `  check: ${Number(row?.n)} distinct spans in ClickHouse, ${expected} acknowledged distinct → ${Number(row?.n) === expected ? 'OK' : 'MISMATCH'}`,
  )
  if (Number(row?.n) !== expected) process.exitCode = 1
} finally {
  await server.stop()
  rmSync(dataDir, { recursive: true, force: true })
}
