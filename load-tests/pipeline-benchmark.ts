/**
 * Pipeline benchmark of the distributed wiring, every part its own process on this
 * machine: OTLP/HTTP receiver → Kafka (a real broker, deploy/kafka/kafka.sh) → span
 * writer (consumer group) → ClickHouse (the HTTP server over the embedded engine).
 *
 * After a short warm-up, two phases, each followed by a bounded drain:
 *   1. fixed rate: exports of `--spans-per-request` GenAI spans offered open-loop at
 *      `--rate` spans/s for `--fixed-seconds` (a request that would exceed
 *      `--max-in-flight` is counted as skipped, not queued);
 *   2. full speed: `--concurrency` closed-loop exporters for `--full-seconds`.
 *
 * Prints per phase: acknowledged and sustained stored spans/s, end-to-end latency
 * p50/p99 (export sent → `ingested_at` of the row in ClickHouse, for the first and last
 * trace of every acknowledged export), request latency, consumer lag (acknowledged but
 * not yet stored spans, sampled each second: max and at the end of the load), CPU per
 * process; then peak RSS (VmHWM) per process and the machine.
 *
 * Caveats: `ingested_at` is ClickHouse's now64() when the insert reads the row, a little
 * before the insert commits, so end-to-end latency is slightly understated. Lag is
 * acknowledged − count(): spans of an export answered 503 that Kafka nevertheless kept
 * are stored too and make it read low when exports are refused.
 *
 * Payloads: `--templates` distinct requests built with `buildGenAiRequest` (distinct
 * seeds, start times near now); every export is a copy of one whose trace ids carry the
 * export's sequence number in their last 4 bytes, so every span of the run is distinct
 * without building a million spans up front.
 *
 *   node --conditions=spansift-test load-tests/pipeline-benchmark.ts [--rate=10000] [--fixed-seconds=30]
 *     [--full-seconds=30] [--spans-per-request=500] [--concurrency=8] [--writers=1]
 *     [--partitions=6] [--max-in-flight=64] [--drain-seconds=60] [--templates=64]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os, { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startOwnBroker, type TestBroker } from '@spansift/cli/test-kafka-broker'
import { startClickHouseProcess, startSpansiftProcess, type TestProcess } from '@spansift/cli/test-processes'
import { SPAN_TIME_RANGE_CONDITION, timeRangeParams } from '@spansift/clickhouse/spans-repository'
import { openStorage, type Storage } from '@spansift/clickhouse/storage'
import { tableNames } from '@spansift/clickhouse/tables'
import { silentLogger } from '@spansift/core/logger'
import { decodeExportTraceRequestProtobuf } from '@spansift/core/otlp/decode-protobuf'
import { normalizeExportTraceRequest } from '@spansift/core/otlp/normalize'
import {
  cpuSeconds,
  createApplicationWithKey,
  findBrokerPid,
  freePort,
  machineCpu,
  machineDescription,
  peakRssMiB,
  percentile,
} from './bench-util.ts'
import { buildGenAiRequest } from './genai-payload.ts'

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '10000' },
    'fixed-seconds': { type: 'string', default: '30' },
    'full-seconds': { type: 'string', default: '30' },
    'spans-per-request': { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '8' },
    writers: { type: 'string', default: '1' },
    partitions: { type: 'string', default: '6' },
    'max-in-flight': { type: 'string', default: '64' },
    'drain-seconds': { type: 'string', default: '60' },
    templates: { type: 'string', default: '64' },
  },
})

function intArg(name: keyof typeof values, min: number, max: number): number {
  const value = Number(values[name])
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`--${name}=${values[name]}: expected an integer in [${min}, ${max}]`)
  }
  return value
}

const RATE = intArg('rate', 1, 1_000_000)
const FIXED_SECONDS = intArg('fixed-seconds', 0, 600)
const FULL_SECONDS = intArg('full-seconds', 0, 600)
const SPANS_PER_REQUEST = intArg('spans-per-request', 4, 10_000)
const CONCURRENCY = intArg('concurrency', 1, 256)
const WRITERS = intArg('writers', 1, 8)
const PARTITIONS = intArg('partitions', 1, 64)
const MAX_IN_FLIGHT = intArg('max-in-flight', 1, 1024)
const DRAIN_SECONDS = intArg('drain-seconds', 1, 600)
const TEMPLATES = intArg('templates', 1, 1024)
const WARMUP_RATE = Math.min(RATE, 2_000)
const WARMUP_SECONDS = 3
const ADMIN_KEY = 'pipeline-benchmark-admin-key-0001'
/** Bounds on any single loop, whatever the flags say. */
const MAX_REQUESTS_PER_PHASE = 1_000_000
const REQUEST_TIMEOUT_MS = 30_000

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
const loadAverage = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')

