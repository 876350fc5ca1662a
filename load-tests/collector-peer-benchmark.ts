/**
 * Peer benchmark: spansift's receiver against the OpenTelemetry Collector doing the same
 * job, OTLP/HTTP protobuf in, Kafka out, acknowledged only once the broker has the spans.
 *
 * - The Collector is built with the Collector Builder (ocb, from the Go module proxy) from
 *   load-tests/collector/builder-config.yaml: the otlp receiver and the kafka exporter
 *   (otlp_proto, partition_traces_by_id, required_acks -1, no sending queue). The binary
 *   is cached in ~/.cache/spansift (outside the repository); the first run takes minutes.
 * - spansift runs in its distributed wiring, receiver role only (the API role runs first
 *   to migrate and create an application key, then stops; the receiver checks keys against
 *   a ClickHouse HTTP server over the embedded engine).
 * - Both produce to the same broker (a broker of the run's own, deploy/kafka/kafka.sh, or
 *   `--brokers`), to topics of the same partition count, from the same client: `--clients`
 *   closed-loop exporters sending the same GenAI requests of 1,000 spans
 *   (load-tests/genai-payload.ts), in interleaved rounds (the order alternates each round).
 * - Per round and target: spans/s acknowledged (HTTP 200) and the target process's
 *   CPU-seconds (utime + stime from /proc/<pid>/stat) per 100k spans. The broker's CPU is
 *   not counted for either. Then the medians and the ratios spansift / Collector.
 *
 * The machine is shared: read the ratios of one run, and the load average printed with them.
 *
 *   node --conditions=spansift-test load-tests/collector-peer-benchmark.ts [--rounds=3] [--seconds=15] [--clients=4]
 *     [--partitions=6] [--brokers=host:port] [--collector-version=v0.165.0]
 *
 * BENCH_SERVER_NODE_OPTIONS is passed to the spansift receiver as NODE_OPTIONS: with
 * '--cpu-prof --cpu-prof-dir=DIR' it writes a CPU profile of the receiver (both targets' rounds).
 */

import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os, { homedir, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { Admin } from '@platformatic/kafka'
import { startOwnBroker } from '@spansift/cli/test-kafka-broker'
import { startClickHouseProcess, startSpansiftProcess, type TestProcess } from '@spansift/cli/test-processes'
import {
  cpuContention,
  cpuSeconds,
  createApplicationWithKey,
  createHttpPoster,
  findBrokerPid,
  freePort,
  machineDescription,
} from './bench-util.ts'
import { buildGenAiRequest } from './genai-payload.ts'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '15' },
    clients: { type: 'string', default: '4' },
    partitions: { type: 'string', default: '6' },
    brokers: { type: 'string' },
    'collector-version': { type: 'string', default: 'v0.165.0' },
  },
})

function intArg(name: 'rounds' | 'seconds' | 'clients' | 'partitions', min: number, max: number): number {
  const value = Number(values[name])
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`--${name}=${values[name]}: expected an integer in [${min}, ${max}]`)
  }
  return value
}
const ROUNDS = intArg('rounds', 1, 10)
const SECONDS = intArg('seconds', 1, 120)
const CLIENTS = intArg('clients', 1, 64)
const PARTITIONS = intArg('partitions', 1, 64)
const COLLECTOR_VERSION = values['collector-version']!
if (!/^v\d+\.\d+\.\d+$/.test(COLLECTOR_VERSION)) throw new Error('--collector-version: vX.Y.Z')
const SPANS_PER_REQUEST = 1000
const TEMPLATES = 32
const WARMUP_SECONDS = 3
const REQUEST_TIMEOUT_MS = 30_000
const ADMIN_KEY = 'peer-benchmark-admin-key-0001'
const COLLECTOR_TOPIC = 'otelcol.peer.spans'

const repoRoot = join(import.meta.dirname, '..')
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
const loadAverage = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')
const median = (xs: readonly number[]) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

// ---------------------------------------------------------------- the Collector binary

/** The Go toolchain: /usr/local/go's, else the one on PATH (needed only to build). */
function goBinary(): string {
  if (existsSync('/usr/local/go/bin/go')) return '/usr/local/go/bin/go'
  return execFileSync('sh', ['-c', 'command -v go'], { encoding: 'utf8' }).trim()
}

