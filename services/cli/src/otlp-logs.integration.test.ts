import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { gzipSync } from 'node:zlib'
import { Metadata } from '@grpc/grpc-js'
import { type Span as ApiSpan, type Context, ROOT_CONTEXT, trace } from '@opentelemetry/api'
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc'
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto'
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter } from '@opentelemetry/sdk-logs'
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { kafkaTestBrokers } from '@spansift/bus/test-kafka-broker'
import { ADMIN_KEY, type RunningSpansift, rangeAroundNow, startSpansift } from './test-harness.ts'

// OTLP logs: GenAI content events sent as log records by the official JS SDK exporters
// (HTTP protobuf and gRPC), attached to their span whether they arrive before or after it,
// and seen by every reader: the trace read-back, the from-spans lookup, streaming rules and
// rule dry runs (the SQL pre-filter).

let s: RunningSpansift
let app: { id: string; key: string }
let datasetId: string

const QUESTION = 'Where is my refund for order 1234?'
const ANSWER = 'It was sent on Monday.'

before(async () => {
  s = await startSpansift({}, { rulesPollIntervalMs: 100 })
  app = await s.createApplication('support-bot')
  const dataset = await s.api('POST', '/v1/datasets', ADMIN_KEY, {
    name: 'refund questions',
    application_id: app.id,
    kind: 'eval',
  })
  assert.equal(dataset.status, 201)
  datasetId = dataset.body.id
  // A streaming rule whose predicate only the content events can satisfy.
  writeFileSync(
    join(s.spansift.rules().status().reload.dir, 'refunds.yaml'),
    `rules:
  - id: refund-questions
    application: ${app.id}
    dataset: ${datasetId}
    when: { event: { name: gen_ai.user.message, where: { field: body.content, contains: refund } } }
    mapping: { inputs: { model: gen_ai.request.model } }
`,
  )
  await waitFor(
    async () =>
      s.spansift
        .rules()
        .status()
        .rules.some((r) => r.state === 'active'),
    'the rule loads',
  )
})

after(async () => {
  await s?.stop()
})

async function waitFor<T>(
  probe: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > deadline) assert.fail(`timed out waiting: ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const resource = resourceFromAttributes({ 'service.name': 'support-bot' })

function tracerProvider() {
  return new TracerProvider({
    resource,
    spanProcessors: [
      new SimpleSpanProcessor({
        exporter: new ProtoTraceExporter({ url: s.otlpUrl, headers: { authorization: `Bearer ${app.key}` } }),
      }),
    ],
  })
}

/**
 * As an instrumented application sets it up: batched, so one call's events go in one export
 * (SDKs stamp records to the millisecond; within an export, events of one time keep their order).
 */
function loggerProvider(exporter: LogRecordExporter) {
  return new LoggerProvider({ resource, processors: [new BatchLogRecordProcessor({ exporter })] })
}

function protoLogExporter(key = app.key) {
  return new ProtoLogExporter({
    url: s.otlpUrl.replace('/v1/traces', '/v1/logs'),
    headers: { authorization: `Bearer ${key}` },
  })
}

function grpcLogExporter() {
  const metadata = new Metadata()
  metadata.set('authorization', `Bearer ${app.key}`)
  return new GrpcLogExporter({ url: `http://${s.otlpGrpcAddress}`, metadata })
}

/** What openai-v2 sends in its event capture mode: the messages as events, tied to the chat span. */
function emitConversation(provider: LoggerProvider, spanContext: Context) {
  const logger = provider.getLogger('opentelemetry.instrumentation.openai_v2', '2.1b0')
  const attributes = { 'gen_ai.system': 'openai' }
  logger.emit({
    eventName: 'gen_ai.system.message',
    context: spanContext,
    attributes,
    body: { content: 'Be brief.' },
  })
  logger.emit({
    eventName: 'gen_ai.user.message',
    context: spanContext,
    attributes,
    body: { content: QUESTION },
  })
  logger.emit({
    eventName: 'gen_ai.choice',
    context: spanContext,
    attributes,
    body: { index: 0, finish_reason: 'stop', message: { role: 'assistant', content: ANSWER } },
  })
  // Not a GenAI event: accepted and not stored.
  logger.emit({ context: spanContext, body: 'GET /v1/chat/completions 200' })
}

function startChatSpan(provider: TracerProvider): ApiSpan {
  const span = provider.getTracer('openai').startSpan('chat gpt-4o')
  span.setAttributes({
    'gen_ai.operation.name': 'chat',
    'gen_ai.system': 'openai',
    'gen_ai.request.model': 'gpt-4o',
  })
  return span
}

