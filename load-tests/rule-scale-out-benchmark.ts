/**
 * Rule workers scaling out: spans per second through N rule-worker processes (one
 * consumer group, a real Kafka broker, ClickHouse over HTTP), for N = 1 and N = 3.
 *
 * Each run starts from a backlog: the spans are on the `spansift.spans` topic before the
 * workers start, so the figure is the workers' own drain rate, not the load generator's.
 * Two rule sets: `evaluate` (ten selective rules that match almost nothing: the cost of
 * consuming, decoding and evaluating) and `append` (one rule that matches every span: the
 * whole append path, through `spansift.dataset-appends` to the dataset appender and
 * ClickHouse).
 *
 *   node --conditions=spansift-test load-tests/rule-scale-out-benchmark.ts [--spans=30000] [--workers=1,3] [--modes=evaluate,append]
 *
 * Bounded: at most 200,000 spans a run, and each run gives up after 300 s.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startOwnBroker } from '@spansift/cli/test-kafka-broker'
import { startClickHouseProcess, startSpansiftProcess, type TestProcess } from '@spansift/cli/test-processes'
import { openStorage } from '@spansift/clickhouse/storage'
import { tableNames } from '@spansift/clickhouse/tables'
import { silentLogger } from '@spansift/core/logger'
import { createApplicationWithKey, freePort, machineDescription } from './bench-util.ts'
import { buildGenAiRequest } from './genai-payload.ts'

const ADMIN_KEY = 'rule-scale-out-benchmark-admin-key'
const PARTITIONS = 6
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]
const SPANS = Math.min(200_000, Number(arg('spans') ?? 30_000))
const WORKER_COUNTS = (arg('workers') ?? '1,3').split(',').map(Number)
const SPANS_PER_EXPORT = 500
const RUN_TIMEOUT_MS = 300_000

const SELECTIVE_RULES = (app: string, dataset: string) =>
  `rules:\n${Array.from(
    { length: 10 },
    (_, i) => `  - id: selective-${i}
    application: ${app}
    dataset: ${dataset}
    when: { any: [ { field: model, equals: claude-${i} }, { field: span.duration_ms, gt: ${600_000 + i} } ] }
    mapping: { inputs: { question: input }, expected_outputs: { answer: output } }
`,
  ).join('')}`

/** Every span, errors included (the payload has some), so the dataset ends with exactly the backlog. */
const EVERY_SPAN_RULE = (app: string, dataset: string) => `rules:
  - id: every-span
    application: ${app}
    dataset: ${dataset}
    include_errors: true
    mapping: { inputs: { question: input }, expected_outputs: { answer: output }, metadata: { model: model } }
    redact: { detectors: [all] }
`

async function metricSum(urls: string[], name: string): Promise<number> {
  let sum = 0
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text().catch(() => '')
    for (const line of text.split('\n')) if (line.startsWith(`${name} `)) sum += Number(line.split(' ')[1])
  }
  return sum
}