// ---------------------------------------------------------------- payloads

interface Template {
  body: Buffer
  /** Offset of every span's 16-byte trace id in `body`. */
  traceIdOffsets: number[]
  /** Hex of the first 12 bytes of the first and of the last trace id. */
  firstTracePrefix: string
  lastTracePrefix: string
}

const runStartNano = BigInt(Date.now()) * 1_000_000n

function buildTemplate(seed: number): Template {
  const built = buildGenAiRequest(SPANS_PER_REQUEST, {
    seed,
    // Near now (retention drops spans older than 30 days), spread over the last minute.
    startTimeUnixNano: runStartNano - 60_000_000_000n + BigInt(seed) * 1_000_000n,
  })
  const body = Buffer.from(built.protobuf)
  const spans = built.request.resourceSpans[0]!.scopeSpans[0]!.spans
  const traceIdOffsets: number[] = []
  let from = 0
  for (const span of spans) {
    // A span's trace_id is field 1, length-delimited: tag 0x0a, length 0x10, 16 bytes.
    const at = body.indexOf(Buffer.concat([Buffer.from([0x0a, 0x10]), Buffer.from(span.traceId)]), from)
    if (at < 0) throw new Error(`template ${seed}: trace id of a span not found in its encoding`)
    traceIdOffsets.push(at + 2)
    from = at + 18
  }
  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex').slice(0, 24)
  return {
    body,
    traceIdOffsets,
    firstTracePrefix: hex(spans[0]!.traceId),
    lastTracePrefix: hex(spans[spans.length - 1]!.traceId),
  }
}

/** A copy of the template whose trace ids end with `sequence`: distinct spans for every export. */
function exportBody(template: Template, sequence: number): Buffer {
  const body = Buffer.from(template.body)
  for (const offset of template.traceIdOffsets) body.writeUInt32BE(sequence, offset + 12)
  return body
}

const sequenceHex = (sequence: number) => sequence.toString(16).padStart(8, '0')

// ---------------------------------------------------------------- process accounting

interface Tracked {
  name: string
  pid: number
}

interface CpuSnapshot {
  at: number
  perProcess: number[]
  machine: { busy: number; steal: number; total: number }
}

function snapshotCpu(tracked: readonly Tracked[]): CpuSnapshot {
  return {
    at: performance.now(),
    perProcess: tracked.map((t) => cpuSeconds(t.pid)),
    machine: machineCpu(),
  }
}

/** CPU use between two snapshots, in % of one core, per process, plus what the rest of the machine used. */
function cpuBetween(tracked: readonly Tracked[], a: CpuSnapshot, b: CpuSnapshot): string {
  const seconds = (b.at - a.at) / 1000
  const parts = tracked.map((t, i) => {
    const used = (b.perProcess[i]! - a.perProcess[i]!) / seconds
    return { name: t.name, percent: used * 100 }
  })
  const ours = parts.reduce((sum, p) => sum + (Number.isFinite(p.percent) ? p.percent : 0), 0)
  const machineBusy = ((b.machine.busy - a.machine.busy) / seconds) * 100
  const steal = ((b.machine.steal - a.machine.steal) / seconds) * 100
  const cores = os.cpus().length
  return (
    parts.map((p) => `${p.name} ${p.percent.toFixed(0)}%`).join(', ') +
    `; machine busy ${machineBusy.toFixed(0)}% of ${cores * 100}% (not ours ${Math.max(0, machineBusy - ours).toFixed(0)}%), stolen by the hypervisor ${steal.toFixed(0)}%`
  )
}

// ---------------------------------------------------------------- the run

interface Sample {
  traceId: string
  sentAt: number
  sequence: number
}

interface Phase {
  name: string
  sentRequests: number
  skippedRequests: number
  ackedSpans: number
  answers: Record<string, number>
  requestLatencies: number[]
  samples: Sample[]
  /** (seconds since the phase started, stored spans, lag) each second, load and drain. */
  series: Array<{ t: number; stored: number; lag: number; draining: boolean }>
  startedAt: number
  loadEndedAt: number
  drainedAt: number | undefined
  storedAtStart: number
  storedAtLoadEnd: number
  storedAtDrain: number
  lagAtLoadEnd: number
  cpuLoad: string
  loadAverageAtEnd: string
}

