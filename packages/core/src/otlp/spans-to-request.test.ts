import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Span } from '../span-model.ts'
import { decodeExportTraceRequestProtobuf } from './decode-protobuf.ts'
import { encodeExportTraceRequestProtobuf } from './encode-protobuf.ts'
import { normalizeExportTraceRequest } from './normalize.ts'
import { spansToExportRequest } from './spans-to-request.ts'

const resource = Object.freeze({ 'service.name': 'support-bot', 'deployment.environment': 'prod' })

function span(overrides: Partial<Span>): Span {
  return {
    applicationId: '3c90c3cc-0d44-4b50-8888-8dd25736052a',
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    parentSpanId: '',
    traceState: 'vendor=1',
    name: 'chat gpt-4o',
    kind: 3,
    startTimeUnixNano: 1763805600123456789n,
    endTimeUnixNano: 1763805601123456789n,
    durationNano: 1000000000n,
    statusCode: 2,
    statusMessage: 'boom',
    serviceName: 'support-bot',
    scopeName: 'openai',
    scopeVersion: '1.0.0',
    resourceAttributes: resource,
    attributes: {
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': 42,
      'gen_ai.request.temperature': 0.5,
      'gen_ai.prompt': [{ role: 'user', content: 'hi' }],
      ok: true,
      nothing: null,
    },
    events: [{ timeUnixNano: 1763805600223456789n, name: 'gen_ai.choice', attributes: { index: 0 } }],
    links: [
      {
        traceId: '11111111111111111111111111111111',
        spanId: '2222222222222222',
        traceState: '',
        attributes: { k: 'v' },
      },
    ],
    flags: 1,
    ...overrides,
  }
}

test('spans survive the trip to an OTLP request, its protobuf encoding, and back', () => {
  const spans = [
    span({}),
    span({ spanId: 'c7ad6b7169203331', parentSpanId: 'b7ad6b7169203331', scopeName: 'langchain' }),
    span({ spanId: 'd7ad6b7169203331', applicationId: '7d1f0a2e-5b6c-4d8e-9f00-112233445566' }),
  ]
  const request = spansToExportRequest(spans)
  assert.equal(request.resourceSpans.length, 2, 'one resource per application')
  assert.equal(request.resourceSpans[0]!.scopeSpans.length, 2, 'one scope per instrumentation scope')
  const decoded = decodeExportTraceRequestProtobuf(encodeExportTraceRequestProtobuf(request))
  const { spans: back, rejectedSpans } = normalizeExportTraceRequest(decoded)
  assert.equal(rejectedSpans, 0)
  const byId = (list: readonly Span[]) => [...list].sort((a, b) => a.spanId.localeCompare(b.spanId))
  assert.deepEqual(
    byId(back).map((s) => ({ ...s, resourceAttributes: { ...s.resourceAttributes } })),
    byId(spans).map((s) => ({ ...s, resourceAttributes: { ...s.resourceAttributes } })),
  )
})

test('the resource carries the application stamp the consumers read', () => {
  const request = spansToExportRequest([span({})])
  const stamp = request.resourceSpans[0]!.resource.attributes.find(
    (kv) => kv.key === 'spansift.application.id',
  )
  assert.deepEqual(stamp?.value, { type: 'string', value: '3c90c3cc-0d44-4b50-8888-8dd25736052a' })
})