async function readTrace(traceId: string) {
  const response = await s.api('GET', `/v1/traces/${traceId}?${rangeAroundNow()}`, app.key)
  if (response.status === 404) return [] // not stored yet (Kafka: stored shortly after the export)
  assert.equal(response.status, 200, JSON.stringify(response.body))
  return response.body.spans as Array<{ span_id: string; events: Array<{ name: string; attributes: any }> }>
}

/** The span's events as the API returns them, once `count` of them are there. */
async function eventsOnceAttached(traceId: string, count: number) {
  return waitFor(async () => {
    const spans = await readTrace(traceId)
    const events = spans[0]?.events ?? []
    return events.length >= count && events
  }, `${count} events on the span of trace ${traceId}`)
}

function assertConversation(events: Array<{ name: string; attributes: any }>) {
  assert.deepEqual(
    events.map((e) => e.name),
    ['gen_ai.system.message', 'gen_ai.user.message', 'gen_ai.choice'],
  )
  const user = events[1]!
  assert.deepEqual(user.attributes, { 'gen_ai.system': 'openai', body: { content: QUESTION } })
  assert.deepEqual(events[2]!.attributes.body.message, { role: 'assistant', content: ANSWER })
}

async function ruleRows(): Promise<Array<{ source: { trace_id: string; span_id: string } }>> {
  const response = await s.api('GET', `/v1/datasets/${datasetId}/items?limit=100`, app.key)
  assert.equal(response.status, 200, JSON.stringify(response.body))
  return response.body.items
}

const lastHour = () => ({
  fromUnixNano: BigInt(Date.now() - 3_600_000) * 1_000_000n,
  toUnixNano: BigInt(Date.now() + 3_600_000) * 1_000_000n,
})

/** The from-spans lookup (`findByRefs`, what POST …/items/from-spans reads): the span's event names. */
async function fromSpansLookup(traceId: string, spanId: string): Promise<string[]> {
  const [found] = await s.spansift.storage().spans.findByRefs(app.id, [{ traceId, spanId }], lastHour())
  return found?.events.map((e) => e.name) ?? []
}

