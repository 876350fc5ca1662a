import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { UnknownApplicationError } from '@spansift/core/application-stamp'
import { silentLogger } from '@spansift/core/logger'
import { decodeExportLogsRequestProtobuf } from '@spansift/core/otlp/decode-protobuf'
import { DEFAULT_SPAN_LIMITS } from '@spansift/core/otlp/span-limits'
import { ExportLogsServiceRequestType } from '@spansift/core/otlp/test-proto-schema'
import type { SpanContentEvent } from '@spansift/core/span-content-event'
import { createKafkaContentBus, type KafkaContentBusOptions } from './kafka-content-bus.ts'
import { createCollectorProducer } from './test-collector-producer.ts'
import { kafkaTestBrokers } from './test-kafka-broker.ts'
import { readTopic } from './test-read-topic.ts'
import { DeadLetterHeader } from './topics.ts'

// The logs topic: content events as OTLP ExportLogsServiceRequest protobuf, one trace a
// message, stamped with the application, the way a stock Collector (otlp_proto encoding for
// logs, a resource processor adding the stamp) writes them.

const brokers = kafkaTestBrokers()
const APP = '3c90c3cc-0d44-4b50-8888-8dd25736052a'

function isolatedBus(overrides: Partial<KafkaContentBusOptions> = {}) {
  const topic = `it.logs.${randomUUID().slice(0, 8)}`
  const bus = createKafkaContentBus({
    brokers,
    clientId: 'it-logs',
    partitions: 2,
    logger: silentLogger,
    topic,
    ...overrides,
  })
  const received: SpanContentEvent[] = []
  bus.subscribe('writer', async (events) => {
    received.push(...events)
  })
  return { bus, topic, received }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out: ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** A Collector-style record, written with protobufjs from the .proto files (not spansift's encoder). */
function collectorRecord(traceId: string, spanId: string, stamp: string | undefined): Buffer {
  const message = ExportLogsServiceRequestType.fromObject({
    resourceLogs: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'support-bot' } },
            ...(stamp ? [{ key: 'spansift.application.id', value: { stringValue: stamp } }] : []),
          ],
        },
        scopeLogs: [
          {
            scope: { name: 'opentelemetry.instrumentation.openai_v2' },
            logRecords: [
              {
                timeUnixNano: '1764640000000000001',
                eventName: 'gen_ai.user.message',
                traceId: Buffer.from(traceId, 'hex'),
                spanId: Buffer.from(spanId, 'hex'),
                attributes: [{ key: 'gen_ai.system', value: { stringValue: 'openai' } }],
                body: { kvlistValue: { values: [{ key: 'content', value: { stringValue: 'hello' } }] } },
              },
              // Every other log the Collector forwards: skipped, not stored.
              { timeUnixNano: '1764640000000000002', body: { stringValue: 'GET /healthz 200' } },
            ],
          },
        ],
      },
    ],
  })
  return Buffer.from(ExportLogsServiceRequestType.encode(message).finish())
}

test('publish: one message per trace, key = hex trace id, value = OTLP logs protobuf stamped with the application', async () => {
  const { bus, topic, received } = isolatedBus()
  await bus.start()
  try {
    const traceId = randomBytes(16).toString('hex')
    const event: SpanContentEvent = {
      applicationId: APP,
      traceId,
      spanId: randomBytes(8).toString('hex'),
      timeUnixNano: 1764640000000000001n,
      sequence: 0,
      name: 'gen_ai.choice',
      attributes: { body: { index: 0, message: { role: 'assistant', content: 'hi' } } },
    }
    await bus.publish([event])
    const [message] = await readTopic(brokers, topic, { count: 1 })
    assert.equal(message!.key.toString(), traceId)
    const request = decodeExportLogsRequestProtobuf(message!.value)
    const resource = request.resourceLogs[0]!.resource
    assert.deepEqual(resource.attributes.find((kv) => kv.key === 'spansift.application.id')?.value, {
      type: 'string',
      value: APP,
    })
    assert.equal(request.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.eventName, 'gen_ai.choice')
    await until(() => received.length === 1, 'the consumer receives the event')
    assert.deepEqual(received, [event])
  } finally {
    await bus.shutdown()
  }
})

