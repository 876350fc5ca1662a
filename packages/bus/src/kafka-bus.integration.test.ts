import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { ProduceAcks, Producer } from '@platformatic/kafka'
import { silentLogger } from '@spansift/core/logger'
import { decodeExportTraceRequestProtobuf } from '@spansift/core/otlp/decode-protobuf'
import { encodeExportTraceRequestProtobuf } from '@spansift/core/otlp/encode-protobuf'
import { normalizeExportTraceRequest } from '@spansift/core/otlp/normalize'
import { spansToExportRequest } from '@spansift/core/otlp/spans-to-request'
import type { Span } from '@spansift/core/span-model'
import { createKafkaBus } from './kafka-bus.ts'
import { kafkaTestBrokers } from './kafka-test-broker.ts'
import { conformanceSpan, spanBusConformance } from './span-bus-conformance.ts'
import { readTopic } from './test-read-topic.ts'
import { DeadLetterHeader } from './topics.ts'

// The real broker (deploy/kafka). Each bus gets its own topics so tests do not see each other.
const brokers = kafkaTestBrokers()

function isolatedBus(suffix = randomUUID().slice(0, 8)) {
  const topic = `test.spans.${suffix}`
  const bus = createKafkaBus({
    brokers,
    clientId: `test-${suffix}`,
    partitions: 3,
    logger: silentLogger,
    topic,
    deadLetterTopic: `${topic}.dlq`,
    deadLetterGroup: 'writer',
    maxBatchDelayMs: 20,
  })
  return { bus, topic, deadLetterTopic: `${topic}.dlq` }
}

spanBusConformance('kafka', () => isolatedBus().bus)

test('a trace is one message: key = hex trace id, value = OTLP protobuf stamped with the application', async () => {
  const { bus, topic } = isolatedBus()
  bus.subscribe('noop', async () => {})
  await bus.start()
  try {
    const traceId = randomBytes(16).toString('hex')
    const spans = [
      conformanceSpan({ traceId }),
      conformanceSpan({ traceId, parentSpanId: 'aaaaaaaaaaaaaaaa' }),
    ]
    await bus.publish(spans)
    const [message] = await readTopic(brokers, topic, { count: 1 })
    assert.equal(message!.key.toString(), traceId)
    const request = decodeExportTraceRequestProtobuf(message!.value)
    const stamp = request.resourceSpans[0]!.resource.attributes.find(
      (kv) => kv.key === 'spansift.application.id',
    )
    assert.deepEqual(stamp?.value, { type: 'string', value: spans[0]!.applicationId })
    assert.equal(normalizeExportTraceRequest(request).spans.length, 2)
  } finally {
    await bus.shutdown()
  }
})

test('a message produced the way the Collector produces it (otlp_proto, one trace a message) is consumed', async () => {
  const { bus, topic } = isolatedBus()
  const received: Span[] = []
  bus.subscribe('writer', async (spans) => {
    received.push(...spans)
  })
  await bus.start()
  const producer = new Producer({
    clientId: 'collector',
    bootstrapBrokers: brokers,
    acks: ProduceAcks.ALL,
    idempotent: true,
  })
  try {
    const span = conformanceSpan()
    const value = encodeExportTraceRequestProtobuf(spansToExportRequest([span]))
    await producer.send({ messages: [{ topic, key: Buffer.from(span.traceId), value: Buffer.from(value) }] })
    const deadline = Date.now() + 30_000
    while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    assert.deepEqual(received, [span])
  } finally {
    await producer.close()
    await bus.shutdown()
  }
})

test('a message that can never be decoded goes to the dead-letter topic with the reason, and the rest flows on', async () => {
  const { bus, topic, deadLetterTopic } = isolatedBus()
  const received: Span[] = []
  bus.subscribe('writer', async (spans) => {
    received.push(...spans)
  })
  await bus.start()
  const producer = new Producer({
    clientId: 'bad-producer',
    bootstrapBrokers: brokers,
    acks: ProduceAcks.ALL,
    idempotent: true, // a retried send is not written twice
  })
  try {
    await producer.send({
      messages: [{ topic, key: Buffer.from('garbage'), value: Buffer.from([0x0a, 0xff, 0xff, 0xff]) }],
    })
    const unstamped = conformanceSpan()
    const noStamp = spansToExportRequest([unstamped])
    noStamp.resourceSpans[0]!.resource.attributes = noStamp.resourceSpans[0]!.resource.attributes.filter(
      (kv) => kv.key !== 'spansift.application.id',
    )
    await producer.send({
      messages: [
        {
          topic,
          key: Buffer.from(unstamped.traceId),
          value: Buffer.from(encodeExportTraceRequestProtobuf(noStamp)),
        },
      ],
    })
    const good = conformanceSpan()
    await bus.publish([good])
    const deadLetters = await readTopic(brokers, deadLetterTopic, { count: 2 })
    const reasons = deadLetters.map((m) => m.headers.get(DeadLetterHeader.reason)?.toString() ?? '')
    assert.ok(
      reasons.some((r) => /undecodable/.test(r)),
      reasons.join(' | '),
    )
    assert.ok(
      reasons.some((r) => /no application id/.test(r)),
      reasons.join(' | '),
    )
    assert.ok(deadLetters.every((m) => m.headers.get(DeadLetterHeader.sourceTopic)?.toString() === topic))
    const deadline = Date.now() + 30_000
    while (!received.some((s) => s.spanId === good.spanId) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20))
    }
    assert.ok(received.some((s) => s.spanId === good.spanId))
  } finally {
    await producer.close()
    await bus.shutdown()
  }
})
