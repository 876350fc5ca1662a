/**
 * The interoperability proof: spans made by the official OpenTelemetry JS SDK and serialized by
 * the official OTLP transformer (what `@opentelemetry/exporter-trace-otlp-proto` and `-http`
 * send) decode, with both of our decoders, to what the SDK recorded.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace'
import { decodeExportTraceRequestJson } from './decode-json.ts'
import { decodeExportTraceRequestProtobuf } from './decode-protobuf.ts'
import { encodeExportTraceRequestProtobuf } from './encode-protobuf.ts'
import { normalizeExportTraceRequest } from './normalize.ts'
import { ExportTraceServiceRequestType } from './test-proto-schema.ts'

const APP = '0b6c2a0e-6a43-4d56-9d0f-3f9e1c1e8a01'
const PROMPT = 'Summarize: « OpenTelemetry traces are trees of spans. » 🌲'

/** A small GenAI trace (an agent span with a chat child) recorded by the real SDK. */
async function recordSpans(): Promise<ReadableSpan[]> {
  const exporter = new InMemorySpanExporter()
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'support-bot', 'service.version': '2.1.0' }),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  })
  const tracer = provider.getTracer('opentelemetry.instrumentation.openai', '0.3.1')
  const agent = tracer.startSpan('invoke_agent support', { startTime: [1_763_805_600, 1] })
  const retrieval = tracer.startSpan('retrieval')
  retrieval.end()
  const linked = retrieval.spanContext()
  const chat = tracer.startSpan(
    'chat gpt-4o',
    {
      kind: SpanKind.CLIENT,
      startTime: [1_763_805_600, 123_456_789],
      links: [{ context: linked, attributes: { 'link.reason': 'context' } }],
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 1234,
        'gen_ai.request.temperature': 0.25,
        'gen_ai.request.stream': false,
        'gen_ai.response.finish_reasons': ['stop', 'length'],
        'gen_ai.prompt': PROMPT,
      },
    },
    trace.setSpan(context.active(), agent),
  )
  chat.addEvent('gen_ai.choice', { index: 0 }, [1_763_805_601, 5])
  chat.setStatus({ code: SpanStatusCode.ERROR, message: 'content filter' })
  chat.end([1_763_805_601, 987_654_321])
  agent.end([1_763_805_602, 0])
  await provider.forceFlush()
  const spans = exporter.getFinishedSpans()
  await provider.shutdown()
  return spans
}

describe('interoperability with @opentelemetry/otlp-transformer', async () => {
  const spans = await recordSpans()
  const chatRecorded = spans.find((s) => s.name === 'chat gpt-4o')!
  const protobufBody = ProtobufTraceSerializer.serializeRequest(spans)!
  const jsonBody = new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)!)

  for (const [format, decode] of [
    ['protobuf', () => decodeExportTraceRequestProtobuf(protobufBody)],
    ['JSON', () => decodeExportTraceRequestJson(jsonBody)],
  ] as const) {
    it(`reads the SDK's spans from the official ${format} serialization`, () => {
      const { spans: normalized, rejectedSpans } = normalizeExportTraceRequest(decode(), {
        applicationId: APP,
      })
      assert.equal(rejectedSpans, 0)
      assert.equal(normalized.length, 3)
      const chat = normalized.find((s) => s.name === 'chat gpt-4o')!
      const agent = normalized.find((s) => s.name === 'invoke_agent support')!
      assert.equal(chat.traceId, chatRecorded.spanContext().traceId)
      assert.equal(chat.spanId, chatRecorded.spanContext().spanId)
      assert.equal(chat.parentSpanId, agent.spanId)
      assert.equal(agent.parentSpanId, '')
      assert.equal(chat.kind, 3) // OTLP SPAN_KIND_CLIENT (the API's SpanKind.CLIENT is 2)
      assert.equal(chat.startTimeUnixNano, 1_763_805_600_123_456_789n)
      assert.equal(chat.endTimeUnixNano, 1_763_805_601_987_654_321n)
      assert.equal(chat.durationNano, 1_864_197_532n)
      assert.equal(agent.startTimeUnixNano, 1_763_805_600_000_000_001n)
      assert.equal(chat.statusCode, 2)
      assert.equal(chat.statusMessage, 'content filter')
      assert.equal(chat.serviceName, 'support-bot')
      assert.equal(chat.resourceAttributes['service.version'], '2.1.0')
      assert.equal(chat.scopeName, 'opentelemetry.instrumentation.openai')
      assert.equal(chat.scopeVersion, '0.3.1')
      assert.equal(chat.applicationId, APP)
      assert.equal(chat.flags & 0xff, chatRecorded.spanContext().traceFlags)
      assert.deepEqual(chat.attributes, {
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 1234,
        'gen_ai.request.temperature': 0.25,
        'gen_ai.request.stream': false,
        'gen_ai.response.finish_reasons': ['stop', 'length'],
        'gen_ai.prompt': PROMPT,
      })
      assert.deepEqual(chat.events, [
        { timeUnixNano: 1_763_805_601_000_000_005n, name: 'gen_ai.choice', attributes: { index: 0 } },
      ])
      assert.equal(chat.links.length, 1)
      assert.equal(chat.links[0]!.spanId, spans.find((s) => s.name === 'retrieval')!.spanContext().spanId)
      assert.deepEqual(chat.links[0]!.attributes, { 'link.reason': 'context' })
    })
  }

  it('decodes both serializations to the same request', () => {
    assert.deepEqual(decodeExportTraceRequestJson(jsonBody), decodeExportTraceRequestProtobuf(protobufBody))
  })

  it('re-encodes what it decoded to a message equal to the official one', () => {
    // Compared through protobufjs reading the .proto files, with defaults filled in: the
    // transformer writes zero-valued fields, and an empty Status, that canonical proto3 (our
    // encoder) omits; OTLP defines an absent Status as an unset one.
    const asObject = (bytes: Uint8Array) => {
      const object = ExportTraceServiceRequestType.toObject(ExportTraceServiceRequestType.decode(bytes), {
        defaults: true,
        longs: String,
        bytes: String,
      })
      for (const resourceSpans of object.resourceSpans) {
        for (const scopeSpans of resourceSpans.scopeSpans) {
          for (const span of scopeSpans.spans) span.status ??= { code: 0, message: '' }
        }
      }
      return object
    }
    const reencoded = encodeExportTraceRequestProtobuf(decodeExportTraceRequestProtobuf(protobufBody))
    assert.deepEqual(asObject(reencoded), asObject(protobufBody))
  })
})
