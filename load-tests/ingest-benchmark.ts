/**
 * Ingest benchmark: OTLP protobuf requests of 1,000 GenAI-sized spans sent at full speed
 * (every send new spans: the requests' trace ids change each round),
 * over OTLP/HTTP (`node:http`, keep-alive) or OTLP/gRPC (a raw grpc-js client, one channel per exporter),
 * to a real `spansift start` process (embedded bus, embedded ClickHouse) for a
 * bounded time. Prints stored spans/s (a 200 means stored), request latency p50/p99,
 * the server's peak RSS, the latency of API trace reads made during the load, and, in
 * the same run, the decode-only rate of the same payloads on one core (the ceiling).
 * Then it opens the data directory and checks that every acknowledged span is in
 * ClickHouse, and measures the engine's own limit in the same run: the same spans as
 * RowBinary batches of the load's batch size, inserted with nothing else running, and
 * what those rows cost the engine once its parts are merged into one (the bound of the
 * machine's cores).
 *
 *   node --conditions=spansift-test load-tests/ingest-benchmark.ts [--transport=http|grpc] [--seconds=15] [--concurrency=4]
 *
 * BENCH_SERVER_NODE_OPTIONS is passed to the server as NODE_OPTIONS: with
 * '--cpu-prof --cpu-prof-dir=DIR' it writes a CPU profile of the server under the load.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import {
  type Client,
  credentials,
  Metadata,
  makeGenericClientConstructor,
  type ServiceError,
  status,
} from '@grpc/grpc-js'
import { encodeSpansRowBinary, SPAN_ROW_BINARY_COLUMNS } from '@spansift/clickhouse/span-row-binary'
import { openStorage, type Storage } from '@spansift/clickhouse/storage'
import { silentLogger } from '@spansift/core/logger'
import { decodeExportTraceRequestProtobuf } from '@spansift/core/otlp/decode-protobuf'
import { normalizeExportTraceRequest } from '@spansift/core/otlp/normalize'
import { traceServiceDefinition } from '@spansift/receiver/otlp-grpc-receiver'
import {
  cpuContention,
  createApplicationWithKey,
  createHttpPoster,
  machineDescription,
  peakRssMiB,
  percentile,
  startSpansiftProcess,
} from './bench-util.ts'
import { buildGenAiRequest } from './genai-payload.ts'

/** CPU seconds (user + system, all threads) a process has used, from /proc (ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    concurrency: { type: 'string', default: '4' },
    requests: { type: 'string', default: '120' },
    transport: { type: 'string', default: 'http' },
  },
})
if (values.transport !== 'http' && values.transport !== 'grpc') {
  throw new Error(`--transport must be http or grpc, not ${values.transport}`)
}
const TRANSPORT: 'http' | 'grpc' = values.transport
const SECONDS = Number(values.seconds)
const CONCURRENCY = Number(values.concurrency)
const DISTINCT_REQUESTS = Number(values.requests)
const SPANS_PER_REQUEST = 1000
const ADMIN_KEY = 'benchmark-admin-key-0001'

const nowNano = BigInt(Date.now()) * 1_000_000n
console.log(`machine: ${machineDescription()}`)
console.log(`building ${DISTINCT_REQUESTS} distinct requests of ${SPANS_PER_REQUEST} spans…`)
// Only the encoded bodies and each one's first trace id are kept: the decoded requests
// (120k spans of objects) would stay on the client's heap and make every garbage collection
// of the load cost more, on the cores the server needs.
const bodies: Uint8Array[] = []
/** The first trace of each request, hex: what the API reader asks for. */
const firstTraceIds: string[] = []
/** Where each span's trace id lies in each body, so every send can carry new traces. */
const traceIdOffsets: number[][] = []
for (let i = 0; i < DISTINCT_REQUESTS; i++) {
  const { request, protobuf } = buildGenAiRequest(SPANS_PER_REQUEST, {
    seed: i + 1,
    startTimeUnixNano: nowNano - 600_000_000_000n + BigInt(i),
  })
  bodies.push(protobuf)
  firstTraceIds.push(Buffer.from(request.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.traceId).toString('hex'))
  // Spans are encoded in order, so each one's trace id is found after the previous one's.
  const body = Buffer.from(protobuf.buffer, protobuf.byteOffset, protobuf.byteLength)
  const offsets: number[] = []
  let from = 0
  for (const span of request.resourceSpans[0]!.scopeSpans[0]!.spans) {
    const at = body.indexOf(span.traceId, from)
    if (at < 0) throw new Error(`trace id of span ${offsets.length} not found in request ${i}`)
    offsets.push(at)
    from = at + span.traceId.byteLength
  }
  traceIdOffsets.push(offsets)
}