function newPhase(name: string): Phase {
  return {
    name,
    sentRequests: 0,
    skippedRequests: 0,
    ackedSpans: 0,
    answers: {},
    requestLatencies: [],
    samples: [],
    series: [],
    startedAt: 0,
    loadEndedAt: 0,
    drainedAt: undefined,
    storedAtStart: 0,
    storedAtLoadEnd: 0,
    storedAtDrain: 0,
    lagAtLoadEnd: 0,
    cpuLoad: '',
    loadAverageAtEnd: '',
  }
}

const cleanups: Array<() => Promise<void>> = []
let cleaningUp: Promise<void> | undefined
function cleanup(): Promise<void> {
  cleaningUp ??= (async () => {
    for (const step of cleanups.splice(0).reverse()) {
      try {
        await step()
      } catch (error) {
        console.error('cleanup step failed:', error)
      }
    }
  })()
  return cleaningUp
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`${signal}: stopping processes and removing temporary directories…`)
    void cleanup().finally(() => process.exit(130))
  })
}

console.log(`machine: ${machineDescription()}`)
console.log(`load average at start (1/5/15 min): ${loadAverage()}`)
console.log(
  `building ${TEMPLATES} distinct request templates of ${SPANS_PER_REQUEST} spans (every export gets its own trace ids)…`,
)
const templates = Array.from({ length: TEMPLATES }, (_, i) => buildTemplate(i + 1))
const meanBytes = templates.reduce((n, t) => n + t.body.byteLength, 0) / templates.length
console.log(
  `request size: ${(meanBytes / 1024).toFixed(0)} KiB (${(meanBytes / SPANS_PER_REQUEST).toFixed(0)} bytes/span, protobuf)`,
)
{
  // Self-check of the id rewriting: the copy decodes, and its trace ids carry the sequence.
  const check = normalizeExportTraceRequest(
    decodeExportTraceRequestProtobuf(exportBody(templates[0]!, 0xabcdef12)),
    { applicationId: '00000000-0000-4000-8000-000000000001' },
  )
  const expectedFirst = `${templates[0]!.firstTracePrefix}abcdef12`
  if (
    check.spans.length !== SPANS_PER_REQUEST ||
    check.spans[0]?.traceId !== expectedFirst ||
    !check.spans.every((s) => s.traceId.endsWith('abcdef12'))
  ) {
    throw new Error('rewriting trace ids in the template produced an unexpected request')
  }
}

