import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { kafkaTestBrokers } from '@spansift/bus/test-kafka-broker'
import { tableNames } from '@spansift/clickhouse/tables'
import { type RunningSpansift, startSpansift } from './test-harness.ts'
import { otlpJsonExport, randomHexId } from './test-otlp.ts'

// A known load through the real pipeline, then the ops server's view of it.
let s: RunningSpansift
let app: { id: string; key: string }

before(async () => {
  s = await startSpansift()
  app = await s.createApplication('metrics')
})
after(async () => {
  await s.stop()
})

/** An OTLP/JSON export of `count` spans, the first `badIds` of them with a 15-byte trace id. */
function exportOf(count: number, badIds = 0): string {
  return otlpJsonExport(
    Array.from({ length: count }, (_, i) => ({
      traceId: randomHexId(i < badIds ? 15 : 16),
      spanId: randomHexId(8),
    })),
  )
}

async function send(body: string, key: string, target: RunningSpansift = s): Promise<number> {
  const response = await fetch(target.otlpUrl, {
    method: 'POST',
    body,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
  })
  await response.arrayBuffer()
  return response.status
}

/** Parses the Prometheus text format into `name{labels}` → value (labels as printed). */
async function scrape(target: RunningSpansift = s): Promise<Map<string, number>> {
  const response = await fetch(`${target.metricsUrl}/metrics`)
  assert.equal(response.status, 200)
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain/)
  const samples = new Map<string, number>()
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    samples.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return samples
}

test('/metrics counts a known load; /healthz and /readyz answer', async () => {
  assert.equal(await send(exportOf(10), app.key), 200)
  assert.equal(await send(exportOf(10, 2), app.key), 200) // partial success
  assert.equal(await send(exportOf(10), app.key), 200)
  assert.equal(await send(exportOf(10), 'ssk_not-a-key'), 401)

  const m = await scrape()
  assert.equal(m.get('spansift_spans_received_total{transport="http"}'), 30)
  assert.equal(m.get('spansift_spans_accepted_total{transport="http"}'), 28)
  assert.equal(m.get('spansift_spans_rejected_total{transport="http",reason="invalid"}'), 2)
  assert.equal(m.get('spansift_export_duration_seconds_count{transport="http",outcome="accepted"}'), 2)
  assert.equal(m.get('spansift_export_duration_seconds_count{transport="http",outcome="partial"}'), 1)
  assert.equal(m.get('spansift_export_duration_seconds_count{transport="http",outcome="unauthenticated"}'), 1)
  assert.ok((m.get('spansift_span_writer_rows_written_total') ?? 0) >= 28)
  assert.ok((m.get('spansift_span_writer_batch_duration_seconds_count{outcome="ok"}') ?? 0) >= 1)
  assert.equal(m.get('spansift_span_writer_queue_spans'), 0)
  assert.equal(m.get('spansift_bus_in_flight_spans'), 0)
  // Process metrics (collectDefaultMetrics).
  assert.ok((m.get('spansift_process_resident_memory_bytes') ?? 0) > 0)
  assert.ok(m.has('spansift_nodejs_eventloop_lag_p99_seconds'))
  // No per-trace or per-application labels.
  for (const name of m.keys()) assert.doesNotMatch(name, /trace_id|application/)

  const health = await fetch(`${s.metricsUrl}/healthz`)
  assert.equal(health.status, 200)
  assert.deepEqual(await health.json(), { status: 'ok' })
  const ready = await fetch(`${s.metricsUrl}/readyz`)
  assert.equal(ready.status, 200)
  assert.deepEqual(await ready.json(), {
    status: 'ready',
    checks: { clickhouse: 'up', bus: 'up', consumers: 'up' },
  })
})

test('a failed insert is counted as unavailable spans and a failed batch', async () => {
  const storage = s.spansift.storage()
  const { spans } = tableNames(storage.runner.database)
  await storage.runner.command('test', `RENAME TABLE ${spans} TO ${spans}_away`)
  try {
    assert.equal(await send(exportOf(5), app.key), 503)
  } finally {
    await storage.runner.command('test', `RENAME TABLE ${spans}_away TO ${spans}`)
  }
  const m = await scrape()
  assert.equal(m.get('spansift_spans_rejected_total{transport="http",reason="unavailable"}'), 5)
  assert.equal(m.get('spansift_export_duration_seconds_count{transport="http",outcome="unavailable"}'), 1)
  assert.ok((m.get('spansift_span_writer_batch_duration_seconds_count{outcome="failed"}') ?? 0) >= 1)
  // The table was away, but ClickHouse answered: readiness is about reachability.
  assert.equal((await fetch(`${s.metricsUrl}/readyz`)).status, 200)
})

test('/readyz answers 503 naming ClickHouse once it cannot be reached', async () => {
  await s.spansift.storage().close()
  const ready = await fetch(`${s.metricsUrl}/readyz`)
  assert.equal(ready.status, 503)
  assert.deepEqual(await ready.json(), {
    status: 'not ready',
    checks: { clickhouse: 'down', bus: 'up', consumers: 'up' },
  })
  // The process itself is still up.
  assert.equal((await fetch(`${s.metricsUrl}/healthz`)).status, 200)
})

test('with the Kafka bus: consumed, committed, in-flight bytes; /readyz asks the broker', async () => {
  const topic = `it.metrics.${randomUUID().slice(0, 8)}`
  const k = await startSpansift(
    { SPANSIFT_KAFKA_BROKERS: kafkaTestBrokers().join(',') },
    { kafkaTopic: topic },
  )
  try {
    const kafkaApp = await k.createApplication('metrics-kafka')
    assert.equal(await send(exportOf(10), kafkaApp.key, k), 200)
    const group = 'spansift-span-writer'
    let m = await scrape(k)
    for (let waited = 0; (m.get('spansift_span_writer_rows_written_total') ?? 0) < 10; waited += 100) {
      if (waited > 30_000) assert.fail('the span writer did not store the spans')
      await new Promise((r) => setTimeout(r, 100))
      m = await scrape(k)
    }
    // One message per trace: every span here is its own trace.
    assert.equal(m.get('spansift_kafka_messages_produced_total'), 10)
    assert.equal(m.get(`spansift_kafka_messages_consumed_total{group="${group}"}`), 10)
    assert.equal(m.get('spansift_bus_in_flight_bytes'), 0)
    for (let waited = 0; !m.get(`spansift_kafka_batches_committed_total{group="${group}"}`); waited += 100) {
      if (waited > 10_000) assert.fail('no batch was committed')
      await new Promise((r) => setTimeout(r, 100))
      m = await scrape(k)
    }
    assert.equal(m.get(`spansift_kafka_consumer_stalled{group="${group}"}`) ?? 0, 0)
    const ready = await fetch(`${k.metricsUrl}/readyz`)
    assert.equal(ready.status, 200)
    assert.deepEqual(await ready.json(), {
      status: 'ready',
      checks: { clickhouse: 'up', bus: 'up', consumers: 'up' },
    })
  } finally {
    await k.stop()
  }
})