/**
 * Request `index` as sent the `round`-th time: a copy with bytes 12–15 of every trace id
 * set to the round, so each send is new spans. Sending the same spans again would let the
 * ReplacingMergeTree's merges write each span once, cheaper than distinct traffic.
 */
function requestBody(index: number, round: number): Buffer {
  const body = Buffer.from(bodies[index]!)
  for (const at of traceIdOffsets[index]!) body.writeUInt32BE(round, at + 12)
  return body
}
function traceIdOf(index: number, round: number): string {
  return firstTraceIds[index]!.slice(0, 24) + round.toString(16).padStart(8, '0')
}
const meanBytes = bodies.reduce((n, b) => n + b.byteLength, 0) / bodies.length
console.log(
  `request size: ${(meanBytes / 1024).toFixed(0)} KiB (${(meanBytes / SPANS_PER_REQUEST).toFixed(0)} bytes/span)`,
)

/** The application the spans are stamped with where no server is involved (decode-only rate, engine alone). */
const OFFLINE_APPLICATION_ID = '00000000-0000-4000-8000-000000000001'

// The ceiling: decode + normalize of the same payloads on this one core.
function decodeOnlyRate(mode: 'decode' | 'decode+normalize', ms: number): number {
  let spans = 0
  let i = 0
  const started = performance.now()
  while (performance.now() - started < ms) {
    const request = decodeExportTraceRequestProtobuf(bodies[i++ % bodies.length]!)
    if (mode === 'decode+normalize')
      normalizeExportTraceRequest(request, { applicationId: OFFLINE_APPLICATION_ID })
    spans += SPANS_PER_REQUEST
  }
  return spans / ((performance.now() - started) / 1000)
}
decodeOnlyRate('decode+normalize', 1000) // warm up
const decodeRate = decodeOnlyRate('decode', 2000)
const decodeNormalizeRate = decodeOnlyRate('decode+normalize', 2000)

/**
 * The engine's own limit at this load's batch size: the same spans, already encoded as
 * RowBinary, inserted one batch at a time into a copy of the spans table for a bounded
 * time, merges running, in this process (the server has stopped). A batch holds what the
 * exporters have in flight (the span writer cannot batch more), at most its 20,000.
 */
const ENGINE_BATCH_SPANS = Math.min(CONCURRENCY * SPANS_PER_REQUEST, 20_000)
const ENGINE_SECONDS = 10
/** Rounds of the requests encoded for the engine alone: 960k distinct spans with 120 requests (~1 GB of RowBinary). */
const ENGINE_ROUNDS = 8
async function engineAloneRate(
  storage: Storage,
): Promise<{ rowsPerSecond: number; cpuPer100k: number; mergedCpuPer100k: number; partsLeft: number }> {
  const { runner } = storage
  const [database, name] = ['spansift', 'spans_engine_alone']
  const table = `${database}.${name}`
  await runner.command('bench', `CREATE TABLE ${table} AS spansift.spans`)
  // Distinct spans only, as the load sent (ENGINE_ROUNDS rounds of the requests, encoded
  // before the clock starts): the run ends when they are all inserted or after
  // ENGINE_SECONDS, whichever comes first.
  const batches: Buffer[] = []
  for (let round = 0; round < ENGINE_ROUNDS; round++) {
    const spans = bodies.flatMap(
      (_, index) =>
        normalizeExportTraceRequest(decodeExportTraceRequestProtobuf(requestBody(index, round)), {
          applicationId: OFFLINE_APPLICATION_ID,
        }).spans,
    )
    for (let i = 0; i + ENGINE_BATCH_SPANS <= spans.length; i += ENGINE_BATCH_SPANS) {
      batches.push(encodeSpansRowBinary(spans.slice(i, i + ENGINE_BATCH_SPANS)))
    }
  }
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  let rows = 0
  for (const batch of batches) {
    if (performance.now() - started >= ENGINE_SECONDS * 1000) break
    await runner.insertRowBinary('bench', table, SPAN_ROW_BINARY_COLUMNS, [batch], { optimize_on_insert: 0 })
    rows += ENGINE_BATCH_SPANS
  }
  const seconds = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  // The merges the inserts left behind, done at once: a store must merge what it inserts
  // (or inserts stop at too many parts), so inserting and merging into one part is the
  // work each row costs the engine whatever else runs, and bounds the cores' rate.
  // OPTIMIZE may leave parts that a running merge holds (without an error), so it is
  // repeated, a bounded number of times, until one part is left; the count is printed.
  let parts = Number.POSITIVE_INFINITY
  for (let attempt = 0; attempt < 10 && parts > 1; attempt++) {
    await runner.command('bench', `OPTIMIZE TABLE ${table} FINAL`)
    const [left] = await runner.select<{ n: string }>(
      'bench',
      'SELECT count() AS n FROM system.parts WHERE active AND database = {database:String} AND table = {name:String}',
      { database, name },
    )
    parts = Number(left?.n)
  }
  const merged = process.cpuUsage(cpuBefore)
  const per100k = (usage: NodeJS.CpuUsage) => ((usage.user + usage.system) / 1e6 / rows) * 100_000
  return {
    rowsPerSecond: rows / seconds,
    cpuPer100k: per100k(cpu),
    mergedCpuPer100k: per100k(merged),
    partsLeft: parts,
  }
}

