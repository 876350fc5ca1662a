import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { silentLogger } from '@spansift/core/logger'
import { encodeExportTraceRequestProtobuf } from '@spansift/core/otlp/encode-protobuf'
import { DEFAULT_SPAN_LIMITS } from '@spansift/core/otlp/span-limits'
import { spansToExportRequest } from '@spansift/core/otlp/spans-to-request'
import type { Span } from '@spansift/core/span-model'
import { StorageRejectedError, StorageUnavailableError } from '@spansift/core/storage-errors'
import { createKafkaBus, type KafkaBusOptions } from './kafka-bus.ts'
import { createCollectorProducer } from './test-collector-producer.ts'
import { kafkaTestBrokers } from './test-kafka-broker.ts'
import { readTopic } from './test-read-topic.ts'
import { conformanceSpan } from './test-span-bus-conformance.ts'
import { DeadLetterHeader } from './topics.ts'

// Consumer fault isolation on the real broker: permanent failures are isolated and
// dead-lettered once, retryable ones are held, and a consumer that cannot progress says so.
const brokers = kafkaTestBrokers()

function isolatedBus(overrides: Partial<KafkaBusOptions> = {}) {
  const suffix = randomUUID().slice(0, 8)
  const topic = `test.faults.${suffix}`
  const bus = createKafkaBus({
    brokers,
    clientId: `test-${suffix}`,
    partitions: 2,
    logger: silentLogger,
    topic,
    deadLetterTopic: `${topic}.dlq`,
    deadLetterGroup: 'writer',
    maxBatchDelayMs: 20,
    ...overrides,
  })
  return { bus, topic, deadLetterTopic: `${topic}.dlq` }
}

