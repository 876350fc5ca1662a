import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, describe, test } from 'node:test'
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { kafkaTestBrokers } from '@spansift/bus/test-kafka-broker'
import { tableNames } from '@spansift/clickhouse/tables'
import { type RunningSpansift, rangeAroundNow, startSpansift } from './test-harness.ts'
import { startOwnBroker, type TestBroker } from './test-kafka-broker.ts'
import { uncommittedMessages } from './test-kafka-lag.ts'
import { otlpJsonExport, randomHexId } from './test-otlp.ts'

// receiver → Kafka (the real broker) → span writer → ClickHouse, in one process with
// every role, or against a broker the test stops and restarts.

const hex = randomHexId

const jsonExport = (spans: Array<{ traceId: string; spanId: string }>) => otlpJsonExport(spans, 'load')

/**
 * The spans stored (distinct) and the copies of each: with merges stopped and no FINAL,
 * every insert of a span is a row of its own.
 */
async function storedSpanIds(
  s: RunningSpansift,
): Promise<{ distinct: number; rows: number; ids: Set<string>; doubled: number; most: number }> {
  const { spans } = tableNames(s.spansift.storage().runner.database)
  const rows = await s.spansift
    .storage()
    .runner.select<{ span_id: string; copies: string }>(
      'test',
      `SELECT span_id, count() AS copies FROM ${spans} GROUP BY application_id, trace_id, span_id`,
    )
  const ids = new Set(rows.map((r) => r.span_id))
  const copies = rows.map((r) => Number(r.copies))
  return {
    distinct: ids.size,
    rows: copies.reduce((sum, n) => sum + n, 0),
    ids,
    doubled: copies.filter((n) => n > 1).length,
    most: Math.max(0, ...copies),
  }
}

describe('the Kafka wiring', () => {
  let s: RunningSpansift | undefined
  after(async () => {
    await s?.stop()
  })

  test('official exporter → receiver → Kafka → span writer → ClickHouse → API', async () => {
    const topic = `it.spans.${randomUUID().slice(0, 8)}`
    s = await startSpansift({ SPANSIFT_KAFKA_BROKERS: kafkaTestBrokers().join(',') }, { kafkaTopic: topic })
    const app = await s.createApplication('kafka-e2e')
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'kafka-e2e' }),
      spanProcessors: [
        new SimpleSpanProcessor({
          exporter: new ProtoExporter({ url: s.otlpUrl, headers: { authorization: `Bearer ${app.key}` } }),
        }),
      ],
    })
    const span = provider.getTracer('t').startSpan('chat')
    span.setAttribute('gen_ai.request.model', 'gpt-4o')
    const traceId = span.spanContext().traceId
    span.end()
    await provider.forceFlush()
    await provider.shutdown()
    // The export was acknowledged once Kafka had it; the span writer stores it shortly after.
    const deadline = Date.now() + 30_000
    let read = await s.api('GET', `/v1/traces/${traceId}?${rangeAroundNow()}`, app.key)
    while (read.status === 404 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100))
      read = await s.api('GET', `/v1/traces/${traceId}?${rangeAroundNow()}`, app.key)
    }
    assert.equal(read.status, 200)
    assert.equal(read.body.spans[0].attributes['gen_ai.request.model'], 'gpt-4o')
    assert.equal(read.body.spans[0].application_id, app.id)
  })
})

describe('broker stopped and restarted during a steady load', () => {
  let broker: TestBroker | undefined
  let s: RunningSpansift | undefined
  after(async () => {
    await s?.stop()
    await broker?.destroy()
  })

  test('every acknowledged span is stored exactly once; exports while it was down were answered retryable', async (t) => {
    broker = await startOwnBroker()
    s = await startSpansift({ SPANSIFT_KAFKA_BROKERS: broker.brokers })
    await s.spansift
      .storage()
      .runner.command('test', `SYSTEM STOP MERGES ${tableNames(s.spansift.storage().runner.database).spans}`)
    const app = await s.createApplication('broker-restart')
    const acknowledged = new Set<string>()
    const answers = new Map<number, number>()
    let stopping = false
    const load = (async () => {
      // Bounded: at most 60 s or 5,000 exports.
      const deadline = Date.now() + 60_000
      for (let i = 0; i < 5_000 && !stopping && Date.now() < deadline; i++) {
        const spans = Array.from({ length: 10 }, () => ({ traceId: hex(16), spanId: hex(8) }))
        try {
          const response = await fetch(s!.otlpUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${app.key}` },
            body: jsonExport(spans),
            signal: AbortSignal.timeout(20_000),
          })
          await response.arrayBuffer()
          answers.set(response.status, (answers.get(response.status) ?? 0) + 1)
          if (response.status === 200) for (const sp of spans) acknowledged.add(sp.spanId)
          else {
            assert.ok([429, 503].includes(response.status), `unexpected status ${response.status}`)
            assert.ok(Number(response.headers.get('retry-after')) >= 1)
          }
        } catch (error) {
          answers.set(0, (answers.get(0) ?? 0) + 1) // no answer at all: nothing acknowledged
          if (!(error instanceof Error)) throw error
        }
        await new Promise((r) => setTimeout(r, 20))
      }
    })()
    await new Promise((r) => setTimeout(r, 3_000))
    const before = acknowledged.size
    // What the span writer may store again: its uncommitted messages when the broker went
    // down (read just before, and just after, when nothing could be committed meanwhile).
    const window = () => uncommittedMessages(broker!.brokers, 'spansift.spans', 'spansift-span-writer')
    const windowBefore = await window()
    await broker.stop()
    // Longer than the client's own retries last, so the consumers' streams fail and are rebuilt.
    await new Promise((r) => setTimeout(r, 12_000))
    await broker.start()
    const redelivery = windowBefore + (await window())
    await new Promise((r) => setTimeout(r, 6_000))
    stopping = true
    await load

    t.diagnostic(
      `answers by status: ${JSON.stringify(Object.fromEntries(answers))}; acknowledged spans: ${acknowledged.size}`,
    )
    assert.ok(before > 0, 'exports were acknowledged before the outage')
    assert.ok(
      (answers.get(503) ?? 0) + (answers.get(429) ?? 0) > 0,
      `no retryable answer: ${JSON.stringify([...answers])}`,
    )
    assert.ok(acknowledged.size > before, 'exports were acknowledged again after the broker came back')

    const deadline = Date.now() + 60_000
    let stored = await storedSpanIds(s)
    while ([...acknowledged].some((id) => !stored.ids.has(id)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250))
      stored = await storedSpanIds(s)
    }
    const missing = [...acknowledged].filter((id) => !stored.ids.has(id))
    assert.deepEqual(missing, [], `${missing.length} acknowledged spans are not stored`)
    t.diagnostic(`${stored.doubled} spans stored twice; redelivery window ${redelivery}`)
    assert.ok(stored.most <= 2, `a span is stored ${stored.most} times`)
    assert.ok(
      stored.doubled <= redelivery,
      `${stored.doubled} spans stored twice, more than the ${redelivery} messages uncommitted around the outage`,
    )
  })
})