const dataDir = mkdtempSync(join(tmpdir(), 'spansift-ingest-bench-'))
const server = await startSpansiftProcess({
  SPANSIFT_DATA_DIR: dataDir,
  SPANSIFT_ADMIN_KEY: ADMIN_KEY,
  // To profile the server under the load: BENCH_SERVER_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=…'.
  ...(process.env.BENCH_SERVER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_SERVER_NODE_OPTIONS } : {}),
})
try {
  const { applicationId, key } = await createApplicationWithKey(server.apiUrl, ADMIN_KEY, 'bench')
  const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }

  // One request's round trip; true when acknowledged (stored), false when refused as retryable.
  type Send = (body: Uint8Array) => Promise<boolean>
  const poster = createHttpPoster(server.otlpUrl, {
    headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${key}` },
    maxSockets: CONCURRENCY,
    timeoutMs: 60_000,
  })
  const httpSend: Send = async (body) => (await poster.post(body)) === 200
  type TraceServiceClient = Client & {
    Export(body: Uint8Array, metadata: Metadata, callback: (error: ServiceError | null) => void): void
  }
  const TraceServiceClient = makeGenericClientConstructor(traceServiceDefinition, 'TraceService')
  const grpcClients: TraceServiceClient[] = []
  const grpcSender = (): Send => {
    // Each exporter has its own channel (its own HTTP/2 connection), as separate SDKs would.
    const client = new TraceServiceClient(server.otlpGrpcAddress, credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
    }) as unknown as TraceServiceClient
    grpcClients.push(client)
    const metadata = new Metadata()
    metadata.set('authorization', `Bearer ${key}`)
    return (body) =>
      new Promise((resolve, reject) =>
        client.Export(body, metadata, (error) => {
          if (!error) resolve(true)
          else if (error.code === status.RESOURCE_EXHAUSTED || error.code === status.UNAVAILABLE)
            resolve(false)
          else reject(error)
        }),
      )
  }

  const latencies: number[] = []
  /** The first trace of every acknowledged send (each send is distinct spans). */
  const acknowledged: string[] = []
  let storedSpans = 0
  let refused = 0
  let next = 0
  const deadline = performance.now() + SECONDS * 1000
  const cpuBefore = cpuSeconds(server.child.pid!)
  const started = performance.now()
  async function exporter(): Promise<void> {
    const send = TRANSPORT === 'grpc' ? grpcSender() : httpSend
    while (performance.now() < deadline) {
      const index = next % bodies.length
      const round = Math.floor(next++ / bodies.length)
      const body = requestBody(index, round)
      const sent = performance.now()
      if (await send(body)) {
        latencies.push(performance.now() - sent)
        storedSpans += SPANS_PER_REQUEST
        acknowledged.push(traceIdOf(index, round))
      } else {
        refused++
        await new Promise((r) => setTimeout(r, 50))
      }
    }
  }
  // An API client reading traces of acknowledged requests while the load runs: what a
  // user of the UI sees while ingest runs at full speed (reads on their own chdb
  // session, the encoding of inserts sliced). One read at a time, 20 ms apart.
  const readLatencies: number[] = []
  const healthLatencies: number[] = []
  let readErrors = 0
  const rangeQuery = `start_time=${new Date(Date.now() - 3_600_000).toISOString()}&end_time=${new Date(Date.now() + 3_600_000).toISOString()}`
  async function apiReader(): Promise<void> {
    for (let i = 0; performance.now() < deadline && i < 100_000; i++) {
      if (acknowledged.length > 0) {
        const traceId = acknowledged[i % acknowledged.length]!
        const sent = performance.now()
        const response = await fetch(
          `${server.apiUrl}/v1/traces/${traceId}?application_id=${applicationId}&${rangeQuery}`,
          { headers },
        )
        await response.arrayBuffer()
        if (response.status === 200) readLatencies.push(performance.now() - sent)
        else readErrors++
        // The same process answering without storage: the share of a read's latency
        // that is waiting for its event loop (and the machine's cores), not the engine.
        const pinged = performance.now()
        await (await fetch(`${server.apiUrl}/healthz`)).arrayBuffer()
        healthLatencies.push(performance.now() - pinged)
      }
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  await Promise.all([...Array.from({ length: CONCURRENCY }, exporter), apiReader()])
  const contention = cpuContention()
  readLatencies.sort((a, b) => a - b)
  healthLatencies.sort((a, b) => a - b)
  for (const client of grpcClients) client.close()
  const elapsed = (performance.now() - started) / 1000
  const serverCpu = cpuSeconds(server.child.pid!) - cpuBefore
  const rss = peakRssMiB(server.child.pid!)
  latencies.sort((a, b) => a - b)
  poster.close()
  await server.stop()

  const storage = await openStorage({ dataDir, logger: silentLogger, migrate: false, spanRetentionDays: 30 })
  const [row] = await storage.runner.select<{ n: string }>(
    'bench',
    'SELECT count() AS n FROM spansift.spans FINAL',
  )
  const engine = await engineAloneRate(storage)
  await storage.close()
  const expected = acknowledged.length * SPANS_PER_REQUEST

  const storedRate = storedSpans / elapsed
  console.log('')
  console.log(
    `ingest, ${TRANSPORT === 'grpc' ? 'OTLP/gRPC' : 'OTLP/HTTP'} protobuf, ${CONCURRENCY} concurrent exporters, ${SECONDS} s:`,
  )
  console.log(
    `  stored:            ${Math.round(storedRate).toLocaleString('en-US')} spans/s (${storedSpans.toLocaleString('en-US')} spans in ${latencies.length} requests; ${refused} refused as retryable)`,
  )
  console.log(
    `  request latency:   p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`,
  )
  console.log(
    `  API trace reads:   p50 ${percentile(readLatencies, 50).toFixed(1)} ms, p99 ${percentile(readLatencies, 99).toFixed(1)} ms, max ${(readLatencies.at(-1) ?? Number.NaN).toFixed(1)} ms (${readLatencies.length} reads during the load, ${readErrors} not 200; target p99 < 100 ms)`,
  )
  console.log(
    `  API /healthz:      p50 ${percentile(healthLatencies, 50).toFixed(1)} ms, p99 ${percentile(healthLatencies, 99).toFixed(1)} ms (after each trace read: the same process without storage)`,
  )
  console.log(
    `  server CPU:        ${((serverCpu / elapsed) * 100).toFixed(0)}% of one core during the load, ${((serverCpu / storedSpans) * 100_000).toFixed(2)} CPU-s per 100k spans stored`,
  )
  console.log(`  server peak RSS:   ${rss.toFixed(0)} MiB`)
  console.log(`  at the end of the load: ${contention}`)
  console.log(`  decode-only:       ${Math.round(decodeRate).toLocaleString('en-US')} spans/s (one core)`)
  console.log(
    `  decode+normalize:  ${Math.round(decodeNormalizeRate).toLocaleString('en-US')} spans/s (one core)`,
  )
  console.log(`  stored / decode-only: ${(storedRate / decodeRate).toFixed(2)} (target ≥ 0.5)`)
  console.log(
    `  engine alone:      ${Math.round(engine.rowsPerSecond).toLocaleString('en-US')} rows/s, ${engine.cpuPer100k.toFixed(2)} CPU-s per 100k rows (RowBinary batches of ${ENGINE_BATCH_SPANS.toLocaleString('en-US')} spans, one at a time, merges running, ${ENGINE_SECONDS} s)`,
  )
  console.log(
    `  engine, all merged: ${engine.mergedCpuPer100k.toFixed(2)} CPU-s per 100k rows with the parts merged (OPTIMIZE FINAL after the inserts, ${engine.partsLeft} part left): at most ${Math.round((availableParallelism() * 100_000) / engine.mergedCpuPer100k).toLocaleString('en-US')} rows/s on ${availableParallelism()} cores, the engine alone`,
  )
  console.log(`  stored / engine alone: ${(storedRate / engine.rowsPerSecond).toFixed(2)}`)
  console.log(
    `  check: ${Number(row?.n)} distinct spans in ClickHouse, ${expected} acknowledged distinct → ${Number(row?.n) === expected ? 'OK' : 'MISMATCH'}`,
  )
  if (Number(row?.n) !== expected) process.exitCode = 1
} finally {
  await server.stop()
  rmSync(dataDir, { recursive: true, force: true })
}
