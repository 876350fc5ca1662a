import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, describe, test } from 'node:test'
import { Consumer, type Producer, stringDeserializer } from '@platformatic/kafka'
import { createCollectorProducer } from '@spansift/bus/test-collector-producer'
import { kafkaTestBrokers } from '@spansift/bus/test-kafka-broker'
import { DeadLetterHeader } from '@spansift/bus/topics'
import { tableNames } from '@spansift/clickhouse/tables'
import { encodeExportTraceRequestProtobuf } from '@spansift/core/otlp/encode-protobuf'
import { spansToExportRequest } from '@spansift/core/otlp/spans-to-request'
import type { Span } from '@spansift/core/span-model'
import { type RunningSpansift, randomHex, recentSpan, startSpansift } from './test-harness.ts'

// Records a Collector's Kafka exporter writes (otlp_proto, key = trace id, the application
// stamped by its resource processor) reach the span writer without the receiver's checks.

/** One trace as the Collector's Kafka exporter sends it with `partition_traces_by_id`. */
function collectorRecord(topic: string, spans: Span[]) {
  return {
    topic,
    key: Buffer.from(spans[0]!.traceId),
    value: Buffer.from(encodeExportTraceRequestProtobuf(spansToExportRequest(spans))),
  }
}

async function readDeadLetters(topic: string, count: number) {
  const consumer = new Consumer<Buffer, Buffer, string, Buffer>({
    clientId: 'test-dlq-reader',
    groupId: `reader-${randomUUID()}`,
    bootstrapBrokers: kafkaTestBrokers(),
    deserializers: { headerKey: stringDeserializer },
  })
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
  const found: Array<{ key: string; reason: string; group: string }> = []
  const deadline = Date.now() + 30_000
  try {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))
      stream.on('data', (message) => {
        found.push({
          key: message.key.toString(),
          reason: message.headers.get(DeadLetterHeader.reason)?.toString() ?? '',
          group: message.headers.get(DeadLetterHeader.consumerGroup)?.toString() ?? '',
        })
        if (found.length >= count) {
          clearTimeout(timer)
          resolve()
        }
      })
    })
  } finally {
    await stream.close()
    await consumer.close()
  }
  return found
}

async function storedCopies(s: RunningSpansift, spanIds: string[]): Promise<Map<string, number>> {
  const { spans } = tableNames(s.spansift.storage().runner.database)
  const rows = await s.spansift
    .storage()
    .runner.select<{ span_id: string; copies: string }>(
      'test',
      `SELECT span_id, count() AS copies FROM ${spans} WHERE span_id IN {ids:Array(String)} GROUP BY span_id`,
      { ids: spanIds },
    )
  return new Map(rows.map((r) => [r.span_id, Number(r.copies)]))
}

describe('the application stamp of Kafka records', () => {
  let s: RunningSpansift | undefined
  let producer: Producer | undefined
  after(async () => {
    await producer?.close()
    await s?.stop()
  })

  test('a record stamped "support-bot" or an unknown application is dead-lettered with the reason; the good records after it are stored, no stall', async () => {
    const topic = `it.stamp.${randomUUID().slice(0, 8)}`
    s = await startSpansift(
      { SPANSIFT_KAFKA_BROKERS: kafkaTestBrokers().join(','), SPANSIFT_CONSUMER_STALL_SECONDS: '5' },
      { kafkaTopic: topic },
    )
    const app = await s.createApplication('stamped-by-collector')
    const span = (applicationId: string) =>
      recentSpan({ applicationId, traceId: randomHex(16), spanId: randomHex(8) })
    const notUuid = span('support-bot')
    const unknown = span(randomUUID())
    const good = Array.from({ length: 10 }, () => span(app.id))
    producer = createCollectorProducer(kafkaTestBrokers(), 'otel-collector')
    // The bad records first, each followed by good ones, as a Collector would interleave them.
    await producer.send({
      messages: [
        collectorRecord(topic, [notUuid]),
        ...good.slice(0, 5).map((g) => collectorRecord(topic, [g])),
        collectorRecord(topic, [unknown]),
        ...good.slice(5).map((g) => collectorRecord(topic, [g])),
      ],
    })

    const goodIds = good.map((g) => g.spanId)
    const deadline = Date.now() + 60_000
    let stored = await storedCopies(s, goodIds)
    while (stored.size < goodIds.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200))
      stored = await storedCopies(s, goodIds)
    }
    assert.equal(stored.size, goodIds.length, 'every good record is stored')

    const dead = await readDeadLetters(`${topic}.dlq`, 2)
    const byKey = new Map(dead.map((d) => [d.key, d]))
    assert.equal(dead.length, 2, JSON.stringify(dead))
    assert.match(
      byKey.get(notUuid.traceId)?.reason ?? '',
      /^1 span rejected: resource attribute spansift\.application\.id must be an application id \(a UUID\), got "support-bot"$/,
    )
    assert.equal(
      byKey.get(unknown.traceId)?.reason,
      `resource attribute spansift.application.id names no existing application: ${unknown.applicationId}`,
    )
    assert.ok(dead.every((d) => d.group === 'spansift-span-writer'))
    const bad = await storedCopies(s, [notUuid.spanId, unknown.spanId])
    assert.equal(bad.size, 0, 'no bad record is stored')

    const ready = await fetch(`${s.metricsUrl}/readyz`)
    assert.equal(ready.status, 200, JSON.stringify(await ready.json()))
  })

  test("a protobuf export through the receiver (split on the wire) is filed under the key's application, whatever stamp the client sent", async () => {
    assert.ok(s, 'spansift runs (started by the test above)')
    const owner = await s.createApplication('key-owner')
    const other = await s.createApplication('someone-else')
    const traceId = randomHex(16)
    // The client stamps another application on its resource; spansToExportRequest writes that stamp.
    const spans = Array.from({ length: 3 }, () =>
      recentSpan({ applicationId: other.id, traceId, spanId: randomHex(8) }),
    )
    const response = await fetch(s.otlpUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/x-protobuf' },
      body: encodeExportTraceRequestProtobuf(spansToExportRequest(spans)),
    })
    assert.equal(response.status, 200)
    const { spans: table } = tableNames(s.spansift.storage().runner.database)
    const read = () =>
      s!.spansift
        .storage()
        .runner.select<{ application_id: string }>(
          'test',
          `SELECT toString(application_id) AS application_id FROM ${table} WHERE span_id IN {ids:Array(String)}`,
          { ids: spans.map((span) => span.spanId) },
        )
    const deadline = Date.now() + 30_000
    let rows = await read()
    while (rows.length < spans.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100))
      rows = await read()
    }
    assert.deepEqual(
      rows.map((r) => r.application_id),
      spans.map(() => owner.id),
    )
  })
})