/** Builds the Collector with ocb unless the cached binary exists; returns its path. */
function collectorBinary(): string {
  const cacheDir = join(homedir(), '.cache/spansift', `otelcol-peer-${COLLECTOR_VERSION}`)
  const binary = join(cacheDir, 'otelcol-peer')
  if (existsSync(binary)) return binary
  const GO = goBinary()
  mkdirSync(cacheDir, { recursive: true })
  const gobin = join(homedir(), '.cache/spansift', 'bin')
  const builder = join(gobin, `builder-${COLLECTOR_VERSION}`)
  if (!existsSync(builder)) {
    console.log(`installing the Collector Builder ${COLLECTOR_VERSION} (go install)…`)
    const installDir = mkdtempSync(join(tmpdir(), 'ocb-install-'))
    execFileSync(GO, ['install', `go.opentelemetry.io/collector/cmd/builder@${COLLECTOR_VERSION}`], {
      env: { ...process.env, GOBIN: installDir },
      stdio: 'inherit',
      timeout: 10 * 60_000,
    })
    mkdirSync(gobin, { recursive: true })
    writeFileSync(builder, readFileSync(join(installDir, 'builder')), { mode: 0o755 })
    rmSync(installDir, { recursive: true, force: true })
  }
  // The manifest pins the components to the Collector version; output_path is this cache.
  const manifest = readFileSync(join(repoRoot, 'load-tests/collector/builder-config.yaml'), 'utf8')
    .replaceAll(/v0\.\d+\.\d+$/gm, COLLECTOR_VERSION)
    .replace(/^dist:$/m, `dist:\n  output_path: ${cacheDir}`)
  const manifestPath = join(cacheDir, 'builder-config.yaml')
  writeFileSync(manifestPath, manifest)
  console.log(
    `building the Collector ${COLLECTOR_VERSION} with ocb into ${cacheDir} (takes minutes the first time)…`,
  )
  execFileSync(builder, ['--config', manifestPath], {
    // ocb runs `go` itself: the one found above.
    env: { ...process.env, PATH: `${dirname(GO)}:${process.env.PATH ?? ''}` },
    stdio: 'inherit',
    timeout: 20 * 60_000,
  })
  if (!existsSync(binary)) throw new Error(`ocb finished but ${binary} is missing`)
  return binary
}

function collectorConfig(otlpPort: number, brokers: string): string {
  return `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${otlpPort}
exporters:
  kafka:
    brokers: [${brokers}]
    traces:
      topic: ${COLLECTOR_TOPIC}
      encoding: otlp_proto
    partition_traces_by_id: true
    producer:
      required_acks: -1
    sending_queue:
      enabled: false
service:
  telemetry:
    logs:
      level: warn
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [kafka]
`
}

// ---------------------------------------------------------------- the load

const nowNano = BigInt(Date.now()) * 1_000_000n
const bodies = Array.from({ length: TEMPLATES }, (_, i) =>
  Buffer.from(
    buildGenAiRequest(SPANS_PER_REQUEST, { seed: i + 1, startTimeUnixNano: nowNano - 60_000_000_000n })
      .protobuf,
  ),
)

interface Target {
  name: string
  url: string
  pid: number
  headers: Record<string, string>
}

interface Round {
  spansPerSecond: number
  cpuPer100k: number
  /** The broker's CPU-seconds per 100k spans in the same round (its work on this target's behalf). */
  brokerCpuPer100k: number
  cpuPercent: number
  answers: Record<string, number>
}