describe('GenAI content events over OTLP logs', () => {
  test('HTTP/protobuf, content BEFORE the span: read back as span events; from-spans and the streaming rule see them', async () => {
    const tracing = tracerProvider()
    const logging = loggerProvider(protoLogExporter())
    const span = startChatSpan(tracing)
    const { traceId, spanId } = span.spanContext()
    emitConversation(logging, trace.setSpan(ROOT_CONTEXT, span))
    await logging.forceFlush()
    span.end()
    await tracing.forceFlush()

    assertConversation(await eventsOnceAttached(traceId, 3))
    assert.deepEqual(await fromSpansLookup(traceId, spanId), [
      'gen_ai.system.message',
      'gen_ai.user.message',
      'gen_ai.choice',
    ])
    // The rule's predicate reads the user message, which only the log record carried.
    const rows = await waitFor(async () => {
      const list = await ruleRows()
      return list.some((r) => r.source.trace_id === traceId) && list
    }, 'the streaming rule appends the span')
    assert.equal(rows.filter((r) => r.source.trace_id === traceId).length, 1)
    await Promise.all([logging.shutdown(), tracing.shutdown()])
  })

  test('gRPC, content AFTER the span: attached to the stored span; the streaming rule re-evaluates it; a dry run (SQL pre-filter) matches it', async () => {
    const tracing = tracerProvider()
    const span = startChatSpan(tracing)
    const { traceId, spanId } = span.spanContext()
    span.end()
    await tracing.forceFlush()
    await waitFor(async () => (await readTrace(traceId)).length === 1, 'the span is stored')
    assert.deepEqual((await readTrace(traceId))[0]!.events, [])

    const logging = loggerProvider(grpcLogExporter())
    emitConversation(logging, trace.setSpan(ROOT_CONTEXT, span))
    await logging.forceFlush()
    assertConversation(await eventsOnceAttached(traceId, 3))
    assert.equal((await readTrace(traceId)).length, 1, 'still one span: the merged copy replaces the first')
    assert.equal((await fromSpansLookup(traceId, spanId)).length, 3)

    // The streaming rule evaluated the span without content (no match), and again when it came.
    await waitFor(
      async () => (await ruleRows()).some((r) => r.source.trace_id === traceId),
      'the streaming rule appends the span once its late content arrived',
    )

    const dryRun = await s.api('POST', '/v1/rules/refund-questions/test', ADMIN_KEY, {
      start_time: new Date(Date.now() - 3_600_000).toISOString(),
      end_time: new Date(Date.now() + 60_000).toISOString(),
      limit: 10,
    })
    assert.equal(dryRun.status, 200, JSON.stringify(dryRun.body))
    assert.ok(
      dryRun.body.samples.some((sample: { trace_id: string }) => sample.trace_id === traceId),
      `the dry run finds the span by its late content: ${JSON.stringify(dryRun.body)}`,
    )
    await Promise.all([logging.shutdown(), tracing.shutdown()])
  })

  test('bad log records get partial success with the reason; bad bodies and keys are refused', async () => {
    const logsUrl = s.otlpUrl.replace('/v1/traces', '/v1/logs')
    const post = (body: string, key = app.key) =>
      fetch(logsUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body,
      })
    const traceId = 'a'.repeat(32)
    const records = [
      { eventName: 'gen_ai.user.message', traceId, spanId: 'b'.repeat(16), body: { stringValue: 'kept' } },
      { eventName: 'gen_ai.user.message', body: { stringValue: 'no span to attach to' } },
      { eventName: 'gen_ai.user.message', traceId, spanId: 'abcd', body: { stringValue: 'short span id' } },
      { body: { stringValue: 'a plain log line' } },
      // Over the span limits (the defaults: values of 1 MiB, 128 attributes per event): refused, not stored.
      {
        eventName: 'gen_ai.user.message',
        traceId,
        spanId: 'c'.repeat(16),
        body: { stringValue: 'x'.repeat(1024 * 1024 + 1) },
      },
      {
        eventName: 'gen_ai.user.message',
        traceId,
        spanId: 'd'.repeat(16),
        attributes: Array.from({ length: 128 }, (_, i) => ({ key: `k${i}`, value: { intValue: i } })),
        body: { stringValue: 'one attribute too many with the body' },
      },
    ]
    const partial = await post(JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: records }] }] }))
    assert.equal(partial.status, 200)
    const answer = (await partial.json()) as {
      partialSuccess: { rejectedLogRecords: string; errorMessage: string }
    }
    assert.equal(answer.partialSuccess.rejectedLogRecords, '4')
    assert.match(answer.partialSuccess.errorMessage, /must carry the trace_id and span_id/)
    assert.match(answer.partialSuccess.errorMessage, /span_id must be 8 bytes \(got 2\)/)
    assert.match(answer.partialSuccess.errorMessage, /the body has a value longer than 1048576/)
    assert.match(answer.partialSuccess.errorMessage, /more than 128 attributes, the body included \(129\)/)
    const stored = await s.spansift.storage().contentEvents.findForSpans(
      app.id,
      ['b', 'c', 'd'].map((c) => ({ traceId, spanId: c.repeat(16) })),
      lastHour(),
    )
    assert.deepEqual(
      stored.map((e) => [e.spanId, e.attributes]),
      [['b'.repeat(16), { body: 'kept' }]],
    )

    // gzip, as exporters send it: the same body reader (and 20 MiB limit) as traces.
    const gzipped = await fetch(logsUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${app.key}`,
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      },
      body: gzipSync(
        JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: records.slice(0, 1) }] }] }),
      ),
    })
    assert.equal(gzipped.status, 200)
    assert.deepEqual(await gzipped.json(), {})

    const malformed = await post('{"resourceLogs": [{"scopeLogs": 7}]}')
    assert.equal(malformed.status, 400)
    assert.match(
      ((await malformed.json()) as { message: string }).message,
      /not a valid ExportLogsServiceRequest.*resourceLogs\[0\]\.scopeLogs/,
    )
    assert.equal((await post('{}', 'ssk_not_a_key')).status, 401)
    assert.equal((await post('{}', ADMIN_KEY)).status, 403)
  })
})

describe('over Kafka (receiver → spansift.logs → content writer)', () => {
  test('content events before and after their span reach the stored span through the logs topic', async () => {
    // One embedded ClickHouse per process: the embedded instance makes way for the Kafka one.
    await s.stop()
    const topic = `it.spans.${randomUUID().slice(0, 8)}`
    s = await startSpansift({ SPANSIFT_KAFKA_BROKERS: kafkaTestBrokers().join(',') }, { kafkaTopic: topic })
    app = await s.createApplication('kafka-logs')
    const tracing = tracerProvider()
    const logging = loggerProvider(protoLogExporter())
    const before = startChatSpan(tracing)
    emitConversation(logging, trace.setSpan(ROOT_CONTEXT, before))
    await logging.forceFlush()
    before.end()
    const afterSpan = startChatSpan(tracing)
    afterSpan.end()
    await tracing.forceFlush()
    await waitFor(
      async () => (await readTrace(afterSpan.spanContext().traceId)).length === 1,
      'the second span is stored',
    )
    emitConversation(logging, trace.setSpan(ROOT_CONTEXT, afterSpan))
    await logging.forceFlush()
    assertConversation(await eventsOnceAttached(before.spanContext().traceId, 3))
    assertConversation(await eventsOnceAttached(afterSpan.spanContext().traceId, 3))
    await Promise.all([logging.shutdown(), tracing.shutdown()])
  })
})
