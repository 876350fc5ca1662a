import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { openStorage } from '@spansift/clickhouse/storage'
import { tableNames } from '@spansift/clickhouse/tables'
import { silentLogger } from '@spansift/core/logger'
import { freePort, otlpJsonExport, randomHexId } from './test-otlp.ts'
import { startSpansiftProcess, type TestProcess } from './test-processes.ts'

// `spansift start` (embedded, every role) as its own process, stopped with SIGTERM while
// exporters are sending: it exits 0 in bounded time, every export is answered 200 or
// something an exporter retries, and after a restart on the same data directory every
// acknowledged span is there, once.

const ADMIN_KEY = 'shutdown-admin-key-0123456789'
const SHUTDOWN_BOUND_MS = 30_000
const RETRYABLE = new Set([429, 503])
const hex = randomHexId
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

let dataDir: string
let env: Record<string, string>
let apiUrl: string
let otlpUrl: string
const processes: TestProcess[] = []

async function spawn(): Promise<TestProcess> {
  const p = await startSpansiftProcess([], env)
  processes.push(p)
  return p
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'spansift-shutdown-'))
  const [otlpHttp, otlpGrpc, api] = [await freePort(), await freePort(), await freePort()]
  env = {
    SPANSIFT_DATA_DIR: dataDir,
    SPANSIFT_ADMIN_KEY: ADMIN_KEY,
    SPANSIFT_OTLP_HTTP_PORT: String(otlpHttp),
    SPANSIFT_OTLP_GRPC_PORT: String(otlpGrpc),
    SPANSIFT_API_PORT: String(api),
    SPANSIFT_METRICS_PORT: '0',
  }
  apiUrl = `http://127.0.0.1:${api}`
  otlpUrl = `http://127.0.0.1:${otlpHttp}/v1/traces`
})

after(async () => {
  for (const p of processes.reverse()) await p.stop(10_000)
  rmSync(dataDir, { recursive: true, force: true })
})

/** One export's outcome: its status (or `error` when the connection failed), and whether it was sent after SIGTERM. */
interface Outcome {
  status: number | 'error'
  afterSigterm: boolean
}

/**
 * Four concurrent exporters, each sending one trace of 10 fresh spans at a time until
 * `stop()`. Bounded: 120 s, 5,000 exports each.
 */
function startLoad(key: string, sigtermSent: () => boolean) {
  const acknowledged = new Map<string, string[]>() // trace id → span ids
  const outcomes: Outcome[] = []
  let stopping = false
  const exporter = async () => {
    const deadline = Date.now() + 120_000
    for (let i = 0; i < 5_000 && !stopping && Date.now() < deadline; i++) {
      const traceId = hex(16)
      const spanIds = Array.from({ length: 10 }, () => hex(8))
      const body = otlpJsonExport(
        spanIds.map((spanId) => ({ traceId, spanId })),
        'load',
      )
      const afterSigterm = sigtermSent()
      try {
        const response = await fetch(otlpUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body,
          signal: AbortSignal.timeout(20_000),
        })
        await response.arrayBuffer()
        outcomes.push({ status: response.status, afterSigterm })
        if (response.status === 200) acknowledged.set(traceId, spanIds)
      } catch {
        outcomes.push({ status: 'error', afterSigterm })
        await sleep(50) // the server is gone or going: do not spin
      }
      await sleep(5)
    }
  }
  const done = Promise.all([exporter(), exporter(), exporter(), exporter()])
  return {
    acknowledged,
    outcomes,
    async stop() {
      stopping = true
      await done
    },
  }
}