/** `CLIENTS` closed-loop exporters against one target for `seconds`. */
async function load(target: Target, seconds: number, brokerPid: number | undefined): Promise<Round> {
  let acked = 0
  let sent = 0
  const answers: Record<string, number> = {}
  const cpuBefore = cpuSeconds(target.pid)
  const brokerBefore = brokerPid === undefined ? Number.NaN : cpuSeconds(brokerPid)
  const started = performance.now()
  const deadline = started + seconds * 1000
  const maxRequests = seconds * 1000 // bound: 1,000 requests/s of 1,000 spans is far past either target
  const poster = createHttpPoster(target.url, {
    headers: target.headers,
    maxSockets: CLIENTS,
    timeoutMs: REQUEST_TIMEOUT_MS,
  })
  async function client(offset: number): Promise<void> {
    for (let i = offset; performance.now() < deadline && sent < maxRequests; i += CLIENTS) {
      sent++
      try {
        const status = await poster.post(bodies[i % bodies.length]!)
        answers[status] = (answers[status] ?? 0) + 1
        if (status === 200) acked += SPANS_PER_REQUEST
        else await sleep(50)
      } catch {
        answers.error = (answers.error ?? 0) + 1
        await sleep(50)
      }
    }
  }
  await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)))
  poster.close()
  const elapsed = (performance.now() - started) / 1000
  const cpu = cpuSeconds(target.pid) - cpuBefore
  const brokerCpu = brokerPid === undefined ? Number.NaN : cpuSeconds(brokerPid) - brokerBefore
  return {
    spansPerSecond: acked / elapsed,
    cpuPer100k: acked > 0 ? (cpu / acked) * 100_000 : Number.NaN,
    brokerCpuPer100k: acked > 0 ? (brokerCpu / acked) * 100_000 : Number.NaN,
    cpuPercent: (cpu / elapsed) * 100,
    answers,
  }
}

// ---------------------------------------------------------------- the run

const cleanups: Array<() => Promise<unknown>> = []
async function cleanup(): Promise<void> {
  for (const step of cleanups.splice(0).reverse()) {
    try {
      await step()
    } catch (error) {
      console.error('cleanup step failed:', error)
    }
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void cleanup().finally(() => process.exit(130)))
}