let exitCode = 0
try {
  const startedSetup = performance.now()
  const broker: TestBroker = await startOwnBroker()
  cleanups.push(() => broker.destroy())
  const clickhouseDir = mkdtempSync(join(tmpdir(), 'spansift-pipeline-bench-ch-'))
  cleanups.push(async () => rmSync(clickhouseDir, { recursive: true, force: true }))
  const clickhouse = await startClickHouseProcess(clickhouseDir)
  cleanups.push(async () => {
    await clickhouse.process.stop(30_000)
  })
  const clickhouseUrl = `${clickhouse.url}/spansift`
  const baseEnv = {
    SPANSIFT_KAFKA_BROKERS: broker.brokers,
    SPANSIFT_CLICKHOUSE_URL: clickhouseUrl,
    SPANSIFT_ADMIN_KEY: ADMIN_KEY,
    SPANSIFT_KAFKA_PARTITIONS: String(PARTITIONS),
    // Several processes on one machine: each its own ephemeral ops port.
    SPANSIFT_METRICS_PORT: '0',
  }
  async function spawnRole(roles: string[], extra: Record<string, string>): Promise<TestProcess> {
    const p = await startSpansiftProcess(roles, { ...baseEnv, ...extra })
    cleanups.push(async () => {
      await p.stop(15_000)
    })
    return p
  }

  // The API only for the setup (it migrates the schema and creates the topics first);
  // stopped before the load so it does not share the two cores.
  const apiPort = await freePort()
  const api = await spawnRole(['api'], { SPANSIFT_API_PORT: String(apiPort) })
  const apiUrl = `http://127.0.0.1:${apiPort}`
  const { applicationId, key } = await createApplicationWithKey(apiUrl, ADMIN_KEY, 'pipeline-bench')
  await api.stop(15_000)

  const writers: TestProcess[] = []
  for (let i = 0; i < WRITERS; i++) writers.push(await spawnRole(['span-writer'], {}))
  const otlpPort = await freePort()
  const receiver = await spawnRole(['receiver'], {
    SPANSIFT_OTLP_HTTP_PORT: String(otlpPort),
    SPANSIFT_OTLP_GRPC_PORT: '0',
  })
  const otlpUrl = `http://127.0.0.1:${otlpPort}/v1/traces`

  const storage: Storage = await openStorage({
    url: clickhouseUrl,
    dataDir: '',
    logger: silentLogger,
    migrate: false,
    spanRetentionDays: 30,
  })
  cleanups.push(() => storage.close())
  const { spans: spansTable } = tableNames(storage.runner.database)

  const brokerPid = findBrokerPid(broker.brokers)
  const tracked: Tracked[] = [
    { name: 'receiver', pid: receiver.child.pid! },
    ...writers.map((w, i) => ({
      name: WRITERS > 1 ? `span-writer#${i + 1}` : 'span-writer',
      pid: w.child.pid!,
    })),
    { name: 'clickhouse', pid: clickhouse.process.child.pid! },
    ...(brokerPid ? [{ name: 'kafka', pid: brokerPid }] : []),
    { name: 'load generator', pid: process.pid },
  ]
  console.log(
    `pipeline up in ${((performance.now() - startedSetup) / 1000).toFixed(1)} s: broker ${broker.brokers} (${PARTITIONS} partitions), ` +
      `${WRITERS} span writer(s), ClickHouse ${clickhouse.url}; pids ${tracked.map((t) => `${t.name}=${t.pid}`).join(' ')}`,
  )

  // ---- load

  let lastSequence = 0
  let ackedTotal = 0
  const otlpHeaders = { 'content-type': 'application/x-protobuf', authorization: `Bearer ${key}` }

  async function sendOne(phase: Phase): Promise<boolean> {
    const sequence = ++lastSequence
    const template = templates[sequence % templates.length]!
    const body = exportBody(template, sequence)
    const seqHex = sequenceHex(sequence)
    phase.sentRequests++
    const sentAt = Date.now()
    const started = performance.now()
    try {
      const response = await fetch(otlpUrl, {
        method: 'POST',
        headers: otlpHeaders,
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      })
      await response.arrayBuffer()
      phase.answers[response.status] = (phase.answers[response.status] ?? 0) + 1
      if (response.status !== 200) return false
      phase.requestLatencies.push(performance.now() - started)
      phase.ackedSpans += SPANS_PER_REQUEST
      ackedTotal += SPANS_PER_REQUEST
      phase.samples.push(
        { traceId: template.firstTracePrefix + seqHex, sentAt, sequence },
        { traceId: template.lastTracePrefix + seqHex, sentAt, sequence },
      )
      return true
    } catch {
      phase.answers.error = (phase.answers.error ?? 0) + 1
      return false
    }
  }

  /** Open loop: request k is due at start + k × interval, sent whether or not earlier ones were answered. */
  async function fixedRate(phase: Phase, rate: number, seconds: number): Promise<void> {
    const intervalMs = (SPANS_PER_REQUEST / rate) * 1000
    const total = Math.min(MAX_REQUESTS_PER_PHASE, Math.round((rate * seconds) / SPANS_PER_REQUEST))
    const pending = new Set<Promise<unknown>>()
    const started = performance.now()
    const hardDeadline = started + seconds * 1000 + 5_000
    let issued = 0
    while (issued < total && performance.now() < hardDeadline) {
      const due = Math.min(total, Math.floor((performance.now() - started) / intervalMs) + 1)
      while (issued < due) {
        issued++
        if (pending.size >= MAX_IN_FLIGHT) {
          phase.skippedRequests++
          continue
        }
        const p: Promise<unknown> = sendOne(phase).finally(() => pending.delete(p))
        pending.add(p)
      }
      await sleep(Math.max(1, started + issued * intervalMs - performance.now()))
    }
    await Promise.all(pending) // each bounded by the request timeout
  }

  /** Closed loop: `concurrency` exporters, each sending its next export when the last was answered. */
  async function fullSpeed(phase: Phase, seconds: number): Promise<void> {
    const deadline = performance.now() + seconds * 1000
    let budget = MAX_REQUESTS_PER_PHASE
    async function exporter(): Promise<void> {
      while (performance.now() < deadline && budget-- > 0) {
        if (!(await sendOne(phase))) await sleep(50)
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, exporter))
  }

  async function storedCount(): Promise<number> {
    // No parameters: the HTTP server runs unparameterized queries without queueing them
    // behind parameterized ones. count() without FINAL reads part metadata only.
    const [row] = await storage.runner.select<{ n: string }>(
      'bench.count',
      `SELECT count() AS n FROM ${spansTable}`,
    )
    return Number(row?.n ?? 0)
  }

  /** Samples stored spans and lag once a second into the phase's series (skips a tick while a count runs). */
  function startSampler(phase: Phase, isDraining: () => boolean): () => Promise<void> {
    let busy: Promise<void> | undefined
    const timer = setInterval(() => {
      if (busy) return
      busy = (async () => {
        try {
          const stored = await storedCount()
          phase.series.push({
            t: (performance.now() - phase.startedAt) / 1000,
            stored,
            lag: Math.max(0, ackedTotal - stored),
            draining: isDraining(),
          })
        } catch {}
      })().finally(() => {
        busy = undefined
      })
    }, 1000)
    return async () => {
      clearInterval(timer)
      await busy
    }
  }

  async function runPhase(phase: Phase, load: () => Promise<void>): Promise<void> {
    let draining = false
    phase.storedAtStart = await storedCount()
    const cpuStart = snapshotCpu(tracked)
    phase.startedAt = performance.now()
    const stopSampler = startSampler(phase, () => draining)
    try {
      await load()
      phase.loadEndedAt = performance.now()
      const cpuEnd = snapshotCpu(tracked)
      phase.cpuLoad = cpuBetween(tracked, cpuStart, cpuEnd)
      phase.loadAverageAtEnd = loadAverage()
      phase.storedAtLoadEnd = await storedCount()
      phase.lagAtLoadEnd = Math.max(0, ackedTotal - phase.storedAtLoadEnd)
      draining = true
      // Drained: every acknowledged span counted, and no insert for QUIET_MS. The count
      // alone is not enough: spans of an export answered 503 may still have reached Kafka
      // (a send that failed part-way) and are stored too, so the count can reach the
      // acknowledged total while acknowledged spans are still in flight.
      const QUIET_MS = 5_000
      const drainDeadline = performance.now() + DRAIN_SECONDS * 1000 + QUIET_MS
      let lastChangeAt = performance.now()
      let last = phase.storedAtLoadEnd
      for (let i = 0; i < (DRAIN_SECONDS * 1000 + QUIET_MS) / 100 && performance.now() < drainDeadline; i++) {
        const stored = await storedCount()
        if (stored !== last) {
          last = stored
          lastChangeAt = performance.now()
        }
        if (stored >= ackedTotal && performance.now() - lastChangeAt >= QUIET_MS) break
        await sleep(100)
      }
      phase.storedAtDrain = last
      if (last >= ackedTotal) phase.drainedAt = Math.max(lastChangeAt, phase.loadEndedAt)
    } finally {
      await stopSampler()
    }
  }

  const warmup = newPhase('warm-up')
  await runPhase(warmup, () => fixedRate(warmup, WARMUP_RATE, WARMUP_SECONDS))
  if (warmup.drainedAt === undefined) throw new Error('the warm-up spans were not all stored in time')
  console.log(
    `warm-up: ${fmt(warmup.ackedSpans)} spans at ${fmt(WARMUP_RATE)}/s, all stored ${((warmup.drainedAt - warmup.loadEndedAt) / 1000).toFixed(1)} s after the load`,
  )

  const phases: Array<{ phase: Phase; title: string }> = []
  if (FIXED_SECONDS > 0) {
    const fixed = newPhase('fixed')
    console.log(`fixed rate: ${fmt(RATE)} spans/s for ${FIXED_SECONDS} s…`)
    await runPhase(fixed, () => fixedRate(fixed, RATE, FIXED_SECONDS))
    phases.push({
      phase: fixed,
      title: `fixed rate ${fmt(RATE)} spans/s offered (open loop, ${SPANS_PER_REQUEST} spans/export, ≤ ${MAX_IN_FLIGHT} in flight), ${FIXED_SECONDS} s`,
    })
  }
  if (FULL_SECONDS > 0) {
    const full = newPhase('full')
    console.log(`full speed: ${CONCURRENCY} exporters for ${FULL_SECONDS} s…`)
    await runPhase(full, () => fullSpeed(full, FULL_SECONDS))
    phases.push({
      phase: full,
      title: `full speed (${CONCURRENCY} closed-loop exporters, ${SPANS_PER_REQUEST} spans/export), ${FULL_SECONDS} s`,
    })
  }

  // Peak RSS before anything is stopped.
  const rss = tracked.map((t) => ({ name: t.name, mib: peakRssMiB(t.pid) }))

  // ---- end-to-end latency: ingested_at of the sampled traces, in chunks, with parameters

  const range = {
    fromUnixNano: runStartNano - 3_600_000_000_000n,
    toUnixNano: BigInt(Date.now()) * 1_000_000n + 3_600_000_000_000n,
  }
  async function endToEnd(phase: Phase): Promise<{ latencies: number[]; missing: Sample[] }> {
    const latencies: number[] = []
    const missing: Sample[] = []
    // The ids travel as URL query parameters: 200 of them stay well under the 16 KiB
    // request-head limit of a Node HTTP server.
    const CHUNK = 200
    for (let i = 0; i < phase.samples.length; i += CHUNK) {
      const chunk = phase.samples.slice(i, i + CHUNK)
      const rows = await storage.runner.select<{ trace_id: string; at: string }>(
        'bench.ingested-at',
        `SELECT trace_id, toUnixTimestamp64Milli(min(ingested_at)) AS at FROM ${spansTable}
         WHERE application_id = {application_id:UUID}
           AND trace_id IN {trace_ids:Array(FixedString(32))}
           AND ${SPAN_TIME_RANGE_CONDITION}
         GROUP BY trace_id`,
        { application_id: applicationId, trace_ids: chunk.map((s) => s.traceId), ...timeRangeParams(range) },
      )
      const at = new Map(rows.map((r) => [r.trace_id, Number(r.at)]))
      for (const sample of chunk) {
        const ingested = at.get(sample.traceId)
        if (ingested === undefined) missing.push(sample)
        else latencies.push(ingested - sample.sentAt)
      }
    }
    latencies.sort((a, b) => a - b)
    return { latencies, missing }
  }

  const [check] = await storage.runner.select<{ rows: string; distinct: string }>(
    'bench.check',
    `SELECT count() AS rows, uniqExact(trace_id, span_id) AS distinct FROM ${spansTable}
     WHERE application_id = {application_id:UUID} AND ${SPAN_TIME_RANGE_CONDITION}`,
    { application_id: applicationId, ...timeRangeParams(range) },
  )

  // ---- report

  console.log('')
  console.log(`pipeline: receiver → Kafka → span writer → ClickHouse, separate processes, loopback`)
  console.log(`machine: ${machineDescription()}`)
  for (const { phase, title } of phases) {
    const loadSeconds = (phase.loadEndedAt - phase.startedAt) / 1000
    const storedDuringLoad = phase.storedAtLoadEnd - phase.storedAtStart
    const e2e = await endToEnd(phase)
    phase.requestLatencies.sort((a, b) => a - b)
    const loadSeries = phase.series.filter((s) => !s.draining)
    const maxLag = Math.max(phase.lagAtLoadEnd, ...phase.series.map((s) => s.lag))
    const perSecond: string[] = []
    let previous: { t: number; stored: number } = { t: 0, stored: phase.storedAtStart }
    for (const s of phase.series) {
      perSecond.push(`${((s.stored - previous.stored) / (s.t - previous.t) / 1000).toFixed(1)}k`)
      previous = s
    }
    console.log('')
    console.log(`${title}:`)
    if (phase.name === 'fixed') {
      console.log(
        `  offered:           ${fmt((phase.sentRequests * SPANS_PER_REQUEST) / loadSeconds)} spans/s sent (${phase.sentRequests} exports, ${phase.skippedRequests} skipped: ${MAX_IN_FLIGHT} already in flight)`,
      )
    }
    console.log(
      `  acknowledged:      ${fmt(phase.ackedSpans / loadSeconds)} spans/s (${fmt(phase.ackedSpans)} spans in ${loadSeconds.toFixed(1)} s; answers ${JSON.stringify(phase.answers)})`,
    )
    console.log(
      `  stored, sustained: ${fmt(storedDuringLoad / loadSeconds)} spans/s while loading (${fmt(storedDuringLoad)} spans)` +
        (phase.drainedAt !== undefined
          ? `; all acknowledged stored ${((phase.drainedAt - phase.loadEndedAt) / 1000).toFixed(1)} s after the load → ${fmt((phase.storedAtDrain - phase.storedAtStart) / ((phase.drainedAt - phase.startedAt) / 1000))} spans/s load+drain`
          : `; NOT drained within ${DRAIN_SECONDS} s (${fmt(ackedTotal - phase.storedAtDrain)} spans still missing)`),
    )
    console.log(
      `  stored per second: ${perSecond.join(' ')}${phase.series.length > loadSeries.length ? ' (incl. drain)' : ''}`,
    )
    console.log(
      `  end-to-end:        p50 ${percentile(e2e.latencies, 50).toFixed(0)} ms, p99 ${percentile(e2e.latencies, 99).toFixed(0)} ms, max ${percentile(e2e.latencies, 100).toFixed(0)} ms ` +
        `(export sent → ingested_at; ${e2e.latencies.length} sampled traces${e2e.missing.length > 0 ? `, ${e2e.missing.length} NOT FOUND` : ''})`,
    )
    console.log(
      `  request latency:   p50 ${percentile(phase.requestLatencies, 50).toFixed(0)} ms, p99 ${percentile(phase.requestLatencies, 99).toFixed(0)} ms (sent → 200, i.e. Kafka acknowledged)`,
    )
    console.log(
      `  consumer lag:      max ${fmt(maxLag)} spans, at the end of the load ${fmt(phase.lagAtLoadEnd)} spans (acknowledged − stored, sampled each second)`,
    )
    console.log(`  lag per second:    ${loadSeries.map((s) => `${(s.lag / 1000).toFixed(1)}k`).join(' ')}`)
    console.log(`  CPU while loading: ${phase.cpuLoad} (100% = one core)`)
    console.log(`  load average at the end of the load: ${phase.loadAverageAtEnd}`)
    if (e2e.missing.length > 0) {
      exitCode = 1
      // An acknowledged export whose trace is not stored: how much of that export is?
      const sequences = [...new Set(e2e.missing.map((m) => m.sequence))].slice(0, 10)
      for (const seq of sequences) {
        const [row] = await storage.runner.select<{ n: string }>(
          'bench.missing',
          `SELECT count() AS n FROM ${spansTable}
           WHERE application_id = {application_id:UUID} AND endsWith(trace_id, {suffix:String})
             AND ${SPAN_TIME_RANGE_CONDITION}`,
          { application_id: applicationId, suffix: sequenceHex(seq), ...timeRangeParams(range) },
        )
        console.log(
          `  NOT FOUND: export #${seq} (answered 200): ${row?.n} of ${SPANS_PER_REQUEST} spans stored; its trace ids: ${e2e.missing
            .filter((m) => m.sequence === seq)
            .map((m) => m.traceId)
            .join(' ')}`,
        )
      }
    }
  }
  console.log('')
  for (const [name, p] of [
    ['receiver', receiver] as const,
    ...writers.map((w, i) => [`span-writer#${i + 1}`, w] as const),
  ]) {
    const counts = new Map<string, number>()
    for (const line of p.output().split('\n')) {
      const match = /"level":"(warn|error)".*?"msg":"([^"]*)"/.exec(line)
      if (match) counts.set(`${match[1]}: ${match[2]}`, (counts.get(`${match[1]}: ${match[2]}`) ?? 0) + 1)
    }
    if (counts.size > 0)
      console.log(`${name} logged: ${[...counts].map(([msg, n]) => `${n} × ${msg}`).join('; ')}`)
  }
  console.log(`peak RSS (VmHWM): ${rss.map((r) => `${r.name} ${r.mib.toFixed(0)} MiB`).join(', ')}`)
  const distinct = Number(check?.distinct ?? 0)
  const ok = distinct >= ackedTotal
  console.log(
    `check: ${fmt(distinct)} distinct spans stored (${fmt(Number(check?.rows))} rows before merges), ${fmt(ackedTotal)} acknowledged → ${ok ? 'OK' : 'MISMATCH'}`,
  )
  console.log(`load average at the end (1/5/15 min): ${loadAverage()}`)
  if (!ok) exitCode = 1
} catch (error) {
  console.error(error)
  exitCode = 1
} finally {
  await cleanup()
}
process.exit(exitCode)