async function eventually(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Reads a topic from the start for `quietMs` after the last message (or `count` messages), bounded. */

const reasonOf = (m: { headers: Map<string, Buffer> }) =>
  m.headers.get(DeadLetterHeader.reason)?.toString() ?? ''

test('a batch storage refuses is split: the refused record is dead-lettered with the reason, the others stored and committed', async (t) => {
  const { bus, deadLetterTopic } = isolatedBus({ partitions: 1 })
  const stored = new Map<string, Span>()
  let handlerCalls = 0
  bus.subscribe('writer', async (spans) => {
    handlerCalls++
    // Like ClickHouse: one value it cannot store fails the whole insert.
    const poison = spans.find((span) => span.name === 'poison')
    if (poison) throw new StorageRejectedError(`Cannot parse span ${poison.spanId}`, { code: 27 })
    for (const span of spans) stored.set(span.spanId, span)
  })
  await bus.start()
  try {
    const poison = conformanceSpan({ name: 'poison' })
    const before = Array.from({ length: 500 }, () => conformanceSpan())
    const after = Array.from({ length: 500 }, () => conformanceSpan())
    // One publish: the poison record sits among a thousand others, one message each.
    const started = performance.now()
    await bus.publish([...before, poison, ...after])
    await eventually(() => stored.size === 1_000, 'the 1,000 good spans are stored')
    t.diagnostic(
      `1 refused record among 1,001: ${handlerCalls} handler calls, all good spans stored after ${Math.round(performance.now() - started)} ms`,
    )
    assert.ok(!stored.has(poison.spanId))
    const [dead] = await readTopic(brokers, deadLetterTopic, { count: 1 })
    assert.equal(dead!.key.toString(), poison.traceId)
    assert.equal(reasonOf(dead!), `Cannot parse span ${poison.spanId}`)
    // Committed: later spans flow without the poison coming back.
    const later = conformanceSpan()
    const calls = handlerCalls
    await bus.publish([later])
    await eventually(() => stored.has(later.spanId), 'a later span is stored')
    assert.ok(handlerCalls - calls <= 2, `the poison was handled again (${handlerCalls - calls} calls)`)
  } finally {
    await bus.shutdown()
  }
})

test('a retryable failure holds the batch and retries it until storage is back; nothing is dead-lettered', async () => {
  const { bus, deadLetterTopic } = isolatedBus()
  let failuresLeft = 4
  const stored: Span[] = []
  bus.subscribe('writer', async (spans) => {
    if (failuresLeft-- > 0) throw new StorageUnavailableError('ClickHouse is unreachable')
    stored.push(...spans)
  })
  await bus.start()
  try {
    const spans = Array.from({ length: 5 }, () => conformanceSpan())
    await bus.publish(spans)
    await eventually(() => stored.length === 5, 'the held batch is stored once storage is back')
    const dead = await readTopic(brokers, deadLetterTopic, { quietMs: 1_000 })
    assert.equal(dead.length, 0)
  } finally {
    await bus.shutdown()
  }
})

test('an unstamped record is dead-lettered once, by the dead-letter group only, with its reason said once', async () => {
  const { bus, topic, deadLetterTopic } = isolatedBus()
  const seen = { writer: [] as Span[], rules: [] as Span[] }
  bus.subscribe('writer', async (spans) => void seen.writer.push(...spans))
  bus.subscribe('rules', async (spans) => void seen.rules.push(...spans))
  await bus.start()
  const producer = createCollectorProducer(brokers)
  try {
    const unstamped = conformanceSpan()
    const request = spansToExportRequest([unstamped])
    const resource = request.resourceSpans[0]!.resource
    resource.attributes = resource.attributes.filter((kv) => kv.key !== 'spansift.application.id')
    const notUuid = conformanceSpan({ applicationId: 'support-bot' })
    await producer.send({
      messages: [
        {
          topic,
          key: Buffer.from(unstamped.traceId),
          value: Buffer.from(encodeExportTraceRequestProtobuf(request)),
        },
        {
          topic,
          key: Buffer.from(notUuid.traceId),
          value: Buffer.from(encodeExportTraceRequestProtobuf(spansToExportRequest([notUuid]))),
        },
      ],
    })
    const good = conformanceSpan()
    await bus.publish([good])
    await eventually(
      () =>
        seen.writer.some((s) => s.spanId === good.spanId) && seen.rules.some((s) => s.spanId === good.spanId),
      'both groups take the good span',
    )
    const dead = await readTopic(brokers, deadLetterTopic, { quietMs: 1_500 })
    const sources = dead.map(
      (m) =>
        `${m.headers.get(DeadLetterHeader.sourcePartition)}:${m.headers.get(DeadLetterHeader.sourceOffset)}@${m.partition}:${m.offset}`,
    )
    assert.deepEqual(
      dead.map((m) => m.headers.get(DeadLetterHeader.consumerGroup)?.toString()).sort(),
      ['writer', 'writer'],
      `dead letters (source partition:offset@dlq partition:offset): ${sources.join(', ')}`,
    )
    const reasons = dead.map(reasonOf).sort()
    assert.deepEqual(reasons, [
      '1 span rejected: no application id (resource attribute spansift.application.id missing)',
      '1 span rejected: resource attribute spansift.application.id must be an application id (a UUID), got "support-bot"',
    ])
    assert.ok(![...seen.writer, ...seen.rules].some((s) => s.applicationId === 'support-bot'))
  } finally {
    await producer.close()
    await bus.shutdown()
  }
})

test('a record written straight to the topic is held to the span limits: the spans over them are left out and the record dead-lettered with the reason', async () => {
  const { bus, topic, deadLetterTopic } = isolatedBus({
    spanLimits: { ...DEFAULT_SPAN_LIMITS, attributeCount: 4, nameLength: 64 },
  })
  const stored: Span[] = []
  bus.subscribe('writer', async (spans) => void stored.push(...spans))
  await bus.start()
  const producer = createCollectorProducer(brokers)
  try {
    // One trace, as a Collector's Kafka exporter writes it: no receiver checked it.
    const traceId = conformanceSpan().traceId
    const good = conformanceSpan({ traceId })
    const wide = conformanceSpan({
      traceId,
      attributes: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, i])),
    })
    const longName = conformanceSpan({ traceId, name: 'x'.repeat(65) })
    await producer.send({
      messages: [
        {
          topic,
          key: Buffer.from(traceId),
          value: Buffer.from(encodeExportTraceRequestProtobuf(spansToExportRequest([good, wide, longName]))),
        },
      ],
    })
    await eventually(() => stored.some((s) => s.spanId === good.spanId), 'the good span is stored')
    const [dead] = await readTopic(brokers, deadLetterTopic, { count: 1 })
    assert.match(reasonOf(dead!), /^2 spans rejected: /)
    assert.match(reasonOf(dead!), /more than 4 attributes \(10\)/)
    assert.match(reasonOf(dead!), /name/)
    assert.deepEqual(
      stored.map((s) => s.spanId),
      [good.spanId],
      'only the span within the limits is stored',
    )
  } finally {
    await producer.close()
    await bus.shutdown()
  }
})

test('a consumer that cannot progress while its lag grows is reported stalled, and recovers', async () => {
  const { bus } = isolatedBus({ stallMs: 1_500 })
  let storageUp = false
  bus.subscribe('writer', async () => {
    if (!storageUp) throw new StorageUnavailableError('ClickHouse is unreachable')
  })
  await bus.start()
  try {
    assert.deepEqual(bus.stalledGroups?.(), [])
    await bus.publish([conformanceSpan()])
    const deadline = Date.now() + 20_000
    // The lag grows: more records keep arriving while the first batch is held.
    while (!bus.stalledGroups?.().includes('writer')) {
      if (Date.now() > deadline) assert.fail('the consumer was never reported stalled')
      await bus.publish([conformanceSpan()])
      await new Promise((r) => setTimeout(r, 100))
    }
    storageUp = true
    await eventually(() => bus.stalledGroups?.().length === 0, 'the consumer is no longer stalled')
  } finally {
    await bus.shutdown()
  }
})