async function adminPost(path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${apiUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  assert.equal(response.status, 201, await response.clone().text())
  return response.json()
}

test('SIGTERM mid-load: exits 0 in bounded time; every acknowledged span is stored exactly once', async (t) => {
  const first = await spawn()
  const application = (await adminPost('/v1/applications', { name: 'shutdown' })) as { id: string }
  const { key } = (await adminPost(`/v1/applications/${application.id}/keys`)) as { key: string }

  let sigtermAt: number | undefined
  const load = startLoad(key, () => sigtermAt !== undefined)
  await sleep(3_000)
  const before = load.acknowledged.size
  assert.ok(
    before > 0,
    `no export was acknowledged before SIGTERM: ${JSON.stringify(load.outcomes.slice(0, 5))}`,
  )

  sigtermAt = Date.now()
  const exit = await first.stop(SHUTDOWN_BOUND_MS + 10_000)
  const shutdownMs = Date.now() - sigtermAt
  t.after(() => load.stop()) // also when an assertion below fails
  assert.equal(exit, 0, `spansift exited with ${exit}:\n${first.output().slice(-3000)}`)
  assert.ok(shutdownMs < SHUTDOWN_BOUND_MS, `shutdown took ${shutdownMs} ms`)
  assert.match(first.output(), /"msg":"stopped"/)

  await sleep(500) // exporters now meet a closed port
  await load.stop()

  // After SIGTERM an export is acknowledged (200, its spans stored) or refused in a way
  // exporters retry: 429/503, or no connection at all. Nothing else, before or after.
  const unexpected = load.outcomes.filter(
    (o) => o.status !== 200 && o.status !== 'error' && !RETRYABLE.has(o.status),
  )
  assert.deepEqual(unexpected, [], 'an export was answered with a status exporters do not retry')
  const afterSigterm = load.outcomes.filter((o) => o.afterSigterm)
  const summary: Record<string, number> = {}
  for (const o of afterSigterm) summary[o.status] = (summary[o.status] ?? 0) + 1
  t.diagnostic(
    `shutdown ${shutdownMs} ms; ${load.outcomes.length} exports, ${load.acknowledged.size} acknowledged; after SIGTERM: ${JSON.stringify(summary)}`,
  )
  assert.ok(
    afterSigterm.length > 0,
    'no export was sent after SIGTERM: the test did not test shutdown mid-load',
  )

  // Restart on the same data directory: the acknowledged traces read back through the API.
  const second = await spawn()
  const range = `start_time=${new Date(Date.now() - 3_600_000).toISOString()}&end_time=${new Date(Date.now() + 3_600_000).toISOString()}`
  // The traces acknowledged last (nearest to SIGTERM) are the ones at risk; read those.
  for (const [traceId, spanIds] of [...load.acknowledged].slice(-20)) {
    const response = await fetch(`${apiUrl}/v1/traces/${traceId}?${range}`, {
      headers: { authorization: `Bearer ${key}` },
    })
    assert.equal(response.status, 200, `trace ${traceId}: ${await response.clone().text()}`)
    const { spans } = (await response.json()) as { spans: { span_id: string }[] }
    assert.deepEqual(spans.map((s) => s.span_id).sort(), [...spanIds].sort(), `trace ${traceId}`)
  }
  assert.equal(await second.stop(SHUTDOWN_BOUND_MS + 10_000), 0, second.output().slice(-3000))

  // Every acknowledged span, from the data directory itself: present, and once (each span
  // id was sent once, so even the rows before merges hold it once).
  const storage = await openStorage({
    url: undefined,
    dataDir,
    logger: silentLogger,
    migrate: false,
    spanRetentionDays: 30,
  })
  try {
    const { spans } = tableNames(storage.runner.database)
    const rows = await storage.runner.select<{ span_id: string; n: string }>(
      'test',
      `SELECT span_id, count() AS n FROM ${spans} GROUP BY span_id`,
    )
    const stored = new Map(rows.map((r) => [r.span_id, Number(r.n)]))
    const acknowledgedSpans = [...load.acknowledged.values()].flat()
    const missing = acknowledgedSpans.filter((id) => !stored.has(id))
    assert.equal(
      missing.length,
      0,
      `${missing.length} of ${acknowledgedSpans.length} acknowledged spans are missing`,
    )
    const doubled = [...stored].filter(([, n]) => n > 1)
    assert.deepEqual(doubled, [], 'a span is stored more than once')
  } finally {
    await storage.close()
  }
})