test('a Collector-style record is consumed (GenAI events kept, other logs skipped); undecodable or unstamped ones are dead-lettered and the rest flows on', async () => {
  const { bus, topic, received } = isolatedBus()
  await bus.start()
  const producer = createCollectorProducer(brokers)
  try {
    const traceId = randomBytes(16).toString('hex')
    const spanId = randomBytes(8).toString('hex')
    await producer.send({
      messages: [
        { topic, key: Buffer.from('garbage'), value: Buffer.from([0x0a, 0xff, 0xff, 0xff]) },
        { topic, key: Buffer.from(traceId), value: collectorRecord(traceId, spanId, undefined) },
        { topic, key: Buffer.from(traceId), value: collectorRecord(traceId, spanId, APP) },
      ],
    })
    await until(() => received.length === 1, 'the stamped record is consumed')
    assert.deepEqual(received[0], {
      applicationId: APP,
      traceId,
      spanId,
      timeUnixNano: 1764640000000000001n,
      sequence: 0,
      name: 'gen_ai.user.message',
      attributes: { 'gen_ai.system': 'openai', body: { content: 'hello' } },
    })
    const deadLetters = await readTopic(brokers, `${topic}.dlq`, { count: 2 })
    const reasons = deadLetters.map((m) => m.headers.get(DeadLetterHeader.reason)?.toString() ?? '')
    assert.ok(
      reasons.some((r) => /undecodable/.test(r)),
      reasons.join(' | '),
    )
    assert.ok(
      reasons.some((r) => /no application id/.test(r)),
      reasons.join(' | '),
    )
  } finally {
    await producer.close()
    await bus.shutdown()
  }
})

test('a record over the event limits is dead-lettered with the reason, as the receivers would refuse it', async () => {
  // The record's GenAI event has one attribute and a body, which counts as one more.
  const { bus, topic, received } = isolatedBus({
    spanLimits: { ...DEFAULT_SPAN_LIMITS, eventAttributeCount: 1 },
  })
  await bus.start()
  const producer = createCollectorProducer(brokers)
  try {
    const traceId = randomBytes(16).toString('hex')
    await producer.send({
      messages: [
        {
          topic,
          key: Buffer.from(traceId),
          value: collectorRecord(traceId, randomBytes(8).toString('hex'), APP),
        },
      ],
    })
    const [dead] = await readTopic(brokers, `${topic}.dlq`, { count: 1 })
    assert.match(dead!.headers.get(DeadLetterHeader.reason)?.toString() ?? '', /more than 1 attributes/)
    assert.deepEqual(received, [], 'nothing over the limits is stored')
  } finally {
    await producer.close()
    await bus.shutdown()
  }
})

test('a record whose stamp names no existing application is dead-lettered with the reason (the handler refuses it permanently); the next one is stored', async () => {
  const topic = `it.logs.${randomUUID().slice(0, 8)}`
  const bus = createKafkaContentBus({
    brokers,
    clientId: 'it-logs',
    partitions: 1,
    logger: silentLogger,
    topic,
  })
  const unknownApp = randomUUID()
  const received: SpanContentEvent[] = []
  // What the span-writer role's content consumer does (spansift.ts: the application check first).
  bus.subscribe('writer', async (events) => {
    const unknown = [...new Set(events.map((e) => e.applicationId))].filter((id) => id !== APP)
    if (unknown.length > 0) throw new UnknownApplicationError(unknown)
    received.push(...events)
  })
  await bus.start()
  const producer = createCollectorProducer(brokers)
  try {
    const traceId = randomBytes(16).toString('hex')
    const spanId = randomBytes(8).toString('hex')
    await producer.send({
      messages: [
        { topic, key: Buffer.from(traceId), value: collectorRecord(traceId, spanId, unknownApp) },
        { topic, key: Buffer.from(traceId), value: collectorRecord(traceId, spanId, APP) },
      ],
    })
    await until(() => received.length === 1, 'the record of the existing application is stored')
    assert.equal(received[0]!.applicationId, APP)
    const [deadLetter] = await readTopic(brokers, `${topic}.dlq`, { count: 1 })
    assert.match(
      deadLetter!.headers.get(DeadLetterHeader.reason)?.toString() ?? '',
      new RegExp(`names no existing application: ${unknownApp}`),
    )
  } finally {
    await producer.close()
    await bus.shutdown()
  }
})