let exitCode = 0
try {
  console.log(`machine: ${machineDescription()}`)
  console.log(`load average at start (1/5/15 min): ${loadAverage()}`)
  const binary = collectorBinary()

  let brokers = values.brokers
  if (!brokers) {
    const broker = await startOwnBroker()
    cleanups.push(() => broker.destroy())
    brokers = broker.brokers
  }
  const admin = new Admin({ clientId: 'peer-benchmark', bootstrapBrokers: [brokers] })
  cleanups.push(() => admin.close())
  await admin.createTopics({ topics: [COLLECTOR_TOPIC], partitions: PARTITIONS, replicas: 1 })

  // spansift: the API role migrates, creates its topics and an application key, then stops.
  const clickhouseDir = mkdtempSync(join(tmpdir(), 'spansift-peer-bench-ch-'))
  cleanups.push(async () => rmSync(clickhouseDir, { recursive: true, force: true }))
  const clickhouse = await startClickHouseProcess(clickhouseDir)
  cleanups.push(() => clickhouse.process.stop(30_000))
  const baseEnv = {
    SPANSIFT_KAFKA_BROKERS: brokers,
    SPANSIFT_CLICKHOUSE_URL: `${clickhouse.url}/spansift`,
    SPANSIFT_ADMIN_KEY: ADMIN_KEY,
    SPANSIFT_KAFKA_PARTITIONS: String(PARTITIONS),
    SPANSIFT_LOG_LEVEL: 'warn',
  }
  async function spawnRole(role: string, extra: Record<string, string>): Promise<TestProcess> {
    const p = await startSpansiftProcess([role], { ...baseEnv, SPANSIFT_LOG_LEVEL: 'info', ...extra })
    cleanups.push(() => p.stop(15_000))
    return p
  }
  const apiPort = await freePort()
  const api = await spawnRole('api', { SPANSIFT_API_PORT: String(apiPort) })
  const apiUrl = `http://127.0.0.1:${apiPort}`
  const { key } = await createApplicationWithKey(apiUrl, ADMIN_KEY, 'peer-bench')
  await api.stop(15_000)

  const receiverPort = await freePort()
  const receiver = await spawnRole('receiver', {
    // To profile the receiver under the load (see the header).
    ...(process.env.BENCH_SERVER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_SERVER_NODE_OPTIONS } : {}),
    SPANSIFT_OTLP_HTTP_PORT: String(receiverPort),
    SPANSIFT_OTLP_GRPC_PORT: '0',
  })

  // The Collector.
  const collectorPort = await freePort()
  const configDir = mkdtempSync(join(tmpdir(), 'otelcol-peer-'))
  cleanups.push(async () => rmSync(configDir, { recursive: true, force: true }))
  writeFileSync(join(configDir, 'config.yaml'), collectorConfig(collectorPort, brokers))
  const collector = spawn(binary, ['--config', join(configDir, 'config.yaml')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  const collectorExited = new Promise((r) => collector.once('exit', r))
  cleanups.push(async () => {
    if (collector.exitCode !== null) return
    collector.kill('SIGTERM')
    const timer = setTimeout(() => collector.kill('SIGKILL'), 15_000)
    await collectorExited
    clearTimeout(timer)
  })
  const collectorUrl = `http://127.0.0.1:${collectorPort}/v1/traces`
  for (let i = 0; ; i++) {
    if (collector.exitCode !== null) throw new Error(`the Collector exited with ${collector.exitCode}`)
    try {
      const r = await fetch(collectorUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: new Uint8Array(0),
      })
      if (r.ok) break
    } catch {}
    if (i > 300) throw new Error('the Collector did not answer within 30 s')
    await sleep(100)
  }

  const protobuf = { 'content-type': 'application/x-protobuf' }
  const targets: Target[] = [
    { name: 'collector', url: collectorUrl, pid: collector.pid!, headers: protobuf },
    {
      name: 'spansift',
      url: `http://127.0.0.1:${receiverPort}/v1/traces`,
      pid: receiver.child.pid!,
      headers: { ...protobuf, authorization: `Bearer ${key}` },
    },
  ]
  const request = bodies[0]!.byteLength
  console.log(
    `targets up: Collector ${COLLECTOR_VERSION} pid ${collector.pid}, spansift receiver pid ${receiver.child.pid}; broker ${brokers}, ${PARTITIONS} partitions each`,
  )
  console.log(
    `load: ${CLIENTS} closed-loop clients, OTLP/HTTP protobuf, ${SPANS_PER_REQUEST} GenAI spans/request (${(request / 1024).toFixed(0)} KiB), ${ROUNDS} interleaved rounds of ${SECONDS} s`,
  )
  // The broker's CPU is printed beside each round (its own broker only: `--brokers` may be shared).
  const brokerPid = values.brokers ? undefined : findBrokerPid(brokers)
  for (const target of targets) await load(target, WARMUP_SECONDS, brokerPid)

  const results = new Map<string, Round[]>(targets.map((t) => [t.name, []]))
  console.log('')
  console.log(
    '| round | target | spans/s acknowledged | CPU-s / 100k spans | CPU % of one core | broker CPU-s / 100k spans | answers | CPU contention |',
  )
  console.log('|---|---|---|---|---|---|---|---|')
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 === 1 ? targets : [...targets].reverse()
    for (const target of order) {
      const r = await load(target, SECONDS, brokerPid)
      results.get(target.name)!.push(r)
      console.log(
        `| ${round} | ${target.name} | ${fmt(r.spansPerSecond)} | ${r.cpuPer100k.toFixed(2)} | ${r.cpuPercent.toFixed(0)} | ${r.brokerCpuPer100k.toFixed(2)} | ${JSON.stringify(r.answers)} | ${cpuContention()} |`,
      )
    }
  }
  const c = results.get('collector')!
  const s = results.get('spansift')!
  const rate = (rs: Round[]) => median(rs.map((r) => r.spansPerSecond))
  const cpu = (rs: Round[]) => median(rs.map((r) => r.cpuPer100k))
  const brokerCpu = (rs: Round[]) => median(rs.map((r) => r.brokerCpuPer100k))
  console.log('')
  console.log(
    `median: Collector ${fmt(rate(c))} spans/s, ${cpu(c).toFixed(2)} CPU-s/100k (broker ${brokerCpu(c).toFixed(2)}); spansift ${fmt(rate(s))} spans/s, ${cpu(s).toFixed(2)} CPU-s/100k (broker ${brokerCpu(s).toFixed(2)})`,
  )
  const perRound = s.map((r, i) => `${(r.spansPerSecond / c[i]!.spansPerSecond).toFixed(2)}×`)
  const cpuPerRound = s.map((r, i) => `${(r.cpuPer100k / c[i]!.cpuPer100k).toFixed(2)}×`)
  console.log(
    `ratio spansift / Collector: spans/s ${(rate(s) / rate(c)).toFixed(2)}× (per round ${perRound.join(' ')}), CPU per span ${(cpu(s) / cpu(c)).toFixed(2)}× (per round ${cpuPerRound.join(' ')})`,
  )
  console.log(`load average at the end (1/5/15 min): ${loadAverage()}`)
} catch (error) {
  console.error(error)
  exitCode = 1
} finally {
  await cleanup()
}
process.exit(exitCode)