async function run(mode: 'evaluate' | 'append', workers: number): Promise<{ rate: number; seconds: number }> {
  // Evaluating is fast, appending is ClickHouse-bound: the evaluate backlog is larger.
  const total = mode === 'evaluate' ? Math.min(200_000, SPANS * 4) : SPANS
  const cleanups: Array<() => Promise<unknown>> = []
  try {
    const broker = await startOwnBroker()
    cleanups.push(() => broker.destroy())
    const clickhouseDir = mkdtempSync(join(tmpdir(), 'spansift-rule-bench-ch-'))
    const rulesDir = mkdtempSync(join(tmpdir(), 'spansift-rule-bench-rules-'))
    cleanups.push(async () => rmSync(clickhouseDir, { recursive: true, force: true }))
    cleanups.push(async () => rmSync(rulesDir, { recursive: true, force: true }))
    const clickhouse = await startClickHouseProcess(clickhouseDir)
    cleanups.push(() => clickhouse.process.stop(30_000))
    const otlpPort = await freePort()
    const apiPort = await freePort()
    const env = {
      SPANSIFT_KAFKA_BROKERS: broker.brokers,
      SPANSIFT_CLICKHOUSE_URL: `${clickhouse.url}/spansift`,
      SPANSIFT_ADMIN_KEY: ADMIN_KEY,
      SPANSIFT_KAFKA_PARTITIONS: String(PARTITIONS),
      SPANSIFT_OTLP_HTTP_PORT: String(otlpPort),
      SPANSIFT_OTLP_GRPC_PORT: '0',
      SPANSIFT_API_PORT: String(apiPort),
      SPANSIFT_RULES_DIR: rulesDir,
      SPANSIFT_LOG_LEVEL: 'warn',
    }
    const spawn = async (roles: string[], extra: Record<string, string> = {}): Promise<TestProcess> => {
      const p = await startSpansiftProcess(roles, { ...env, ...extra, SPANSIFT_LOG_LEVEL: 'info' })
      cleanups.push(() => p.stop(15_000))
      return p
    }
    await spawn(['receiver', 'api'])
    const api = `http://127.0.0.1:${apiPort}`
    const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }
    const { applicationId, key } = await createApplicationWithKey(api, ADMIN_KEY, 'bench')
    const dataset = (await (
      await fetch(`${api}/v1/datasets`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name: 'bench', application_id: applicationId, kind: 'training' }),
      })
    ).json()) as { id: string }
    writeFileSync(
      join(rulesDir, 'bench.yaml'),
      (mode === 'append' ? EVERY_SPAN_RULE : SELECTIVE_RULES)(applicationId, dataset.id),
    )

    // The backlog, before any worker runs.
    for (let sent = 0, seed = 1; sent < total; sent += SPANS_PER_EXPORT, seed++) {
      const body = buildGenAiRequest(SPANS_PER_EXPORT, {
        seed,
        startTimeUnixNano: BigInt(Date.now() - 60_000) * 1_000_000n,
      }).protobuf
      const response = await fetch(`http://127.0.0.1:${otlpPort}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${key}` },
        body,
      })
      if (!response.ok) throw new Error(`export refused: ${response.status}`)
    }

    const ports = await Promise.all(Array.from({ length: workers }, () => freePort()))
    const metricsUrls = ports.map((port) => `http://127.0.0.1:${port}`)
    const storage = await openStorage({
      url: env.SPANSIFT_CLICKHOUSE_URL,
      dataDir: '',
      logger: silentLogger,
      migrate: false,
      spanRetentionDays: 30,
    })
    cleanups.push(() => storage.close())
    const { datasetItems } = tableNames(storage.runner.database)
    const handled = async () =>
      mode === 'append'
        ? Number(
            (
              await storage.runner.select<{ n: string }>('bench', `SELECT count() AS n FROM ${datasetItems}`)
            )[0]?.n ?? 0,
          )
        : (await metricSum(metricsUrls, 'spansift_rule_evaluations_total')) / 10
    // The workers start together; timing runs from the moment a tenth of the backlog is
    // handled, so joining the group and the first fetches are not counted as throughput.
    const started = performance.now()
    await Promise.all(ports.map((port) => spawn(['rule-worker'], { SPANSIFT_METRICS_PORT: String(port) })))
    const deadline = Date.now() + RUN_TIMEOUT_MS
    let tenth: { at: number; done: number } | undefined
    for (;;) {
      const done = await handled()
      if (tenth === undefined && done >= total / 10) tenth = { at: performance.now(), done }
      if (done >= total) break
      if (Date.now() > deadline)
        throw new Error(
          `${mode} with ${workers} workers: ${done} of ${total} after ${RUN_TIMEOUT_MS / 1000} s`,
        )
      await new Promise((r) => setTimeout(r, 100))
    }
    const end = performance.now()
    if (!tenth || end - tenth.at < 1_000)
      throw new Error(`${mode}: the backlog of ${total} drained too fast to time; raise --spans`)
    return { rate: (total - tenth.done) / ((end - tenth.at) / 1000), seconds: (end - started) / 1000 }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
  }
}

console.log(`rule scale-out benchmark — ${machineDescription()}`)
console.log(
  `GenAI spans backlogged on ${PARTITIONS} partitions (evaluate: ${Math.min(200_000, SPANS * 4)}, append: ${SPANS}); rate over the last nine tenths of the backlog`,
)
const MODES = (arg('modes') ?? 'evaluate,append').split(',') as Array<'evaluate' | 'append'>
for (const mode of MODES) {
  for (const workers of WORKER_COUNTS) {
    const { rate, seconds } = await run(mode, workers)
    console.log(
      `${mode.padEnd(8)} ${workers} rule worker${workers === 1 ? ' ' : 's'}: ${Math.round(rate).toLocaleString('en')} spans/s (${seconds.toFixed(1)} s in all from the first worker's start)`,
    )
  }
}
